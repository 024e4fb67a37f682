"""Pages for boards and finance, served by the finance service itself: the balances per
county, the period's figures and charts, the statements to download, a claim's or a
member's trail, and, for the cashier, what is payable (docs/service.md, Pages).

They only read, and show what the reports already give: the balances are `Books.report()`
(what `ledger balances --json` prints), the figures and charts are the period statement's
own document drawn by its HTML renderer, the downloads are the statement in each format it
renders to. No money is computed here. A user logs in with their API token, kept in a
cookie no script can read, and is shown only the pages their roles are for.
"""

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from html import escape
from typing import TYPE_CHECKING, Annotated, Any
from urllib.parse import parse_qs, urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from domain.accounts import account_title
from domain.duties import ADMIN, APPROVER, AUDITOR, BOARD, CASHIER, CLERK, ROLES
from domain.errors import LedgerError, NotFound
from domain.money import money
from domain.scheme import Scheme
from ledger.application.books import Books
from ledger.reports.render.document import (
    AMOUNTS_IN,
    TITLE,
    Cell,
    Section,
    Table,
    county_label,
    statement_document,
)
from ledger.reports.render.html import STYLE, charts, font_face, section
from ledger.reports.statement import Statement, statement
from ledger.reports.trails import TrailEntry, trail
from ledger.service.downloads import DOWNLOADS, MEDIA_TYPES, attachment, statement_file
from projections.claims import Owed

if TYPE_CHECKING:
    from ledger.service.api import Service

PREFIX = "/pages"
COOKIE = "ledger_token"
"""Holds the user's API token, sent back to the pages only (its path is PREFIX)."""

ROLE_NAMES = {
    ADMIN: "管理员 admin",
    CLERK: "经办 clerk",
    APPROVER: "审批 approver",
    CASHIER: "出纳 cashier",
    AUDITOR: "审计 auditor",
    BOARD: "理事会 board",
}


@dataclass(frozen=True)
class Page:
    path: str
    title: str
    roles: frozenset[str]
    """The roles it is for: a user holding none of them is neither shown nor served it."""


EVERY_ROLE = frozenset(ROLES)
BALANCES = Page("/balances", "各县余额 Balances by county", EVERY_ROLE)
FIGURES = Page("/figures", "期间数字与图表 Period figures and charts", EVERY_ROLE)
STATEMENTS = Page("/statements", "期间报告下载 Period statements to download", EVERY_ROLE)
TRAILS = Page("/trail", "申请与会员记录 Claim and member trails", EVERY_ROLE - {BOARD})
"""A trail names a member and their claims in full: the board reads the statements, whose
members are masked."""
PAYABLE = Page("/payable", "待支付补助 Benefits payable", frozenset({CASHIER}))
"""Names and bank accounts, to pay out by: the cashier's."""
PAGES = (BALANCES, FIGURES, STATEMENTS, TRAILS, PAYABLE)

HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; font-src data:; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}
"""Figures of people's claims are not to be cached, framed or sent on; the pages run no
script and load nothing from elsewhere."""

PAGE_STYLE = """
body { max-width: 72em; }
.who { display: flex; flex-wrap: wrap; justify-content: space-between; align-items: center;
  gap: .5em 1em; font-size: .9em; color: #3b4a5a; border-bottom: 1px solid #c5ced8; }
.who form { margin: 0; }
nav ul { list-style: none; padding: 0; display: flex; flex-wrap: wrap; gap: .4em 1.4em;
  margin: .6em 0 1.2em; }
a { color: #1f5f8f; }
nav a[aria-current] { color: #1d2733; font-weight: 600; text-decoration: none; }
form.choice { display: flex; flex-wrap: wrap; gap: .5em 1em; align-items: center;
  margin: .4em 0 1em; }
input, select, button { font: inherit; padding: .2em .5em; }
.error { color: #8f1d1d; background: #fbeeee; border-left: 3px solid #8f1d1d;
  padding: .4em .8em; }
:focus-visible { outline: 3px solid #d9822b; outline-offset: 2px; }
.skip { position: absolute; left: -999em; }
.skip:focus { position: static; }
"""


@dataclass(frozen=True)
class Viewer:
    user: str
    roles: frozenset[str]

    def may(self, page: Page) -> bool:
        return bool(self.roles & page.roles)


