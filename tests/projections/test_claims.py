"""The claims read model answers for many bank references at once as it does for each."""

from datetime import date

from ledger.application.books import Books

ON = date(2025, 3, 1)


def test_payouts_under_many_references_are_those_under_each(ledger_of_three: Books) -> None:
    app = ledger_of_three.app
    claims = {}
    for member in ("m1", "m2", "m3"):
        claims[member] = [app.submit_claim(member, 1, "9000.00", "clerk", ON) for _ in range(2)]
        for claim in claims[member]:
            app.approve_claim(claim, "approver", ON)
    app.pay_out_batch({"m1": claims["m1"], "m3": claims["m3"]}, "2025-07/", "cashier", ON)
    app.make_payout(claims["m2"][0], None, "BANK-1", "cashier", ON)
    ledger_of_three.catch_up()
    model = ledger_of_three.claims
    references = ["2025-07/m1", "BANK-1", "2025-07/m3", "2025-07/m2"]

    found = model.payments_under(references)

    assert found == {r: model.payments(r) for r in references if model.payments(r)}
    assert [len(found[r]) for r in ("2025-07/m1", "BANK-1", "2025-07/m3")] == [2, 1, 2]
