"""The README's "Using it" runs as typed, and the example feeds in docs/examples import as
docs/feeds.md says, on both backends."""

import json
import re
import shlex
import shutil
from collections.abc import Iterator
from itertools import pairwise
from pathlib import Path

import psycopg
import pytest
from cli_runner import Result, one_line_error
from psycopg import sql

from ledger.cli.main import main
from ledger.store.config import is_postgres

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "docs" / "examples"


def run(capsys: pytest.CaptureFixture[str], db: str, *args: str) -> str:
    capsys.readouterr()
    try:
        main(["--db", db, *args])
    except SystemExit as e:
        assert e.code == 0, capsys.readouterr().err
    return capsys.readouterr().out


def test_the_documented_feeds_walk_through_a_whole_payment_cycle(
    capsys: pytest.CaptureFixture[str], db: str, tmp_path: Path
) -> None:
    run(
        capsys,
        db,
        "--actor",
        "admin",
        "scheme",
        "create",
        "--name",
        "平湖",
        "--preset",
        "pinghu",
        "--county",
        "DH=当湖",
        "--county",
        "ZP=乍浦",
        "--date",
        "2025-01-01",
    )
    for user in ("clerk", "approver", "cashier"):
        run(capsys, db, "--actor", "admin", "users", "grant", user, user)
    run(
        capsys,
        db,
        "--actor",
        "approver",
        "period",
        "open",
        "1",
        "--start",
        "2025-01-01",
        "--end",
        "2025-12-31",
    )
    # The settlements of the discharges of 2025-03-09 and 2025-04-20 arrive on 2025-04-30,
    # within period 1's claim deadline; the other feeds are dated in their records.
    for kind, name, received in (
        ("enrolments", "enrolments.csv", ()),
        ("premiums", "premiums.jsonl", ()),
        ("claims", "claims.csv", ("--date", "2025-04-30")),
    ):
        summary = json.loads(
            run(
                capsys,
                db,
                *("--actor", "clerk", "import", kind, str(EXAMPLES / name), *received, "--json"),
            )
        )
        assert summary["rejected"] == 0 and summary["imported"] == summary["read"] > 0
    bank_file = tmp_path / "pay.csv"
    run(
        capsys,
        db,
        "--actor",
        "cashier",
        "payouts",
        "export",
        "--batch",
        "2025-06",
        "--out",
        str(bank_file),
        "--date",
        "2025-06-01",
    )
    assert bank_file.read_text(encoding="utf-8").splitlines()[1:] == [
        "2025-06,2025-06/M0001,M0001,张三,6222021204001234567,中国工商银行平湖支行,DH,10380.00,1",
        "2025-06,2025-06/M0002,M0002,李四,6217001630009876543,中国建设银行乍浦支行,ZP,1180.00,1",
    ]
    results = json.loads(
        run(
            capsys,
            db,
            "--actor",
            "cashier",
            "import",
            "payout-results",
            str(EXAMPLES / "payout-results.csv"),
            "--json",
        )
    )
    assert results["amounts"] == {"confirmed": "1180.00", "returned": "10380.00"}
    balances = json.loads(run(capsys, db, "balances", "--json"))
    assert balances["counties"]["DH"]["accounts"]["benefits_payable"] == "10380.00"
    sms = tmp_path / "sms.jsonl"
    run(capsys, db, "--actor", "cashier", "notifications", "export", "--out", str(sms))
    sent = [json.loads(line) for line in sms.read_text(encoding="utf-8").splitlines()]
    # The 10,380.00 payout came back from the bank before the texts were handed over: its
    # text is withdrawn, and only the confirmed payout's is sent, to the roster's phone.
    assert [(m["member_id"], m["phone"]) for m in sent] == [("M0002", "13957305678")]
    assert "1180.00元" in sent[0]["text"] and sent[0]["text"].startswith("【平湖】")


