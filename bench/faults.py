"""Faults at volume: SIGKILLs at random moments of the commands that write, on SQLite and
PostgreSQL, each followed by the rerun; the result set beside a run with no kill.

    python bench/faults.py [--members 3000] [--kills 6] [--seed 1] [--backend both]
                           [--out docs/reliability.md]

A city period is run twice on each backend, as an operator runs it, each command a process
of its own (`python -m ledger`): the roster, premiums and settlements imported, the read
models rebuilt, a payout batch exported, the bank's results imported, the statement, the
period closed, `audit verify`. Once with no fault: the reference. Once with each step
killed (SIGKILL) --kills times, each at a moment drawn at random within the step's own
time in the reference, before it is run to its end: the rerun an operator would make.
A close already done when its rerun comes says so (`period 1 is closed: ...`), which
counts as its end.

Then both runs' balances, claims and payouts (`recoveries list` and the bank file), SMS
outbox (`notifications export`) and statement (its JSON less the position and digest it
was made at, which differ with the time of recording) must be equal, and `audit verify`
must pass on the killed run. Beside the kills: a PostgreSQL import whose connection is cut
mid-batch (pg_terminate_backend), and an SQLite import onto a full disk (a 4 MB tmpfs:
root may mount one), each a one-line error, nothing half-applied, and the rerun completes.

The section "Faults at volume" of --out is replaced with the figures: kills tried, kills
that landed while the step ran, runs that survived (equal results, verify passing), lost.
"""

import argparse
import csv
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from psycopg import sql

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from run import postgres_server, replace_section, say

HEADING = "Faults at volume"
LEDGER = [sys.executable, "-m", "ledger"]
ENV = {**os.environ, "LEDGER_ACTOR": "tester", "PYTHONPATH": str(Path.cwd())}


@dataclass(frozen=True)
class Step:
    name: str
    args: tuple[str, ...]
    done_already: str | None = None
    """What its rerun says when the step was done before the kill (none: it reruns)."""


@dataclass
class Tally:
    tried: int = 0
    landed: int = 0
    """Kills that came while the step still ran (the others found it finished)."""
    steps: dict[str, int] = field(default_factory=dict)


def files(folder: Path, members: int, rng: random.Random) -> dict[str, Path]:
    """The city's feeds: a roster with accounts and phones, premiums, one settlement a
    member for most members."""
    roster, premiums, claims = folder / "roster.csv", folder / "premiums.csv", folder / "claims.csv"
    ids = [f"M{n:07d}" for n in range(1, members + 1)]
    with roster.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(
            [
                "roster_line",
                "member_id",
                "period",
                "county",
                "unit",
                "enrolled_on",
                "name",
                "bank_account",
                "phone",
            ]
        )
        for n, m in enumerate(ids, 1):
            w.writerow(
                [
                    n,
                    m,
                    1,
                    f"C{n % 2 + 1}",
                    f"U{n % 40}",
                    "2025-01-06",
                    f"职工{n}",
                    f"6222{n:015d}",
                    f"138{n:08d}",
                ]
            )
    with premiums.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["receipt", "member_id", "period", "source", "amount", "paid_on"])
        for m in ids:
            w.writerow([f"W-{m}", m, 1, "worker", "1.00", "2025-01-06"])
            w.writerow([f"U-{m}", m, 1, "union:city", "49.00", "2025-01-06"])
    with claims.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(
            [
                "settlement_no",
                "member_id",
                "admitted_on",
                "discharged_on",
                "total_cost",
                "insurance_paid",
                "eligible_self_paid",
            ]
        )
        for n, m in enumerate(ids):
            if n % 10 < 7:
                eligible = rng.choice(("900.00", "1500.00", "3000.00", "12000.00"))
                total = f"{float(eligible) + 5000:.2f}"
                w.writerow([f"JS-{n}", m, "2025-03-01", "2025-03-10", total, "5000.00", eligible])
    return {"roster": roster, "premiums": premiums, "claims": claims}


def big_roster(folder: Path, members: int) -> Path:
    """A roster saved in several chunks (2,000 members each), for the faults mid-save."""
    path = folder / "big-roster.csv"
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["roster_line", "member_id", "period", "county", "unit", "enrolled_on"])
        for n in range(1, members + 1):
            w.writerow([f"B{n}", f"B{n:07d}", 1, "C1", "U1", "2025-01-06"])
    return path


