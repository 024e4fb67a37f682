"""A simulated coverage period: the same seed gives the same events on every backend."""

import random
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from decimal import Decimal

from domain import duties
from domain.errors import LedgerError
from domain.member import MemberDetails
from domain.money import from_fen
from domain.policy import Policy, SchemePreset
from ledger.application.books import Books
from ledger.application.feeds import import_records
from ledger.application.policies import load_preset
from ledger.application.records import EnrolmentRecord, PremiumRecord

COUNTY_NAMES = (
    "东城 Dongcheng",
    "西湖 Xihu",
    "南浦 Nanpu",
    "北仑 Beilun",
    "江北 Jiangbei",
    "滨海 Binhai",
    "山阳 Shanyang",
    "河西 Hexi",
)
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林高罗"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华建国红梅"
BANKS = (
    ("622202", "中国工商银行平湖支行"),
    ("621700", "中国建设银行平湖支行"),
    ("622848", "中国农业银行平湖支行"),
    ("621661", "中国银行平湖支行"),
    ("622580", "浙江农商银行平湖支行"),
)
"""Debit card prefixes (BIN) and the branch of each bank."""
PERIOD_START, PERIOD_END = date(2025, 1, 1), date(2025, 12, 31)
ADMIN, CLERK, APPROVER, CASHIER = "demo-admin", "demo-clerk", "demo-approver", "demo-cashier"
STAFF = {CLERK: duties.CLERK, APPROVER: duties.APPROVER, CASHIER: duties.CASHIER}
"""One user per duty, as a real scheme's log would show them."""
CLAIMS_PER_THOUSAND = 35
SELF_PAID_BANDS = ((100, 600), (600, 2_000), (2_000, 5_000), (5_000, 10_000), (10_000, 40_000))
SELF_PAID_WEIGHTS = (40, 35, 17, 6, 2)
BOUNCE_RATE = 0.03


@dataclass(frozen=True)
class DemoSummary:
    members: int
    claims: int
    approved: int
    rejected: int
    payouts: int
    returned: int


def check_demo(preset_name: str, counties: int, members: int) -> SchemePreset:
    """The demo's preset, once its settings are found sound: checked before a ledger is
    created for it, so that a refused demo leaves nothing behind."""
    if not 1 <= counties <= 99:
        raise LedgerError("--counties must be between 1 and 99")
    if members < counties * 10:
        raise LedgerError(f"--members must be at least 10 per county ({counties * 10})")
    return load_preset(preset_name)


def run_demo(
    books: Books,
    preset_name: str,
    counties: int,
    members: int,
    seed: int,
    progress: Callable[[str, int, int], None] = lambda stage, done, total: None,
) -> DemoSummary:
    preset = check_demo(preset_name, counties, members)
    if books.app.has_scheme():
        raise LedgerError("the demo needs an empty ledger: pass --db with a new file or URL")
    rng = random.Random(seed)
    policy = preset.policy_for(1)
    codes = {
        f"C{i:02d}": COUNTY_NAMES[(i - 1) % len(COUNTY_NAMES)] + ("" if i <= 8 else f" {i}")
        for i in range(1, counties + 1)
    }
    app = books.app
    app.create_scheme(f"{preset.city} (demo)", preset_name, codes, ADMIN, PERIOD_START)
    for user, role in STAFF.items():
        app.grant_role(user, role, ADMIN, PERIOD_START)
    app.open_period(1, PERIOD_START, PERIOD_END, policy, APPROVER, PERIOD_START)

    weights = [rng.uniform(0.5, 2.0) for _ in codes]
    county_of = rng.choices(sorted(codes), weights=weights, k=members)
    groups = sorted(policy.benefit.uplifts)
    roster: dict[str, list[EnrolmentRecord]] = {c: [] for c in codes}
    payees = random.Random(f"payees-{seed}")
    for n, county in enumerate(county_of, start=1):
        group = rng.choice(groups) if groups and rng.random() < 0.06 else None
        unit = f"{county}-U{rng.randint(1, max(1, members // (counties * 30))):03d}"
        line = f"roster-{county}/{len(roster[county]) + 1}"
        roster[county].append(_enrolment(line, f"M{n:06d}", county, unit, group, payees))
    enrolled = 0
    for _, lines in sorted(roster.items()):
        enrolled += import_records(books, "enrolments", lines, CLERK).imported
        import_records(books, "premiums", _premiums(lines, policy), CLERK)
        progress("enrolling", enrolled, members)

    claims = _simulated_claims(rng, roster, hard_hit=sorted(codes)[-1])
    approved, rejected, payouts, returned = [], 0, 0, 0
    for done, (member_id, self_paid, on) in enumerate(claims, start=1):
        claim_id = app.submit_claim(member_id, 1, self_paid, CLERK, on)
        assessed = app.member(member_id).assess_claim(claim_id, policy.benefit)
        if assessed.benefit == 0:
            app.reject_claim(claim_id, "below the deductible", APPROVER, on + timedelta(days=3))
            rejected += 1
        elif rng.random() < 0.03:
            app.reject_claim(claim_id, "treatment not covered", APPROVER, on + timedelta(days=3))
            rejected += 1
        else:
            app.approve_claim(claim_id, APPROVER, on + timedelta(days=5))
            approved.append((claim_id, on + timedelta(days=12)))
        progress("claims", done, len(claims))
    for done, (claim_id, on) in enumerate(approved, start=1):
        reference = f"BANK-{claim_id}"
        app.make_payout(claim_id, None, reference, CASHIER, on)
        payouts += 1
        if rng.random() < BOUNCE_RATE:
            app.return_payout(
                claim_id, reference, "account closed", CASHIER, on + timedelta(days=4)
            )
            returned += 1
            if rng.random() < 0.5:
                app.make_payout(claim_id, None, reference + "-2", CASHIER, on + timedelta(days=9))
                payouts += 1
        progress("paying out", done, len(approved))
    end = books.log.last_position()
    books.close_period(
        1, APPROVER, PERIOD_END + timedelta(days=31), lambda at: progress("closing", at, end)
    )
    return DemoSummary(members, len(claims), len(approved), rejected, payouts, returned)