def router(service: "Service") -> APIRouter:
    """The pages, on the service's books and tokens."""
    pages = APIRouter(prefix=PREFIX, include_in_schema=False)

    def viewer(request: Request) -> Viewer | None:
        token = request.cookies.get(COOKIE)
        user = None if token is None else service.store.user_of(token)
        if user is None:
            return None
        with service.reading() as books:
            held = books.app.scheme().roles.get(user, set())
        return Viewer(user, frozenset(held))

    def gate(request: Request, page: Page | None) -> Viewer | Response:
        """Who views `page` (None: the home page); or, for one who may not, the login page
        or a refusal naming the roles the page is for."""
        who = viewer(request)
        if who is None:
            asked = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            return RedirectResponse(f"{PREFIX}/login?{urlencode({'next': asked})}", 303)
        if page is not None and not who.may(page):
            needs = "、".join(ROLE_NAMES[r] for r in sorted(page.roles))
            refusal = f"此页面仅供 This page is for: {needs}."
            return _html(layout(page.title, _error(refusal), who, page), 403)
        return who

    def shown(
        who: Viewer, page: Page, view: Callable[[Books], str], lead: str = ""
    ) -> HTMLResponse:
        """The page with what `view` reads from the books, or with the reason it cannot."""
        try:
            with service.reading() as books:
                body = view(books)
        except LedgerError as e:
            return refused(who, page, e, lead)
        return _html(layout(page.title, lead + body, who, page))

    @pages.get("/login")
    def login_page(asked: Annotated[str, Query(alias="next")] = f"{PREFIX}/") -> HTMLResponse:
        return _html(layout("登录 Log in", _login_form(_within(asked))))

    @pages.post("/login")
    async def log_in(request: Request) -> Response:
        """A form's fields, read here: the one form the pages take needs no form library."""
        if _from_elsewhere(request):
            return _html(layout("登录 Log in", _error(ELSEWHERE)), 403)
        form = parse_qs((await request.body()).decode("utf-8", "replace"))
        token = form.get("token", [""])[0].strip()
        asked = _within(form.get("next", [""])[0])
        user = await run_in_threadpool(service.store.user_of, token) if token else None
        if user is None:
            refusal = _error("此令牌无效或已撤销 This token is not known, or was revoked.")
            return _html(layout("登录 Log in", refusal + _login_form(asked)), 401)
        answer = RedirectResponse(asked, 303)
        answer.set_cookie(
            COOKIE,
            token,
            path=PREFIX,
            secure=request.url.scheme == "https",
            httponly=True,
            samesite="strict",
        )
        return answer

    @pages.post("/logout")
    def log_out(request: Request) -> Response:
        """Forgets the token in this browser; the token itself stays live for the API."""
        if _from_elsewhere(request):
            return _html(layout("退出 Log out", _error(ELSEWHERE)), 403)
        answer = RedirectResponse(f"{PREFIX}/login", 303)
        answer.delete_cookie(COOKIE, path=PREFIX, httponly=True, samesite="strict")
        return answer

    @pages.get("/")
    def home(request: Request) -> Response:
        who = gate(request, None)
        if isinstance(who, Response):
            return who
        mine = [p for p in PAGES if who.may(p)]
        if not mine:
            body = "<p>您尚无角色 You hold no role yet: an admin grants roles.</p>"
        else:
            body = "<ul>" + "".join(_link(p) for p in mine) + "</ul>"
        return _html(layout("首页 Home", body, who))

    @pages.get("/balances")
    def balances(request: Request, period: int | None = None) -> Response:
        who = gate(request, BALANCES)
        if isinstance(who, Response):
            return who

        def view(books: Books) -> str:
            report = books.report(period=period)
            scheme = books.app.scheme()
            choice = _choice(BALANCES, _periods(scheme, period, "全部期间 All periods"))
            return choice + section(balances_section(report))

        return shown(who, BALANCES, view)

    @pages.get("/figures")
    def figures(request: Request, period: int | None = None, county: str = "") -> Response:
        who = gate(request, FIGURES)
        if isinstance(who, Response):
            return who

        def view(books: Books) -> str:
            scheme = books.app.scheme()
            if not scheme.periods:
                raise LedgerError("no period has been opened yet")
            number = max(scheme.periods) if period is None else period
            found = statement(books, number, county or None)
            selects = _periods(scheme, number) + _counties(scheme, county)
            return _choice(FIGURES, selects) + statement_body(found)

        return shown(who, FIGURES, view)

    @pages.get("/statements")
    def statements(request: Request) -> Response:
        who = gate(request, STATEMENTS)
        if isinstance(who, Response):
            return who

        def view(books: Books) -> str:
            scheme = books.app.scheme()
            rows = [
                (f"第{n}期 Period {n}", name, _downloads(n, code))
                for n in sorted(scheme.periods, reverse=True)
                for code, name in _subjects(scheme)
            ]
            return _plain_table(("期 Period", "范围 Subject", "下载 Download"), rows)

        return shown(who, STATEMENTS, view)

    @pages.get("/statement")
    def download(request: Request, period: int, format: str = "html", county: str = "") -> Response:
        who = gate(request, STATEMENTS)
        if isinstance(who, Response):
            return who
        if format not in DOWNLOADS:
            refusal = f"format {format!r} is not one of {', '.join(DOWNLOADS)}"
            return _html(layout(STATEMENTS.title, _error(refusal), who, STATEMENTS), 400)
        try:
            with service.reading() as books:
                found = statement(books, period, county or None)
        except LedgerError as e:
            return refused(who, STATEMENTS, e)
        service.issued(found, who.user)
        name = f"statement-{period}{'-' + county if county else ''}.{format}"
        return Response(
            statement_file(found, format),
            media_type=MEDIA_TYPES[format],
            headers={
                **HEADERS,
                "Content-Disposition": attachment(name),
            },
        )

    @pages.get("/trail")
    def trails(request: Request, claim: str = "", member: str = "") -> Response:
        who = gate(request, TRAILS)
        if isinstance(who, Response):
            return who
        lead = _lookup(claim, member)
        if not claim and not member:
            return _html(layout(TRAILS.title, lead, who, TRAILS))

        def view(books: Books) -> str:
            if claim:
                return section(trail_section(f"申请 Claim {claim}", trail(books, claim=claim)))
            entries = trail(books, member=member)
            return section(trail_section(f"会员 Member {member}", entries)) + _claims_of(entries)

        return shown(who, TRAILS, view, lead)

    @pages.get("/payable")
    def payable(request: Request) -> Response:
        who = gate(request, PAYABLE)
        if isinstance(who, Response):
            return who

        def view(books: Books) -> str:
            books.catch_up(models=(books.claims,))
            return section(payable_section(books.claims.payable()))

        return shown(who, PAYABLE, view)

    return pages


