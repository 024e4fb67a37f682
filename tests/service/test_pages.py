"""The pages for boards and finance: logging in with a token, each page's figures equal to
the books' report and the statement's JSON, the downloads the statement's own files, the
trails, and each user shown only what their roles are for. Over HTTP on each backend, and
in Debian's headless Chromium through Playwright on SQLite."""

import json
import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import Page, sync_playwright
from statement_books import record_period

from domain.accounts import account_title, source_title
from ledger.application.books import Books
from ledger.reports.render import write
from ledger.reports.render.document import county_label, statement_document
from ledger.reports.statement import statement
from ledger.reports.trails import trail
from ledger.service.api import create_app

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
USERS = {"cashier": "cashier", "board": "board", "auditor": "auditor", "clerk": "clerk"}
"""Each test user and the role it holds; clerk and cashier are conftest's staff."""


@pytest.fixture
def closed(books: Books) -> Books:
    """statement_books' period, closed with both counties' deficits shared; a board member
    and an auditor besides the staff."""
    record_period(books)
    for user in ("board", "auditor"):
        books.app.grant_role(user, user, "admin", date(2025, 1, 1))
    return books


@pytest.fixture
def tokens(closed: Books) -> dict[str, str]:
    """A token for each user; nobody's, as if their only role was revoked after it."""
    return {user: closed.app.service.issue_token(user) for user in (*USERS, "nobody")}


@pytest.fixture
def client(closed: Books, db: str) -> Iterator[TestClient]:
    with TestClient(create_app(db)) as client:
        yield client


def logged_in(client: TestClient, token: str) -> None:
    answer = client.post("/pages/login", data={"token": token}, follow_redirects=False)
    assert answer.status_code == 303, answer.text


class Tables(HTMLParser):
    """Each section's table, by the section's heading: a row a list of its cells' text."""

    def __init__(self) -> None:
        super().__init__()
        self.found: dict[str, list[list[str]]] = {}
        self.heading: str | None = None
        self.text: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("h1", "h2", "td", "th"):
            self.text = []
        elif tag == "tr" and self.heading is not None:
            self.found.setdefault(self.heading, []).append([])

    def handle_endtag(self, tag: str) -> None:
        if self.text is None:
            return
        if tag in ("h1", "h2"):
            self.heading, self.text = "".join(self.text).strip(), None
        elif tag in ("td", "th") and self.heading is not None:
            self.found[self.heading][-1].append("".join(self.text).strip())
            self.text = None

    def handle_data(self, data: str) -> None:
        if self.text is not None:
            self.text.append(data)


def tables(html: str) -> dict[str, list[list[str]]]:
    parser = Tables()
    parser.feed(html)
    return parser.found


def by_label(rows: list[list[str]]) -> dict[str, list[str]]:
    """A table's rows by their first cell, figures as the JSON writes them (no separators,
    a ratio without its sign)."""
    return {r[0]: [c.replace(",", "").removesuffix("%") for c in r[1:]] for r in rows}


def check_balances(rows: list[list[str]], report: dict[str, Any]) -> None:
    """The balances table holds `Books.report()`, figure for figure."""
    columns = [county_label({c: b["name"]}, c) for c, b in report["counties"].items()]
    entities = [*report["counties"].values(), report["city_pool"], report["city"]]
    assert rows[0] == ["科目 Account", *columns, "市级统筹 City pool", "全市 City"]
    shown = by_label(rows[1:])
    for account in report["city"]["accounts"]:
        expected = [e["accounts"][account] for e in entities]
        assert shown[f"{account_title(account)} {account}"] == expected, account
    assert shown["结余（赤字）Surplus (deficit)"] == [e["surplus"] for e in entities]


FIGURE_TABLES = (
    "概况 Summary: 全市 City",
    "保费收入来源 Premium income by funding source",
    "赤字分担 Deficit sharing between the city pool and the counties",
    "历期期末储备 Closing reserve by period",
    "分县情况 By county",
)
"""The statement's sections whose tables check_figures reads."""