def _enrolment(
    line: str, member_id: str, county: str, unit: str, group: str | None, payees: random.Random
) -> EnrolmentRecord:
    """The roster line of a member, with payee details drawn apart from the figures so that
    a seed gives the same claims and amounts as before the demo had payees."""
    details = _details(payees)
    return EnrolmentRecord(
        roster_line=line,
        member_id=member_id,
        period=1,
        county=county,
        unit=unit,
        group=group,
        enrolled_on=PERIOD_START,
        **asdict(details),
    )


def _details(rng: random.Random) -> MemberDetails:
    """A plausible name, debit card and mobile number."""
    bin_, bank = rng.choice(BANKS)
    return MemberDetails(
        name=rng.choice(SURNAMES) + "".join(rng.choices(GIVEN, k=rng.choice((1, 2)))),
        bank_account=bin_ + "".join(rng.choices("0123456789", k=19 - len(bin_))),
        bank=bank,
        phone=rng.choice(("138", "139", "150", "186", "177")) + f"{rng.randrange(10**8):08d}",
    )


def _premiums(roster: list[EnrolmentRecord], policy: Policy) -> list[PremiumRecord]:
    """Each member's premium paid in full on the day of enrolment, one receipt per funding
    source, under the receipt ROSTER_LINE/SOURCE."""
    return [
        PremiumRecord(
            receipt=f"{line.roster_line}/{source}",
            member_id=line.member_id,
            period=line.period,
            source=source,
            amount=amount,
            paid_on=line.enrolled_on,
        )
        for line in roster
        for source, amount in sorted(policy.funding.items())
    ]


def _simulated_claims(
    rng: random.Random, roster: dict[str, list[EnrolmentRecord]], hard_hit: str
) -> list[tuple[str, Decimal, date]]:
    """Many small claims, few large ones; one county is hit by catastrophic cases so that the
    demo always has a deficit to share."""
    claims = []
    for county, lines in sorted(roster.items()):
        for line in lines:
            if rng.randrange(1000) < CLAIMS_PER_THOUSAND:
                claims.append((line.member_id, _self_paid(rng), _day(rng)))
        if county == hard_hit:
            for line in rng.sample(lines, max(1, len(lines) // 200)):
                claims.append((line.member_id, _fen(rng, 60_000, 150_000), _day(rng)))
    return claims


def _self_paid(rng: random.Random) -> Decimal:
    """Many small bills, few large: a band by weight, then an amount within it."""
    low, high = rng.choices(SELF_PAID_BANDS, weights=SELF_PAID_WEIGHTS)[0]
    return _fen(rng, low, high)


def _fen(rng: random.Random, low: int, high: int) -> Decimal:
    """Integers only, so the same seed gives the same amounts on any platform."""
    return from_fen(rng.randrange(low * 100, high * 100))


def _day(rng: random.Random) -> date:
    return PERIOD_START + timedelta(days=rng.randrange(0, 330))
