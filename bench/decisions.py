"""The rules on plain values beside the aggregate: microseconds per settlement decision.

    python bench/decisions.py [--records N] [--repeat R] [--out FILE]

In memory, no database: for each of two presets (Pinghu: three bands, no cap; Beijing: one
band, the annual cap, a group uplift for a third of the members), N settlement records for
N members enrolled and paid up, as bench/feeds.py generates them. Times, in the same run:

- the benefit decision on plain values: `adjudicate()` of a submitted `Claim` against the
  member's `Enrolment` (bands, uplift, the cap left);
- the whole settlement decision on plain values, what a bulk path calls per record:
  `decide_submission()` (eligibility, the deadline, the settlement's figures), then
  `adjudicate()` and `Enrolment.after_approval()` (the cap used);
- the aggregate path: `Member.submit_claim()` then `Member.adjudicate_claim()` on a Member
  built in memory beforehand (events made and applied, then collected);
- the same, the member first rebuilt from its three events (what loading it costs a
  command, less reading and decoding them).

Each figure is the best of R runs, the paths taking turns (the machine is shared); the
ratios are to the aggregate path. All paths must approve the same total, or the bench
fails. The section "Issue 12: the rules on plain values" of docs/benchmarks.md is
replaced with the results.
"""

import argparse
import gc
import random
import sys
import time
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from feeds import END, RECEIVED, START, machine

from domain.member import Claim, Enrolment, Member, Settlement, adjudicate, decide_submission
from domain.money import ZERO
from domain.scheme import Period, Scheme
from ledger.application.policies import load_preset

HEADING = "## Issue 12: the rules on plain values"
ACTOR = "bench"


def settlements(n: int, seed: int = 1) -> list[Settlement]:
    """The records of bench/feeds.py `write_claims()`, one a member, as the feed parses them."""
    rng = random.Random(seed)
    records = []
    for i in range(n):
        eligible = rng.choice((300, 800, 1500, 3000, 6000, 12000, 40000)) + rng.randrange(100)
        admitted = START + timedelta(days=rng.randrange(300))
        records.append(
            Settlement(
                f"S{i:08d}",
                admitted,
                admitted + timedelta(days=5),
                Decimal(eligible * 3).quantize(ZERO),
                Decimal(eligible * 2).quantize(ZERO),
            )
        )
    return records


def eligible(record: Settlement) -> Decimal:
    """In these records all that insurance left to pay is eligible."""
    return record.total_cost - record.insurance_paid


def period_of(preset: str) -> Period:
    scheme = Scheme(preset.title(), preset, {"C01": "County 1"}, ACTOR, START)
    scheme.open_period(1, START, END, load_preset(preset).policy_for(1), ACTOR, START)
    return scheme.period(1)


def members(period: Period, n: int) -> list[Member]:
    """Members enrolled and paid up, a third of them in the policy's first uplifted group."""
    group = next(iter(period.policy.benefit.uplifts), None)
    built = []
    for i in range(n):
        member = Member.register(f"M{i:07d}", ACTOR, START)
        member.enrol(period, "C01", "U1", group if i % 3 == 0 else None, ACTOR, START)
        member.pay_premium(1, dict(period.policy.funding), f"R{i:07d}", ACTOR, START)
        built.append(member)
    return built


Way = tuple[str, Callable[[], Any], Callable[[Any], Decimal]]
"""A path measured: its name, what it is given (made afresh for each run), and the run."""


def fastest(paths: list[Way], repeat: int) -> tuple[list[float], set[Decimal]]:
    """The fastest of `repeat` runs of each path (seconds), the paths taking turns so that
    the load of a shared machine weighs on each alike; and the totals the runs approved
    (one, unless the paths decided differently)."""
    times: list[list[float]] = [[] for _ in paths]
    approved = set()
    for _ in range(repeat):
        for (_name, setup, run), taken in zip(paths, times, strict=True):
            given = setup()
            gc.collect()
            began = time.perf_counter()
            approved.add(run(given))
            taken.append(time.perf_counter() - began)
    return [min(taken) for taken in times], approved


