"""The notification outbox: one SMS text to the member for each payout.

Unlike the other read models, the outbox is not forgotten on a rebuild: a message already
handed over to the sender must never be produced again. Each message is keyed by its
payout (claim and bank reference), so replaying the log adds only what is missing.

A payout the bank returned withdraws its message if it had not been handed over: the
member was not paid. Which payouts were returned comes from the log; whether a message
was handed over does not (it is the hand-over time, kept across rebuilds). A message is
withdrawn when both say so, decided as it is read, so a replay gives the same outbox
whatever order the return and the hand-over came in.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

from domain.member import Member
from domain.money import fmt
from domain.scheme import Scheme
from domain.text import FIRST_NOTICE
from ledger.store.log import Entry, EventLog
from projections.projector import Cursor, Database, Projector, ReadModel


@dataclass(frozen=True)
class Message:
    message_id: str
    member_id: str
    text: str
    phone: str | None
    """The member's mobile number as on record when the message is read; None if none."""


TEXT_KEY = "text/"


class OutboxModel(ReadModel):
    name = "notifications"
    tables: ClassVar[dict[str, str]] = {
        "outbox_schemes": "originator_id TEXT PRIMARY KEY, name TEXT NOT NULL",
        "outbox_members": "originator_id TEXT PRIMARY KEY, member_id TEXT NOT NULL",
        "outbox": "message_id TEXT PRIMARY KEY, notification_id BIGINT NOT NULL, "
        "member_id TEXT NOT NULL, text TEXT NOT NULL, handed_over_at TEXT",
        "outbox_returns": "message_id TEXT PRIMARY KEY, notification_id BIGINT NOT NULL",
        "outbox_phones": "member_id TEXT PRIMARY KEY, phone TEXT NOT NULL",
    }
    """`outbox_schemes`: what the scheme gives the texts: its name, under its id, and each
    SMS text it recorded, under TEXT_KEY and the position it holds from (FIRST_NOTICE
    before any; kept in this table, which ledgers kept before texts were recorded have
    already); `outbox_returns`: the messages whose payout was returned, with the position
    of the return; `outbox_phones`: each member's mobile number as last given."""
    not_replayed = frozenset({"handed_over_at"})

    def apply(self, cursor: Cursor, entries: Sequence[Entry]) -> None:
        schemes, members, phones, payouts, returns = [], [], [], [], []
        for n, originator, e in entries:
            if isinstance(e, Member.Registered):
                members.append((originator, e.member_id))
            elif isinstance(e, Member.Enrolled | Member.DetailsChanged):
                if e.phone is not None:
                    phones.append((e.phone, originator))
            elif isinstance(e, Member.PayoutMade):
                payouts.append((n, originator, e))
            elif isinstance(e, Member.PayoutReturned):
                returns.append((message_id(e.claim_id, e.bank_reference), n))
            elif isinstance(e, Scheme.Created):
                schemes.append((originator, e.name))
            elif isinstance(e, Scheme.NoticeTemplateChanged):
                schemes.append((f"{TEXT_KEY}{n:020d}", e.template))
        for table, key, rows in (
            ("outbox_schemes", "originator_id", schemes),
            ("outbox_members", "originator_id", members),
            ("outbox_returns", "message_id", returns),
        ):
            self.db.insert_missing(cursor, table, key, rows)
        if phones:
            self._keep_phones(cursor, dict(members), phones)
        if payouts:
            self._add_messages(cursor, payouts)

    def _keep_phones(
        self, cursor: Cursor, members: dict[str, str], phones: Sequence[tuple[str, str]]
    ) -> None:
        """Each member's last number given, in log order, written over the one on record:
        a read and a COPY (and a DELETE for the numbers replaced), not an upsert a number."""
        unknown = {originator for _, originator in phones} - members.keys()
        held = self.db.rows_by_key(cursor, "outbox_members", "originator_id", unknown)
        members |= {originator: row["member_id"] for originator, row in held.items()}
        last = {members[o]: phone for phone, o in phones if o in members}
        on_record = self.db.rows_by_key(cursor, "outbox_phones", "member_id", last)
        self.db.insert_many(
            cursor, "outbox_phones", [(m, p) for m, p in last.items() if m not in on_record]
        )
        self.db.replace(
            cursor,
            "outbox_phones",
            "member_id",
            [(m, p) for m, p in last.items() if m in on_record],
        )

    def _add_messages(
        self, cursor: Cursor, payouts: Sequence[tuple[int, str, Member.PayoutMade]]
    ) -> None:
        sql = self.db.sql
        cursor.execute(sql("SELECT originator_id, name FROM {outbox_schemes}"))
        given = {r["originator_id"]: r["name"] for r in cursor.fetchall()}
        [scheme] = [name for key, name in given.items() if not key.startswith(TEXT_KEY)]
        templates = sorted(
            (int(key.removeprefix(TEXT_KEY)), text)
            for key, text in given.items()
            if key.startswith(TEXT_KEY)
        )
        paid = sorted({originator for _, originator, _ in payouts})
        cursor.execute(
            sql(
                "SELECT originator_id, member_id FROM {outbox_members} "
                f"WHERE originator_id IN ({', '.join('?' * len(paid))})"
            ),
            paid,
        )
        member_ids = {r["originator_id"]: r["member_id"] for r in cursor.fetchall()}
        messages = []
        for notification_id, originator, e in payouts:
            member_id = member_ids[originator]
            day = e.effective_date
            template = FIRST_NOTICE
            for since, text in templates:
                if since < notification_id:
                    template = text
            text = template.format(
                scheme=scheme,
                member_id=member_id,
                amount=fmt(e.amount),
                day=f"{day.year}年{day.month}月{day.day}日",
                claim_id=e.claim_id,
            )
            messages.append(
                (message_id(e.claim_id, e.bank_reference), notification_id, member_id, text, None)
            )
        self.db.insert_missing(cursor, "outbox", "message_id", messages)

    def reset(self, cursor: Cursor) -> None:
        """Keep the outbox: replaying the log refills only the messages and returns that are
        missing."""