def bank_results(bank: Path, out: Path) -> Path:
    """The bank's result file for a payment file: every line paid but one in fifty."""
    with bank.open(encoding="utf-8") as f:
        lines = list(csv.DictReader(f))
    with out.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["bank_reference", "status", "return_reason", "reported_on"])
        for n, line in enumerate(lines):
            returned = n % 50 == 0
            w.writerow(
                [
                    line["bank_reference"],
                    "returned" if returned else "paid",
                    "account closed" if returned else "",
                    "2025-07-05",
                ]
            )
    return out


def steps(folder: Path, feeds: dict[str, Path]) -> list[Step]:
    return [
        Step("import enrolments", ("import", "enrolments", str(feeds["roster"]))),
        Step("import premiums", ("import", "premiums", str(feeds["premiums"]))),
        Step("import claims", ("import", "claims", str(feeds["claims"]), "--date", "2025-03-12")),
        Step("projections rebuild", ("projections", "rebuild")),
        Step("catch-up (balances)", ("balances", "--json")),
        Step(
            "payouts export",
            (
                "payouts",
                "export",
                "--batch",
                "B1",
                "--out",
                str(folder / "bank.csv"),
                "--date",
                "2025-07-01",
            ),
        ),
        Step("import payout-results", ("import", "payout-results", str(folder / "results.csv"))),
        Step(
            "statement",
            (
                "statement",
                "--period",
                "1",
                "--format",
                "json",
                "--out",
                str(folder / "statement.json"),
            ),
        ),
        Step(
            "period close", ("period", "close", "1", "--date", "2026-01-31"), "period 1 is closed"
        ),
    ]


def ledger(db: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*LEDGER, "--db", db, *args], capture_output=True, text=True, env=ENV)


def ok(db: str, *args: str) -> str:
    done = ledger(db, *args)
    if done.returncode != 0:
        raise SystemExit(f"ledger {' '.join(args)}: {done.stderr.strip()}")
    return done.stdout


def set_up(db: str) -> None:
    ok(
        db,
        "scheme",
        "create",
        "--name",
        "Faults",
        "--preset",
        "pinghu",
        "--county",
        "C1=A",
        "--county",
        "C2=B",
    )
    for role in ("clerk", "approver", "cashier"):
        ok(db, "users", "grant", "tester", role)
    ok(db, "period", "open", "1", "--start", "2025-01-01", "--end", "2025-12-31")


def run_step(db: str, step: Step, folder: Path) -> float:
    """Run the step to its end (a rerun if killed before); its wall time."""
    if step.name == "import payout-results":
        bank_results(folder / "bank.csv", folder / "results.csv")
    started = time.monotonic()
    done = ledger(db, *step.args)
    if done.returncode != 0 and not (step.done_already and step.done_already in done.stderr):
        raise SystemExit(f"{step.name}: {done.stderr.strip()}")
    if "Traceback" in done.stderr:
        raise SystemExit(f"{step.name}: a traceback: {done.stderr}")
    return time.monotonic() - started


