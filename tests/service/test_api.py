"""The HTTP service, through an HTTP client, on each backend: who may do what, writes that
a retry never records twice, errors that name the field, reads equal to the books'."""

import threading
from collections.abc import Callable, Iterator
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from service_calls import D, as_, enrolled, submitted

from domain.money import money
from domain.refusal import Refusal
from ledger.application.app import MutualAidLedger
from ledger.application.books import Books
from ledger.application.policies import load_preset
from ledger.service.api import create_app


def test_no_token_a_wrong_one_or_a_revoked_one_is_not_let_in(
    client: TestClient, tokens: dict[str, str], books: Books
) -> None:
    assert client.get("/balances").status_code == 401
    wrong = client.get("/balances", headers={"Authorization": "Bearer not-a-token"})
    assert wrong.status_code == 401
    assert wrong.json()["error"]["reason"] == "this token is not known, or was revoked"
    assert client.get("/balances", headers=as_(tokens, "clerk")).status_code == 200
    books.app.revoke_tokens("clerk", "admin")
    assert client.get("/balances", headers=as_(tokens, "clerk")).status_code == 401
    assert client.get("/balances", headers=as_(tokens, "approver")).status_code == 200


def test_a_retried_write_gets_the_first_answer_and_records_nothing_twice(
    client: TestClient, tokens: dict[str, str], books: Books
) -> None:
    body = {"member_id": "m1", "period": 1, "county": "C1", "unit": "U1", "date": D}
    first = client.post("/enrolments", json=body, headers=as_(tokens, "clerk", "k1"))
    assert first.status_code == 200
    position = books.log.last_position()
    again = client.post("/enrolments", json=body, headers=as_(tokens, "clerk", "k1"))
    assert (again.status_code, again.json()) == (200, first.json())
    assert books.log.last_position() == position
    other = client.post(
        "/enrolments", json={**body, "county": "C2"}, headers=as_(tokens, "clerk", "k1")
    )
    assert other.status_code == 422
    assert "another request" in other.json()["error"]["reason"]
    # a new key is a new request: the ledger itself refuses a second enrolment
    twice = client.post("/enrolments", json=body, headers=as_(tokens, "clerk", "k2"))
    assert twice.status_code == 409
    assert books.log.last_position() == position


def test_a_refused_write_is_answered_the_same_on_retry(
    client: TestClient, tokens: dict[str, str], books: Books
) -> None:
    body = {"member_id": "nobody", "period": 1, "receipt": "R1", "date": D}
    first = client.post("/premiums", json=body, headers=as_(tokens, "clerk", "p1"))
    assert first.status_code == 404
    assert first.json()["error"]["reason"] == "unknown member 'nobody'"
    enrolled(client, tokens, "nobody")
    again = client.post("/premiums", json=body, headers=as_(tokens, "clerk", "p1"))
    assert (again.status_code, again.json()) == (404, first.json())


def test_a_write_needs_its_role_and_a_refusal_records_nothing_but_itself(
    client: TestClient, tokens: dict[str, str], books: Books
) -> None:
    enrolled(client, tokens, "m1")
    claim = submitted(client, tokens, "m1", "3000.00")
    position = books.log.last_position()
    refused = client.post(
        f"/claims/{claim}/approve", json={"date": D}, headers=as_(tokens, "clerk", "a1")
    )
    assert refused.status_code == 403
    assert "clerk may not approve claims" in refused.json()["error"]["reason"]
    [(at, refusal)] = books.log.events_after(position, 10)  # the refusal, and nothing else
    assert (at, type(refusal)) == (position + 1, Refusal.Recorded)
    listed = client.get("/refusals", headers=as_(tokens, "admin")).json()
    assert [r["command"] for r in listed["items"]] == ["approve_claim"]


def test_bad_input_is_answered_400_naming_the_field_and_never_500(
    client: TestClient, tokens: dict[str, str]
) -> None:
    enrolled(client, tokens, "m1")
    cases: list[tuple[dict[str, Any], str]] = [
        ({"eligible_self_paid": 3000.5}, "eligible_self_paid"),  # a float is not yuan
        ({"eligible_self_paid": "3000.555"}, "eligible_self_paid"),
        ({"eligible_self_paid": "3000", "date": "2025-02-30"}, "date"),
        ({"eligible_self_paid": "3000", "surprise": 1}, "surprise"),
    ]
    for change, field in cases:
        body = {"member_id": "m1", "period": 1, "date": D, **change}
        answer = client.post("/claims", json=body, headers=as_(tokens, "clerk", repr(change)))
        assert answer.status_code == 400, (change, answer.json())
        assert answer.json()["error"]["field"] == field, answer.json()
        assert not answer.json()["error"]["reason"].startswith("Value error"), answer.json()
    missing = client.post("/claims", json={"member_id": "m1"}, headers=as_(tokens, "clerk"))
    assert missing.status_code == 400
    assert missing.json()["error"]["field"] == "Idempotency-Key"