def check_figures(found: dict[str, list[list[str]]], s: dict[str, Any]) -> None:
    """The figures page shows the statement's figures: premiums by source, the claims
    ratio, the deficits shared, the reserves period by period."""
    city = s["city"]
    summary = by_label(found["概况 Summary: 全市 City"][1:])
    assert summary["保费收入合计 Premium income"] == [city["premium_income_total"]]
    assert summary["批准补助 Benefits approved"] == [city["benefits_approved"]]
    assert summary["赔付率（按期）Claims ratio by cohort"] == [city["claims_ratio_percent"]]
    calendar = city["claims_ratio_calendar"]["percent"]
    assert summary["赔付率（按年）Claims ratio by calendar"] == [calendar]
    assert summary["期末储备 Closing reserve"] == [city["closing_reserve"]]
    sources = by_label(found["保费收入来源 Premium income by funding source"][1:])
    for source, amount in city["premium_income"].items():
        column = found["保费收入来源 Premium income by funding source"][0].index(
            source_title(source)
        )
        assert sources["全市 City"][column - 1] == amount
    deficits = found["赤字分担 Deficit sharing between the city pool and the counties"][1:]
    assert [r[:4] for r in deficits] == [
        [
            county_label(s["county_names"], d["county"]),
            *(f"{Decimal(d[k]):,.2f}" for k in ("deficit", "city_share", "county_share")),
        ]
        for d in s["deficits"]
    ]
    assert len(deficits) == 2
    reserves = by_label(found["历期期末储备 Closing reserve by period"][1:])
    assert reserves == {str(r["period"]): [r["closing_reserve"]] for r in s["reserve_by_period"]}
    by_county = by_label(found["分县情况 By county"][1:])
    for code, figures in s["counties"].items():
        row = by_county[county_label(s["county_names"], code)]
        assert (row[2], row[8], row[9]) == (
            figures["premium_income_total"],
            figures["claims_ratio_percent"],
            figures["claims_ratio_calendar"]["percent"],
        )


def check_trail(rows: list[list[str]], entries: list[dict[str, Any]]) -> None:
    assert [r[:5] for r in rows[1:]] == [
        [str(e["position"]), e["recorded_at"], e["event"], e["effective_date"], e["actor"]]
        for e in entries
    ]
    for row, e in zip(rows[1:], entries, strict=True):
        for name, amount in e["amounts"].items():
            assert f"{name} {amount}" in row[7]


# Over HTTP, on each backend


def test_a_page_asked_for_without_logging_in_goes_to_the_login_page(
    client: TestClient, tokens: dict[str, str], closed: Books
) -> None:
    asked = client.get("/pages/balances?period=1", follow_redirects=False)
    assert asked.status_code == 303
    assert asked.headers["location"] == "/pages/login?next=%2Fpages%2Fbalances%3Fperiod%3D1"
    wrong = client.post("/pages/login", data={"token": "not-a-token"}, follow_redirects=False)
    assert wrong.status_code == 401
    assert "This token is not known, or was revoked." in wrong.text
    answer = client.post(
        "/pages/login",
        data={"token": tokens["auditor"], "next": "/pages/balances?period=1"},
        follow_redirects=False,
    )
    assert (answer.status_code, answer.headers["location"]) == (303, "/pages/balances?period=1")
    cookie = answer.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/pages" in cookie
    page = client.get("/pages/balances?period=1")
    assert page.status_code == 200 and "Logged in as <strong>auditor</strong>" in page.text
    assert page.headers["cache-control"] == "no-store"
    # the API stays bearer-only: the pages' cookie does not log in to it
    api = client.get("/balances", headers={"Cookie": f"ledger_token={tokens['auditor']}"})
    assert api.status_code == 401
    forged = client.post(
        "/pages/login", data={"token": tokens["clerk"]}, headers={"Sec-Fetch-Site": "cross-site"}
    )
    assert forged.status_code == 403 and "own pages only" in forged.text
    out = client.post("/pages/logout", follow_redirects=False)
    assert out.headers["location"] == "/pages/login"
    assert client.get("/pages/balances", follow_redirects=False).status_code == 303


def test_a_revoked_token_is_logged_out_and_login_goes_nowhere_else(
    client: TestClient, tokens: dict[str, str], closed: Books
) -> None:
    elsewhere = client.post(
        "/pages/login",
        data={"token": tokens["clerk"], "next": "https://example.org/"},
        follow_redirects=False,
    )
    assert elsewhere.headers["location"] == "/pages/"
    assert client.get("/pages/", follow_redirects=False).status_code == 200
    closed.app.revoke_tokens("clerk", "admin")
    assert client.get("/pages/", follow_redirects=False).status_code == 303


def test_the_balances_page_shows_the_books_report(
    client: TestClient, tokens: dict[str, str], closed: Books
) -> None:
    logged_in(client, tokens["board"])
    for query, period in (("", None), ("?period=1", 1)):
        page = client.get(f"/pages/balances{query}")
        report = closed.report(period=period)
        heading = "全部期间 All periods" if period is None else "第1期 Period 1"
        check_balances(tables(page.text)[heading], report)
        assert f"As known at log position {report['position']}." in page.text
        assert f"Trial balance (debits - credits): {report['trial_balance']}" in page.text


