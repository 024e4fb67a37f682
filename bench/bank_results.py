"""`ledger import payout-results` on a bank file of N payments: records/s and SQL statements
per record, on SQLite and PostgreSQL.

    python bench/bank_results.py [--members N] [--backend sqlite|postgres|both]

Builds N members with bank accounts (roster, premiums), a settled claim each, pays them in
one batch (one reference BATCH/MEMBER a member), and times the import of the bank's file
reporting every payment paid. The statements are counted at the database driver.
"""

import argparse
import csv
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent))
from feeds import imported, ledger_db, new_books, write_premiums

from ledger.reports.payments import export_payouts


def write_roster(path: Path, n: int) -> None:
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["名册行号", "会员编号", "期次", "区县", "单位", "参保日期", "银行账号"])
        for i in range(n):
            county = f"C{i % 8 + 1:02d}"
            row = [i + 1, f"M{i:07d}", 1, county, f"{county}-U{i % 500:03d}", "2025-01-05"]
            w.writerow([*row, f"6222{i:015d}"])


def write_claims(path: Path, n: int) -> None:
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(
            ["结算单号", "会员编号", "入院日期", "出院日期", "总费用", "统筹支付", "合规自付"]
        )
        for i in range(n):
            w.writerow(
                [
                    f"S{i:08d}",
                    f"M{i:07d}",
                    "2025-03-01",
                    "2025-03-06",
                    "9000.00",
                    "6000.00",
                    "3000.00",
                ]
            )


def write_results(path: Path, n: int) -> None:
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["bank_reference", "status", "return_reason", "reported_on"])
        for i in range(n):
            w.writerow([f"2025-07/M{i:07d}", "paid", "", "2025-07-05"])


@contextmanager
def counted() -> Iterator[list[int]]:
    """Statements psycopg executes meanwhile (PostgreSQL; sqlite3's cursor cannot be
    wrapped)."""
    count = [0]
    execute = psycopg.Cursor.execute

    def counting(self: Any, *args: Any, **kwargs: Any) -> Any:
        count[0] += 1
        return execute(self, *args, **kwargs)

    psycopg.Cursor.execute = counting  # type: ignore[method-assign]
    try:
        yield count
    finally:
        psycopg.Cursor.execute = execute  # type: ignore[method-assign]


def run(backend: str, members: int) -> None:
    with tempfile.TemporaryDirectory() as tmp_name, ledger_db(backend, Path(tmp_name)) as db:
        tmp = Path(tmp_name)
        books = new_books(db)
        books.app.grant_role("b", "cashier", "bench", date(2025, 1, 1))
        for kind, write in (
            ("enrolments", write_roster),
            ("premiums", write_premiums),
            ("claims", write_claims),
        ):
            path = tmp / f"{kind}.csv"
            write(path, members)
            imported(books, kind, path)
        export_payouts(books, "2025-07", tmp / "bank.csv", "b", date(2025, 7, 1))
        results = tmp / "results.csv"
        write_results(results, members)
        books.catch_up()
        with counted() as statements:
            started = time.perf_counter()
            imported(books, "payout-results", results)
            seconds = time.perf_counter() - started
        books.close()
    rate = f"{members} bank results in {seconds:.2f} s: {members / seconds:,.0f}/s"
    if backend == "postgres":
        rate += f", {statements[0] / members:.3f} statements a record"
    print(f"{backend}: {rate}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--members", type=int, default=5000)
    parser.add_argument("--backend", choices=("sqlite", "postgres", "both"), default="both")
    args = parser.parse_args()
    for backend in ("sqlite", "postgres") if args.backend == "both" else (args.backend,):
        run(backend, args.members)


if __name__ == "__main__":
    main()
