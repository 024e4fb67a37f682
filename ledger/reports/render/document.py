"""One layout for every format: a document of sections, each with lines, a table or a form
to fill in by hand, and charts. The renderers only draw it, so HTML, PDF and XLSX show the
same figures under the same headings.

Cells keep their type: a Decimal is money in yuan, an int a count, a Percent a ratio, a
date a date; the renderers format them (text) or keep them as numbers and dates (XLSX).
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal

from domain.accounts import CITY_POOL, account_title, source_title
from domain.money import ZERO, capitals, percent
from ledger.reports.benefit_notice import BenefitNotice
from ledger.reports.disclosure import Disclosure
from ledger.reports.figures import Figures, Provenance, Unit, average
from ledger.reports.province import ProvinceStatement
from ledger.reports.screening import Screening, Slip
from ledger.reports.statement import PeriodFigures, Statement
from ledger.reports.summary import Summary
from projections.statements import JOINED, PeriodKnown

TITLE = "职工医疗互助保障"
NOTHING = "—"
AMOUNTS_IN = "单位：元 Amounts in yuan"
"""Stated under every document's subtitle (and on each XLSX sheet)."""
SIGNATURES = ("编制 Prepared by", "审核 Reviewed by", "负责人 Head of the fund")
"""Who signs a statement or a slip before it is filed or sent: each with a date line."""
RATIO = "赔付率 Claims ratio"
"""Benefits approved over premium income (赔付率, not 申领率: a ratio of money, not of
claims)."""
RATIO_COHORT = "赔付率（按期）Claims ratio by cohort"
RATIO_CALENDAR = "赔付率（按年）Claims ratio by calendar"


@dataclass(frozen=True)
class Percent:
    value: Decimal


Cell = str | int | Decimal | Percent | date | None


@dataclass(frozen=True)
class Table:
    key: str
    """A short ASCII name: the XLSX sheet's."""
    columns: tuple[str, ...]
    rows: tuple[tuple[Cell, ...], ...]
    empty: str = "本期无 None in this period."


@dataclass(frozen=True)
class Chart:
    title: str
    categories: tuple[str, ...]
    series: tuple[tuple[str, tuple[Decimal, ...]], ...]
    """(name, one value per category)."""
    unit: str


@dataclass(frozen=True)
class Section:
    title: str
    lines: tuple[str, ...] = ()
    table: Table | None = None
    form: tuple[str, ...] = ()
    """Fields left blank, for the reader to fill in by hand."""
    signatures: tuple[str, ...] = ()
    """Roles that sign and date the document here (SIGNATURES)."""
    new_page: bool = False