def test_the_figures_page_shows_the_statement_and_its_charts(
    client: TestClient, tokens: dict[str, str], closed: Books
) -> None:
    logged_in(client, tokens["board"])
    page = client.get("/pages/figures")
    s = statement(closed, 1)
    check_figures(tables(page.text), s.as_dict())
    assert page.text.count('<svg role="img"') == 3
    assert f"Chain digest: {s.provenance.digest}" in page.text
    assert "签章 Signatures" not in page.text
    county = client.get("/pages/figures?period=1&county=C2")
    assert "概况 Summary: Zhapu (C2)" in county.text
    unopened = client.get("/pages/figures?period=7")
    assert unopened.status_code == 404 and "period 7 had not been opened" in unopened.text


def test_each_statement_format_downloads_as_ledger_statement_writes_it(
    client: TestClient, tokens: dict[str, str], closed: Books, tmp_path: Path
) -> None:
    logged_in(client, tokens["board"])
    listed = client.get("/pages/statements").text
    for format in ("html", "pdf", "xlsx", "json"):
        assert f'/pages/statement?period=1&amp;county=C1&amp;format={format}"' in listed
    found = statement(closed, 1, "C1")
    for format, kind in (
        ("json", "application/json"),
        ("html", "text/html; charset=utf-8"),
        ("pdf", "application/pdf"),
        ("xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    ):
        answer = client.get(f"/pages/statement?period=1&county=C1&format={format}")
        assert answer.status_code == 200, answer.text
        assert answer.headers["content-type"] == kind
        disposition = answer.headers["content-disposition"]
        assert disposition == f"attachment; filename*=UTF-8''statement-1-C1.{format}"
        if format == "json":
            assert answer.json() == found.as_dict()
        else:
            path = tmp_path / f"statement.{format}"
            write(statement_document(found), format, path)
            assert answer.content == path.read_bytes(), format
    assert client.get("/pages/statement?period=1&format=doc").status_code == 400


def test_a_claim_and_a_member_are_looked_up_with_their_trails(
    client: TestClient, tokens: dict[str, str], closed: Books
) -> None:
    logged_in(client, tokens["auditor"])
    member = [e.as_dict() for e in trail(closed, member="M0010002")]
    page = client.get("/pages/trail?member=M0010002")
    check_trail(tables(page.text)["会员 Member M0010002"], member)
    claim = next(e["claim"] for e in member if e["claim"])
    assert f'href="/pages/trail?claim={claim}"' in page.text
    entries = [e.as_dict() for e in trail(closed, claim=claim)]
    assert [e["event"] for e in entries][-2:] == ["PayoutMade", "PayoutReturned"]
    page = client.get(f"/pages/trail?claim={claim}")
    check_trail(tables(page.text)[f"申请 Claim {claim}"], entries)
    unknown = client.get("/pages/trail?claim=NOPE")
    assert unknown.status_code == 404 and "unknown claim &#x27;NOPE&#x27;" in unknown.text


def test_each_user_is_shown_only_the_pages_of_their_roles(
    client: TestClient, tokens: dict[str, str], closed: Books
) -> None:
    logged_in(client, tokens["board"])
    home = client.get("/pages/").text
    assert '角色 Roles: <span class="roles">理事会 board</span>' in home
    for shown in ("/pages/balances", "/pages/figures", "/pages/statements"):
        assert f'href="{shown}"' in home
    for hidden in ("/pages/trail", "/pages/payable"):
        assert f'href="{hidden}"' not in home
        refused = client.get(hidden)
        assert refused.status_code == 403 and "This page is for:" in refused.text
    assert "<form" not in home.replace('<form method="post" action="/pages/logout">', "")

    logged_in(client, tokens["cashier"])
    payable = client.get("/pages/payable")
    rows = tables(payable.text)["已批准未支付 Approved, not yet paid"][1:]
    due = closed.claims.payable()
    assert [(r[0], r[1], r[5]) for r in rows] == [
        (p.member_id, p.claim_id, f"{p.amount:,.2f}") for p in due
    ]
    assert len(rows) == 3

    logged_in(client, tokens["nobody"])
    assert "You hold no role yet" in client.get("/pages/").text
    assert client.get("/pages/balances").status_code == 403


# In a browser


@contextmanager
def served(db: str) -> Iterator[str]:
    """The service under uvicorn in a thread of its own, on a port the system chose."""
    import uvicorn

    listening = socket.socket()
    listening.bind(("127.0.0.1", 0))
    port = listening.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(db), log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listening]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the service did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        listening.close()


ROWS = "els => els.map(t => [...t.rows].map(r => [...r.cells].map(c => c.textContent.trim())))"


def section_table(page: Page, heading: str) -> list[list[str]]:
    """The table of the section headed `heading`, as the browser laid it out."""
    found: list[list[list[str]]] = page.eval_on_selector_all(
        f'section:has(> h2:text-is("{heading}")) table', ROWS
    )
    assert len(found) == 1, heading
    return found[0]


@pytest.mark.parametrize("db", ["sqlite"], indirect=True)
def test_the_pages_in_a_browser(
    closed: Books, db: str, tokens: dict[str, str], tmp_path: Path
) -> None:
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is needed to test the pages (.ci/run installs it)")
        pytest.skip(f"no {CHROMIUM} on this machine: the pages are not tried in a browser")
    shots = tmp_path / "screenshots"
    shots.mkdir()

    def shot(page: Page, name: str) -> None:
        path = shots / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        print(f"screenshot {name}: [[ATTACHMENT|{path}]]")  # as CI's JUnit reports attach files

    with served(db) as base, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_context(accept_downloads=True).new_page()
            page.goto(f"{base}/pages/balances")
            assert "/pages/login?next=" in page.url
            page.fill("#token", "not-a-token")
            page.click("button[type=submit]")
            assert "This token is not known" in page.inner_text("[role=alert]")
            page.fill("#token", tokens["cashier"])
            page.click("button[type=submit]")
            assert page.url == f"{base}/pages/balances"
            assert page.inner_text(".roles") == "出纳 cashier"
            check_balances(section_table(page, "全部期间 All periods"), closed.report())
            shot(page, "balances")

            page.click("text=期间数字与图表 Period figures and charts")
            page.wait_for_url("**/pages/figures")
            s = statement(closed, 1).as_dict()
            check_figures({h: section_table(page, h) for h in FIGURE_TABLES}, s)
            charts = page.locator(".chart svg")
            assert charts.count() == 3
            for i in range(3):
                box = charts.nth(i).bounding_box()
                assert box is not None and box["width"] > 100 and box["height"] > 50
                bars = charts.nth(i).locator("rect")
                assert bars.count() > 0
                sizes = [bars.nth(j).bounding_box() for j in range(bars.count())]
                assert any(b is not None and b["width"] > 0 and b["height"] > 1 for b in sizes)
            shot(page, "figures")

            with page.expect_download() as pdf:
                page.click("a:text-is('PDF')")
            assert pdf.value.suggested_filename == "statement-1.pdf"
            saved = tmp_path / "statement-1.pdf"
            pdf.value.save_as(saved)
            assert saved.read_bytes().startswith(b"%PDF")
            with page.expect_download() as as_json:
                page.click("a:text-is('JSON')")
            assert json.loads(Path(as_json.value.path()).read_text("utf-8")) == s

            page.click("text=期间报告下载 Period statements to download")
            page.wait_for_url("**/pages/statements")
            shot(page, "statements")

            page.click("text=申请与会员记录 Claim and member trails")
            page.fill("#member", "M0010002")
            page.click("#member + button")
            member = [e.as_dict() for e in trail(closed, member="M0010002")]
            check_trail(section_table(page, "会员 Member M0010002"), member)
            shot(page, "member-trail")
            claim = next(e["claim"] for e in member if e["claim"])
            page.click(f"main p a:text-is('{claim}')")
            page.wait_for_url(f"**/pages/trail?claim={claim}")
            assert page.input_value("#claim") == claim
            entries = [e.as_dict() for e in trail(closed, claim=claim)]
            check_trail(section_table(page, f"申请 Claim {claim}"), entries)
            shot(page, "claim-trail")

            page.click("text=待支付补助 Benefits payable")
            rows = section_table(page, "已批准未支付 Approved, not yet paid")
            assert [r[1] for r in rows[1:]] == [p.claim_id for p in closed.claims.payable()]
            shot(page, "payable")

            page.click("text=退出 Log out")
            page.wait_for_url("**/pages/login")
            page.goto(f"{base}/pages/figures")
            assert "/pages/login?next=" in page.url

            page.fill("#token", tokens["board"])
            page.click("button[type=submit]")
            page.wait_for_url("**/pages/figures")
            assert page.inner_text(".roles") == "理事会 board"
            links = page.eval_on_selector_all("nav a", "as => as.map(a => a.pathname)")
            assert links == ["/pages/", "/pages/balances", "/pages/figures", "/pages/statements"]
            assert page.locator("main form[method=post]").count() == 0
            assert "出纳" not in page.inner_text("body") and "payable" not in page.inner_text(
                "body"
            )
            shot(page, "board-figures")
            refused = page.goto(f"{base}/pages/payable")
            assert refused is not None and refused.status == 403
            assert "This page is for: 出纳 cashier." in page.inner_text("[role=alert]")
            shot(page, "board-refused")
        finally:
            browser.close()
