"""A city year at the scale of Beijing, end to end: where the time and the memory go, step by
step, beside the library's batched save and a raw COPY of the same stored rows.

    python bench/city_year.py [--scale 1.0] [--backend postgres|sqlite] [--preset pinghu]
                              [--baseline-events N] [--seed 1] [--out docs/benchmarks.md]

At --scale 1.0, Beijing's year (issue 12): 4,280,000 members in the city's 16 districts,
enrolled through their units' unions and paid up, 1,000,000 settlement records, one payout
batch, the bank's result file, the period closed, the board statement and `audit verify`.
--scale is the fraction of that: 0.01 is 42,800 members and 10,000 settlements.

The files are generated first, as the city would send them: a roster and a premium list
per district (with names, bank accounts, phones, and the preset's member groups with an
uplift, where it has any), the premiums by the preset's funding sources, the insurer's
settlements in a file per month of discharge (many small bills, few large), the bank's
result file written from the payout batch's own file, a few payments returned. Then each
step runs through what the command line runs for it: `import_feed` for the roster, the
premiums, the settlements and the bank results; `export_payouts` (`ledger payouts export`);
`Books.close_period` (`ledger period close`); `Books.catch_up` then `verify` (`ledger audit
verify`); `statement`, then drawn as PDF (`ledger statement`), last, so that the fonts the
drawing loads are not counted in the memory of the steps that grow with the city.

Each step is timed (wall time), with its records and records/s, the events it stored, the
process's peak RSS during it (VmHWM, reset at the step's start), and on a PostgreSQL server
on this machine the server's memory at its peak (the private memory of its own processes
and of this process's sessions, found by their ports, plus the shared memory the most of
them touched), sampled every quarter second. An import is split into the stages
`import_feed` reports (validating, saving, projecting).

Then, in the same run, for each step that stores events as the city grows (the imports and
the payout batch), bench/feeds.py's baselines of a feed (issue 12): (a) the same events
saved by the plain eventsourcing library, its batched save (`saved_by_library`); (b) a raw
COPY of the same stored rows (executemany on SQLite) into a table like the library's
(`copied_raw`). Each takes the first --baseline-events events of a step at most. `audit
verify` is set beside bench/run.py's floor of any replay: the whole log read and decoded by
the library, nothing written.

Each scale runs in a process of its own. The section "City year at the scale of Beijing" of
--out is replaced with the results, and every step projected to --scale 1.0 at the rates
of the largest scale run, and, where two scales ran, on the line through both (a record's
cost at the margin, and the step's cost at any size).
"""

import argparse
import csv
import multiprocessing
import os
import random
import re
import sqlite3
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent))

from feeds import LIBRARY_SAVE, POSTGRES, copied_raw, ledger_db, machine, saved_by_library
from run import baseline_read, busy_processes, replace_section

from domain.policy import Policy
from ledger.application.books import Books
from ledger.application.feeds import import_feed
from ledger.application.policies import load_preset
from ledger.reports.audit import verify
from ledger.reports.payments import export_payouts
from ledger.reports.render import write as write_document
from ledger.reports.render.document import statement_document
from ledger.reports.statement import statement

HEADING = "City year at the scale of Beijing (`bench/city_year.py`)"
BEIJING_MEMBERS = 4_280_000
BEIJING_SETTLEMENTS = 1_000_000
GOAL_SECONDS = 15 * 60
GOAL_MEMORY = 2 * 1024**3
DISTRICTS = {
    "110101": ("东城 Dongcheng", 6.0),
    "110102": ("西城 Xicheng", 9.0),
    "110105": ("朝阳 Chaoyang", 18.0),
    "110106": ("丰台 Fengtai", 7.0),
    "110107": ("石景山 Shijingshan", 2.0),
    "110108": ("海淀 Haidian", 17.0),
    "110109": ("门头沟 Mentougou", 1.0),
    "110111": ("房山 Fangshan", 3.0),
    "110112": ("通州 Tongzhou", 5.0),
    "110113": ("顺义 Shunyi", 5.0),
    "110114": ("昌平 Changping", 6.0),
    "110115": ("大兴 Daxing", 6.0),
    "110116": ("怀柔 Huairou", 1.5),
    "110117": ("平谷 Pinggu", 1.0),
    "110118": ("密云 Miyun", 1.2),
    "110119": ("延庆 Yanqing", 0.8),
}
"""Beijing's districts by their division codes, weighted by a rough share of the city's
workers."""
MEMBERS_PER_UNIT = 80
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林高罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华建国红梅志文辉鹏宇晨欣悦"
BANKS = (
    ("622202", "中国工商银行北京分行"),
    ("621700", "中国建设银行北京分行"),
    ("622848", "中国农业银行北京分行"),
    ("621661", "中国银行北京分行"),
    ("621468", "北京银行"),
    ("622138", "北京农商银行"),
)
NO_ACCOUNT = 0.003
"""Members with no bank account on the roster: left out of the payout batch, and named."""
GROUP_SHARES = (0.04, 0.01)
"""The share of members in the preset's first and further groups with an uplift."""
RETURNED = 0.015
RETURN_REASONS = ("账户已销户", "户名不符", "账号不存在", "账户冻结")
START, END = date(2025, 1, 1), date(2025, 12, 31)
ENROLLED_ON, PAID_ON = date(2025, 1, 6), date(2025, 1, 10)
PAYOUT_ON, REPORTED_ON, CLOSE_ON = date(2026, 1, 20), date(2026, 1, 27), date(2026, 4, 1)
BATCH = "2025-Y"
ADMIN, CLERK, APPROVER, CASHIER = "bench-admin", "bench-clerk", "bench-approver", "bench-cashier"
BASELINED = ("roster", "premiums", "settlements", "payout batch", "bank results")
"""The steps whose events the baselines store again: those that grow with the city."""


