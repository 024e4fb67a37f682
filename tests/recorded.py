"""How many events a ledger's log holds, its refusals aside: the measure of "nothing was
recorded" for a refused command, whose refusal is an event of its own (domain/refusal.py)."""

from eventsourcing.utils import get_topic

from domain.refusal import Refusal
from ledger.application.app import MutualAidLedger


def events_less_refusals(app: MutualAidLedger) -> int:
    recorder = app.recorder
    refusals = recorder.events_of_topic(get_topic(Refusal.Recorded))  # type: ignore[attr-defined]
    return (recorder.max_notification_id() or 0) - len(refusals)