def kill_at(db: str, step: Step, folder: Path, delay: float) -> bool:
    """Start the step and SIGKILL it after `delay` seconds: whether it was still running."""
    if step.name == "import payout-results":
        bank_results(folder / "bank.csv", folder / "results.csv")
    process = subprocess.Popen(
        [*LEDGER, "--db", db, *step.args],
        env=ENV,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(delay)
    running = process.poll() is None
    process.send_signal(signal.SIGKILL)
    process.wait()
    return running


def outcome(db: str, folder: Path) -> dict[str, object]:
    """What the two runs must agree on."""
    balances = json.loads(ok(db, "balances", "--json"))
    balances.pop("position", None)
    statement = json.loads((folder / "statement.json").read_text("utf-8"))
    statement.pop("known_at", None)
    sms = folder / "sms.jsonl"
    ok(db, "notifications", "export", "--out", str(sms))
    ok(db, "payouts", "export", "--batch", "B1", "--out", str(folder / "bank-again.csv"))
    return {
        "balances": balances,
        "statement": statement,
        "bank file": (folder / "bank-again.csv").read_text("utf-8"),
        "recoveries": ok(db, "recoveries", "list", "--json"),
        "outbox": sorted(sms.read_text("utf-8").splitlines()),
    }


def city_period(
    db: str,
    folder: Path,
    feeds: dict[str, Path],
    rng: random.Random | None,
    kills: int,
    timings: dict[str, float],
    tally: Tally,
    only: Sequence[str] = (),
) -> dict[str, object]:
    """The period, each step (each of `only`, if given) killed `kills` times first (with
    `rng`), else not at all."""
    set_up(db)
    for step in steps(folder, feeds):
        if rng is not None and (not only or step.name in only):
            for _ in range(kills):
                tally.tried += 1
                tally.steps[step.name] = tally.steps.get(step.name, 0) + 1
                if kill_at(db, step, folder, rng.uniform(0.3, max(0.4, timings[step.name]))):
                    tally.landed += 1
        took = run_step(db, step, folder)
        if rng is None:
            timings[step.name] = took
    verified = ledger(db, "audit", "verify")
    if verified.returncode != 0:
        raise SystemExit(f"verify failed: {verified.stdout[-2000:]}")
    return outcome(db, folder)


@contextmanager
def backend(kind: str) -> Iterator[Iterator[str]]:
    """Ledgers on the backend: SQLite files, or schemas of a database of the run's own."""
    if kind == "sqlite":
        with tempfile.TemporaryDirectory(prefix="ledger-faults-") as tmp:
            yield (f"{tmp}/ledger-{n}.db" for n in range(1000))
        return
    with postgres_server() as (server, _):
        database = f"bench_faults_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(server, autocommit=True) as admin:
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
        url = server.rsplit("/", 1)[0] + "/" + database
        try:
            yield (f"{url}?schema=s{n}" for n in range(1000))
        finally:
            with psycopg.connect(server, autocommit=True) as admin:
                admin.execute(
                    sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                        sql.Identifier(database)
                    )
                )


