"""Concurrency at volume on PostgreSQL: processes approving and paying the claims of the same
members near their annual caps, while an import and a rebuild of the read models run.

    python bench/contention.py [--members 200] [--claims 4] [--workers 8] [--seed 1]
                               [--out docs/reliability.md]

Each member has --claims claims submitted, each large enough that two or three of them
reach the cap (6,000.00, on Pinghu's bands). --workers processes each take every claim in
an order of their own and try to approve it, then to pay it: so every claim is raced for
by every worker. Meanwhile a roster of new members is imported and `projections rebuild`
runs, each a process of its own.

Then: no member's benefits approved exceed the cap; no claim is paid beyond what was
approved, nor twice; every read model equals its replay from the log (`audit verify`: no
event skipped); the trial balance is zero; and every attempt that lost was told why in
one line (a LedgerError; anything else counts as lost). The section "Concurrency at
volume" of --out is replaced with the figures.
"""

import argparse
import multiprocessing
import random
import re
import subprocess
import sys
import time
import uuid
from collections import Counter
from datetime import date
from decimal import Decimal
from pathlib import Path

import psycopg
from psycopg import sql

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from run import postgres_server, replace_section, say

from domain.errors import LedgerError
from domain.member import Member
from ledger.application.books import Books
from ledger.application.policies import load_preset

HEADING = "Concurrency at volume"
WORKER_SECONDS = 1800
"""How long the race waits for a worker's tally: a worker that died unheard ends the bench
(queue.Empty) instead of hanging it, as one did in CI."""
CAP = Decimal("6000.00")
START, END, ON = date(2025, 1, 1), date(2025, 12, 31), date(2025, 3, 1)
ELIGIBLE = ("9000.00", "12000.00", "15000.00")
"""Benefits of 2,880.00, 4,780.00 and 6,880.00 before the cap: two or three reach it."""


def set_up(db: str, members: int, claims: int, rng: random.Random) -> list[str]:
    books = Books(db)
    app = books.app
    app.create_scheme("Contention", None, {"C1": "C1"}, "admin", START)
    for user in ("clerk", "approver", "cashier"):
        app.grant_role(user, user, "admin", START)
    policy = load_preset("pinghu").policy_for(1)
    benefit = policy.benefit.model_copy(update={"annual_cap": CAP})
    app.open_period(1, START, END, policy.model_copy(update={"benefit": benefit}), "approver", ON)
    ids = []
    for n in range(members):
        member = f"M{n:06d}"
        app.enrol(member, 1, "C1", "U1", None, "clerk", ON)
        app.pay_premium(member, 1, None, f"R-{member}", "clerk", ON)
        for _ in range(claims):
            ids.append(app.submit_claim(member, 1, rng.choice(ELIGIBLE), "clerk", ON))
    books.close()
    return ids


def worker(db: str, claims: list[str], seed: int, out: "multiprocessing.Queue[object]") -> None:
    """Approve, then pay, each claim, in an order of this worker's own."""
    order = claims[:]
    random.Random(seed).shuffle(order)
    books = Books(db, create=False)
    tally: Counter[str] = Counter()
    told: list[str] = []
    for claim in order:
        for step, act in (
            ("approve", lambda c=claim: books.app.approve_claim(c, "approver", ON)),
            ("pay", lambda c=claim: books.app.make_payout(c, None, f"B{seed}-{c}", "cashier", ON)),
        ):
            tally[f"{step} tried"] += 1
            try:
                act()
                tally[f"{step} won"] += 1
            except LedgerError as e:
                tally[f"{step} told why"] += 1
                if "\n" in str(e):
                    tally["told in more than one line"] += 1
                told.append(re.sub(r"'[^']*'", "'…'", str(e))[:100])
            except Exception as e:  # counted as lost: no one-line reason
                tally["lost"] += 1
                tally[f"{step} lost"] += 1
                told.append(f"{type(e).__name__}: {e}"[:120])
    books.close()
    out.put((tally, told))