def message_id(claim_id: str, bank_reference: str) -> str:
    """A message is keyed by its payout."""
    return f"{claim_id}/{bank_reference}"


class Notifications(Projector):
    def __init__(self, log: EventLog, db: Database) -> None:
        super().__init__(log, OutboxModel, db)

    def pending(self) -> list[Message]:
        """Messages not yet handed over, of payouts not returned."""
        return self._not_handed_over(returned=False)

    def withdrawn(self) -> list[Message]:
        """Messages never to be handed over: their payouts were returned first."""
        return self._not_handed_over(returned=True)

    def _not_handed_over(self, returned: bool) -> list[Message]:
        with self.db.transaction(commit=False) as cursor:
            cursor.execute(
                self.db.sql(
                    "SELECT message_id, o.member_id, text, phone FROM {outbox} AS o "
                    "LEFT JOIN {outbox_phones} AS p ON p.member_id = o.member_id "
                    f"WHERE handed_over_at IS NULL AND {'' if returned else 'NOT '}EXISTS "
                    "(SELECT 1 FROM {outbox_returns} AS r WHERE r.message_id = o.message_id) "
                    "ORDER BY notification_id, message_id"
                )
            )
            return [
                Message(r["message_id"], r["member_id"], r["text"], r["phone"])
                for r in cursor.fetchall()
            ]

    def hand_over(self, messages: Sequence[Message], at: str) -> None:
        """Record messages as handed to the sender, so no later export repeats them."""
        with self.db.transaction(commit=True) as cursor:
            cursor.executemany(
                self.db.sql("UPDATE {outbox} SET handed_over_at = ? WHERE message_id = ?"),
                [(at, m.message_id) for m in messages],
            )