def using_it() -> list[str]:
    """The commands of the README's "Using it" block, in order; a line ending in a backslash
    goes on in the next, as in the shell."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## Using it\n", 1)[1]
    block = section.split("```sh\n", 1)[1].split("\n```", 1)[0]
    return block.replace("\\\n", " ").splitlines()


def expected_status(line: str, backend: str) -> int:
    """0, unless the line's comment says `refused:` (everywhere) or `refused on SQLite`."""
    comment = line.partition("  #")[2]
    if "refused on SQLite" in comment:
        return 1 if backend == "sqlite" else 0
    return 1 if "refused:" in comment else 0


class Shell:
    """Runs a README line as the shell would hand it to `ledger`: words split and quotes
    removed, the comment dropped, and `$(ledger ...)` replaced by what that command prints."""

    def __init__(self, capsys: pytest.CaptureFixture[str]) -> None:
        self.capsys = capsys

    def run(self, words: list[str]) -> tuple[int, str, str]:
        assert words[0] == "ledger", words
        args = [self.substitute(w) for w in words[1:]]
        self.capsys.readouterr()
        try:
            main(args)
            code = 0
        except SystemExit as e:
            code = e.code if isinstance(e.code, int) else 1
        captured = self.capsys.readouterr()
        return code, captured.out, captured.err

    def substitute(self, word: str) -> str:
        inner = re.fullmatch(r"\$\((ledger .*)\)", word)
        if inner is None:
            return word
        code, printed, problem = self.run(shlex.split(inner.group(1)))
        assert code == 0, problem
        return printed.strip()


@pytest.fixture
def auditor_role(db: str) -> Iterator[None]:
    """The PostgreSQL role the README's `grant-reader` line names, as an administrator would
    have created it; on SQLite there is none, and the line is refused."""
    if not is_postgres(db):
        yield
        return
    server = db.split("?", 1)[0]
    with psycopg.connect(server, autocommit=True) as conn:
        try:
            conn.execute("CREATE ROLE auditor LOGIN")
            created = True
        except psycopg.errors.DuplicateObject:
            created = False
    yield
    if created:
        with psycopg.connect(server, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP OWNED BY auditor"))
            conn.execute(sql.SQL("DROP ROLE auditor"))


@pytest.mark.usefixtures("auditor_role")
def test_the_readme_using_it_block_runs_as_typed_on_a_new_ledger(
    capsys: pytest.CaptureFixture[str],
    db: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Each line as the README has it, in order, from a folder holding the project's
    docs/examples, on the ledger of LEDGER_DB (PostgreSQL) or ledger.db there (SQLite)."""
    shutil.copytree(EXAMPLES, tmp_path / "docs" / "examples")
    monkeypatch.chdir(tmp_path)
    for name in ("LEDGER_DB", "LEDGER_ACTOR", "LEDGER_READ_ONLY"):
        monkeypatch.delenv(name, raising=False)
    backend = "postgres" if is_postgres(db) else "sqlite"
    if backend == "postgres":
        monkeypatch.setenv("LEDGER_DB", db)
    shell = Shell(capsys)
    lines = using_it()
    assert len(lines) > 40 and not any("[" in line.partition("  #")[0] for line in lines)
    for line in lines:
        words = shlex.split(line, comments=True)
        code, printed, problem = shell.run(words)
        expected = expected_status(line, backend)
        assert code == expected, (line, problem)
        if expected:
            one_line_error(Result(code, printed, problem))
        else:
            assert "Traceback" not in problem, (line, problem)
        for option, path in pairwise(words):
            if option in ("--out", "-o", "--rejects", "--db") and not expected:
                written = tmp_path / path
                assert written.exists(), (line, "wrote nothing to", path)
                assert not written.is_dir() or any(written.iterdir()), (line, "an empty folder")
        if "--json" in words and not expected:
            json.loads(printed)
    assert (tmp_path / "ledger.db").exists() == (backend == "sqlite")
    report = json.loads(shell.run(["ledger", "balances", "--json"])[1])
    assert report["trial_balance"] == "0.00"