@dataclass(frozen=True)
class City:
    """What --scale makes of Beijing: the members of each district, in blocks of ids."""

    scale: float
    preset: str
    seed: int
    members: int
    settlements: int
    blocks: dict[str, range]

    @classmethod
    def at(cls, scale: float, preset: str, seed: int) -> "City":
        members = max(len(DISTRICTS), round(BEIJING_MEMBERS * scale))
        total = sum(weight for _, weight in DISTRICTS.values())
        blocks, first = {}, 0
        codes = list(DISTRICTS)
        for code in codes:
            size = max(1, round(members * DISTRICTS[code][1] / total))
            last = members if code == codes[-1] else min(members, first + size)
            blocks[code] = range(first, last)
            first = last
        return cls(scale, preset, seed, members, max(1, round(BEIJING_SETTLEMENTS * scale)), blocks)


def member_id(n: int) -> str:
    return f"M{n:08d}"


# The files


ROSTER_HEADER = ["名册行号", "会员编号", "期次", "区县", "单位", "人员类别", "参保日期"]
PAYEE_HEADER = ["姓名", "银行账号", "开户银行", "手机号码"]


def write_rosters(city: City, policy: Policy, folder: Path) -> list[Path]:
    """A roster and a premium list per district: the units' lines, and a receipt per member
    and funding source."""
    rng = random.Random(city.seed)
    groups = sorted(policy.benefit.uplifts)
    shares = [GROUP_SHARES[min(i, len(GROUP_SHARES) - 1)] for i in range(len(groups))]
    funding = sorted(policy.funding.items())
    paths = []
    for code, block in city.blocks.items():
        units = max(1, len(block) // MEMBERS_PER_UNIT)
        roster, premiums = folder / f"roster-{code}.csv", folder / f"premiums-{code}.csv"
        with (
            roster.open("w", encoding="utf-8", newline="") as r,
            premiums.open("w", encoding="utf-8", newline="") as p,
        ):
            lines, receipts = csv.writer(r), csv.writer(p)
            lines.writerow([*ROSTER_HEADER, *PAYEE_HEADER])
            receipts.writerow(["收据号", "会员编号", "期次", "资金来源", "金额", "缴费日期"])
            for line, n in enumerate(block, start=1):
                unit = int(units * rng.random() ** 2.5)  # a few large units, many small
                draw, group = rng.random(), ""
                for name, share in zip(groups, shares, strict=True):
                    if draw < share:
                        group = name
                        break
                    draw -= share
                row = [line, member_id(n), 1, code, f"{code}-U{unit:05d}", group, ENROLLED_ON]
                lines.writerow([*row, *payee(rng)])
                for source, amount in funding:
                    receipts.writerow(
                        [f"{code}-{line}/{source}", member_id(n), 1, source, amount, PAID_ON]
                    )
        paths += [roster, premiums]
    return paths


def payee(rng: random.Random) -> list[str]:
    """A plausible name, debit card and mobile number; a few members have no account."""
    bin_, bank = rng.choice(BANKS)
    name = rng.choice(SURNAMES) + "".join(rng.choices(GIVEN, k=rng.choice((1, 2))))
    phone = rng.choice(("138", "139", "150", "186", "177")) + f"{rng.randrange(10**8):08d}"
    if rng.random() < NO_ACCOUNT:
        return [name, "", "", phone]
    return [name, bin_ + f"{rng.randrange(10**13):013d}", bank, phone]


SETTLEMENT_HEADER = [
    *("结算单号", "会员编号", "入院日期", "出院日期"),
    *("总费用", "统筹支付", "合规自付"),
]


def write_settlements(city: City, folder: Path) -> list[Path]:
    """The insurer's settlements in a file per month of discharge, each received on the 10th
    of the next month: members drawn at random (some twice or more), stays of a few days,
    eligible self-paid costs log-normal (median 1,200 yuan, a long tail, some below any
    deductible), what insurance paid and the costs not eligible beside them."""
    rng = random.Random(city.seed + 1)
    paths = [folder / f"settlements-2025-{month:02d}.csv" for month in range(1, 13)]
    files = [path.open("w", encoding="utf-8", newline="") for path in paths]
    try:
        writers = [csv.writer(f) for f in files]
        for w in writers:
            w.writerow(SETTLEMENT_HEADER)
        for i in range(city.settlements):
            admitted = ENROLLED_ON + timedelta(days=rng.randrange(353))  # cover starts then
            stay = min(int(rng.expovariate(1 / 7)), 60)
            discharged = min(END, admitted + timedelta(days=stay))
            eligible = min(max(round(rng.lognormvariate(11.695, 0.9)), 5_000), 30_000_000)  # fen
            insurance = eligible * rng.randrange(150, 500) // 100
            excluded = eligible * rng.randrange(0, 30) // 100
            writers[discharged.month - 1].writerow(
                [
                    f"JS2025{i:09d}",
                    member_id(rng.randrange(city.members)),
                    admitted,
                    discharged,
                    yuan(eligible + insurance + excluded),
                    yuan(insurance),
                    yuan(eligible),
                ]
            )
    finally:
        for f in files:
            f.close()
    return paths


def received(path: Path) -> date:
    """The 10th of the month after the file's month of discharge."""
    month = int(path.stem[-2:])
    return date(2025 + month // 12, month % 12 + 1, 10)


def yuan(fen: int) -> str:
    return f"{fen // 100}.{fen % 100:02d}"


def write_bank_results(batch_file: Path, path: Path, seed: int) -> int:
    """The bank's answer to the batch's file: every payment paid, a few returned."""
    rng = random.Random(seed + 2)
    returned = 0
    with (
        batch_file.open(encoding="utf-8", newline="") as f,
        path.open("w", encoding="utf-8", newline="") as out,
    ):
        w = csv.writer(out)
        w.writerow(["支付参考号", "状态", "退回原因", "回盘日期"])
        for payment in csv.DictReader(f):
            if rng.random() < RETURNED:
                reason = rng.choice(RETURN_REASONS)
                w.writerow([payment["bank_reference"], "退回", reason, REPORTED_ON])
                returned += 1
            else:
                w.writerow([payment["bank_reference"], "成功", "", REPORTED_ON])
    return returned


# Memory


def status_kb(pid: int | str, field: str) -> int:
    """A field of /proc/PID/status in kB (0 where the process is gone or hides it)."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    found = re.search(rf"^{field}:\s+(\d+) kB", text, re.M)
    return int(found.group(1)) if found else 0


class Memory:
    """The process's peak RSS per step (VmHWM, reset by /proc/self/clear_refs), and a thread
    that samples the memory of the PostgreSQL server, where it runs on this machine: its own
    processes and the sessions of this process, not those of other jobs on the server."""

    def __init__(self, db: str) -> None:
        self.server_peak = 0
        self.private_peak = 0  # of the server's processes, without the shared buffers
        self.pids: set[int] = set()
        self.conn: psycopg.Connection[tuple[Any, ...]] | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, name="memory", daemon=True)
        if db.startswith("postgres"):
            self.conn = psycopg.connect(POSTGRES, autocommit=True)
            self.pids = self._sessions()
            if self.pids:
                self._thread.start()
            else:  # the server runs elsewhere
                self.conn.close()
                self.conn = None

    def reset(self) -> None:
        with suppress(OSError):  # VmHWM then stays the peak since the process started
            Path("/proc/self/clear_refs").write_text("5")
        self.server_peak = self.private_peak = 0
        self._measure()

    def process_peak(self) -> int:
        return status_kb("self", "VmHWM") * 1024

    def process_now(self) -> int:
        return status_kb("self", "VmRSS") * 1024

    def _sessions(self) -> set[int]:
        """The server's processes that are not other clients' sessions: its own (postmaster,
        checkpointer, writers) and those of this process's connections, by their ports."""
        assert self.conn is not None
        ports = local_ports()
        rows = self.conn.execute(
            "SELECT pid, backend_type, client_port FROM pg_stat_activity "
            "WHERE pid <> pg_backend_pid()"
        ).fetchall()
        pids = {pid for pid, kind, port in rows if kind != "client backend" or port in ports}
        if not all(Path(f"/proc/{pid}").exists() for pid in pids):
            return set()
        parents = {parent_of(pid) for pid in pids}
        return pids | {p for p in parents if p is not None and p > 1}

    def _measure(self) -> None:
        """The processes' private memory, and the shared memory (shared_buffers) the most of
        them touched: RSS summed would count the shared buffers once a process."""
        private, shared = 0, 0
        for pid in self.pids:
            private += status_kb(pid, "RssAnon")
            shared = max(shared, status_kb(pid, "RssShmem"))
        self.server_peak = max(self.server_peak, (private + shared) * 1024)
        self.private_peak = max(self.private_peak, private * 1024)

    def _sample(self) -> None:
        tick = 0
        while not self._stop.wait(0.25):
            if tick % 8 == 0:  # the pool may open sessions
                self.pids = self._sessions()
            tick += 1
            self._measure()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()
        if self.conn is not None:
            self.conn.close()


def parent_of(pid: int) -> int | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(stat.rsplit(")", 1)[1].split()[1])


def local_ports() -> set[int]:
    """The local TCP ports of this process's sockets (/proc/self/fd, /proc/self/net/tcp*)."""
    inodes = set()
    for fd in Path("/proc/self/fd").iterdir():
        with suppress(OSError):
            target = os.readlink(fd)
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
    ports = set()
    for table in ("tcp", "tcp6"):
        with suppress(OSError):
            for line in Path(f"/proc/self/net/{table}").read_text().splitlines()[1:]:
                fields = line.split()
                if fields[9] in inodes:
                    ports.add(int(fields[1].rsplit(":", 1)[1], 16))
    return ports


# The steps


@dataclass
class Step:
    name: str
    what: str  # the command line's command it runs
    records: int = 0
    seconds: float = 0.0
    events: tuple[int, int] = (0, 0)  # log positions before and after
    process_peak: int = 0
    process_start: int = 0
    base: int = 0  # the process's RSS before the year's first step
    server_peak: int = 0
    server_private: int = 0
    stages: dict[str, float] = field(default_factory=dict)
    full_records: int = 0  # its records at --scale 1.0
    fixed: bool = False  # takes the same time at any scale
    note: str = ""

    @property
    def stored(self) -> int:
        return self.events[1] - self.events[0]

    @property
    def added(self) -> int:
        """What the step added to the process's RSS at its peak."""
        return max(0, self.process_peak - self.process_start)

    @property
    def rate(self) -> float:
        return self.records / self.seconds if self.seconds else 0.0


class Stages:
    """The stages `import_feed` reports, timed: each ends at its last report."""

    def __init__(self) -> None:
        self.started = time.perf_counter()
        self.last: dict[str, float] = {}

    def __call__(self, stage: str, done: int) -> None:
        self.last[stage] = time.perf_counter()

    def add_to(self, totals: dict[str, float], ended: float) -> None:
        previous = self.started
        for stage, at in sorted(self.last.items(), key=lambda item: item[1]):
            totals[stage] = totals.get(stage, 0.0) + at - previous
            previous = at
        totals["other"] = totals.get("other", 0.0) + ended - previous


@contextmanager
def measured(step: Step, books: Books, memory: Memory) -> Iterator[None]:
    memory.reset()
    step.process_start = memory.process_now()
    before = books.log.last_position()
    started = time.perf_counter()
    yield
    step.seconds = time.perf_counter() - started
    step.events = (before, books.log.last_position())
    step.process_peak = memory.process_peak()
    step.server_peak, step.server_private = memory.server_peak, memory.private_peak
    say(
        f"{step.name}: {step.records:,} records in {step.seconds:.1f} s "
        f"({step.rate:,.0f}/s), {step.stored:,} events, peak RSS {mib(step.process_peak)}"
        + (f", server {mib(step.server_peak)}" if step.server_peak else "")
        + (f"; {step.note}" if step.note else "")
    )


def imported(books: Books, kind: str, paths: list[Path], actor: str, step: Step) -> None:
    """Import the files whole, as `ledger import KIND FILE` does, one after the other."""
    read, counts = 0, dict[str, int]()
    for path in paths:
        stages = Stages()
        on = received(path) if kind == "claims" else None
        summary = import_feed(books, kind, path, actor, progress=stages, received_on=on)
        stages.add_to(step.stages, time.perf_counter())
        if summary.rejected or summary.imported != summary.read:
            raise SystemExit(f"{path}: {summary.rejected} rejected, first: {summary.rejects[:1]}")
        read += summary.read
        for name, count in summary.counts.items():
            counts[name] = counts.get(name, 0) + count
    step.records = read
    step.note = ", ".join(f"{name.replace('_', ' ')} {n:,}" for name, n in sorted(counts.items()))


def city_year(
    city: City, folder: Path, db: str, memory: Memory, through_close: bool = False
) -> tuple[Books, list[Step]]:
    """The year's steps, each measured; `through_close`: up to the period's close, its read
    models caught up (bench/province.py rolls such cities up)."""
    preset = load_preset(city.preset)
    policy = preset.policy_for(1)
    sources = len(policy.funding)
    steps: list[Step] = []

    def step(name: str, what: str, full: int, fixed: bool = False) -> Step:
        steps.append(Step(name, what, full_records=full, fixed=fixed))
        return steps[-1]

    books = Books(db)
    base = memory.process_now()
    s = step("scheme, roles, period", "scheme create, users grant, period open", 1, fixed=True)
    with measured(s, books, memory):
        counties = {code: name for code, (name, _) in DISTRICTS.items()}
        books.app.create_scheme("北京 Beijing (bench)", city.preset, counties, ADMIN, START)
        for user, role in ((CLERK, "clerk"), (APPROVER, "approver"), (CASHIER, "cashier")):
            books.app.grant_role(user, role, ADMIN, START)
        books.app.open_period(1, START, END, None, APPROVER, START)
        s.records = 1

    rosters = sorted(folder.glob("roster-*.csv"))
    premiums = sorted(folder.glob("premiums-*.csv"))
    settlements = sorted(folder.glob("settlements-*.csv"))
    for name, kind, paths, per in (
        ("roster", "enrolments", rosters, 1),
        ("premiums", "premiums", premiums, sources),
    ):
        s = step(name, f"import {kind} (a file per district)", BEIJING_MEMBERS * per)
        with measured(s, books, memory):
            imported(books, kind, paths, CLERK, s)
    s = step("settlements", "import claims (a file per month)", BEIJING_SETTLEMENTS)
    with measured(s, books, memory):
        imported(books, "claims", settlements, CLERK, s)
    approved = books.claims.payable()
    full_payments = round(len({p.member_id for p in approved}) / city.scale)

    batch_file, results = folder / f"bank-{BATCH}.csv", folder / f"results-{BATCH}.csv"
    s = step("payout batch", "payouts export", full_payments)
    with measured(s, books, memory):
        written = export_payouts(books, BATCH, batch_file, CASHIER, PAYOUT_ON)
        s.records = written.lines
    s.note = (
        f"{written.recorded:,} claims paid to {written.lines:,} members, {written.total:,} "
        f"yuan; {len(written.unpaid):,} members left out for want of a bank account"
    )
    returned = write_bank_results(batch_file, results, city.seed)
    s = step("bank results", "import payout-results", full_payments)
    with measured(s, books, memory):
        imported(books, "payout-results", [results], CASHIER, s)
    s.note = f"{returned:,} returned"

    full_events = round(books.log.last_position() / city.scale)
    s = step("period close", "period close", full_events)
    s.records = books.log.last_position()
    with measured(s, books, memory):
        closed = books.close_period(1, APPROVER, CLOSE_ON)
    s.note = f"records: events in the log; {sum(1 for r in closed.values() if r.deficit):,} " + (
        "districts with a deficit shared"
    )
    if through_close:
        books.catch_up()
        return books, steps

    s = step("audit verify", "audit verify", full_events)
    with measured(s, books, memory):
        books.catch_up()
        chain, replay = verify(books)
        s.records = chain.checked
    problems = [*chain.findings, *replay.differences]
    if problems or replay.lagging(chain.head.position if chain.head else 0):
        raise SystemExit(f"audit verify failed: {problems[:3]}")
    s.note = f"records: events checked; {sum(replay.rows.values()):,} read model rows compared"

    s = step("board statement", "statement (its figures)", full_events)
    s.records = books.log.last_position()
    with measured(s, books, memory):
        found = statement(books, 1)
    s.note = f"records: events in the log; {len(found.largest)} largest claims listed"
    s = step("statement drawn", "statement --format pdf (drawing)", 1, fixed=True)
    pdf = folder / "statement.pdf"
    with measured(s, books, memory):
        write_document(statement_document(found), "pdf", pdf)
        s.records = 1
    s.note = f"the same pages at any scale; {pdf.stat().st_size:,} bytes"

    for s in steps:
        s.base = base
    return books, steps


# The baselines


@dataclass
class Floors:
    events: int = 0
    library: float = 0.0  # seconds of the library's save of those events
    copy: float = 0.0  # seconds of the raw COPY of their stored rows


def floors(books: Books, steps: list[Step], backend: str, tmp: Path, cap: int) -> dict[str, Floors]:
    """bench/feeds.py's baselines of a feed, for each step that grows with the city, on the
    first `cap` events it stored; and the floor of any replay for `audit verify`."""
    say("baselines: the same events saved by the library, their rows copied raw ...")
    found: dict[str, Floors] = {}
    for s in steps:
        first, last = s.events
        if last <= first or s.name not in BASELINED:
            continue
        events = books.app.recorder.select_notifications(
            start=first, limit=min(cap, last - first), stop=last, inclusive_of_start=False
        )
        f = found[s.name] = Floors(len(events))
        f.library = saved_by_library(backend, tmp, list(events))
        f.copy = copied_raw(backend, tmp, list(events))
        say(
            f"   {s.name}: {f.events:,} events; library {f.events / f.library:,.0f}/s, "
            f"raw copy {f.events / f.copy:,.0f}/s"
        )
    read, seconds = timed_read(books)
    found["audit verify"] = Floors(events=read, library=seconds)
    say(f"   audit verify floor: {read:,} events read and decoded in {seconds:.1f} s")
    return found


def timed_read(books: Books) -> tuple[int, float]:
    started = time.perf_counter()
    read = baseline_read(books.app)
    return read, time.perf_counter() - started


# The report


@dataclass(frozen=True)
class Projection:
    """A step at Beijing's scale, two ways: at the rate measured (its time grown with its
    records, and all the memory the year added to the process grown with the city); and,
    with the step run at two scales, on the line through both (what the city costs at the
    margin, and what the step costs at any size)."""

    seconds: float
    peak: int
    fitted_seconds: float | None = None
    fitted_peak: int | None = None


def projection(s: Step, scale: float, smaller: Step | None, at: float) -> Projection:
    if s.fixed:
        return Projection(s.seconds, s.process_peak, s.seconds, s.process_peak)
    linear = Projection(
        s.seconds * s.full_records / max(1, s.records),
        round(s.base + max(0, s.process_peak - s.base) / scale),
    )
    if smaller is None or scale <= at:
        return linear
    seconds = max(0.0, (s.seconds - smaller.seconds) / (scale - at))
    memory = max(0, s.process_peak - smaller.process_peak) / (scale - at)
    return Projection(
        linear.seconds,
        linear.peak,
        s.seconds + seconds * (1 - scale),
        round(s.process_peak + memory * (1 - scale)),
    )


def projections(runs: list["Run"]) -> dict[str, Projection]:
    """Each step of the largest run at Beijing's scale, the next largest giving the line."""
    largest, *smaller = sorted(runs, key=lambda r: -r.city.scale)
    before = {s.name: s for s in smaller[0].steps} if smaller else {}
    at = smaller[0].city.scale if smaller else 0.0
    return {
        s.name: projection(s, largest.city.scale, before.get(s.name), at) for s in largest.steps
    }


@dataclass
class Run:
    city: City
    steps: list[Step]
    floors: dict[str, Floors]
    generating: float


@dataclass(frozen=True)
class About:
    backend: str
    settings: str
    preset: str
    load: tuple[float, float]
    busy: list[str]
    command: str
    seconds: float


def mib(n: int) -> str:
    return f"{n / 1024**2:,.0f} MiB"


def server_memory(peak: int, private: int) -> str:
    return f"{mib(peak)} ({mib(private)} private)" if peak else "n/a"


def duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:,.1f} s"
    if seconds < 7200:
        return f"{seconds / 60:,.1f} min"
    return f"{seconds / 3600:,.1f} h"


def report(about: About, runs: list[Run]) -> list[str]:
    largest = max(runs, key=lambda r: r.city.scale)
    ahead = projections(runs)
    seconds = sum(p.seconds for p in ahead.values())
    peak = max(p.peak for p in ahead.values())
    fitted = len(runs) > 1
    fitted_seconds = sum(p.fitted_seconds or 0.0 for p in ahead.values())
    fitted_peak = max(p.fitted_peak or 0 for p in ahead.values())
    small = largest.city.scale < 1
    scales = ", ".join(f"{r.city.scale:g}" for r in runs)
    busy = "; ".join(f"`{b}`" for b in about.busy)
    rows = []
    for s in largest.steps:
        p = ahead[s.name]
        line = f" | {duration(p.fitted_seconds or 0)} | {mib(p.fitted_peak or 0)}" if fitted else ""
        rows.append(
            f"| {s.name} | {s.full_records:,} | {s.rate:,.0f} | {duration(p.seconds)} "
            f"| {mib(p.peak)}{line} |"
        )
    on_line = (
        f" (on the line through --scale {scales}: {duration(fitted_seconds)} and "
        f"{mib(fitted_peak)})"
        if fitted
        else ""
    )
    return [
        f"**{'Small-scale runs' if small else 'Full-scale run'}: --scale {scales}** of Beijing "
        f"(issue 12: 4,280,000 members, 1,000,000 settlements), on {about.backend}: "
        f"{about.settings}. Written by `{about.command}` "
        f"({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {about.seconds:,.0f} s); "
        f"machine: {machine()}; preset `{about.preset}`; load average (1 min) at the start "
        f"and end: {about.load[0]:.2f}, {about.load[1]:.2f}"
        + (f"; other busy processes: {busy}" if busy else "")
        + ". The 2 cores are shared with other jobs: rates move from run to run, the ratios "
        "to the baselines less. Each scale runs in a process of its own.",
        "",
        (
            f"**Projected to Beijing's scale at the rates measured at --scale "
            f"{largest.city.scale:g}: {duration(seconds)}, {seconds / GOAL_SECONDS:.1f}x the "
            f"goal of {GOAL_SECONDS // 60} minutes; peak RSS {mib(peak)}, "
            f"{peak / GOAL_MEMORY:.2f}x the goal of 2 GiB{on_line}.**"
            if small
            else f"**Beijing's year in {duration(seconds)} (goal {GOAL_SECONDS // 60} "
            f"minutes), peak RSS {mib(peak)} (goal 2 GiB).**"
        ),
        "",
        *reading(runs, ahead),
        *(
            [
                f"Each step at Beijing's scale, two ways. At the rates measured at --scale "
                f"{largest.city.scale:g}: its time grown with its records, and all the memory "
                "the year added to the process (above what it held before the first step) "
                "grown with the city"
                + (
                    f"; and on the line through the runs at --scale {scales}, its seconds and "
                    "peak RSS against the scale (what the city costs at the margin, and what "
                    "the step costs at any size; the steps over the whole log have a cost of "
                    "their own, a line shows it, but two runs on a shared machine make a "
                    "rough line)"
                    if fitted
                    else ""
                )
                + ". Setting up and drawing the statement take the same at any scale. Every "
                "file grows with the city (a roster and a premium list per district, the "
                "settlements per month), and an import holds a file's records until it is "
                "saved, so its memory grows with the city too:",
                "",
                "| step | records at Beijing's scale | records/s measured "
                "| projected | projected peak RSS"
                + (" | on the line | peak RSS on the line |" if fitted else " |"),
                "|---|---:|---:|---:|---:" + ("|---:|---:|" if fitted else "|"),
                *rows,
                f"| **total** | | | **{duration(seconds)}** | **{mib(peak)}**"
                + (f" | **{duration(fitted_seconds)}** | **{mib(fitted_peak)}**" if fitted else "")
                + " |",
                "",
            ]
            if small
            else []
        ),
        "Each step runs what the command line runs for it (bench/city_year.py's docstring). "
        "Records: lines of its files (premiums: a line per funding source; the payout batch: "
        "the members paid; the bank results: a line per payment), or the events in the log "
        "for the steps over the whole log. Peak RSS: the process's during the step (VmHWM, "
        "reset at its start); added by the step: that peak above the RSS at the step's start "
        "(what the steps before it left is the rest). Server memory: the server's own "
        "processes and this run's sessions (not other jobs' sessions on the same server), "
        "their private memory plus the shared buffers the most of them touched, at its "
        "peak (sampled every 0.25 s); the private memory alone in brackets.",
        "",
        *[line for r in runs for line in run_report(r)],
    ]


GOALS = {"roster": (30_000, 17_000), "premiums": (40_000, 24_000), "settlements": (20_000, 7_000)}
"""Issue 12's records/s for each import: the target, and the least that resolves it."""
VERIFY_GOAL = 100_000  # events/s


def reading(runs: list[Run], ahead: dict[str, Projection]) -> list[str]:
    """What the figures say, every number from this run."""
    largest = max(runs, key=lambda r: r.city.scale)
    steps = largest.steps
    seconds = sum(p.seconds for p in ahead.values())
    ranked = sorted(ahead.items(), key=lambda item: -item[1].seconds)[:4]
    lines = [
        "- Where the time goes at Beijing's scale, at the rates measured: "
        + "; ".join(
            f"{name} {duration(p.seconds)} ({100 * p.seconds / seconds:.0f} %)"
            for name, p in ranked
        )
        + "."
    ]
    goals = [
        f"{s.name} {s.rate:,.0f} records/s against {GOALS[s.name][0]:,} "
        f"({s.rate / GOALS[s.name][0]:.2f}; the least that resolves the issue, "
        f"{GOALS[s.name][1]:,}: {s.rate / GOALS[s.name][1]:.2f})"
        for s in steps
        if s.name in GOALS
    ]
    checked = next(s for s in steps if s.name == "audit verify")
    goals.append(
        f"audit verify {checked.rate:,.0f} events/s against {VERIFY_GOAL:,} "
        f"({checked.rate / VERIFY_GOAL:.2f})"
    )
    lines.append(
        f"- Against issue 12's goals (at --scale {largest.city.scale:g}): " + "; ".join(goals) + "."
    )
    heavy = [(name, p) for name, p in ahead.items() if p.peak > GOAL_MEMORY]
    if heavy:
        lines.append(
            "- Past 2 GiB at Beijing's scale, by the projection at the rates measured "
            "(on the line): "
            + "; ".join(
                f"{name} {mib(p.peak)}"
                + (f" ({mib(p.fitted_peak)})" if p.fitted_peak is not None else "")
                for name, p in heavy
            )
            + "."
        )
    hungry = sorted((s for s in steps if not s.fixed), key=lambda s: -s.added)[:3]
    lines.append(
        "- The steps that add most to the process themselves (peak RSS above the RSS at "
        f"the step's start, at --scale {largest.city.scale:g}, and grown with the city): "
        + "; ".join(
            f"{s.name} +{mib(s.added)} (+{mib(round(s.added / largest.city.scale))})"
            for s in hungry
        )
        + "."
    )
    if len(runs) > 1:
        smallest = min(runs, key=lambda r: r.city.scale)
        grown = largest.city.scale / smallest.city.scale
        by_name = {s.name: s for s in smallest.steps}
        held = []
        for s in steps:
            small = by_name.get(s.name)
            if small is None or not small.rate or s.name not in (*BASELINED, "audit verify"):
                continue
            added = max(1, small.process_peak - small.base)
            held.append(
                f"{s.name} {s.rate / small.rate:.2f} (memory above the start "
                f"{max(0, s.process_peak - s.base) / added:.1f}x)"
            )
        lines.append(
            f"- Does the rate hold as the city grows {grown:.1f}x (--scale "
            f"{smallest.city.scale:g} to {largest.city.scale:g})? The rate at the larger "
            "scale over the smaller (1.00: it holds), and how much more memory the process "
            "held above its start at the step's peak: " + "; ".join(held) + "."
        )
    return [*lines, ""]


def run_report(r: Run) -> list[str]:
    steps, found = r.steps, r.floors
    total = sum(s.seconds for s in steps)
    peak = max(s.process_peak for s in steps)
    server = max(s.server_peak for s in steps)
    server_private = max(s.server_private for s in steps)
    rows = [
        f"| {s.name} | `{s.what}` | {s.records:,} | {s.seconds:,.1f} | {s.rate:,.0f} "
        f"| {s.stored:,} | {mib(s.process_peak)} | {mib(s.added)} "
        f"| {server_memory(s.server_peak, s.server_private)} | {s.note} |"
        for s in steps
    ]
    stage_rows = [
        f"- {s.name}: "
        + ", ".join(
            f"{stage} {seconds:,.1f} s ({100 * seconds / s.seconds:.0f} %)"
            for stage, seconds in s.stages.items()
        )
        for s in steps
        if s.stages
    ]
    floor_rows = []
    for s in steps:
        f = found.get(s.name)
        if f is None or s.name not in BASELINED or not s.stored:
            continue
        ledger = s.stored / s.seconds
        library, copy = f.events / f.library, f.events / f.copy
        floor_rows.append(
            f"| {s.name} | {s.stored:,} in {s.seconds:,.1f} s: {ledger:,.0f} | "
            f"{f.events:,} in {f.library:,.1f} s: {library:,.0f} | "
            f"{f.events:,} in {f.copy:,.2f} s: {copy:,.0f} | {ledger / library:.2f} "
            f"| {ledger / copy:.3f} |"
        )
    audit = found.get("audit verify")
    checked = next(s for s in steps if s.name == "audit verify")
    audit_line = (
        f"`audit verify` checked {checked.records:,} events in {checked.seconds:,.1f} s "
        f"({checked.rate:,.0f} events/s); the library alone reads and decodes the same log "
        f"(bench/run.py's `baseline_read`, nothing written) in {audit.library:,.1f} s "
        f"({audit.events / audit.library:,.0f} events/s): verify runs at "
        f"{checked.rate / (audit.events / audit.library):.2f} of that floor."
        if audit
        else ""
    )
    city = r.city
    cap = max((found[n].events for n in BASELINED if n in found), default=0)
    return [
        f"### --scale {city.scale:g}: {city.members:,} members, {city.settlements:,} settlements",
        "",
        f"Generating the files took {r.generating:,.1f} s (not counted below); the process "
        f"held {mib(steps[0].base)} before the first step.",
        "",
        "| step | command | records | seconds | records/s | events stored | peak RSS "
        "| added by the step | server memory | notes |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---|",
        *rows,
        f"| **total** | | | **{total:,.1f}** | | {sum(s.stored for s in steps):,} "
        f"| {mib(peak)} | | {server_memory(server, server_private)} | |",
        "",
        "Within the imports, the stages `import_feed` reports (its names), each ending at "
        "its last report; `other` is the time after the last one: on PostgreSQL the read "
        "models catch up in a second thread while the feed is saved "
        "(`Books.catching_up_alongside`), so it holds what is left of their catch-up after "
        "the save, and the statistics refreshed (ANALYZE) after a bulk load, autovacuum "
        "being off:",
        "",
        *stage_rows,
        "",
        "Beside them, in the same run, after the year: the same events of each step (the "
        f"first {cap:,} at most) saved by the plain library in saves of {LIBRARY_SAVE}, and "
        "their stored rows copied raw into a table like the library's (bench/feeds.py's "
        "`saved_by_library` and `copied_raw`). Events/s; the ratios are the ledger's, end to "
        "end, to each:",
        "",
        "| step | ledger (end to end) | library's batched save | raw COPY | ledger / library "
        "| ledger / COPY |",
        "|---|---:|---:|---:|---:|---:|",
        *floor_rows,
        "",
        audit_line,
        "",
    ]


def say(message: str) -> None:
    print(message, flush=True)


def run(city: City, backend: str, baseline_events: int) -> Run:
    say(f"--scale {city.scale:g}: {city.members:,} members, {city.settlements:,} settlements")
    with (
        tempfile.TemporaryDirectory(prefix="ledger-city-") as name,
        ledger_db(backend, Path(name)) as db,
    ):
        folder = Path(name)
        started = time.perf_counter()
        write_rosters(city, load_preset(city.preset).policy_for(1), folder)
        write_settlements(city, folder)
        generating = time.perf_counter() - started
        say(f"files generated in {generating:.1f} s")
        memory = Memory(db)
        books, steps = city_year(city, folder, db, memory)
        memory.stop()
        try:
            found = floors(books, steps, backend, folder, baseline_events)
        finally:
            books.close()
    return Run(city, steps, found, generating)


def apart(city: City, backend: str, baseline_events: int) -> Run:
    """A run in a process of its own, forked before any work, so that its peak RSS is not
    the memory an earlier run left behind."""
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("fork")) as pool:
        return pool.submit(run, city, backend, baseline_events).result()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument(
        "--scale", type=float, nargs="+", default=[1.0], help="fractions of Beijing, in turn"
    )
    parser.add_argument("--backend", choices=("postgres", "sqlite"), default="postgres")
    parser.add_argument("--preset", default="pinghu", help="the scheme's policies")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--baseline-events", type=int, default=200_000, help="events a step the baselines take"
    )
    parser.add_argument("--out", type=Path, default=Path("docs/benchmarks.md"))
    args = parser.parse_args(argv)
    if not all(0 < scale <= 1 for scale in args.scale):
        parser.error("--scale must be above 0 and at most 1")
    load_before, busy = os.getloadavg()[0], busy_processes()
    started = time.perf_counter()
    runs = [
        apart(City.at(scale, args.preset, args.seed), args.backend, args.baseline_events)
        for scale in args.scale
    ]
    load = (load_before, os.getloadavg()[0])
    busy = list(dict.fromkeys(busy + busy_processes()))
    command = " ".join(["python bench/city_year.py", *(argv if argv is not None else sys.argv[1:])])
    about = About(
        args.backend,
        server_settings(args.backend),
        args.preset,
        load,
        busy,
        command,
        time.perf_counter() - started,
    )
    replace_section(args.out, HEADING, report(about, runs))
    say(f"wrote {args.out}")
    return 0


def server_settings(backend: str) -> str:
    if backend == "sqlite":
        return f"SQLite {sqlite3.sqlite_version}, a file in {tempfile.gettempdir()}"
    with psycopg.connect(POSTGRES) as conn:
        row = conn.execute(
            "SELECT current_setting('server_version'), current_setting('shared_buffers'), "
            "current_setting('synchronous_commit'), current_setting('autovacuum')"
        ).fetchone()
    assert row is not None
    version, buffers, sync, autovacuum = row
    return (
        f"PostgreSQL {version} at {POSTGRES.split('@')[-1]} (shared_buffers={buffers}, "
        f"synchronous_commit={sync}, autovacuum={autovacuum})"
    )


if __name__ == "__main__":
    sys.exit(main())