# What the pages show, from the reports


def balances_section(report: dict[str, Any]) -> Section:
    """`Books.report()` as a table: an account a row; a county, the pool and the city each a
    column."""
    columns = {county_label({c: b["name"]}, c): b for c, b in report["counties"].items()}
    columns["市级统筹 City pool"] = report["city_pool"]
    columns["全市 City"] = report["city"]
    accounts = next(iter(columns.values()))["accounts"]
    rows: list[tuple[Cell, ...]] = [
        (f"{account_title(a)} {a}", *(money(b["accounts"][a]) for b in columns.values()))
        for a in accounts
    ]
    rows.append(("结余（赤字）Surplus (deficit)", *(money(b["surplus"]) for b in columns.values())))
    period = report["filters"]["period"]
    position = report["position"]
    return Section(
        "全部期间 All periods" if period is None else f"第{period}期 Period {period}",
        (
            AMOUNTS_IN,
            f"数据截至日志位置 {position} As known at log position {position}.",
            f"试算平衡（借减贷）Trial balance (debits - credits): {report['trial_balance']}",
        ),
        Table("Balances", ("科目 Account", *columns), tuple(rows)),
    )


def statement_body(found: Statement) -> str:
    """The statement as its HTML file shows it, less the lines to sign, which are for paper;
    with the links to download it."""
    document = statement_document(found)
    parts = [
        f'<p class="subtitle">{escape(document.subtitle)}</p>',
        f'<p class="note">{escape(AMOUNTS_IN)}</p>',
        '<div class="provenance">',
        *(f"<p>{escape(line)}</p>" for line in document.provenance),
        "</div>",
        f"<p>下载本报告 Download this statement: "
        f"{_downloads(found.current.period.number, found.county or '')}</p>",
    ]
    shown = [s for s in document.sections if not s.signatures]
    for i, each in enumerate(shown):
        parts.append(section(each))
        if i == 0:
            parts.append(charts(document.charts))
    return "\n".join(parts)


