"""Importing bank results on both backends: a result dated before the payment it reports,
and one that cannot be applied whole, which changes nothing."""

from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest
from feed_files import claim, write_feed
from ledger_feeds import CASHIER, RESULT_HEADER, claims_file, events, imported

from ledger.application.books import Books
from ledger.application.feeds import ImportRefused, Reject, import_feed
from ledger.reports.payments import export_payouts


def test_a_bank_result_dated_before_the_payment_it_reports_is_rejected(
    books: Books, enrol: Callable[..., None], tmp_path: Path
) -> None:
    enrol("M1")
    imported(books, "claims", claims_file(tmp_path / "c.csv", claim("S1", "M1", "900.00")))
    export_payouts(books, "2025-06", tmp_path / "batch.csv", CASHIER, date(2025, 6, 30))
    before = events(books)
    results = write_feed(tmp_path / "results.csv", RESULT_HEADER, "2025-06/M1,paid,,2025-06-29")

    with pytest.raises(ImportRefused) as refused:
        import_feed(books, "payout-results", results, CASHIER)

    assert refused.value.summary.rejects == [
        Reject(
            2,
            "reported_on",
            "2025-06-29",
            "payout '2025-06/M1' of claim 'S1' was made on 2025-06-30: it cannot be confirmed "
            "on 2025-06-29",
        )
    ]
    assert events(books) == before


def test_a_bank_result_rejected_in_a_partial_import_changes_nothing(
    books: Books, enrol: Callable[..., None], tmp_path: Path
) -> None:
    """M1's two claims went out under one reference; finance then recorded one of the two
    payments as returned. The bank reports the whole reference paid: the line cannot be
    applied whole, so it is rejected, and must leave both payments as they were."""
    enrol("M1")
    imported(
        books,
        "claims",
        claims_file(
            tmp_path / "c.csv", claim("S1", "M1", "20000.00"), claim("S2", "M1", "6000.00")
        ),
    )
    export_payouts(books, "2025-06", tmp_path / "batch.csv", CASHIER, date(2025, 6, 30))
    books.app.return_payout("S2", "2025-06/M1", "bounced", CASHIER, date(2025, 7, 1))
    before = events(books)
    results = write_feed(tmp_path / "results.csv", RESULT_HEADER, "2025-06/M1,paid,,2025-07-02")

    summary = import_feed(
        books, "payout-results", results, CASHIER, partial=True, rejects_path=tmp_path / "r.csv"
    )

    assert (summary.imported, summary.rejected) == (0, 1)
    assert [(p.claim_id, p.status) for p in books.claims.payments("2025-06/M1")] == [
        ("S1", "made"),
        ("S2", "returned"),
    ]
    assert events(books) == before
    assert summary.amounts == {}