def measure(preset: str, n: int, repeat: int) -> list[tuple[str, float]]:
    period, records = period_of(preset), settlements(n)
    rule = period.policy.benefit
    # The members' plain state, as a bulk path would read it from a read model.
    standing = [m.enrolments[1] for m in members(period, n)]

    def submission(i: int, record: Settlement, enrolment: Enrolment) -> Claim:
        on, no = record.discharged_on, record.settlement_no
        member_id = f"M{i:07d}"
        return decide_submission(
            no, member_id, period, enrolment, eligible(record), ACTOR, on, record, RECEIVED, ()
        )

    submitted = [submission(i, r, standing[i]) for i, r in enumerate(records)]

    def benefit_alone(plain: list[Enrolment]) -> Decimal:
        pairs = zip(submitted, plain, strict=True)
        decisions = (adjudicate(claim, e, rule, claim.submitted_on) for claim, e in pairs)
        return sum((d.calculation.benefit for d in decisions), ZERO)

    def settlement_on_plain_values(plain: list[Enrolment]) -> Decimal:
        total = ZERO
        for i, record in enumerate(records):
            claim = submission(i, record, plain[i])
            decision = adjudicate(claim, plain[i], rule, record.discharged_on)
            if decision.rejected_for is None:
                plain[i] = plain[i].after_approval(decision.calculation.benefit)
                total += decision.calculation.benefit
        return total

    def aggregate(built: list[Member]) -> Decimal:
        total = ZERO
        for member, r in zip(built, records, strict=True):
            on = r.discharged_on
            member.submit_claim(r.settlement_no, period, eligible(r), ACTOR, on, r, RECEIVED)
            total += member.adjudicate_claim(r.settlement_no, period, on).benefit
            member.collect_events()
        return total

    def histories() -> list[list[Any]]:
        return [m.collect_events() for m in members(period, n)]

    def aggregate_rebuilt(stored: list[list[Any]]) -> Decimal:
        built = []
        for events in stored:
            member: Any = None
            for e in events:
                member = e.mutate(member)
            built.append(member)
        return aggregate(built)

    paths: list[Way] = [
        (
            "benefit decision on plain values: `adjudicate()`",
            lambda: list(standing),
            benefit_alone,
        ),
        (
            "settlement decision on plain values: `decide_submission()`, `adjudicate()`, "
            "`after_approval()`",
            lambda: list(standing),
            settlement_on_plain_values,
        ),
        (
            "aggregate: `submit_claim()` + `adjudicate_claim()`, the member in memory",
            lambda: members(period, n),
            aggregate,
        ),
        ("aggregate, the member first rebuilt from its 3 events", histories, aggregate_rebuilt),
    ]
    seconds, approved = fastest(paths, repeat)
    assert len(approved) == 1, f"the paths approved different totals: {approved}"
    return [(name, taken / n * 1e6) for (name, _, _), taken in zip(paths, seconds, strict=True)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=5_000)
    parser.add_argument("--repeat", type=int, default=9)
    parser.add_argument("--out", type=Path, default=Path("docs/benchmarks.md"))
    args = parser.parse_args()
    rows = []
    for preset in ("pinghu", "beijing"):
        results = measure(preset, args.records, args.repeat)
        aggregate = results[2][1]
        for name, micros in results:
            rows.append(f"| {preset} | {name} | {micros:,.1f} µs | {micros / aggregate:.2f} |")
            print(rows[-1], flush=True)
    section = [
        HEADING,
        "",
        f"Run {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} on {machine()}: "
        f"`python bench/decisions.py --records {args.records} --repeat {args.repeat}`. In "
        f"memory, {args.records:,} settlements for as many members, each figure the best of "
        f"{args.repeat} runs, the paths taking turns; the ratio is to the aggregate path of "
        "the same preset in the same run.",
        "",
        "| preset | path | per decision | ratio |",
        "|---|---|---:|---:|",
        *rows,
        "",
    ]
    text = args.out.read_text(encoding="utf-8") if args.out.exists() else ""
    before, _, after = text.partition(HEADING)
    rest = after[after.find("\n## ") :] if "\n## " in after else ""
    args.out.write_text(before.rstrip() + "\n\n" + "\n".join(section) + rest, encoding="utf-8")


if __name__ == "__main__":
    main()
