"""The claims read model answers for many bank references at once as it does for each,
and owes what the domain's claims owe after corrections."""

from datetime import date
from decimal import Decimal

from ledger.application.books import Books
from projections.claims import Owed

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


def test_what_is_payable_and_to_recover_is_the_members_own_after_corrections(
    ledger_of_three: Books,
) -> None:
    """Reductions, write-offs, collections and returns after them: the read model owes
    what each claim of the domain owes, either way, and a rebuild gives the same."""
    app = ledger_of_three.app
    app.grant_role("li", "approver", "admin", ON)
    reversed_, reduced, kept = (app.submit_claim(m, 1, "9000.00", "clerk", ON) for m in
                                ("m1", "m2", "m3"))  # fmt: skip
    for claim, reference in ((reversed_, "B-1"), (reduced, "B-2"), (kept, "B-3")):
        app.approve_claim(claim, "approver", ON)
        app.make_payout(claim, None, reference, "cashier", ON)
    app.correct_claim(reversed_, None, True, "fraud suspected", "li", ON)
    app.collect_recovery(reversed_, None, "RC-1", "cashier", ON)
    app.return_payout(reversed_, "B-1", "the bank reversed the credit", "cashier", ON)
    app.correct_claim(reduced, "3000.00", False, "insurance re-settled", "li", ON)
    app.write_off_recovery(reduced, "the member cannot pay", "li", ON)
    app.return_payout(reduced, "B-2", "account closed", "cashier", ON)
    app.correct_claim(kept, "5000.00", False, "a stay counted twice", "li", ON)
    ledger_of_three.catch_up()

    def owed(found: list[Owed]) -> dict[str, object]:
        return {o.claim_id: o.amount for o in found}

    domain = {c: app.member_of_claim(c).claim(c) for c in (reversed_, reduced, kept)}
    assert (
        owed(ledger_of_three.claims.payable())
        == {c: claim.payable for c, claim in domain.items() if claim.payable}
        == {reversed_: Decimal("2880.00"), reduced: Decimal("480.00")}  # 9,000: 880 + 2,000
    )
    assert owed(ledger_of_three.claims.receivable()) == {
        c: claim.receivable for c, claim in domain.items() if claim.receivable
    }
    before = ledger_of_three.claims.payable(), ledger_of_three.claims.receivable()
    ledger_of_three.claims.rebuild()
    assert (ledger_of_three.claims.payable(), ledger_of_three.claims.receivable()) == before