def check(db: str) -> dict[str, object]:
    """What the races must have left: caps, payouts within approvals, a replay equal to
    the read models, the books square."""
    books = Books(db, create=False)
    approved: dict[str, Decimal] = {}
    paid: dict[str, Decimal] = {}
    for _, e in books.log.events_after(0, 10_000_000):
        if isinstance(e, Member.ClaimApproved):
            approved[e.claim_id] = e.amount
        if isinstance(e, Member.PayoutMade):
            paid[e.claim_id] = paid.get(e.claim_id, Decimal(0)) + e.amount
    by_member: dict[str, Decimal] = {}
    for claim, amount in approved.items():
        member = claim.split("-")[0]
        by_member[member] = by_member.get(member, Decimal(0)) + amount
    books.catch_up()
    report = books.report()
    books.close()
    verify = subprocess.run(
        [sys.executable, "-m", "ledger", "--db", db, "audit", "verify"],
        capture_output=True,
        text=True,
    )
    return {
        "claims approved": len(approved),
        "over the cap": sum(1 for total in by_member.values() if total > CAP),
        "members at the cap": sum(1 for total in by_member.values() if total == CAP),
        "paid beyond approved": sum(1 for c, a in paid.items() if a > approved.get(c, 0)),
        "trial balance": report["trial_balance"],
        "verify": "passes" if verify.returncode == 0 else "FAILS: " + verify.stdout[-300:],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--members", type=int, default=200)
    parser.add_argument("--claims", type=int, default=4, help="claims per member")
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, default=Path("docs/reliability.md"))
    args = parser.parse_args(argv)
    started = time.monotonic()
    with postgres_server() as (server, _):
        database = f"bench_contention_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(server, autocommit=True) as admin:
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
        db = server.rsplit("/", 1)[0] + "/" + database + "?schema=city"
        try:
            claims = set_up(db, args.members, args.claims, random.Random(args.seed))
            say(f"{len(claims)} claims of {args.members} members, raced by {args.workers}")
            roster = Path(f"/tmp/contention-{uuid.uuid4().hex[:8]}.csv")
            roster.write_text(
                "roster_line,member_id,period,county,unit,enrolled_on\n"
                + "".join(f"N{n},N{n:06d},1,C1,U2,2025-01-06\n" for n in range(5000)),
                "utf-8",
            )
            queue: multiprocessing.Queue[object] = multiprocessing.Queue()
            processes = [
                multiprocessing.Process(target=worker, args=(db, claims, args.seed + n, queue))
                for n in range(args.workers)
            ]
            raced = time.monotonic()
            for p in processes:
                p.start()
            env = {"LEDGER_ACTOR": "clerk", "PATH": "/usr/bin:/bin"}
            side = [
                subprocess.Popen(
                    [sys.executable, "-m", "ledger", "--db", db, *command],
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                    env=env,
                )
                for command in (
                    ("import", "enrolments", str(roster)),
                    ("--actor", "admin", "projections", "rebuild"),
                )
            ]
            results = [queue.get(timeout=WORKER_SECONDS) for _ in processes]
            for p in processes:
                p.join()
            beside = [(s.args[5:], *s.communicate(), s.returncode) for s in side]
            seconds = time.monotonic() - raced
            roster.unlink()
            tally: Counter[str] = Counter()
            reasons: Counter[str] = Counter()
            for counts, told in results:  # type: ignore[misc]
                tally.update(counts)
                reasons.update(told)
            found = check(db)
        finally:
            with psycopg.connect(server, autocommit=True) as admin:
                admin.execute(
                    sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                        sql.Identifier(database)
                    )
                )
    lines = report(
        args, len(claims), tally, reasons, beside, found, seconds, time.monotonic() - started
    )
    replace_section(args.out, HEADING, lines)
    say(f"wrote {args.out}")
    sound = (
        found["over the cap"] == 0
        and found["paid beyond approved"] == 0
        and found["verify"] == "passes"
        and tally["lost"] == 0
        and tally["told in more than one line"] == 0
        and all(code == 0 for *_, code in beside)
    )
    return 0 if sound else 1


def report(
    args: argparse.Namespace,
    claims: int,
    tally: Counter[str],
    reasons: Counter[str],
    beside: list[tuple[object, str, str, int]],
    found: dict[str, object],
    seconds: float,
    total: float,
) -> list[str]:
    command = (
        f"python bench/contention.py --members {args.members} --claims {args.claims} "
        f"--workers {args.workers} --seed {args.seed}"
    )
    lines = [
        f"`{command}` ({total / 60:.1f} min on this machine, the race {seconds:.0f} s). "
        f"{claims:,} claims of {args.members:,} members, each claim raced for by "
        f"{args.workers} processes approving and then paying it, while a roster of 5,000 new "
        "members is imported and the read models are rebuilt, on PostgreSQL.",
        "",
        "| | tried | won | lost, told why in one line | lost with no reason |",
        "|---|---:|---:|---:|---:|",
    ]
    for step in ("approve", "pay"):
        lines.append(
            f"| {step} | {tally[f'{step} tried']:,} | {tally[f'{step} won']:,} | "
            f"{tally[f'{step} told why']:,} | {tally[f'{step} lost']:,} |"
        )
    lines += ["", "What the race left:", ""]
    lines += [f"- {name}: {value}" for name, value in found.items()]
    for command, _, err, code in beside:
        said = err.strip().splitlines()[-1] if err.strip() else "no error"
        shown = " ".join("roster.csv" if str(c).endswith(".csv") else str(c) for c in command)
        lines.append(f"- beside it, `ledger {shown}`: exit {code} ({said})")
    lines += ["", "The reasons the losers were told, most often first:", ""]
    lines += [f"- {count:,} times: {reason}" for reason, count in reasons.most_common(8)]
    return lines


if __name__ == "__main__":
    raise SystemExit(main())
