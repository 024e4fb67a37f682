"""The unit of work of a batch: the aggregates a batch of records names, loaded in bulk
through the application, changed in memory, and saved by it in chunks, one transaction each.

A member and the claim indexes of its new claims always go in the same chunk, so that a
crash or Ctrl-C while saving never leaves one without the other: it loses at most the
chunk being written.
"""

from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING
from uuid import UUID

from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError

from domain.errors import LedgerError
from domain.member import ClaimIndex, Member, claim_uuid, member_uuid
from domain.scheme import Period, Scheme
from ledger.store.recorders import POSTS_INTO

if TYPE_CHECKING:
    from ledger.application.app import MutualAidLedger

CHUNK = 2000
"""Aggregates saved per transaction."""


class Batch:
    """The aggregates of a batch by id, each loaded once (None for an id with no events yet),
    and the periods the batch posts into, which its save is guarded by; the scheme is read,
    never changed, by a batch."""

    def __init__(self, app: "MutualAidLedger") -> None:
        self.app = app
        self.scheme: Scheme = app.scheme()
        self.aggregates: dict[UUID, Aggregate | None] = {}
        self.periods: set[int] = set()

    def load(self, ids: Iterable[UUID]) -> None:
        """Load in one go those of `ids` not kept yet, in the order given."""
        wanted = [i for i in dict.fromkeys(ids) if i not in self.aggregates]
        loaded = self.app.load_many(wanted)
        for uuid in wanted:
            self.aggregates[uuid] = loaded.get(uuid)

    def _get(self, uuid: UUID) -> Aggregate | None:
        if uuid not in self.aggregates:
            self.load([uuid])
        return self.aggregates[uuid]

    def member(self, member_id: str) -> Member | None:
        member = self._get(member_uuid(member_id))
        return member if isinstance(member, Member) else None

    def claim_index(self, claim_id: str) -> ClaimIndex | None:
        index = self._get(claim_uuid(claim_id))
        return index if isinstance(index, ClaimIndex) else None

    def add(self, aggregate: Member | ClaimIndex) -> None:
        """A new aggregate, saved with the batch."""
        self.aggregates[aggregate.id] = aggregate

    def posting_into(self, number: int) -> Period:
        """Period `number`, open for posting; the batch is saved only while it stays open."""
        period = self.scheme.open_period_for_posting(number)
        self.periods.add(number)
        return period

    def save(self, progress: Callable[[int], None]) -> None:
        """Save the changed aggregates in chunks, telling `progress` how many are saved."""
        saved = 0
        for chunk in self._chunks():
            try:
                self.app.save(*chunk, **{POSTS_INTO: self.periods})
            except IntegrityError:
                raise LedgerError(
                    "the ledger changed while this feed was imported; import it again: the "
                    f"{saved} aggregates saved so far will count as already present"
                ) from None
            except LedgerError as e:
                raise LedgerError(
                    f"{e}; the {saved} aggregates saved before it stay, and count as already "
                    "present when the feed is imported again"
                ) from None
            saved += len(chunk)
            progress(saved)

    def _chunks(self) -> Iterator[list[Aggregate]]:
        indexes: dict[str, list[Aggregate]] = {}
        for aggregate in self.aggregates.values():
            if isinstance(aggregate, ClaimIndex) and aggregate.pending_events:
                indexes.setdefault(aggregate.member_id, []).append(aggregate)
        chunk: list[Aggregate] = []
        for aggregate in self.aggregates.values():
            if not isinstance(aggregate, Member) or not aggregate.pending_events:
                continue
            chunk += [aggregate, *indexes.get(aggregate.member_id, [])]
            if len(chunk) >= CHUNK:
                yield chunk
                chunk = []
        if chunk:
            yield chunk
