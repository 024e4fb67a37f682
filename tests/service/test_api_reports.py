"""What the service reads out: statements in each format, a balance explained posting by
posting, a county's trail a page at a time, and the audit's verification."""

from datetime import date
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from service_calls import D, as_, enrolled, submitted

from ledger.application.books import Books
from ledger.application.province import ProvinceRegister, Witness
from ledger.reports.audit import head
from ledger.reports.benefit_notice import benefit_notice
from ledger.reports.statement import statement
from ledger.reports.summary import summary
from ledger.service.api import create_app


@pytest.fixture
def paid(client: TestClient, tokens: dict[str, str]) -> str:
    """Three members enrolled and paid, and one claim approved and paid out: its id."""
    for member in ("m1", "m2", "m3"):
        enrolled(client, tokens, member)
    claim = submitted(client, tokens, "m1", "6000.00")
    for path, body, user in (
        (f"/claims/{claim}/approve", {"date": D}, "approver"),
        ("/payouts", {"claim_id": claim, "bank_reference": "B1", "date": D}, "cashier"),
    ):
        answer = client.post(path, json=body, headers=as_(tokens, user, path))
        assert answer.status_code == 200, answer.json()
    return claim


def test_the_statement_is_the_books_own_in_each_format(
    client: TestClient, tokens: dict[str, str], books: Books, paid: str
) -> None:
    headers = as_(tokens, "approver")
    as_json = client.get("/statements/1", headers=headers)
    assert as_json.json() == statement(books, 1).as_dict()
    magic = {"html": b"<!DOCTYPE html>", "pdf": b"%PDF-", "xlsx": b"PK\x03\x04"}
    for format, start in magic.items():
        answer = client.get(f"/statements/1?format={format}", headers=headers)
        assert answer.status_code == 200, format
        assert answer.content.lstrip()[: len(start)].upper() == start.upper(), format
        assert f"filename*=UTF-8''statement-1.{format}" in answer.headers["content-disposition"]
    assert client.get("/statements/1?format=doc", headers=headers).status_code == 400
    unknown = client.get("/statements/9", headers=headers)
    assert unknown.status_code == 404, unknown.json()
    assert unknown.json()["error"]["reason"].startswith("period 9 had not been opened")


def test_a_balance_is_explained_by_postings_that_add_up_to_it(
    client: TestClient, tokens: dict[str, str], books: Books, paid: str
) -> None:
    headers = as_(tokens, "approver")
    shown = books.report("C1")["counties"]["C1"]["accounts"]["premium_income:union:city"]
    path = "/counties/C1/explain?account=premium_income:union:city"
    explained = client.get(path, headers=headers).json()
    assert explained["total"] == shown == "147.00"  # 49 yuan of each of three members
    assert len(explained["postings"]) == 3
    wrong = client.get("/counties/C1/explain?account=nothing", headers=headers)
    assert wrong.status_code == 400 and wrong.json()["error"]["reason"]


def test_a_county_trail_comes_a_page_at_a_time(
    client: TestClient, tokens: dict[str, str], books: Books, paid: str
) -> None:
    headers = as_(tokens, "approver")
    whole = client.get("/counties/C1/trail?period=1", headers=headers).json()
    first = client.get("/counties/C1/trail?period=1&limit=2", headers=headers).json()
    rest = client.get("/counties/C1/trail?period=1&offset=2", headers=headers).json()
    assert first["items"] + rest["items"] == whole["items"]
    assert (first["next_offset"], rest["next_offset"]) == (2, None)
    assert client.get("/counties/XX/trail?period=1", headers=headers).status_code == 400


def test_the_audit_verifies_the_log_and_checks_a_published_digest(
    client: TestClient, tokens: dict[str, str], books: Books, paid: str
) -> None:
    headers = as_(tokens, "approver")
    digest = head(books.log)
    assert digest is not None
    checked = client.get(f"/audit/verify?digest={digest}", headers=headers)
    assert checked.status_code == 200
    body = checked.json()
    assert body["verified"] and body["chain"]["digest_matches"]
    assert body["chain"]["checked"] == books.log.last_position()
    forged = f"{digest.position}:{'0' * 64}"
    differs = client.get(f"/audit/verify?digest={forged}", headers=headers)
    assert differs.status_code == 409 and differs.json()["verified"] is False


def test_the_explanation_of_benefit_is_the_claims_own_figures(
    client: TestClient, tokens: dict[str, str], books: Books, paid: str
) -> None:
    headers = as_(tokens, "approver")
    found = client.get(f"/claims/{paid}/explanation", headers=headers)
    assert found.status_code == 200
    assert found.json() == benefit_notice(books, paid).as_dict()
    pdf = client.get(f"/claims/{paid}/explanation?format=pdf", headers=headers)
    assert pdf.content.startswith(b"%PDF-")
    assert client.get("/claims/NOPE/explanation", headers=headers).status_code == 404


def test_the_summary_over_periods_is_the_books_own(
    client: TestClient, tokens: dict[str, str], books: Books, paid: str
) -> None:
    headers = as_(tokens, "approver")
    found = client.get("/summary?periods=1-1&per_head_sources=worker", headers=headers)
    assert found.status_code == 200, found.json()
    assert found.json() == summary(books, 1, 1, per_head_sources=["worker"]).as_dict()
    assert found.json()["total"]["premium_per_member"] == "1.00"
    xlsx = client.get("/summary?periods=1&format=xlsx", headers=headers)
    assert xlsx.content.startswith(b"PK\x03\x04")
    assert "filename*=UTF-8''summary-1-1.xlsx" in xlsx.headers["content-disposition"]
    for query, status, reason in (
        ("periods=1-x", 400, "--periods: '1-x' is not FIRST-LAST"),
        ("periods=1-2", 404, "period 2 had not been opened"),
        ("periods=1&per_head_sources=wages", 400, "'wages' is not a funding source"),
    ):
        answer = client.get(f"/summary?{query}", headers=headers)
        assert answer.status_code == status, query
        assert reason in answer.json()["error"]["reason"], query


def test_a_citys_service_has_the_province_witness_each_statement_it_hands_out(
    books: Books,
    db: str,
    tokens: dict[str, str],
    paid: str,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """`ledger --city ZS serve`: a statement from the API, or downloaded from the pages,
    is witnessed at the digest it stands on; a province out of reach costs no statement."""
    register_at = str(tmp_path / "province.db")
    register = ProvinceRegister(register_at)
    register.add_city("ZS", "舟山 Zhoushan", db, "admin", date(2025, 1, 1))
    register.close()
    app = create_app(db, Witness(register_at, "ZS"))
    with TestClient(app) as served:
        answer = served.get("/statements/1", headers=as_(tokens, "approver"))
        assert answer.status_code == 200
        at = answer.json()["known_at"]
        login = served.post("/pages/login", data={"token": tokens["approver"]})
        assert login.status_code == 200
        assert served.get("/pages/statement?period=1&format=pdf").status_code == 200
    register = ProvinceRegister(register_at, read_only=True)
    kept = register.witnessed_of("ZS")
    register.close()
    assert [(f"{w.position}:{w.digest}", w.on) for w in kept] == [(at["digest"], "statement")] * 2

    away = create_app(db, Witness(str(tmp_path / "no" / "province.db"), "ZS"))
    with TestClient(away) as served:
        assert served.get("/statements/1", headers=as_(tokens, "approver")).status_code == 200
    assert f"the province did not witness ZS at {at['position']}: --province: there is no" in (
        caplog.text
    )
