"""The ledger application: the use cases, and the only code that loads and saves aggregates."""

from collections.abc import Callable, Sequence
from contextlib import suppress
from datetime import date
from decimal import Decimal
from functools import wraps
from typing import Any, Concatenate, NamedTuple, ParamSpec, TypeVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application, project_aggregate
from eventsourcing.domain import Aggregate, DomainEventProtocol, MutableOrImmutableAggregate
from eventsourcing.persistence import (
    IntegrityError,
    JSONTranscoder,
    Mapper,
    PersistenceError,
    Recording,
    StoredEvent,
    Transcoder,
    Transcoding,
)
from eventsourcing.utils import Environment, EnvType, get_topic

from domain.errors import (
    ClaimError,
    DutyRefused,
    FieldError,
    LedgerError,
    PeriodError,
    UnknownClaim,
    UnknownMember,
)
from domain.member import (
    NO_DETAILS,
    NOT_ATTESTED,
    ClaimIndex,
    Eligibility,
    Member,
    MemberDetails,
    claim_uuid,
    member_uuid,
)
from domain.money import ZERO
from domain.policy import BenefitCalculation, Policy
from domain.refusal import Refusal
from domain.scheme import CountyClose, CountyResult, Scheme
from domain.text import identifier
from ledger.application.batch import Batch
from ledger.application.policies import load_preset
from ledger.store.codec import OrjsonTranscoder, StoredAsBefore
from ledger.store.config import (
    NoLedger,
    ReadOnly,
    create_schema,
    is_postgres,
    persistence_env,
    require_folder_and_file,
    sqlite_uri,
)
from ledger.store.recorders import (
    CLOSES,
    FIGURES_AT,
    POSTS_INTO,
    READ_AT,
    SEALS,
    GuardedPostgresRecorder,
    GuardedSQLiteRecorder,
    NothingToSeal,
    UnlinkedLog,
)
from ledger.store.refusals import RefusedCommand, earlier_refusals
from ledger.store.service import ServiceStore


class ProRating(NamedTuple):
    """A period's benefits pro-rated: of what was `payable` on its `claims`, `held_back` is
    forfeited or carried (`shortfall`)."""

    period: int
    rate: Decimal
    shortfall: str
    claims: int
    payable: Decimal
    held_back: Decimal


P = ParamSpec("P")
R = TypeVar("R")
CONFLICT_RETRIES = 10


class DateAsISO(Transcoding):
    type = date
    name = "date_iso"

    def encode(self, obj: date) -> str:
        return obj.isoformat()

    def decode(self, data: str) -> date:
        return date.fromisoformat(data)


def as_read(scheme: Scheme) -> dict[UUID, int]:
    """The READ_AT of a save decided on `scheme` as it stands in memory."""
    return {scheme.id: scheme.version}


def retry_on_conflict(command: Callable[P, R]) -> Callable[P, R]:
    """Re-run a command that lost an optimistic-concurrency race: it reloads the aggregates
    and decides again against the state the winner left."""

    @wraps(command)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        for _ in range(CONFLICT_RETRIES - 1):
            try:
                return command(*args, **kwargs)
            except IntegrityError:
                continue
        return command(*args, **kwargs)

    return run


