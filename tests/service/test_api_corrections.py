"""Appeals, corrections and recoveries through the HTTP service: the same rules and the
same books as the command line, with the statuses of their errors."""

from datetime import date
from typing import Any

from fastapi.testclient import TestClient
from service_calls import D, as_, enrolled, submitted

from ledger.application.books import Books


def test_a_paid_claim_reduced_then_appealed_and_its_overpayment_recovered(
    client: TestClient, tokens: dict[str, str], books: Books
) -> None:
    books.app.grant_role("reviewer", "approver", "admin", date(2025, 1, 1))
    tokens = {**tokens, "reviewer": books.app.issue_token("reviewer", "admin")}
    enrolled(client, tokens, "m1")
    claim = submitted(client, tokens, "m1", "6000.00")

    def call(user: str, path: str, body: dict[str, object]) -> tuple[int, Any]:
        answer = client.post(
            path, json={**body, "date": D}, headers=as_(tokens, user, f"{path}-{user}-{body}")
        )
        return answer.status_code, answer.json()

    assert call("approver", f"/claims/{claim}/approve", {})[0] == 200
    assert call("cashier", "/payouts", {"claim_id": claim, "bank_reference": "B1"})[0] == 200
    both = {"reason": "x", "reverse": True, "eligible_self_paid": "3000.00"}
    status, refused = call("approver", f"/claims/{claim}/correct", both)
    assert (status, refused["error"]) == (
        400,
        {
            "reason": "give either the corrected eligible self-paid amount or a reversal",
            "field": "eligible_self_paid",
        },
    )
    correction = {"reason": "insurance re-settled the bill", "eligible_self_paid": "3000.00"}
    assert call("approver", f"/claims/{claim}/correct", correction) == (
        200,
        {"claim_id": claim, "benefit": "480.00"},
    )
    owed = client.get("/recoveries", headers=as_(tokens, "cashier")).json()
    assert [(o["claim_id"], o["to_recover"]) for o in owed["items"]] == [(claim, "900.00")]

    assert call("clerk", f"/claims/{claim}/appeal", {"grounds": "the bill was right"})[0] == 200
    status, refused = call("approver", f"/claims/{claim}/reassess", {"reason": "checked"})
    assert (status, refused["error"]["reason"]) == (
        403,
        f"approver may not reassess claim {claim}: approver decided it",
    )
    upheld = call("reviewer", f"/claims/{claim}/reassess", {"reason": "the re-settled bill holds"})
    assert upheld == (200, {"claim_id": claim, "benefit": "480.00"})
    assert (
        call("cashier", f"/recoveries/{claim}/collect", {"receipt": "RC1", "amount": "1000.00"})[0]
        == 409
    )
    collected = call("cashier", f"/recoveries/{claim}/collect", {"receipt": "RC1"})
    assert collected == (200, {"claim_id": claim, "collected": "900.00", "receipt": "RC1"})
    assert client.get("/recoveries", headers=as_(tokens, "cashier")).json()["items"] == []
    assert client.get("/balances", headers=as_(tokens, "approver")).json() == books.report()
    c1 = books.report("C1")["counties"]["C1"]["accounts"]
    assert (c1["recovery_receivable"], c1["benefit_expense"], c1["bank"]) == (
        "0.00",
        "480.00",
        "-430.00",
    )
