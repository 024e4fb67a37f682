"""A ledger written before the code was last reorganised (tests/data/ledger-f2dab29, made by
commit f2dab29 with its make.py) still opens, verifies and reads exactly as it did: the
same outputs, byte for byte, for writers and for read-only users. (expected.json was last
written again when the chart gained the recovery and city pool accounts: the balances
list them at 0.00, the JSON statement names the pool's money (none) and each deficit's
cover (a grant); and again when the statement gained its calendar claims ratio, its figures
by member group and its table of all units: additions, and the ratio's label saying which it
is; and when the chart gained the accounts of counties joining and leaving the pool, listed
at 0.00, with `scheme show` naming none joined or left; and when it gained the accounts of
pro-rating, listed at 0.00, the JSON statement saying none (`pro_rating`), and the HTML
statement's embedded font subset taking in the new accounts' names, and `scheme show`
saying of each period that it was not pro-rated; and when the statement gained its figures
by benefit item, `by_item`, empty for a policy without items; and when `audit verify
--json` gained the rules its replay checks, `rules`, none broken, and the published
digests it checked, `chain.digests`, none given.)"""

import json
import os
import shutil
import stat
from pathlib import Path

from cli_runner import Ledger

DATA = Path(__file__).parent.parent / "data" / "ledger-f2dab29"
COMMANDS: list[list[str]] = json.loads((DATA / "commands.json").read_text("utf-8"))
EXPECTED: list[dict[str, object]] = json.loads((DATA / "expected.json").read_text("utf-8"))


def _reads_as_before(ledger: Ledger, db: Path, out_dir: Path, *extra: str) -> None:
    for i, (command, expected) in enumerate(zip(COMMANDS, EXPECTED, strict=True)):
        out = out_dir / f"out-{i}"
        result = ledger(str(db), *[a.replace("{out}", str(out)) for a in command], *extra)
        assert result.returncode == expected["code"], (command, result.stderr)
        assert result.stdout.replace(str(out), "{out}") == expected["stdout"], command
        assert (out.read_text("utf-8") if out.exists() else None) == expected["file"], command


def test_an_old_ledger_reads_and_verifies_as_before_for_a_writer(
    ledger: Ledger, tmp_path: Path
) -> None:
    db = tmp_path / "ledger.db"
    shutil.copy(DATA / "ledger.db", db)
    _reads_as_before(ledger, db, tmp_path)


def test_an_old_ledger_reads_and_verifies_as_before_for_a_read_only_user(
    ledger: Ledger, tmp_path: Path
) -> None:
    folder = tmp_path / "copy"
    folder.mkdir()
    db = folder / "ledger.db"
    shutil.copy(DATA / "ledger.db", db)
    os.chmod(db, stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    before = db.read_bytes()
    _reads_as_before(ledger, db, out_dir, "--read-only")
    assert db.read_bytes() == before