def test_approval_payout_balances_and_trail_are_the_books_own(
    client: TestClient, tokens: dict[str, str], books: Books
) -> None:
    enrolled(client, tokens, "m1")
    claim = submitted(client, tokens, "m1", "6000.00")
    approved = client.post(
        f"/claims/{claim}/approve", json={"date": D}, headers=as_(tokens, "approver", "a1")
    )
    assert approved.status_code == 200
    assert approved.json()["benefit"] == "1380.00"  # 4,400 x 20% + 1,000 x 50%
    paid = client.post(
        "/payouts",
        json={"claim_id": claim, "bank_reference": "B1", "date": D},
        headers=as_(tokens, "cashier", "pay1"),
    )
    assert paid.json()["paid"] == "1380.00"
    balances = client.get("/balances", headers=as_(tokens, "approver")).json()
    assert balances == books.report()
    county = client.get("/balances?county=C1", headers=as_(tokens, "approver")).json()
    assert county == books.report("C1")
    trail = client.get(f"/claims/{claim}/trail", headers=as_(tokens, "approver")).json()
    assert [e["event"] for e in trail["items"]][-2:] == ["ClaimApproved", "PayoutMade"]
    assert client.get("/claims/NOPE/trail", headers=as_(tokens, "approver")).status_code == 404
    digest = client.get("/audit/digest", headers=as_(tokens, "approver")).json()
    assert digest["position"] == books.log.last_position()


def test_refusals_come_a_page_at_a_time(client: TestClient, tokens: dict[str, str]) -> None:
    for n in range(5):
        body = {"member_id": f"x{n}", "period": 1, "county": "C1", "unit": "U1", "date": D}
        client.post("/enrolments", json=body, headers=as_(tokens, "cashier", f"e{n}"))
    first = client.get("/refusals?limit=2", headers=as_(tokens, "admin")).json()
    assert (first["total"], len(first["items"]), first["next_offset"]) == (5, 2, 2)
    last = client.get("/refusals?offset=4&limit=2", headers=as_(tokens, "admin")).json()
    assert (len(last["items"]), last["next_offset"]) == (1, None)


@pytest.fixture
def capped(db: str, staff: Callable[[MutualAidLedger], None]) -> Iterator[Books]:
    """Weihai's policy: 50% above 8,000, at most 100,000 a member a period."""
    books = Books(db)
    start, end = date(2025, 1, 1), date(2025, 12, 31)
    books.app.create_scheme("Weihai", "weihai", {"C1": "Huancui"}, "admin", start)
    staff(books.app)
    books.app.open_period(1, start, end, load_preset("weihai").policy_for(1), "approver", start)
    yield books
    books.close()


def test_concurrent_approvals_near_the_cap_never_exceed_it(capped: Books, db: str) -> None:
    """Two services over the same books, as two processes would be, each approving two of
    a member's four claims at once: each claim alone is within the cap, together they are
    twice over it."""
    tokens = {user: capped.app.issue_token(user, "admin") for user in ("clerk", "approver")}
    with TestClient(create_app(db)) as one, TestClient(create_app(db)) as other:
        enrolled(one, tokens, "m1")
        claims = [submitted(one, tokens, "m1", f"10800{n}.00") for n in range(4)]
        answers: list[Any] = []
        start = threading.Barrier(len(claims))

        def approve(client: TestClient, claim: str) -> None:
            start.wait()
            answers.append(
                client.post(
                    f"/claims/{claim}/approve",
                    json={"date": D},
                    headers=as_(tokens, "approver", f"approve-{claim}"),
                )
            )

        threads = [
            threading.Thread(target=approve, args=(one if n % 2 else other, claim))
            for n, claim in enumerate(claims)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    approved = [a.json() for a in answers if a.status_code == 200]
    refused = [a.json()["error"]["reason"] for a in answers if a.status_code != 200]
    total = sum((money(a["benefit"]) for a in approved), Decimal(0))
    assert total == Decimal("100000.00")  # each would give about 50,000: the cap stops them
    expense = capped.report("C1")["counties"]["C1"]["accounts"]["benefit_expense"]
    assert expense == "100000.00"  # and the books hold just what was answered
    assert len(approved) == 2
    assert len(refused) == 2 and all("cap of 100000.00 is used up" in r for r in refused)
    assert {a.status_code for a in answers} == {200, 409}
