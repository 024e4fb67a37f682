"""The unit of work of a batch: the members a batch of records names, read in bulk as plain
state, the facts decided on them built into events directly (no aggregate object is built or
replayed), and saved by the application in chunks, one transaction each.

A member's events and the claim indexes of its new claims always go in the same chunk, so
that a crash or Ctrl-C while saving never leaves one without the other: it loses at most
the chunk being written.
"""

from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING
from uuid import UUID

from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError, StoredEvent
from eventsourcing.utils import get_topic

from domain.errors import LedgerError
from domain.member import (
    ClaimIndex,
    Fact,
    Member,
    MemberState,
    claim_uuid,
    member_uuid,
)
from domain.scheme import Period, Scheme
from ledger.store.recorders import POSTS_INTO, READ_AT

if TYPE_CHECKING:
    from ledger.application.app import MutualAidLedger

CHUNK = 2000
"""Members (with their claim indexes) saved per transaction."""
MEMBER_TOPIC, CLAIM_INDEX_TOPIC = get_topic(Member), get_topic(ClaimIndex)


class Batch:
    """The members of a batch by id, each read once (None for one with no events yet), with
    the version its last event has; the owners of the claim ids it names; the events it
    records; and the periods it posts into, which its save is guarded by. The scheme is
    read, never changed, by a batch."""

    def __init__(self, app: "MutualAidLedger") -> None:
        self.app = app
        self.scheme: Scheme = app.scheme()
        self.members: dict[str, MemberState | None] = {}
        self.ids: dict[str, UUID] = {}
        """Each member's aggregate id, worked out once (a hash and a UUID, not free)."""
        self.versions: dict[str, int] = {}
        self.claim_owners: dict[str, str | None] = {}
        self.recorded: dict[str, list[StoredEvent]] = {}
        """Each member's new events and its new claims' indexes, encoded as recorded, so that
        saving is the database's work and the catch-up alongside it has the process."""
        self.periods: set[int] = set()

    def load(self, member_ids: Iterable[str], claim_ids: Iterable[str] = ()) -> None:
        """Read in one go the members and claim owners not read yet."""
        members = [m for m in dict.fromkeys(member_ids) if m not in self.members]
        claims = [c for c in dict.fromkeys(claim_ids) if c not in self.claim_owners]
        self.ids |= {m: member_uuid(m) for m in members}
        claim_uuids = {c: claim_uuid(c) for c in claims}
        histories = self.app.histories([self.ids[m] for m in members] + list(claim_uuids.values()))
        for member_id in members:
            history = histories.get(self.ids[member_id])
            self.members[member_id] = MemberState.folded(history) if history else None
            if history:
                self.versions[member_id] = history[-1].originator_version
        for claim_id in claims:
            index = histories.get(claim_uuids[claim_id])
            self.claim_owners[claim_id] = (
                index[0].member_id if index and isinstance(index[0], ClaimIndex.Indexed) else None
            )

    def member(self, member_id: str) -> MemberState | None:
        if member_id not in self.members:
            self.load([member_id])
        return self.members[member_id]

    def claim_owner(self, claim_id: str) -> str | None:
        if claim_id not in self.claim_owners:
            self.load([], [claim_id])
        return self.claim_owners[claim_id]

    def register(self, member: MemberState, fact: Fact) -> None:
        """Record a new member's registration (`registration()`), before its first fact."""
        member_id = member.member_id
        self.members[member_id], self.versions[member_id] = member, 1
        if member_id not in self.ids:
            self.ids[member_id] = member_uuid(member_id)
        self.recorded[member_id] = [self._stored(_created(fact, self.ids[member_id], MEMBER_TOPIC))]

    def record(self, member: MemberState, fact: Fact) -> None:
        """Record a fact decided on a member of the batch: its event, applied to its state."""
        member_id = member.member_id
        version = self.versions[member_id] + 1
        kind = fact.kind
        event = kind(
            originator_id=self.ids[member_id],
            originator_version=version,
            timestamp=kind.create_timestamp(),
            **fact.fields,
        )
        event.apply(member)
        self.versions[member_id] = version
        self.recorded.setdefault(member_id, []).append(self._stored(event))

    def index(self, fact: Fact) -> None:
        """Take a claim id for a member of the batch (`claim_indexed()`): its index is saved
        with the member's events."""
        claim_id, member_id = fact.fields["claim_id"], fact.fields["member_id"]
        self.claim_owners[claim_id] = member_id
        index = _created(fact, claim_uuid(claim_id), CLAIM_INDEX_TOPIC)
        self.recorded.setdefault(member_id, []).append(self._stored(index))

    def _stored(self, event: Aggregate.Event) -> StoredEvent:
        return self.app.mapper.to_stored_event(event)

    def posting_into(self, number: int, claims: bool = False) -> Period:
        """Period `number`, open for posting (and, for `claims`, for its claims); the batch
        is saved only while it stays open."""
        scheme = self.scheme
        period = (scheme.open_period_for_claims if claims else scheme.open_period_for_posting)(
            number
        )
        self.periods.add(number)
        return period

    def save(self, progress: Callable[[int], None]) -> None:
        """Save the events recorded in chunks, telling `progress` how many members' are saved;
        each chunk only while the scheme stands as the batch decided on it (a county that
        left since, a role revoked: the feed is to be imported again)."""
        saved = 0
        for members, events in self._chunks():
            try:
                read_at = {self.scheme.id: self.scheme.version}
                self.app.record(events, **{POSTS_INTO: self.periods, READ_AT: read_at})
            except IntegrityError:
                raise LedgerError(
                    "the ledger changed while this feed was imported; import it again: the "
                    f"{saved} members saved so far will count as already present"
                ) from None
            except LedgerError as e:
                raise LedgerError(
                    f"{e}; the {saved} members saved before it stay, and count as already "
                    "present when the feed is imported again"
                ) from None
            saved += members
            progress(saved)

    def whole(self) -> list[StoredEvent]:
        """Every event recorded, for a save all in one transaction."""
        return [event for events in self.recorded.values() for event in events]

    def _chunks(self) -> Iterator[tuple[int, list[StoredEvent]]]:
        members, chunk = 0, []
        for events in self.recorded.values():
            chunk += events
            members += 1
            if members >= CHUNK:
                yield members, chunk
                members, chunk = 0, []
        if chunk:
            yield members, chunk


def _created(fact: Fact, originator_id: UUID, topic: str) -> Aggregate.Event:
    kind = fact.kind
    assert issubclass(kind, Aggregate.Created)
    return kind(
        originator_id=originator_id,
        originator_version=1,
        timestamp=kind.create_timestamp(),
        originator_topic=topic,
        **fact.fields,
    )
