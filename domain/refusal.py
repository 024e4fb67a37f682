"""A command refused for want of a duty. Nothing of the books changed, but who tried what
is part of the audit record: it is an event of the log, so the hash chain covers it, and
deleting it is found as deleting any event is."""

from typing import Any
from uuid import uuid4

from eventsourcing.domain import Aggregate


class Refusal(Aggregate):
    class Recorded(Aggregate.Created):
        actor: str
        command: str
        """As named in domain/duties.py: `approve_claim`, `import_claims`, ..."""
        reason: str
        """The message the user saw."""

    @classmethod
    def record(cls, actor: str, command: str, reason: str) -> "Refusal":
        return cls._create(cls.Recorded, id=uuid4(), actor=actor, command=command, reason=reason)

    def __init__(self, actor: str, command: str, reason: str, **_: Any) -> None:
        self.actor = actor
        self.command = command
        self.reason = reason
