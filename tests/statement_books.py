"""A small period to report on, for the statement tests: two counties, three units, claims
approved and rejected, payouts made and returned, and the period closed so that both
counties' deficits are shared.

C1 takes 150.00 in premiums against 10,480.20 of benefits, C2 100.00 against 120.00; the
Pinghu policy shares a deficit half and half between the city pool and the county.

Another period, `record_twin_units`, has a unit of the same name in each county.
"""

from datetime import date

from rosters import import_roster, roster_line

from ledger.application.books import Books

ON = date(2025, 3, 1)
CLOSED_ON = date(2026, 1, 31)
MEMBERS = {
    "M0010001": ("C1", "Glass Works"),
    "M0010002": ("C1", "Glass Works"),
    "M0010003": ("C1", "Dye House"),
    "M0020001": ("C2", "Harbour Union"),
    "M0020002": ("C2", "Harbour Union"),
}


def record_period(books: Books) -> None:
    app = books.app
    lines = [
        roster_line(m, county, unit, on=date(2025, 1, 2)) for m, (county, unit) in MEMBERS.items()
    ]
    import_roster(books, *lines)
    big = app.submit_claim("M0010001", 1, "20000.00", "clerk", ON)  # benefit 10,380.00
    app.approve_claim(big, "approver", ON)
    app.make_payout(big, None, "B-1", "cashier", date(2025, 3, 10))
    small = app.submit_claim("M0010002", 1, "1101.00", "clerk", ON)  # 100.20
    app.approve_claim(small, "approver", ON)
    app.make_payout(small, None, "B-2", "cashier", date(2025, 3, 10))
    app.return_payout(small, "B-2", "account closed", "cashier", date(2025, 3, 12))
    below = app.submit_claim("M0010003", 1, "500.00", "clerk", ON, claim_id="S-500")
    app.reject_claim(below, "below the deductible", "approver", ON)
    one = app.submit_claim("M0020001", 1, "900.00", "clerk", ON)  # 60.00
    app.approve_claim(one, "approver", ON)
    app.make_payout(one, None, "B-3", "cashier", date(2025, 3, 10))
    for amount in ("700.00", "800.00"):  # 20.00 and 40.00
        claim = app.submit_claim("M0020002", 1, amount, "clerk", date(2025, 4, 1))
        app.approve_claim(claim, "approver", date(2025, 4, 2))
    books.close_period(1, "approver", CLOSED_ON)


TWINS = {
    "M0010101": ("C1", "Glass Works"),
    "M0010102": ("C1", "Glass Works"),
    "M0020101": ("C2", "Glass Works"),
    "M0020102": ("C2", "Harbour Union"),
}
"""Two units named Glass Works, one in each county (units are named within a county), and
a C2 unit besides. C1's Glass Works: 2 members, premiums 100.00, one claim of 20,000.00
(benefit 10,380.00). C2's: 1 member, premiums 50.00, claims of 900.00 and 700.00
(benefits 60.00 and 20.00). C2's Harbour Union: one claim of 6,000.00, rejected."""


def record_twin_units(books: Books) -> None:
    """The period of TWINS, left open."""
    app = books.app
    lines = [
        roster_line(m, county, unit, on=date(2025, 1, 2)) for m, (county, unit) in TWINS.items()
    ]
    import_roster(books, *lines)
    big = app.submit_claim("M0010101", 1, "20000.00", "clerk", ON)
    app.approve_claim(big, "approver", ON)
    app.make_payout(big, None, "B-1", "cashier", date(2025, 3, 10))
    for amount in ("900.00", "700.00"):
        claim = app.submit_claim("M0020101", 1, amount, "clerk", ON)
        app.approve_claim(claim, "approver", ON)
    other = app.submit_claim("M0020102", 1, "6000.00", "clerk", ON)
    app.reject_claim(other, "not covered", "approver", ON)