def trail_section(subject: str, entries: Sequence[TrailEntry]) -> Section:
    """A trail as `ledger audit trail` gives it: an event a row, in log order."""
    rows = []
    for e in entries:
        data = e.as_dict()
        rows.append(
            (
                str(e.position),
                e.recorded_at,
                e.event,
                e.effective_date,
                e.actor,
                e.claim,
                e.period,
                "; ".join(f"{name} {amount}" for name, amount in data["amounts"].items()),
                "; ".join(
                    f"{p['entity']} {account_title(p['account'])} {p['amount']}"
                    for p in data["postings"]
                ),
            )
        )
    return Section(
        subject,
        ("分录借方为正、贷方为负 Postings: debits positive, credits negative.",),
        Table(
            "Trail",
            (
                "位置 Position",
                "记录时间 Recorded at",
                "事件 Event",
                "生效日 Effective",
                "操作人 Actor",
                "申请 Claim",
                "期 Period",
                "金额 Amounts",
                "分录 Postings",
            ),
            tuple(rows),
        ),
    )


def payable_section(payable: Sequence[Owed]) -> Section:
    return Section(
        "已批准未支付 Approved, not yet paid",
        (AMOUNTS_IN,),
        Table(
            "Payable",
            ("会员 Member", "申请 Claim", "县 County", "姓名 Name", "账号 Account", "应付 Due"),
            tuple(
                (p.member_id, p.claim_id, p.county, p.name, p.bank_account, p.amount)
                for p in payable
            ),
            "无待支付补助 Nothing is payable.",
        ),
    )


# The page around them


def layout(title: str, body: str, who: Viewer | None = None, here: Page | None = None) -> str:
    """A whole page: who is logged in and their roles, the links to the pages those roles
    are for, and the body; the CJK font cut to the page's characters, as the statements
    embed it."""
    top = ""
    if who is not None:
        held = "、".join(ROLE_NAMES.get(r, r) for r in sorted(who.roles)) or "无 none"
        links = [f'<li><a href="{PREFIX}/">首页 Home</a></li>']
        links += [_link(p, p == here) for p in PAGES if who.may(p)]
        top = (
            f'<header class="who"><p>登录用户 Logged in as <strong>{escape(who.user)}</strong>'
            f' · 角色 Roles: <span class="roles">{escape(held)}</span></p>'
            f'<form method="post" action="{PREFIX}/logout">'
            '<button type="submit">退出 Log out</button></form></header>'
            f'<nav aria-label="页面 Pages"><ul>{"".join(links)}</ul></nav>'
        )
    skip = '<a class="skip" href="#main">跳到正文 Skip to the content</a>'
    main = f'<main id="main"><h1>{escape(title)}</h1>\n{body}\n</main>'
    return "\n".join(
        [
            "<!DOCTYPE html>",
            '<html lang="zh-CN"><head><meta charset="utf-8">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f"<title>{escape(title)} · {TITLE}</title>",
            f"<style>{font_face(title + top + main)}{STYLE}{PAGE_STYLE}</style></head>",
            f"<body>{skip}{top}\n{main}</body></html>",
        ]
    )


def refused(who: Viewer, page: Page, error: LedgerError, lead: str = "") -> HTMLResponse:
    """The page with the ledger's reason, as the API gives it: 404 for what it has no record
    of, else 400."""
    status = 404 if isinstance(error, NotFound) else 400
    return _html(layout(page.title, lead + _error(str(error)), who, page), status)