def refusals_recorded(
    command: Callable[Concatenate["MutualAidLedger", P], R],
) -> Callable[Concatenate["MutualAidLedger", P], R]:
    """Keep each refused duty as an event of its own (Refusal.Recorded): nothing of the
    command was recorded, but the attempt is part of the audit record, chained with it."""

    @wraps(command)
    def run(app: "MutualAidLedger", /, *args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(app, *args, **kwargs)
        except DutyRefused as refused:
            if not app.read_only:
                with suppress(UnlinkedLog):  # a log frozen for an auditor takes no refusal
                    app.save(Refusal.record(refused.user, refused.command, str(refused)))
            raise

    return run


class StoredApplication(Application[UUID]):
    """An application kept as the ledger keeps its events: in the store --db names alone,
    in the library's JSON written by orjson, each event kind's later fields stored only
    where they differ from their defaults. The city's ledger and the province's register."""

    def construct_env(self, name: str, env: EnvType | None = None) -> Environment:
        """Only --db decides the store: the library would otherwise let any variable of the
        shell (SQLITE_DBNAME, POSTGRES_ENABLE_DB_FUNCTIONS, ...) override it."""
        return Environment(name, env)

    def construct_mapper(self) -> Mapper[UUID]:
        """The library's mapper, storing the events that leave their later fields at their
        defaults as they were stored before those fields existed (ledger/store/codec.py)."""
        return self.factory.mapper(self.construct_transcoder(), StoredAsBefore)

    def construct_transcoder(self) -> Transcoder:
        """The library's JSON, written and read by orjson (ledger/store/codec.py)."""
        transcoder = OrjsonTranscoder()
        self.register_transcodings(transcoder)
        return transcoder

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        transcoder.register(DateAsISO())


class MutualAidLedger(StoredApplication):
    name = "ledger"

    def __init__(self, db: str, read_only: bool = False, create: bool = True) -> None:
        """`read_only` for users who may only read (auditors, boards): nothing is created,
        and the database refuses any write. Without `create`, there must be a ledger at
        `db` already (NoLedger): only the commands that start one create it."""
        self.read_only = read_only
        self._scheme: Scheme | None = None  # as last read: see scheme()
        starting = create and not read_only
        env = persistence_env(db)
        env["CREATE_TABLE"] = "no"  # created below, once it is known that they may be
        if is_postgres(db):
            if starting and env["POSTGRES_SCHEMA"]:
                create_schema(env)
        else:
            require_folder_and_file(db, starting)
            env["SQLITE_DBNAME"] = sqlite_uri(db, read_only, create)
        super().__init__(env)
        if not starting:
            try:
                self.recorder.max_notification_id()
            except PersistenceError:
                self.close()
                raise NoLedger(db) from None
        recorder = self.recorder
        assert isinstance(recorder, GuardedSQLiteRecorder | GuardedPostgresRecorder)
        self.service = ServiceStore(recorder.datastore)
        if not read_only:
            recorder.create_table()

    def save(
        self,
        *objs: MutableOrImmutableAggregate[UUID] | DomainEventProtocol[UUID] | None,
        **kwargs: Any,
    ) -> list[Recording[UUID]]:
        if self.read_only:
            raise ReadOnly
        return super().save(*objs, **kwargs)

    def batch(self) -> Batch:
        """A unit of work for many records at once (a feed): the members they name, read
        in bulk as plain state, and the events decided on them, saved in chunks."""
        return Batch(self)

    # Queries

    def scheme(self) -> Scheme:
        """The scheme as stored now, to read and decide on, never to change: the one kept
        from the last call, unless the store holds a later event of it (one query by its
        key, which finds none while the scheme stays as it is); only then is it replayed,
        and its policies validated again. Commands that change it replay their own."""
        kept = self._scheme
        if kept is None or self.recorder.select_events(kept.id, gt=kept.version, limit=1):
            kept = self._scheme = self._replayed_scheme()
        return kept

    def _replayed_scheme(self) -> Scheme:
        try:
            scheme: Scheme = self.repository.get(Scheme.create_id())
        except AggregateNotFoundError:
            raise LedgerError("this ledger has no scheme yet: run `ledger scheme create`") from None
        return scheme

    @refusals_recorded
    def authorise(self, actor: str, command: str) -> Scheme:
        """The scheme, once the actor is found to hold the role the command needs: for
        commands of several steps (imports, exports, closing), checked before the first, so
        that nothing (a rejects file, an SMS file) is written for a command refused."""
        if self.read_only:
            raise ReadOnly
        return self._scheme_for(actor, command)

    def _scheme_for(self, actor: str, command: str) -> Scheme:
        """The scheme to decide on, once the actor is found to hold the command's role; what
        is decided on it is saved with `as_read(scheme)`, so that a change to the scheme
        committed meanwhile (a role revoked) refuses the save."""
        scheme = self.scheme()
        scheme.require_duty(actor, command)
        return scheme

    def _scheme_to_change(self, actor: str, command: str) -> Scheme:
        """A scheme of the command's own, replayed, for a command that changes it: the one
        `scheme()` keeps is shared by the commands and queries after it."""
        scheme = self._replayed_scheme()
        scheme.require_duty(actor, command)
        return scheme

    def refusals(self) -> list[RefusedCommand]:
        """Every refused duty, oldest first: those kept before refusals were events, then
        the log's."""
        recorder = self.recorder
        assert isinstance(recorder, GuardedSQLiteRecorder | GuardedPostgresRecorder)
        recorded = [
            self.mapper.to_domain_event(stored)
            for _, stored in recorder.events_of_topic(get_topic(Refusal.Recorded))
        ]
        return earlier_refusals(recorder.datastore) + [
            RefusedCommand(e.timestamp.isoformat(), e.actor, e.command, e.reason)
            for e in recorded
            if isinstance(e, Refusal.Recorded)
        ]

    def has_scheme(self) -> bool:
        return self.recorder.max_notification_id() is not None

    def member(self, member_id: str) -> Member:
        try:
            member: Member = self.repository.get(member_uuid(member_id))
        except AggregateNotFoundError:
            raise UnknownMember(member_id) from None
        return member

    def histories(self, ids: Sequence[UUID]) -> dict[UUID, list[Any]]:
        """The events of many aggregates by id, read in bulk and decoded, each history in
        version order; ids with no events are left out."""
        recorder = self.recorder
        assert isinstance(recorder, GuardedSQLiteRecorder | GuardedPostgresRecorder)
        histories: dict[UUID, list[Any]] = {}
        for stored in recorder.select_events_of(ids):
            histories.setdefault(stored.originator_id, []).append(  # type: ignore[arg-type]
                self.mapper.to_domain_event(stored)
            )
        return histories

    def load_many(self, ids: Sequence[UUID]) -> dict[UUID, Aggregate]:
        """Aggregates by id, their histories read in bulk and projected as the library's
        repository does; ids with no events are left out."""
        loaded: dict[UUID, Aggregate] = {}
        for originator_id, history in self.histories(ids).items():
            aggregate: Aggregate | None = project_aggregate(None, history)
            assert aggregate is not None  # a history has at least its first event
            loaded[originator_id] = aggregate
        return loaded

    def record(self, events: Sequence[StoredEvent], **kwargs: Any) -> None:
        """Store events built without their aggregates (a batch's, encoded by this
        application's mapper), in the order given, with the guards of `save`. Straight to
        the recorder: none of what `save` does besides (the repository's cache of
        aggregates, snapshots, notifying followers) is in use in this application, and
        none could be turned on without passing here too."""
        if self.read_only:
            raise ReadOnly
        self.recorder.insert_events(events, **kwargs)

    def member_of_claim(self, claim_id: str) -> Member:
        """The member a claim is filed under, named by the one event of the claim's index,
        read without building the index aggregate."""
        indexed = next(self.events.get(claim_uuid(claim_id), limit=1), None)
        if not isinstance(indexed, ClaimIndex.Indexed):
            raise UnknownClaim(claim_id)
        return self.member(indexed.member_id)

    # Scheme commands

    def create_scheme(
        self, name: str, preset: str | None, counties: dict[str, str], actor: str, on: date
    ) -> None:
        if self.has_scheme():
            raise LedgerError("this ledger already holds a scheme; use another --db")
        if not counties:
            raise LedgerError("a scheme needs at least one county")
        self.save(Scheme.create(name, preset, counties, actor, on))

    @refusals_recorded
    @retry_on_conflict
    def grant_role(self, user: str, role: str, actor: str, on: date) -> None:
        scheme = self._replayed_scheme()
        scheme.grant_role(user, role, actor, on)
        self.save(scheme)

    def issue_token(self, user: str, actor: str) -> str:
        """A new API token for a user of the scheme, to log in to the HTTP service with."""
        if not self.authorise(actor, "issue_token").roles.get(user):
            raise LedgerError(f"{user!r} holds no role: grant one first (ledger users grant)")
        return self.service.issue_token(user)

    def revoke_tokens(self, user: str, actor: str) -> int:
        """Revoke every live token of a user; how many there were."""
        self.authorise(actor, "revoke_token")
        return self.service.revoke_tokens(user)

    @refusals_recorded
    @retry_on_conflict
    def revoke_role(self, user: str, role: str, actor: str, on: date) -> None:
        scheme = self._replayed_scheme()
        scheme.revoke_role(user, role, actor, on)
        self.save(scheme)

    @refusals_recorded
    @retry_on_conflict
    def open_period(
        self, number: int, start: date, end: date, policy: Policy | None, actor: str, on: date
    ) -> Policy:
        """Open a period under `policy`, returned; None means the version the scheme's
        preset gives for that period, so a scheme without a preset must be given one."""
        scheme = self._scheme_to_change(actor, "open_period")
        if policy is None:
            if scheme.preset is None:
                raise LedgerError("the scheme has no preset: give --policy-file")
            policy = load_preset(scheme.preset).policy_for(number)
        scheme.open_period(number, start, end, policy, actor, on)
        self.save(scheme)
        return policy

    @refusals_recorded
    def close_period(
        self,
        number: int,
        results: dict[str, CountyResult],
        figures_at: int,
        actor: str,
        on: date,
    ) -> dict[str, CountyClose]:
        """Close on results read at log position `figures_at`; IntegrityError if anything was
        recorded since, for the caller to read the figures again."""
        scheme = self._scheme_to_change(actor, "close_period")
        closes = scheme.close_period(number, results, actor, on)
        self.save(scheme, **{CLOSES: number, FIGURES_AT: figures_at})
        return closes

    @refusals_recorded
    def pro_rate(
        self,
        number: int,
        rate: Decimal,
        claims: Sequence[tuple[str, str]],
        figures_at: int,
        reference: str,
        actor: str,
        on: date,
    ) -> ProRating:
        """Pay the benefits still payable on `claims` (member id, claim id: every claim of the
        period with any, as read at log position `figures_at`) at `rate`, and declare the
        period pro-rated: all in one transaction, or nothing; IntegrityError if anything
        was recorded since, for the caller to read the claims again."""
        scheme = self._scheme_to_change(actor, "pro_rate")
        period = scheme.open_period_for_claims(number)
        if not claims:
            raise PeriodError(f"nothing of period {number} is payable: nothing to pro-rate")
        reference = identifier(reference, "reference")
        batch = self.batch()
        batch.load(member for member, _ in claims)
        payable = held = ZERO
        for member_id, claim_id in claims:
            member = batch.member(member_id)
            assert member is not None  # the claims model names members of the log
            fact = member.pro_rating_fact(claim_id, period, rate, reference, actor, on)
            payable += fact.fields["payable"]
            held += fact.fields["held_back"]
            batch.record(member, fact)
        scheme.pro_rate(number, rate, payable, held, reference, actor, on)
        declared = [self.mapper.to_stored_event(e) for e in scheme.collect_events()]
        self.record(declared + batch.whole(), **{POSTS_INTO: number, FIGURES_AT: figures_at})
        shortfall = period.policy.deficit_sharing.shortfall
        return ProRating(number, rate, shortfall, len(claims), payable, held)

    @refusals_recorded
    def release_carried(
        self,
        number: int,
        into_period: int,
        claims: Sequence[tuple[str, str]],
        figures_at: int,
        reference: str,
        actor: str,
        on: date,
    ) -> Decimal:
        """Make what a pro-rating of period `number` carried on `claims` payable again,
        charged to the open period `into_period`, in one transaction; returns the total.
        IntegrityError if anything was recorded since `figures_at`."""
        scheme = self._scheme_for(actor, "release_carried")
        scheme.check_release(number, into_period, on)
        if not claims:
            raise PeriodError(f"nothing carried of period {number} is left to release")
        reference = identifier(reference, "reference")
        batch = self.batch()
        batch.load(member for member, _ in claims)
        total = ZERO
        for member_id, claim_id in claims:
            member = batch.member(member_id)
            assert member is not None
            fact = member.release_fact(claim_id, into_period, reference, actor, on)
            total += fact.fields["amount"]
            batch.record(member, fact)
        self.record(
            batch.whole(),
            **{POSTS_INTO: into_period, FIGURES_AT: figures_at, READ_AT: as_read(scheme)},
        )
        return total

    @refusals_recorded
    @retry_on_conflict
    def fund_pool(
        self, period: int, source: str, amount: object, reference: str, actor: str, on: date
    ) -> None:
        scheme = self._scheme_to_change(actor, "fund_pool")
        scheme.fund_pool(period, source, amount, reference, actor, on)
        self.save(scheme, **{POSTS_INTO: period})

    @refusals_recorded
    @retry_on_conflict
    def join_county(
        self,
        county: str,
        name: str,
        period: int,
        opening_balance: object,
        reference: str,
        actor: str,
        on: date,
    ) -> None:
        scheme = self._scheme_to_change(actor, "join_county")
        scheme.join_county(county, name, period, opening_balance, reference, actor, on)
        self.save(scheme, **{POSTS_INTO: period})

    @refusals_recorded
    def leave_county(
        self,
        county: str,
        after_period: int,
        reserve: Decimal,
        later_periods: list[int],
        figures_at: int,
        reference: str,
        actor: str,
        on: date,
    ) -> Decimal:
        """Settle a county leaving on its reserve read at log position `figures_at`;
        IntegrityError if anything was recorded since, for the caller to read it again."""
        scheme = self._scheme_to_change(actor, "leave_county")
        transferred = scheme.leave_county(
            county, after_period, reserve, later_periods, reference, actor, on
        )
        self.save(scheme, **{FIGURES_AT: figures_at})
        return transferred

    @refusals_recorded
    @retry_on_conflict
    def seal_history(self, reason: str, actor: str, on: date) -> tuple[int, int]:
        """Link the log's unlinked events, as of now, with the record of the seal
        (Scheme.HistorySealed) in the same transaction: the positions sealed."""
        recorder = self.recorder
        assert isinstance(recorder, GuardedSQLiteRecorder | GuardedPostgresRecorder)
        scheme = self._scheme_to_change(actor, "seal_history")
        linked, last = recorder.unlinked()
        if linked == last:
            raise NothingToSeal
        scheme.seal_history(linked + 1, last, reason, actor, on)
        self.save(scheme, **{SEALS: last})
        return linked + 1, last

    @refusals_recorded
    @retry_on_conflict
    def change_notice_template(self, template: str, actor: str, on: date) -> None:
        scheme = self._scheme_to_change(actor, "change_notice_template")
        scheme.change_notice_template(template, actor, on)
        self.save(scheme)

    @refusals_recorded
    @retry_on_conflict
    def post_adjustment(
        self,
        period: int,
        entity: str,
        debit: str,
        credit: str,
        amount: object,
        reason: str,
        actor: str,
        on: date,
    ) -> None:
        scheme = self._scheme_to_change(actor, "post_adjustment")
        scheme.post_adjustment(period, entity, debit, credit, amount, reason, actor, on)
        self.save(scheme)

    # Member commands

    @refusals_recorded
    @retry_on_conflict
    def enrol(
        self,
        member_id: str,
        period: int,
        county: str,
        unit: str,
        group: str | None,
        actor: str,
        on: date,
        details: MemberDetails = NO_DETAILS,
        eligibility: Eligibility = NOT_ATTESTED,
    ) -> None:
        scheme = self._scheme_for(actor, "enrol")
        scheme.require_county_in(county, period)
        member = self._member_or_new(member_id, actor, on)
        open_period = scheme.open_period_for_posting(period)
        member.enrol(open_period, county, unit, group, actor, on, details, eligibility=eligibility)
        self.save(member, **{POSTS_INTO: period, READ_AT: as_read(scheme)})

    @refusals_recorded
    @retry_on_conflict
    def pay_premium(
        self,
        member_id: str,
        period: int,
        amounts: dict[str, object] | None,
        receipt: str,
        actor: str,
        on: date,
    ) -> None:
        """Record a payment of `amounts` by funding source; None means all that is still
        due, as the member loaded here stands."""
        scheme = self._scheme_for(actor, "pay_premium")
        scheme.open_period_for_posting(period)
        member = self.member(member_id)
        if amounts is None:
            amounts = member.enrolment(period).outstanding()
        member.pay_premium(period, amounts, receipt, actor, on)
        self.save(member, **{POSTS_INTO: period, READ_AT: as_read(scheme)})

    @refusals_recorded
    @retry_on_conflict
    def submit_claim(
        self,
        member_id: str,
        period: int,
        eligible: object,
        actor: str,
        on: date,
        claim_id: str | None = None,
        item: str | None = None,
        days: int | None = None,
    ) -> str:
        """A claim of the main benefit on its eligible amount, or of another benefit `item`
        of the period's policy (on its eligible amount, its `days`, or as its lump sum)."""
        scheme = self._scheme_for(actor, "submit_claim")
        open_period = scheme.open_period_for_claims(period)
        member = self.member(member_id)
        if claim_id is None:
            claim_id = self._next_claim_id(member, period)
        member.submit_claim(claim_id, open_period, eligible, actor, on, item=item, days=days)
        index = ClaimIndex(claim_id, member_id, actor, on)
        try:
            self.save(member, index, **{POSTS_INTO: period, READ_AT: as_read(scheme)})
        except IntegrityError:
            if self._claim_exists(claim_id):
                raise ClaimError(f"claim {claim_id!r} was already submitted") from None
            raise
        return claim_id

    @refusals_recorded
    @retry_on_conflict
    def approve_claim(self, claim_id: str, actor: str, on: date) -> BenefitCalculation:
        scheme = self._scheme_for(actor, "approve_claim")
        member = self.member_of_claim(claim_id)
        claim = member.claim(claim_id)
        open_period = scheme.open_period_for_claims(claim.period)
        calculation = member.approve_claim(claim_id, open_period, actor, on)
        self.save(member, **{POSTS_INTO: claim.period, READ_AT: as_read(scheme)})
        return calculation

    @refusals_recorded
    @retry_on_conflict
    def reject_claim(self, claim_id: str, reason: str, actor: str, on: date) -> None:
        scheme = self._scheme_for(actor, "reject_claim")
        member = self.member_of_claim(claim_id)
        period = member.claim(claim_id).period
        scheme.open_period_for_claims(period)
        member.reject_claim(claim_id, reason, actor, on)
        self.save(member, **{POSTS_INTO: period, READ_AT: as_read(scheme)})

    @refusals_recorded
    @retry_on_conflict
    def appeal_claim(self, claim_id: str, grounds: str, actor: str, on: date) -> None:
        scheme = self._scheme_for(actor, "appeal_claim")
        member = self.member_of_claim(claim_id)
        period = member.claim(claim_id).period
        scheme.open_period_for_claims(period)
        member.appeal_claim(claim_id, grounds, actor, on)
        self.save(member, **{POSTS_INTO: period, READ_AT: as_read(scheme)})

    @refusals_recorded
    @retry_on_conflict
    def reassess_claim(
        self, claim_id: str, eligible: object, reason: str, actor: str, on: date
    ) -> Decimal:
        """Decide an appeal on the eligible amount given (None: the claim's own)."""
        scheme = self._scheme_for(actor, "reassess_claim")
        member = self.member_of_claim(claim_id)
        claim = member.claim(claim_id)
        period = scheme.open_period_for_claims(claim.period)
        eligible = claim.eligible if eligible is None else eligible
        amount = member.reassess_claim(claim_id, period, eligible, reason, actor, on)
        self.save(member, **{POSTS_INTO: claim.period, READ_AT: as_read(scheme)})
        return amount

    @refusals_recorded
    @retry_on_conflict
    def correct_claim(
        self, claim_id: str, eligible: object, reverse: bool, reason: str, actor: str, on: date
    ) -> Decimal:
        """Decide an approved claim again on a corrected eligible amount, or reverse it:
        one or the other."""
        if reverse == (eligible is not None):
            raise FieldError(
                f"claim {claim_id!r}",
                "eligible_self_paid",
                "give either the corrected eligible self-paid amount or a reversal",
            )
        scheme = self._scheme_for(actor, "correct_claim")
        member = self.member_of_claim(claim_id)
        period = member.claim(claim_id).period
        open_period = scheme.open_period_for_claims(period)
        amount = member.correct_claim(claim_id, open_period, eligible, reason, actor, on)
        self.save(member, **{POSTS_INTO: period, READ_AT: as_read(scheme)})
        return amount

    @refusals_recorded
    @retry_on_conflict
    def collect_recovery(
        self, claim_id: str, amount: object, receipt: str, actor: str, on: date
    ) -> Decimal:
        """Money paid back by the member: it settles an asset, so a closed period takes it."""
        scheme = self._scheme_for(actor, "collect_recovery")
        member = self.member_of_claim(claim_id)
        collected = member.collect_recovery(claim_id, amount, receipt, actor, on)
        self.save(member, **{READ_AT: as_read(scheme)})
        return collected

    @refusals_recorded
    @retry_on_conflict
    def write_off_recovery(self, claim_id: str, reason: str, actor: str, on: date) -> Decimal:
        scheme = self._scheme_for(actor, "write_off_recovery")
        member = self.member_of_claim(claim_id)
        period = member.claim(claim_id).period
        scheme.open_period_for_posting(period)
        written_off = member.write_off_recovery(claim_id, reason, actor, on)
        self.save(member, **{POSTS_INTO: period, READ_AT: as_read(scheme)})
        return written_off

    @refusals_recorded
    @retry_on_conflict
    def make_payout(
        self, claim_id: str, amount: object | None, bank_reference: str, actor: str, on: date
    ) -> Decimal:
        scheme = self._scheme_for(actor, "make_payout")
        if "/" in bank_reference:
            raise ClaimError(f"bank reference {bank_reference!r}: '/' is kept for batch payments")
        member = self.member_of_claim(claim_id)
        paid = member.make_payout(claim_id, amount, bank_reference, actor, on)
        self.save(member, **{READ_AT: as_read(scheme)})
        return paid

    @refusals_recorded
    def pay_out_batch(
        self, claims_by_member: dict[str, list[str]], prefix: str, actor: str, on: date
    ) -> None:
        """Pay the claims, each member's under the reference PREFIX+MEMBER, in one transaction:
        a batch is recorded whole or not at all, and never to a member without a bank
        account on record (the bank file would pay a blank account)."""
        scheme = self._scheme_for(actor, "pay_out_batch")
        loaded = self.load_many([member_uuid(m) for m in claims_by_member])
        members = []
        for member_id, claims in sorted(claims_by_member.items()):
            member = loaded.get(member_uuid(member_id))
            if not isinstance(member, Member):
                raise UnknownMember(member_id)
            if member.details.bank_account is None:
                raise LedgerError(f"member {member_id!r} has no bank account on record")
            for claim_id in claims:
                member.make_payout(claim_id, None, prefix + member_id, actor, on)
            members.append(member)
        self.save(*members, **{READ_AT: as_read(scheme)})

    @refusals_recorded
    @retry_on_conflict
    def return_payout(
        self, claim_id: str, bank_reference: str, reason: str, actor: str, on: date
    ) -> None:
        scheme = self._scheme_for(actor, "return_payout")
        member = self.member_of_claim(claim_id)
        member.return_payout(claim_id, bank_reference, reason, actor, on)
        self.save(member, **{READ_AT: as_read(scheme)})

    # Helpers

    def _member_or_new(self, member_id: str, actor: str, on: date) -> Member:
        try:
            member: Member = self.repository.get(member_uuid(member_id))
        except AggregateNotFoundError:
            return Member.register(member_id, actor, on)
        return member

    def _claim_exists(self, claim_id: str) -> bool:
        return claim_uuid(claim_id) in self.repository

    def _next_claim_id(self, member: Member, period: int) -> str:
        """MEMBER-PERIOD-N with the first N not taken, also by an id given by hand."""
        n = len(member.claims) + 1
        while self._claim_exists(f"{member.member_id}-{period}-{n}"):
            n += 1
        return f"{member.member_id}-{period}-{n}"
