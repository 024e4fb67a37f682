"""The notification outbox: one SMS text to the member for each payout.

Unlike the other read models, the outbox is not forgotten on a rebuild: a message already
handed over to the sender must never be produced again. Each message is keyed by its
payout (claim and bank reference), so replaying the log adds only what is missing.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

from domain.member import Member
from domain.money import fmt
from domain.scheme import Scheme
from ledger.app import MutualAidLedger
from projections.projector import Cursor, Database, Projector, ReadModel

TEMPLATE = (
    "【{scheme}】{member_id}您好：您的职工医疗互助保障金{amount}元已于{day}支付到您的银行账户，"
    "请注意查收。"
)


@dataclass(frozen=True)
class Message:
    message_id: str
    member_id: str
    text: str


class OutboxModel(ReadModel):
    name = "notifications"
    tables: ClassVar[dict[str, str]] = {
        "outbox_schemes": "originator_id TEXT PRIMARY KEY, name TEXT NOT NULL",
        "outbox_members": "originator_id TEXT PRIMARY KEY, member_id TEXT NOT NULL",
        "outbox": "message_id TEXT PRIMARY KEY, notification_id BIGINT NOT NULL, "
        "member_id TEXT NOT NULL, text TEXT NOT NULL, handed_over_at TEXT",
    }
    not_replayed = frozenset({"handed_over_at"})

    def apply(self, cursor: Cursor, events: Sequence[tuple[int, object]]) -> None:
        sql = self.db.sql
        schemes = [
            (str(e.originator_id), e.name) for _, e in events if isinstance(e, Scheme.Created)
        ]
        members = [
            (str(e.originator_id), e.member_id)
            for _, e in events
            if isinstance(e, Member.Registered)
        ]
        payouts = [(n, e) for n, e in events if isinstance(e, Member.PayoutMade)]
        for table, rows in (("outbox_schemes", schemes), ("outbox_members", members)):
            if rows:
                insert = f"INSERT INTO {{{table}}} VALUES (?, ?) ON CONFLICT DO NOTHING"
                cursor.executemany(sql(insert), rows)
        if not payouts:
            return
        cursor.execute(sql("SELECT name FROM {outbox_schemes}"))
        scheme = cursor.fetchone()["name"]
        paid = sorted({str(e.originator_id) for _, e in payouts})
        cursor.execute(
            sql(
                "SELECT originator_id, member_id FROM {outbox_members} "
                f"WHERE originator_id IN ({', '.join('?' * len(paid))})"
            ),
            paid,
        )
        member_ids = {r["originator_id"]: r["member_id"] for r in cursor.fetchall()}
        messages = []
        for notification_id, e in payouts:
            member_id = member_ids[str(e.originator_id)]
            day = e.effective_date
            text = TEMPLATE.format(
                scheme=scheme,
                member_id=member_id,
                amount=fmt(e.amount),
                day=f"{day.year}年{day.month}月{day.day}日",
            )
            messages.append((f"{e.claim_id}/{e.bank_reference}", notification_id, member_id, text))
        cursor.executemany(
            sql("INSERT INTO {outbox} VALUES (?, ?, ?, ?, NULL) ON CONFLICT DO NOTHING"), messages
        )

    def reset(self, cursor: Cursor) -> None:
        """Keep the outbox: replaying the log refills only messages that are missing."""


class Notifications(Projector):
    def __init__(self, app: MutualAidLedger, db: Database | None = None) -> None:
        super().__init__(app, OutboxModel, db)

    def pending(self) -> list[Message]:
        with self.db.transaction(commit=False) as cursor:
            cursor.execute(
                self.db.sql(
                    "SELECT message_id, member_id, text FROM {outbox} "
                    "WHERE handed_over_at IS NULL ORDER BY notification_id, message_id"
                )
            )
            return [Message(r["message_id"], r["member_id"], r["text"]) for r in cursor.fetchall()]

    def hand_over(self, messages: Sequence[Message], at: str) -> None:
        """Record messages as handed to the sender, so no later export repeats them."""
        with self.db.transaction(commit=True) as cursor:
            cursor.executemany(
                self.db.sql("UPDATE {outbox} SET handed_over_at = ? WHERE message_id = ?"),
                [(at, m.message_id) for m in messages],
            )