def _html(page: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(page, status, headers=HEADERS)


def _error(reason: str) -> str:
    return f'<p class="error" role="alert">{escape(reason)}</p>'


def _link(page: Page, current: bool = False) -> str:
    mark = ' aria-current="page"' if current else ""
    return f'<li><a href="{PREFIX}{page.path}"{mark}>{escape(page.title)}</a></li>'


ELSEWHERE = "此表单须由本站页面提交 This form is sent from the service's own pages only."


def _from_elsewhere(request: Request) -> bool:
    """Whether a browser says another site's page sent the form: so nobody is logged in,
    or out, by a page of theirs. Clients that are not browsers send no such header."""
    return request.headers.get("sec-fetch-site", "same-origin") not in ("same-origin", "none")


def _within(asked: str) -> str:
    """Where to go after logging in: a page of these, never another site."""
    if asked.startswith(f"{PREFIX}/") and not asked.startswith("//") and "\\" not in asked:
        return asked
    return f"{PREFIX}/"


def _login_form(asked: str) -> str:
    return (
        f'<form method="post" action="{PREFIX}/login">'
        '<p><label for="token">API 令牌 API token</label><br>'
        '<input id="token" name="token" type="password" size="48" required '
        'autocomplete="current-password"></p>'
        f'<input type="hidden" name="next" value="{escape(asked)}">'
        '<p><button type="submit">登录 Log in</button></p></form>'
        '<p class="note">令牌由管理员发放 An admin issues each user a token: '
        "<code>ledger service token USER</code>.</p>"
    )


def _choice(page: Page, selects: str) -> str:
    """A form that only chooses what to show (GET): the pages have no form that writes."""
    return (
        f'<form class="choice" method="get" action="{PREFIX}{page.path}">{selects}'
        '<button type="submit">显示 Show</button></form>'
    )


def _select(name: str, label: str, options: Iterable[tuple[str, str]], chosen: str) -> str:
    items = "".join(
        f'<option value="{escape(v)}"{" selected" if v == chosen else ""}>{escape(t)}</option>'
        for v, t in options
    )
    return f'<label for="{name}">{label}</label><select id="{name}" name="{name}">{items}</select>'


def _periods(scheme: Scheme, chosen: int | None, every: str | None = None) -> str:
    options = [("", every)] if every is not None else []
    options += [(str(n), f"第{n}期 Period {n}") for n in sorted(scheme.periods, reverse=True)]
    return _select("period", "期 Period", options, "" if chosen is None else str(chosen))


def _subjects(scheme: Scheme) -> list[tuple[str, str]]:
    """What a statement may be of: the city (no county code), or one county."""
    return [
        ("", "全市 City"),
        *((c, county_label(scheme.counties, c)) for c in sorted(scheme.counties)),
    ]


def _counties(scheme: Scheme, chosen: str) -> str:
    return _select("county", "县 County", _subjects(scheme), chosen)


def _downloads(period: int, county: str) -> str:
    query = {"period": period, **({"county": county} if county else {})}
    return " · ".join(
        f'<a href="{PREFIX}/statement?{escape(urlencode({**query, "format": f}))}">{f.upper()}</a>'
        for f in DOWNLOADS
    )


def _lookup(claim: str, member: str) -> str:
    """Two lookups, a claim's and a member's: each form asks for one."""
    forms = []
    for name, label, value in (
        ("claim", "申请号 Claim", claim),
        ("member", "会员编号 Member", member),
    ):
        forms.append(
            f'<form class="choice" method="get" action="{PREFIX}{TRAILS.path}">'
            f'<label for="{name}">{label}</label>'
            f'<input id="{name}" name="{name}" value="{escape(value)}" required>'
            '<button type="submit">查询 Look up</button></form>'
        )
    return "".join(forms)


def _claims_of(entries: Sequence[TrailEntry]) -> str:
    """A member's claims, each a link to its own trail."""
    claims = dict.fromkeys(e.claim for e in entries if e.claim is not None)
    if not claims:
        return ""
    links = " · ".join(
        f'<a href="{PREFIX}{TRAILS.path}?{escape(urlencode({"claim": c}))}">{escape(c)}</a>'
        for c in claims
    )
    return f"<p>本会员的申请 The member's claims: {links}</p>"


def _plain_table(columns: Sequence[str], rows: Sequence[tuple[str, str, str]]) -> str:
    """A table whose last column is already HTML (links)."""
    head = "".join(f'<th scope="col">{escape(c)}</th>' for c in columns)
    body = "".join(
        f"<tr><td>{escape(a)}</td><td>{escape(b)}</td><td>{links}</td></tr>" for a, b, links in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