def connection_cut(db: str, folder: Path, feeds: dict[str, Path]) -> str:
    """A PostgreSQL import whose sessions are terminated while it saves: its one-line
    error, and the rerun completing the feed."""
    set_up(db)
    url, _, schema = db.partition("?schema=")
    process = subprocess.Popen(
        [*LEDGER, "--db", db, "import", "enrolments", str(feeds["big roster"])],
        env=ENV,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    with psycopg.connect(url, autocommit=True) as admin:
        table = sql.Identifier(schema, "ledger_events")
        deadline = time.monotonic() + 120
        while process.poll() is None and time.monotonic() < deadline:
            try:
                count = admin.execute(sql.SQL("SELECT count(*) FROM {}").format(table)).fetchone()
            except psycopg.errors.UndefinedTable:
                count = (0,)
            if count and int(str(count[0])) > 10:
                break
            time.sleep(0.02)
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
    _, err = process.communicate(timeout=300)
    said = err.strip().splitlines()[-1] if err.strip() else "(nothing: it had finished)"
    lines = len(err.strip().splitlines())
    rerun = json.loads(ok(db, "import", "enrolments", str(feeds["big roster"]), "--json"))
    verified = ledger(db, "audit", "verify").returncode == 0
    total = rerun["imported"] + rerun["already_present"]
    return (
        f"exit {process.returncode}, {lines} line(s) on stderr: `{said}`; the rerun: "
        f"{rerun['imported']} imported, {rerun['already_present']} already present "
        f"(of {total}); verify {'passes' if verified else 'FAILS'}"
    )


def full_disk(folder: Path, feeds: dict[str, Path]) -> str:
    """An SQLite import onto a full disk, a 4 MB tmpfs: its one-line error, nothing
    half-applied, and the rerun completing on a disk with room."""
    mount = folder / "small"
    mount.mkdir()
    mounted = (
        subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mount)], capture_output=True
        ).returncode
        == 0
    )
    if not mounted:
        return "not run: this user may not mount a tmpfs (run as root)"
    try:
        db = str(mount / "ledger.db")
        set_up(db)
        done = ledger(db, "import", "enrolments", str(feeds["big roster"]))
        said = done.stderr.strip().splitlines()
        moved = folder / "moved.db"  # onto a disk with room, as an operator would
        for suffix in ("", "-wal"):  # the log's last commits may be in the WAL still
            if Path(db + suffix).exists():
                shutil.copy(db + suffix, str(moved) + suffix)
        verified = ledger(str(moved), "audit", "verify").returncode == 0
        rerun = json.loads(
            ok(str(moved), "import", "enrolments", str(feeds["big roster"]), "--json")
        )
        last = said[-1] if said else ""
        return (
            f"exit {done.returncode}, {len(said)} line(s) on stderr: `{last}`; the ledger as "
            f"it was left verifies: {'yes' if verified else 'NO'}; the rerun on a disk with "
            f"room: {rerun['imported']} imported, {rerun['already_present']} already present "
            "(the chunks saved before the disk filled)"
        )
    finally:
        subprocess.run(["umount", str(mount)], check=False)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--members", type=int, default=3000)
    parser.add_argument("--kills", type=int, default=6, help="kills per step and backend")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--big", type=int, default=20_000, help="members of the roster cut and filled mid-save"
    )
    parser.add_argument("--backend", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument(
        "--only", default="", help="the steps to kill, comma-separated (default: every one)"
    )
    parser.add_argument("--out", type=Path, default=Path("docs/reliability.md"))
    args = parser.parse_args(argv)
    kinds = ("sqlite", "postgres") if args.backend == "both" else (args.backend,)
    only = [name.strip() for name in args.only.split(",") if name.strip()]
    rows, extra = [], []
    started = time.monotonic()
    for kind in kinds:
        with (
            tempfile.TemporaryDirectory(prefix="ledger-faults-files-") as tmp,
            backend(kind) as ledgers,
        ):
            folder = Path(tmp)
            feeds = files(folder, args.members, random.Random(args.seed))
            feeds["big roster"] = big_roster(folder, args.big)
            timings: dict[str, float] = {}
            reference_dir, killed_dir = folder / "reference", folder / "killed"
            reference_dir.mkdir()
            killed_dir.mkdir()
            say(f"{kind}: the reference run")
            reference = city_period(next(ledgers), reference_dir, feeds, None, 0, timings, Tally())
            say(f"{kind}: the killed run")
            tally = Tally()
            killed = city_period(
                next(ledgers),
                killed_dir,
                feeds,
                random.Random(args.seed),
                args.kills,
                timings,
                tally,
                only,
            )
            differ = [name for name in reference if reference[name] != killed[name]]
            rows.append((kind, tally, differ, timings))
            say(f"{kind}: {tally.tried} kills, {tally.landed} landed; differ: {differ or 'none'}")
            if kind == "postgres":
                extra.append(
                    (
                        "PostgreSQL, connection cut mid-import",
                        connection_cut(next(ledgers), folder, feeds),
                    )
                )
            else:
                extra.append(("SQLite, full disk during an import", full_disk(folder, feeds)))
    lines = report(args, rows, extra, time.monotonic() - started)
    replace_section(args.out, HEADING, lines)
    say(f"wrote {args.out}")
    return 0 if all(not differ for _, _, differ, _ in rows) else 1


def report(
    args: argparse.Namespace,
    rows: list[tuple[str, Tally, list[str], dict[str, float]]],
    extra: list[tuple[str, str]],
    seconds: float,
) -> list[str]:
    command = (
        f"python bench/faults.py --members {args.members} --kills {args.kills} "
        f"--seed {args.seed} --backend {args.backend} --big {args.big}"
        + (f" --only '{args.only}'" if args.only else "")
    )
    lines = [
        f"`{command}` ({seconds / 60:.0f} min on this machine). A city period of "
        f"{args.members:,} members, each step a process of its own, run once with no fault "
        f"and once with every step SIGKILLed {args.kills} times at a random moment within "
        "its reference time before it is run to its end.",
        "",
        "| backend | kills tried | landed while running | results equal to the reference "
        "| verify | lost |",
        "|---|---:|---:|---|---|---:|",
    ]
    for kind, tally, differ, _ in rows:
        equal = "yes" if not differ else f"NO: {', '.join(differ)}"
        lines.append(
            f"| {kind} | {tally.tried} | {tally.landed} | {equal} | passes | {len(differ)} |"
        )
    lines += [
        "",
        "Each step's time in the reference run, and the kills it took:",
        "",
        "| step | " + " | ".join(kind for kind, *_ in rows) + " |",
        "|---|" + "---:|" * len(rows),
    ]
    for name in rows[0][3]:
        cells = [
            f"{timings[name]:.1f} s, kills: {tally.steps.get(name, 0)}"
            for _, tally, _, timings in rows
        ]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines += ["", "Beside the kills:", ""]
    lines += [f"- **{what}:** {found}." for what, found in extra]
    return lines


if __name__ == "__main__":
    raise SystemExit(main())