@dataclass(frozen=True)
class Document:
    title: str
    subtitle: str
    provenance: tuple[str, ...]
    sections: tuple[Section, ...]
    recorded_at: str
    """When the log position was recorded: the documents' own date, so that producing one
    again gives the same file."""
    charts: tuple[Chart, ...] = ()

    @property
    def moment(self) -> datetime:
        """recorded_at as a time (UTC)."""
        try:
            return datetime.strptime(self.recorded_at, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
        except ValueError:
            return datetime(2000, 1, 1, tzinfo=UTC)


def text(cell: Cell) -> str:
    """A cell as printed: money with thousands separators and two places."""
    if cell is None:
        return NOTHING
    if isinstance(cell, date):
        return cell.isoformat()
    if isinstance(cell, Percent):
        return f"{cell.value:.1f}%"
    if isinstance(cell, Decimal):
        return f"{cell:,.2f}"
    if isinstance(cell, int):
        return f"{cell:,}"
    return cell


def _percent(value: Decimal | None) -> Percent | None:
    return None if value is None else Percent(value)


DIGEST = "哈希链摘要 Chain digest: "
"""Begins the provenance line with the whole digest, which renderers never break."""


def _provenance(at: Provenance, period: PeriodKnown) -> tuple[str, ...]:
    state = (
        f"期间已于 {period.closed_on} 结算 Period closed on {period.closed_on}."
        if period.closed_on
        else "期间尚未结算，数字为暂定 The period is still open: figures are provisional."
    )
    return _known_at(at, state)


def _known_at(at: Provenance, state: str) -> tuple[str, ...]:
    """Where in the log a document was produced and how to check it, then the state of
    its periods."""
    return (
        f"数据截至日志位置 {at.position}（记录于 {at.recorded_at}）"
        f" As known at log position {at.position} (recorded {at.recorded_at}).",
        DIGEST + at.digest,
        "在此位置重新生成，数字不变，无论此后记录了什么；可用以下命令核对日志 Produced again at "
        "this position, it shows the same figures whatever was recorded since; check the log "
        "with:",
        f"ledger audit verify --digest {at.digest}",
        state,
    )


def in_words(label: str, amount: Decimal) -> str:
    """A total with its amount in capitals (大写), as a payment order writes it."""
    return f"{label}: {amount:,.2f} 元 · 大写 In words: 人民币{capitals(amount)}"


def _period_name(period: PeriodKnown) -> str:
    return f"第{period.number}期 Period {period.number} ({period.start} ~ {period.end})"


def county_label(names: Mapping[str, str], code: str) -> str:
    """A county as the documents show it: Danghu (C1)."""
    return f"{names.get(code, code)} ({code})"


# Period statement


def statement_document(s: Statement, units: bool = False) -> Document:
    """The statement as a document; `units`: with the table of all units (a row per unit,
    pages of them in a big city; the JSON always has them)."""
    subject = "全市 City" if s.county is None else county_label(s.county_names, s.county)
    current, previous = s.current, s.previous
    sections = [_summary(subject, current, previous)]
    if s.county is None:
        sections.append(_by_county(s))
    sections += [
        _sources(s),
        _deficits(s),
        *_pool_money(s),
        *_pro_rating(s),
        *_county_changes(s),
        _reserves(s),
        _by_group(s),
        *_by_item(s),
        Section(
            "补助金额分布 Claims by size of benefit (yuan)",
            table=Table(
                "Claims by size",
                ("金额段 Benefit band", "件数 Claims", "补助金额 Benefits"),
                tuple((b.label, b.claims, b.benefits) for b in s.bands),
            ),
        ),
        Section(
            f"最大额补助 The {len(s.largest)} largest claims",
            (
                "会员编号已遮蔽，每行为一笔申请 Members are masked: each line is one claim, "
                "not a person to be identified.",
            ),
            Table(
                "Largest claims",
                (
                    "序号 #",
                    "会员 Member",
                    "县 County",
                    "单位 Unit",
                    "批准日 Approved",
                    "自付 Self-paid",
                    "补助 Benefit",
                ),
                tuple(
                    (
                        i,
                        c.member,
                        c.county,
                        c.unit,
                        c.approved_on,
                        c.self_paid,
                        c.benefit,
                    )
                    for i, c in enumerate(s.largest, start=1)
                ),
            ),
        ),
        Section(
            "调整分录 Adjustments",
            table=Table(
                "Adjustments",
                (
                    "日期 Date",
                    "主体 Entity",
                    "借 Debit",
                    "贷 Credit",
                    "金额 Amount",
                    "原因 Reason",
                ),
                tuple(
                    (
                        a.effective_date,
                        _entity(s, a.entity),
                        account_title(a.debit),
                        account_title(a.credit),
                        a.amount,
                        a.reason,
                    )
                    for a in s.adjustments
                ),
                "本期无调整 No adjustments in this period.",
            ),
        ),
        Section(
            "历期期末储备 Closing reserve by period",
            table=Table(
                "Reserve by period",
                ("期 Period", f"期末储备 Closing reserve, {subject}"),
                tuple((p, r) for p, r in s.reserves),
            ),
        ),
        *((_units(s),) if units else ()),
        Section("签章 Signatures", signatures=SIGNATURES),
    ]
    return Document(
        f"{TITLE} 期间报告 Period statement",
        f"{s.scheme} · {subject} · {_period_name(current.period)}",
        _provenance(s.provenance, current.period),
        tuple(sections),
        s.provenance.recorded_at,
        _statement_charts(s),
    )


def _figure_rows(
    figures: Sequence[Figures], sources: Sequence[str]
) -> tuple[tuple[Cell, ...], ...]:
    def row(label: str, *cells: Cell) -> tuple[Cell, ...]:
        return (label, *cells)

    return (
        row("参保人数 Members enrolled", *(f.members for f in figures)),
        row("参保单位 Units enrolled", *(f.units for f in figures)),
        *(
            row(f"保费 Premiums: {source_title(s)}", *(f.premiums.get(s, ZERO) for f in figures))
            for s in sources
        ),
        row("保费收入合计 Premium income", *(f.premium_income for f in figures)),
        row("批准补助 Benefits approved", *(f.benefits_approved for f in figures)),
        row("已支付补助 Benefits paid", *(f.benefits_paid for f in figures)),
        row("补助件数 Claims approved", *(f.claims for f in figures)),
        row("不予补助件数 Claims rejected", *(f.claims_rejected for f in figures)),
        row("受助人数 Members helped", *(f.members_helped for f in figures)),
        row("件均补助 Average benefit per claim", *(f.average_benefit for f in figures)),
        row(RATIO_COHORT, *(_percent(f.claims_ratio) for f in figures)),
        row("按年支付 Paid out within the period's dates", *(f.paid_in_dates for f in figures)),
        row("按年保费 Premiums received within them", *(f.received_in_dates for f in figures)),
        row(RATIO_CALENDAR, *(_percent(f.calendar_claims_ratio) for f in figures)),
        row("期初储备 Opening reserve", *(f.opening_reserve for f in figures)),
        row(
            "分担前结余 Surplus (deficit) before sharing",
            *(f.result_before_sharing for f in figures),
        ),
        row(
            "市级统筹分担 Deficit borne by the city pool", *(f.deficit_city_share for f in figures)
        ),
        row("县级分担 Deficit borne by the county", *(f.deficit_county_share for f in figures)),
        row("当期结果 Period result", *(f.period_result for f in figures)),
        row("期末储备 Closing reserve", *(f.closing_reserve for f in figures)),
    )


RATIO_BASES = (
    "按期：本期申请的批准补助 ÷ 本期保费收入。By cohort: benefits approved on the period's "
    "claims over the period's premium income.",
    "按年：本期起止日内支付的补助 ÷ 同期收到的保费，不论所属期。By calendar: paid out within "
    "the period's dates over the premiums received within them, whichever period either "
    "belongs to.",
)
"""What each claims ratio sets against what: a statement says which it shows."""


def _summary(subject: str, current: PeriodFigures, previous: PeriodFigures | None) -> Section:
    periods = [current] if previous is None else [current, previous]
    sources = sorted({s for p in periods for s in p.subject.premiums})
    columns = ("项目 Figure", *(f"第{p.period.number}期 Period {p.period.number}" for p in periods))
    lines = (
        in_words("保费收入合计 Premium income", current.subject.premium_income),
        in_words("批准补助合计 Benefits approved", current.subject.benefits_approved),
        *RATIO_BASES,
        *(() if previous is not None else ("无上期可比 No earlier period to compare with.",)),
    )
    return Section(
        f"概况 Summary: {subject}",
        lines,
        Table("Summary", columns, _figure_rows([p.subject for p in periods], sources)),
    )


ACTIVITY = (
    "人数 Members",
    "保费 Premiums",
    "批准 Approved",
    "支付 Paid",
    "件数 Claims",
    "受助 Helped",
    "件均 Per claim",
    "赔付率 Ratio",
)


def _activity(f: Figures) -> tuple[Cell, ...]:
    """What a group's or a unit's members did, under ACTIVITY."""
    return (
        f.members,
        f.premium_income,
        f.benefits_approved,
        f.benefits_paid,
        f.claims,
        f.members_helped,
        f.average_benefit,
        _percent(f.claims_ratio),
    )


def _by_county(s: Statement) -> Section:
    current = s.current

    def row(name: str, f: Figures) -> tuple[Cell, ...]:
        return (name, f.units, *_activity(f), _percent(f.calendar_claims_ratio), f.closing_reserve)

    rows = [row(county_label(s.county_names, c), f) for c, f in current.counties.items()]
    if current.city_pool is not None and current.city is not None:
        pool = current.city_pool
        rows.append(
            ("市级统筹 City pool", *([None] * 10), pool.closing_reserve)  # only a reserve
        )
        rows.append(row("全市 City", current.city))
    return Section(
        "分县情况 By county",
        table=Table(
            "By county",
            (
                "县 County",
                "单位 Units",
                *ACTIVITY[:-1],
                "按期赔付率 Cohort",
                "按年赔付率 Calendar",
                "期末储备 Reserve",
            ),
            tuple(rows),
        ),
    )


def _entity(s: Statement, code: str) -> str:
    return "市级统筹 City pool" if code == CITY_POOL else county_label(s.county_names, code)


def _entities(s: Statement) -> list[tuple[str, Figures]]:
    found = [(county_label(s.county_names, c), f) for c, f in s.current.counties.items()]
    if s.current.city is not None:
        found.append(("全市 City", s.current.city))
    return found


def _sources(s: Statement) -> Section:
    sources = sorted({src for _, f in _entities(s) for src in f.premiums})
    return Section(
        "保费收入来源 Premium income by funding source",
        table=Table(
            "Premium sources",
            ("县 County", *(source_title(src) for src in sources), "合计 Total"),
            tuple(
                (name, *(f.premiums.get(src, ZERO) for src in sources), f.premium_income)
                for name, f in _entities(s)
            ),
        ),
    )


def _pool_money(s: Statement) -> tuple[Section, ...]:
    """The city pool's own money, where it has any: its funding, the reserves it retained,
    the advances repaid and still owed."""
    pool = s.pool
    rows = (
        *((f"拨入 Funding: {source_title(k)}", v) for k, v in sorted(pool.funding.items())),
        *(
            (f"风险金 Reserve retained: {county_label(s.county_names, k)}", v)
            for k, v in sorted(pool.retained.items())
        ),
        *(
            (f"归还借垫 Advance repaid: {county_label(s.county_names, k)}", v)
            for k, v in sorted(pool.repaid.items())
        ),
        *(
            (f"尚欠借垫 Advance still owed: {county_label(s.county_names, k)}", v)
            for k, v in sorted(pool.owed.items())
        ),
    )
    if not rows:
        return ()
    return (
        Section(
            "市级统筹资金 The city pool's own money",
            (),
            Table("City pool money", ("项目 Item", "金额 Amount"), rows),
        ),
    )


def _pro_rating(s: Statement) -> tuple[Section, ...]:
    """The period's benefits pro-rated, where they were: at what rate, and what of them was
    held back, forfeited or carried to a later period."""
    p = s.pro_rating
    if p is None:
        return ()
    held = (
        "结转以后期间 Carried, to be paid out of a later period"
        if p.shortfall == "carry"
        else "不再支付 Forfeited"
    )
    return (
        Section(
            "按比例支付 Benefits pro-rated",
            (
                f"市级统筹不足以弥补本期赤字，经 {p.declared_on} 决定，本期尚未支付的补助按 "
                f"{percent(p.rate)} 支付 The city pool could not cover the period: as declared "
                f"on {p.declared_on}, the benefits still payable were paid at {percent(p.rate)}.",
            ),
            Table(
                "Pro-rating",
                ("项目 Item", "金额 Amount"),
                (
                    (f"尚未支付的补助 Benefits still payable ({p.claims} 件 claims)", p.payable),
                    ("按比例支付 Paid at the rate", p.payable - p.held_back),
                    (held, p.held_back),
                ),
            ),
        ),
    )


def _county_changes(s: Statement) -> tuple[Section, ...]:
    """Counties that joined the city pool (and the balance each brought) or left it (and
    what was settled to each), where any did by this period."""
    if not s.changes:
        return ()
    return (
        Section(
            "统筹范围 Counties joining and leaving the city pool",
            (),
            Table(
                "Joining and leaving",
                ("县 County", "变动 Change", "期 Period", "日期 Date", "金额 Amount"),
                tuple(
                    (
                        county_label(s.county_names, c.county),
                        "加入，转入基金 Joined, its fund brought in"
                        if c.change == JOINED
                        else "退出，余额转出 Left after it, its balance settled",
                        c.period,
                        c.effective_date,
                        c.amount,
                    )
                    for c in s.changes
                ),
            ),
        ),
    )


def _deficits(s: Statement) -> Section:
    lines = []
    for d in s.deficits:
        if d.county_share == 0:
            lines.append(
                f"{county_label(s.county_names, d.county)}: 赤字全部由市级统筹承担 "
                "the city pool covered the whole deficit."
            )
        if d.advanced:
            lines.append(
                f"{county_label(s.county_names, d.county)}: 市级统筹承担部分为借垫款，由县级以后"
                "各期结余归还 the city pool's share is an advance, repaid from the county's "
                "later surpluses."
            )
    return Section(
        "赤字分担 Deficit sharing between the city pool and the counties",
        tuple(lines),
        Table(
            "Deficit sharing",
            (
                "县 County",
                "赤字 Deficit",
                "市级统筹 City pool",
                "县级 County",
                "分担日 Shared on",
            ),
            tuple(
                (
                    county_label(s.county_names, d.county),
                    d.deficit,
                    d.city_share,
                    d.county_share,
                    d.shared_on,
                )
                for d in s.deficits
            ),
            "本期无赤字分担 No deficit was shared in this period.",
        ),
    )


def _reserves(s: Statement) -> Section:
    current = s.current
    entities = [(county_label(s.county_names, c), f) for c, f in current.counties.items()]
    if current.city_pool is not None and current.city is not None:
        entities += [("市级统筹 City pool", current.city_pool), ("全市 City", current.city)]
    return Section(
        "储备金 Reserves",
        (
            "储备金为自首期以来的全部收入减全部支出；当期结果含赤字分担，赤字经分担的县期末储备"
            "等于期初储备 Reserve: all income less all expense since the first period; the "
            "period result includes each deficit's sharing, so a county whose deficit was "
            "shared ends the period at its opening reserve.",
        ),
        Table(
            "Reserves",
            ("主体 Entity", "期初 Opening", "当期结果 Period result", "期末 Closing"),
            tuple(
                (name, f.opening_reserve, f.period_result, f.closing_reserve)
                for name, f in entities
            ),
        ),
    )


def _by_group(s: Statement) -> Section:
    return Section(
        "按人群 By member group",
        ("人群为会员本期参保时所属类别 A member's group is the one enrolled with for the period.",),
        Table(
            "By group",
            ("人群 Group", *ACTIVITY),
            tuple(
                ("一般 No group" if g is None else g, *_activity(f)) for g, f in s.groups.items()
            ),
        ),
    )


def _by_item(s: Statement) -> tuple[Section, ...]:
    """Each benefit item's claims, where the period's policy has items besides the main one."""
    if not s.items:
        return ()
    return (
        Section(
            "按补助项目 By benefit item",
            (),
            Table(
                "By item",
                (
                    "项目 Item",
                    "件数 Claims",
                    "拒付 Rejected",
                    "补助金额 Benefits",
                    "已支付 Paid",
                    "受助人数 Members helped",
                    "件均 Per claim",
                ),
                tuple(
                    (
                        s.item_titles[item],
                        f.claims,
                        f.claims_rejected,
                        f.benefits_approved,
                        f.benefits_paid,
                        f.members_helped,
                        f.average_benefit,
                    )
                    for item, f in s.items.items()
                ),
            ),
        ),
    )


def _units(s: Statement) -> Section:
    units = s.current.units
    return Section(
        f"各单位情况 All units ({len(units):,})",
        table=Table(
            "Units",
            ("县 County", "单位 Unit", *ACTIVITY),
            tuple(
                (county_label(s.county_names, u.county), u.name, *_activity(f))
                for u, f in units.items()
            ),
        ),
        new_page=True,
    )


def _statement_charts(s: Statement) -> tuple[Chart, ...]:
    counties = s.current.counties
    return (
        Chart(
            "保费收入与批准补助 Premium income and benefits by county",
            tuple(s.county_names[c] for c in counties),
            (
                ("保费收入 Premium income", tuple(f.premium_income for f in counties.values())),
                ("批准补助 Benefits", tuple(f.benefits_approved for f in counties.values())),
            ),
            "元",
        ),
        Chart(
            "补助金额分布 Claims by size of benefit",
            tuple(b.label for b in s.bands),
            (("件数 Claims", tuple(Decimal(b.claims) for b in s.bands)),),
            "件",
        ),
        Chart(
            "期末储备 Closing reserve by period",
            tuple(f"第{p}期" for p, _ in s.reserves),
            (("期末储备 Closing reserve", tuple(r for _, r in s.reserves)),),
            "元",
        ),
    )


# Summary over several periods


def summary_document(s: Summary) -> Document:
    subject = "全市 City" if s.county is None else county_label(s.county_names, s.county)
    first, last = s.periods[0][0], s.periods[-1][0]
    still_open = [p.number for p, _ in s.periods if p.closed_on is None]
    state = (
        "各期均已结算 Every period shown is closed."
        if not still_open
        else f"尚未结算、数字为暂定的期 Periods still open, figures provisional: "
        f"{', '.join(map(str, still_open))}."
    )
    counted = (
        "全部来源 all funding sources"
        if s.per_head.sources is None
        else ", ".join(source_title(x) for x in s.per_head.sources)
    )
    rows: list[tuple[str, Figures]] = [
        (f"第{p.number}期 Period {p.number}", f) for p, f in s.periods
    ]
    rows.append(("合计 Total", s.total))
    sources = sorted({x for _, f in rows for x in f.premiums})
    return Document(
        f"{TITLE} 多期汇总 Summary over periods",
        f"{s.scheme} · {subject} · 第{first.number}至{last.number}期 Periods {first.number} to "
        f"{last.number} ({first.start} ~ {last.end})",
        _known_at(s.provenance, state),
        (
            Section(
                "各期情况 By period",
                (
                    *RATIO_BASES,
                    f"人均保费计入 Premium per member counts: {counted}.",
                    "合计的人数为各期参保人次；期初储备为首期期初，期末储备为末期期末 The total's "
                    "members are enrolments over the periods; its reserve runs from the first "
                    "period's opening to the last period's closing.",
                ),
                Table(
                    "By period",
                    (
                        "期 Period",
                        *ACTIVITY[:-1],
                        "按期赔付率 Cohort",
                        "按年赔付率 Calendar",
                        "人均保费 Premium per member",
                        "人均补助 Benefit per member",
                        "当期结果 Result",
                        "期末储备 Reserve",
                    ),
                    tuple(
                        (
                            name,
                            *_activity(f),
                            _percent(f.calendar_claims_ratio),
                            s.per_head.premium(f),
                            s.per_head.benefit(f),
                            f.period_result,
                            f.closing_reserve,
                        )
                        for name, f in rows
                    ),
                ),
            ),
            Section(
                "保费收入来源 Premium income by funding source",
                table=Table(
                    "Premium sources",
                    ("期 Period", *(source_title(x) for x in sources), "合计 Total"),
                    tuple(
                        (name, *(f.premiums.get(x, ZERO) for x in sources), f.premium_income)
                        for name, f in rows
                    ),
                ),
            ),
            Section("签章 Signatures", signatures=SIGNATURES),
        ),
        s.provenance.recorded_at,
        (
            Chart(
                "保费收入与批准补助 Premium income and benefits by period",
                tuple(f"第{p.number}期" for p, _ in s.periods),
                (
                    ("保费收入 Premium income", tuple(f.premium_income for _, f in s.periods)),
                    ("批准补助 Benefits", tuple(f.benefits_approved for _, f in s.periods)),
                ),
                "元",
            ),
        ),
    )


# The province statement


def province_document(p: ProvinceStatement) -> Document:
    """The cities side by side for a province's board: each column at a position of its
    city's log, with the digest to check it by."""
    rows: list[tuple[str, Figures, Decimal | None]] = [
        (f"{c.name} ({c.code})", c.figures, c.reserve_per_member) for c in p.cities
    ]
    whole = p.total
    rows.append(("合计 Total", whole, average(whole.closing_reserve, whole.members)))
    sources = sorted({x for _, f, _ in rows for x in f.premiums})
    still_open = [c.code for c in p.cities if c.period.closed_on is None]
    provenance: list[str] = []
    for c in p.cities:
        provenance += [
            f"{c.name} ({c.code}): 第{c.period.number}期 period {c.period.number}, as known at "
            f"log position {c.provenance.position}; check: ledger --city {c.code} audit verify "
            f"--digest {c.provenance.digest}",
            DIGEST + c.provenance.digest,
        ]
    provenance += [
        "在这些位置重新生成，数字不变 Produced again at these positions (--known-at), it shows "
        "the same figures.",
        "各市期均已结算 Every city's period is closed."
        if not still_open
        else f"尚未结算、数字为暂定 Still open, figures provisional: {', '.join(still_open)}.",
    ]
    return Document(
        f"{TITLE} 全省汇总 The province's cities side by side",
        f"{p.year} 年度 · {len(p.cities)} 个城市 cities",
        tuple(provenance),
        (
            Section(
                "各市情况 By city",
                RATIO_BASES[:1],
                Table(
                    "By city",
                    (
                        "城市 City",
                        *ACTIVITY,
                        "市级分担 City share",
                        "县级分担 County share",
                        "期末储备 Reserve",
                        "人均储备 Reserve per member",
                    ),
                    tuple(
                        (
                            name,
                            *_activity(f),
                            f.deficit_city_share,
                            f.deficit_county_share,
                            f.closing_reserve,
                            per_member,
                        )
                        for name, f, per_member in rows
                    ),
                ),
            ),
            Section(
                "保费收入来源 Premium income by funding source",
                table=Table(
                    "Premium sources",
                    ("城市 City", *(source_title(x) for x in sources), "合计 Total"),
                    tuple(
                        (name, *(f.premiums.get(x, ZERO) for x in sources), f.premium_income)
                        for name, f, _ in rows
                    ),
                ),
            ),
            Section(
                "排名 Rankings",
                table=Table(
                    "Rankings",
                    (
                        "名次 Rank",
                        "城市 City",
                        "赔付率 Claims ratio",
                        "城市 City",
                        "人均储备 Reserve per member",
                    ),
                    tuple(
                        (n, a.code, _percent(a.figures.claims_ratio), b.code, b.reserve_per_member)
                        for n, (a, b) in enumerate(
                            zip(p.by_claims_ratio, p.by_reserve_per_member, strict=True), 1
                        )
                    ),
                ),
            ),
            Section(
                "上年对比 The year before",
                table=Table(
                    "Year before",
                    (
                        "城市 City",
                        f"{p.year} 赔付率 Ratio",
                        f"{p.year - 1} 赔付率 Ratio",
                        f"{p.year} 期末储备 Reserve",
                        f"{p.year - 1} 期末储备 Reserve",
                    ),
                    tuple(
                        (
                            f"{c.name} ({c.code})",
                            _percent(c.figures.claims_ratio),
                            None if c.before is None else _percent(c.before.claims_ratio),
                            c.figures.closing_reserve,
                            None if c.before is None else c.before.closing_reserve,
                        )
                        for c in p.cities
                    ),
                ),
            ),
            Section(
                "赤字分担 Deficits shared",
                table=Table(
                    "Deficits",
                    ("城市 City", "县 County", "赤字 Deficit", "市级 City pool", "县级 County"),
                    tuple(
                        (c.code, d.county, d.deficit, d.city_share, d.county_share)
                        for c in p.cities
                        for d in c.deficits
                    ),
                ),
            ),
            Section("签章 Signatures", signatures=SIGNATURES),
        ),
        max(c.provenance.recorded_at for c in p.cities),
        (
            Chart(
                "赔付率 Claims ratio by city",
                tuple(c.code for c in p.cities),
                (("赔付率 Claims ratio", tuple(c.figures.claims_ratio or ZERO for c in p.cities)),),
                "%",
            ),
            Chart(
                "人均储备 Reserve per member by city",
                tuple(c.code for c in p.cities),
                (("人均储备", tuple(c.reserve_per_member or ZERO for c in p.cities)),),
                "元",
            ),
        ),
    )


# Screening slips (主动发现反馈单)


def screening_document(s: Screening, unit: Unit) -> Document:
    """The slips of one unit (county, name): the only document that names its members in
    full."""
    slips = s.slips.get(unit, [])
    county = county_label(s.county_names, unit.county)
    criteria = f"本期自付费用超过 {s.threshold:,.2f} 元"
    english = f"self-paid costs above {s.threshold:,.2f} yuan"
    if s.frequent is not None:
        criteria += f"，或申请 {s.frequent} 次及以上"
        english += f", or {s.frequent} or more claims"
    intro = Section(
        f"单位 Unit: {unit.name} · 县 County: {county}",
        (
            f"筛查条件 Criteria: {criteria} Members with {english} in the period.",
            f"请本单位工会联系以下 {len(slips)} 名会员。本文件仅供单位工会使用，载有会员全名 "
            f"{len(slips)} member(s) for this unit's union to contact. This file is for the "
            "unit union only: it names its members in full.",
        ),
    )
    return Document(
        f"{TITLE} 主动发现反馈单 Referral slips",
        f"{s.scheme} · {county} · {unit.name} · {_period_name(s.period)}",
        _provenance(s.provenance, s.period),
        (intro, *(_slip(s, slip, new_page=i > 0) for i, slip in enumerate(slips))),
        s.provenance.recorded_at,
    )


def _slip(s: Screening, slip: Slip, new_page: bool) -> Section:
    """One member's slip; the first shares its page with the unit's heading."""
    county = county_label(s.county_names, slip.county)
    return Section(
        f"反馈单 Referral slip: {slip.member_id}",
        (
            f"会员 Member: {slip.member_id}" + (f" · 姓名 Name: {slip.name}" if slip.name else ""),
            f"单位 Unit: {slip.unit} · 县 County: {county}",
            f"原因 Why: {'; '.join(slip.reasons)}",
            f"自付合计 Self-paid {slip.self_paid:,.2f} · 批准补助 Benefits {slip.benefits:,.2f}"
            f" · 已支付 Paid {slip.paid:,.2f}",
            in_words("批准补助合计 Benefits approved", slip.benefits),
        ),
        Table(
            "Claims",
            (
                "申请号 Claim",
                "申请日 Submitted",
                "自付 Self-paid",
                "结果 Decision",
                "补助 Benefit",
                "已付 Paid",
            ),
            tuple(
                (
                    c.claim_id,
                    c.submitted_on,
                    c.self_paid,
                    _decision(c.status, c.reason),
                    c.benefit,
                    c.paid,
                )
                for c in slip.claims
            ),
        ),
        form=(
            "走访情况 Visit: when, by whom, what was found",
            "帮扶措施 Help arranged (hardship aid, referral, other)",
        ),
        signatures=SIGNATURES,
        new_page=new_page,
    )


def _decision(status: str, reason: str | None) -> str:
    names = {
        "approved": "批准 approved",
        "rejected": "不予补助 rejected",
        "reversed": "撤销 reversed",
        "submitted": "待定 pending",
    }
    return names.get(status, status) + (f": {reason}" if reason else "")


# Disclosure (信息公开)


def disclosure_document(d: Disclosure) -> Document:
    unit, city = d.unit_figures, d.city_figures
    county = county_label({d.unit.county: d.county_name}, d.unit.county)
    sources = sorted(unit.premiums.keys() | city.premiums.keys())

    def per_member(amount: Decimal, f: Figures) -> Decimal | None:
        return average(amount, f.members)

    rows: tuple[tuple[Cell, ...], ...] = (
        ("参保人数 Members enrolled", unit.members, city.members),
        *(
            (
                f"保费 Premiums: {source_title(s)}",
                unit.premiums.get(s, ZERO),
                city.premiums.get(s, ZERO),
            )
            for s in sources
        ),
        ("保费合计 Premiums paid", unit.premium_income, city.premium_income),
        (
            "人均保费 Premium per member",
            per_member(unit.premium_income, unit),
            per_member(city.premium_income, city),
        ),
        ("补助件数 Claims approved", unit.claims, city.claims),
        ("不予补助件数 Claims rejected", unit.claims_rejected, city.claims_rejected),
        ("受助人数 Members helped", unit.members_helped, city.members_helped),
        ("批准补助 Benefits approved", unit.benefits_approved, city.benefits_approved),
        ("已支付补助 Benefits paid", unit.benefits_paid, city.benefits_paid),
        ("件均补助 Average benefit per claim", unit.average_benefit, city.average_benefit),
        (
            "人均补助 Benefits per member",
            per_member(unit.benefits_approved, unit),
            per_member(city.benefits_approved, city),
        ),
        (RATIO, _percent(unit.claims_ratio), _percent(city.claims_ratio)),
    )
    return Document(
        f"{TITLE} 信息公开 Disclosure to the unit",
        f"{d.scheme} · {county} · {d.unit.name} · {_period_name(d.period)}",
        _provenance(d.provenance, d.period),
        (
            Section(
                "本单位与全市 The unit beside the whole city",
                (
                    f"单位 Unit: {d.unit.name} · 县 County: {county}",
                    "为会员记录的保费与补助；基金自身的调整见期间报告 Premiums and benefits "
                    "recorded for members; the fund's own adjustments are in the period "
                    "statement.",
                    in_words("本单位保费合计 Premiums paid by the unit", unit.premium_income),
                    in_words("本单位批准补助合计 Benefits approved", unit.benefits_approved),
                ),
                Table(
                    "Unit and city",
                    ("项目 Figure", f"本单位 {d.unit.name} ({d.unit.county})", "全市 City"),
                    rows,
                ),
            ),
            Section(
                "本单位申请 The unit's claims",
                ("会员编号已遮蔽 Members are masked.",),
                Table(
                    "Claims",
                    (
                        "会员 Member",
                        "申请日 Submitted",
                        "自付 Self-paid",
                        "结果 Decision",
                        "补助 Benefit",
                        "已付 Paid",
                    ),
                    tuple(
                        (
                            c.member,
                            c.submitted_on,
                            c.self_paid,
                            _decision(c.status, None),
                            c.benefit,
                            c.paid,
                        )
                        for c in d.claims
                    ),
                    "本期本单位会员无申请 No claims from this unit's members in this period.",
                ),
            ),
            Section("签章 Signatures", signatures=SIGNATURES),
        ),
        d.provenance.recorded_at,
    )


# The explanation of benefit (补助说明)

SETTLEMENT_LABELS = {
    "total_cost": "医疗总费用 Total cost",
    "insurance_paid": "统筹支付 Paid by basic medical insurance",
    "policy_self_paid": "个人自付 Policy self-pay (within the catalogue)",
    "out_of_catalogue": "自费 Out-of-catalogue costs",
    "insurance_deductible": "起付线 Insurance deductible (part of policy self-pay)",
    "above_ceiling": "超限额费用 Costs above the insurance's annual ceiling",
}


def benefit_notice_document(n: BenefitNotice) -> Document:
    """One claim explained to its member: the bill, the bands, the cap, what was paid."""
    calculation = n.breakdown
    lines = [
        f"会员 Member: {n.member_id} · 申请号 Claim: {n.claim_id} · 县 County: {n.county}",
        f"出院日期 Discharged: {n.dated.isoformat()} · 第{n.period}期 Period {n.period}",
        f"结果 Decision: {_decision(n.status, n.reason)}",
    ]
    if n.item is not None:
        days = "" if n.days is None else f" · {n.days} 天 days in hospital"
        lines.append(f"补助项目 Benefit item: {n.item}{days}")
    if n.policy_version is not None:
        lines.append(f"政策版本 Policy version: {n.policy_version}")
    bill = Section(
        "就诊费用 The bill as insurance settled it",
        (),
        Table(
            "Bill",
            ("项目 Item", "金额 Amount"),
            (
                *((SETTLEMENT_LABELS[p], a) for p, a in n.settlement.items()),
                ("合规自付 Eligible self-paid" if n.item is None else "补助基数 Base", n.eligible),
            ),
        ),
    )
    sections = [Section("补助说明 Explanation of benefit", tuple(lines)), bill]
    if calculation is not None:
        beyond = "超限额 Above the ceiling "
        bands = tuple(
            (
                prefix
                + f"{Decimal(b['lower']):,.2f}-"
                + ("" if b["upper"] is None else f"{Decimal(b['upper']):,.2f}"),
                Decimal(b["base"]),
                Percent(Decimal(b["rate"]) * 100),
                Decimal(b["amount"]),
            )
            for prefix, part in (("", "bands"), (beyond, "above_ceiling"))
            for b in calculation.get(part, ())
        )
        sections.append(
            Section(
                "补助计算 How the benefit was calculated",
                (
                    f"起付线 Deductible: {Decimal(calculation['deductible']):,.2f}",
                    "人员类别加成 Group uplift: "
                    + text(Percent(Decimal(calculation["uplift"]) * 100)),
                ),
                Table(
                    "Bands",
                    ("分段 Band", "计算基数 Base", "比例 Rate", "补助 Amount"),
                    bands,
                ),
            )
        )
    sections.append(
        Section(
            "年度封顶与支付 The annual cap and payment",
            (),
            Table(
                "Cap and payment",
                ("项目 Item", "金额 Amount"),
                (
                    ("年度封顶 Annual cap", n.cap),
                    ("本次前封顶余额 Cap left before this claim", n.cap_left_before),
                    ("本次补助 Benefit", n.benefit),
                    ("本次后封顶余额 Cap left after it", n.cap_left_after),
                    ("已支付 Paid", n.paid),
                    ("待支付 Still to pay", n.payable),
                    *((("应退回 To pay back", n.to_recover),) if n.to_recover else ()),
                    *((("已退回或核销 Paid back or written off", n.settled),) if n.settled else ()),
                ),
            ),
        )
    )
    if len(n.decisions) > 1:
        sections.append(
            Section(
                "复核记录 Decisions, each superseding the one before",
                (),
                Table(
                    "Decisions",
                    ("日期 Date", "结果 Decision", "补助 Benefit"),
                    tuple(
                        (d.on.isoformat(), _decision(d.status, d.reason), d.benefit)
                        for d in n.decisions
                    ),
                ),
            )
        )
    at = n.provenance
    return Document(
        f"{TITLE} 补助说明 Explanation of benefit",
        f"{n.scheme} · {n.claim_id}",
        (
            f"数据截至日志位置 {at.position}（记录于 {at.recorded_at}）"
            f" As known at log position {at.position} (recorded {at.recorded_at}).",
            DIGEST + at.digest,
        ),
        tuple(sections),
        at.recorded_at,
    )
