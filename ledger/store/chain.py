"""The hash chain over the event log: what makes a change to a stored event evident.

Each event gets a link, written in the same transaction as the event: the SHA-256 of the
previous link, the event's position, the time it was recorded and its stored content
(originator, version, type, state). Changing, deleting, inserting or reordering an event
breaks the link at that position; rewriting the links as well changes the head, which
is published (`ledger audit digest`). docs/audit.md gives the formula, so an auditor can
recompute it without this code.
"""

import hashlib
from datetime import UTC, datetime
from uuid import UUID

GENESIS = "0" * 64
"""The link before the first event."""
CHAIN_TABLE = "event_chain"


def link(
    previous: str,
    position: int,
    recorded_at: str,
    originator_id: UUID | str,
    originator_version: int,
    topic: str,
    state: bytes,
) -> str:
    originator = originator_id if isinstance(originator_id, UUID) else UUID(originator_id)
    head = f"{previous}\n{position}\n{recorded_at}\n{originator}\n{originator_version}\n{topic}\n"
    return hashlib.sha256(head.encode() + state).hexdigest()


def recorded_now() -> str:
    return as_recorded(datetime.now(UTC))


def as_recorded(moment: datetime) -> str:
    """A moment as links record it: UTC, to the microsecond, in one fixed format (it is
    hashed as text, and compared as text)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
