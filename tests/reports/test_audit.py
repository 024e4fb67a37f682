"""Tamper evidence and verification by replay, on both backends: each kind of change made
to the database behind the ledger's back is found and named by its position."""

from collections.abc import Callable
from datetime import date
from decimal import Decimal

import pytest
from rawdb import Raw, raw
from statement_books import record_period

import ledger.reports.audit as audit
import projections.projector as projector
from domain.scheme import Scheme
from ledger.application.books import Books
from ledger.application.policies import load_preset
from ledger.reports.audit import (
    Digest,
    check_chain,
    check_read_models,
    head,
    verification,
    verify,
)
from ledger.store.chain import link
from ledger.store.recorders import GuardedPostgresRecorder
from projections.projector import Projector


def problems(books: Books, published: Digest | None = None) -> list[tuple[int | None, str]]:
    given = [] if published is None else [published]
    return [(f.position, f.problem) for f in check_chain(books.log, given).findings]


def premium_paid_at(r: Raw, nth: int) -> int:
    return r.position_of("PremiumPaid", nth)


def set_state(r: Raw, position: int, change: Callable[[bytes], bytes]) -> None:
    (state,) = r.rows(f"SELECT state FROM {{events}} WHERE {r.id_column} = ?", position)[0]
    new = change(bytes(state))
    assert new != bytes(state)
    r.execute(f"UPDATE {{events}} SET state = ? WHERE {r.id_column} = ?", new, position)


def test_an_untouched_log_verifies_and_its_head_is_the_published_digest(
    ledger_of_three: Books,
) -> None:
    digest = head(ledger_of_three.log)
    assert digest is not None
    assert digest.position == ledger_of_three.app.recorder.max_notification_id()
    check = check_chain(ledger_of_three.log, [digest])
    assert check.findings == []
    assert check.checked == digest.position
    assert check.head == digest and check.digest_matches is True


@pytest.mark.parametrize("db", ["postgres"], indirect=True)
def test_on_postgresql_the_server_checks_every_link_at_once(
    ledger_of_three: Books, db: str
) -> None:
    recorder = ledger_of_three.app.recorder
    assert isinstance(recorder, GuardedPostgresRecorder)
    end = recorder.max_notification_id()
    assert recorder.count_intact_links(end) == end
    with raw(db) as r:
        r.unprotect()
        set_state(r, premium_paid_at(r, 2), lambda s: s.replace(b'"1.00"', b'"1.01"'))
    assert recorder.count_intact_links(end) is None


def test_a_changed_amount_is_found_at_its_position(ledger_of_three: Books, db: str) -> None:
    with raw(db) as r:
        r.unprotect()
        position = premium_paid_at(r, 1)
        set_state(r, position, lambda s: s.replace(b'"49.00"', b'"94.00"'))
    assert problems(ledger_of_three) == [
        (position, "the event does not match its link: changed or reordered")
    ]


def test_a_deleted_event_is_found_at_its_position(ledger_of_three: Books, db: str) -> None:
    with raw(db) as r:
        r.unprotect()
        position = premium_paid_at(r, 0)
        r.execute(f"DELETE FROM {{events}} WHERE {r.id_column} = ?", position)
    assert problems(ledger_of_three) == [(position, "the event of this link is missing: deleted")]


def test_an_event_deleted_with_its_link_is_found_at_the_next_link(
    ledger_of_three: Books, db: str
) -> None:
    with raw(db) as r:
        r.unprotect()
        position = premium_paid_at(r, 1)
        r.execute(f"DELETE FROM {{events}} WHERE {r.id_column} = ?", position)
        r.execute("DELETE FROM event_chain WHERE position = ?", position)
    assert problems(ledger_of_three) == [
        (position + 1, "the event does not match its link: changed or reordered")
    ]


def test_an_event_inserted_past_the_ledger_is_found(ledger_of_three: Books, db: str) -> None:
    with raw(db) as r:
        position = premium_paid_at(r, 2)
        originator, version, topic, state = r.rows(
            f"SELECT originator_id, originator_version, topic, state FROM {{events}} "
            f"WHERE {r.id_column} = ?",
            position,
        )[0]
        r.execute(
            "INSERT INTO {events} (originator_id, originator_version, topic, state) "
            "VALUES (?, ?, ?, ?)",
            originator,
            version + 1,
            topic,
            bytes(state).replace(b"R-m3", b"R-m3-again"),
        )
        (inserted,) = r.rows(f"SELECT MAX({r.id_column}) FROM {{events}}")[0]
    assert problems(ledger_of_three) == [
        (inserted, "an event with no link: inserted outside the ledger")
    ]


def test_two_events_swapped_are_both_found(ledger_of_three: Books, db: str) -> None:
    with raw(db) as r:
        r.unprotect()
        first, second = premium_paid_at(r, 0), premium_paid_at(r, 1)
        select = f"SELECT state FROM {{events}} WHERE {r.id_column} = ?"
        (a,), (b,) = r.rows(select, first)[0], r.rows(select, second)[0]
        set_state(r, first, lambda _: bytes(b))
        set_state(r, second, lambda _: bytes(a))
    assert [p for p, _ in problems(ledger_of_three)] == [first, second]


def test_rewriting_the_links_too_is_caught_by_the_published_digest(
    ledger_of_three: Books, db: str
) -> None:
    published = head(ledger_of_three.log)
    with raw(db) as r:
        r.unprotect()
        changed = premium_paid_at(r, 0)
        set_state(r, changed, lambda s: s.replace(b'"49.00"', b'"9.00"'))
        _relink(r)
    assert problems(ledger_of_three) == [], "the stored links were made consistent again"
    assert problems(ledger_of_three, published) == [
        (
            published.position,  # type: ignore[union-attr]
            f"the log up to here is not what was published ({published}): "
            "events before it were changed, removed or added",
        )
    ]


def test_a_digest_that_names_no_position_of_the_log_is_reported(ledger_of_three: Books) -> None:
    published = Digest(10_000, "ab" * 32)
    assert problems(ledger_of_three, published) == [
        (10_000, f"the published digest {published} names no link of this log")
    ]


def test_events_recorded_after_a_digest_leave_it_valid(
    ledger_of_three: Books, enrol: Callable[..., None]
) -> None:
    published = head(ledger_of_three.log)
    enrol("m4")
    assert published is not None
    check = check_chain(ledger_of_three.log, [published])
    assert check.findings == [] and check.digest_matches is True
    assert check.head is not None and check.head.position > published.position  # type: ignore[union-attr]


def test_replay_equals_the_live_read_models(ledger_of_three: Books) -> None:
    check = check_read_models(ledger_of_three)
    assert check.differences == []
    assert check.rows["balances.postings"] > 0 and check.rows["claims.members"] == 3
    assert set(check.positions.values()) == {ledger_of_three.app.recorder.max_notification_id()}


def test_replay_finds_a_corrupted_balance_account_by_account(
    ledger_of_three: Books, db: str
) -> None:
    with raw(db) as r:
        r.execute(
            "UPDATE postings SET amount_fen = amount_fen + 100 "
            "WHERE account = 'bank' AND notification_id = ?",
            premium_paid_at(r, 0),
        )
    found = [str(d) for d in check_read_models(ledger_of_three).differences]
    assert found[0] == "balances: C1 bank (period 1): live 151.00, from the log 150.00"
    assert any(d.startswith("balances: postings: row not in the log's replay") for d in found)


def test_replay_finds_a_row_missing_from_another_read_model(
    ledger_of_three: Books, db: str
) -> None:
    with raw(db) as r:
        r.execute("DELETE FROM members WHERE member_id = 'm2'")
    found = [str(d) for d in check_read_models(ledger_of_three).differences]
    assert len(found) == 1
    assert found[0].startswith("claims: members: row missing from the live table: ")
    assert found[0].endswith(", m2")


def test_replay_compares_a_lagging_read_model_at_its_own_position(
    ledger_of_three: Books,
) -> None:
    before = ledger_of_three.balances.position
    ledger_of_three.app.enrol("m4", 1, "C1", "U1", None, "clerk", date(2025, 1, 1))
    assert ledger_of_three.balances.position == before  # recorded, not yet projected
    check = check_read_models(ledger_of_three)
    assert check.differences == [] and check.positions["balances"] == before


def _relink(r: Raw) -> None:
    """Recompute every stored link over the events as they now are."""
    previous = "0" * 64
    events = r.rows(
        f"SELECT {r.id_column}, originator_id, originator_version, topic, state FROM {{events}} "
        f"ORDER BY {r.id_column}"
    )
    for position, originator, version, topic, state in events:
        (recorded_at,) = r.rows("SELECT recorded_at FROM event_chain WHERE position = ?", position)[
            0
        ]
        previous = link(previous, position, recorded_at, originator, version, topic, bytes(state))
        r.execute("UPDATE event_chain SET hash = ? WHERE position = ?", previous, position)


def test_only_tables_whose_digests_differ_are_read_row_by_row(
    ledger_of_three: Books, db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    read: list[str] = []
    rows = audit._rows
    monkeypatch.setattr(audit, "_rows", lambda p, table: read.append(table) or rows(p, table))
    assert check_read_models(ledger_of_three).differences == [] and read == []
    with raw(db) as r:
        r.execute("DELETE FROM members WHERE member_id = 'm2'")
    assert len(check_read_models(ledger_of_three).differences) == 1
    assert read == ["members", "members"]  # the live table and its replay


def test_a_replay_compared_in_parts_is_compared_as_a_whole(
    ledger_of_three: Books, db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(projector, "DIGEST_ROWS", 2)
    assert check_read_models(ledger_of_three).differences == []
    with raw(db) as r:
        r.execute("UPDATE members SET member_id = 'm9' WHERE member_id = 'm3'")
    found = [str(d) for d in check_read_models(ledger_of_three).differences]
    assert len(found) == 2 and found[0].endswith(", m9") and found[1].endswith(", m3")


def test_a_live_read_model_caught_up_while_it_is_read_is_read_again(
    ledger_of_three: Books, enrol: Callable[..., None], monkeypatch: pytest.MonkeyPatch
) -> None:
    snapshot = audit._snapshot
    moved: list[int] = []

    def then_catch_up(live: Projector) -> audit._Snapshot:
        taken = snapshot(live)
        if not moved:  # a writer records and catches up once the first model was read
            enrol("m4")
            ledger_of_three.catch_up()
            moved.append(ledger_of_three.app.recorder.max_notification_id() or 0)
        return taken

    monkeypatch.setattr(audit, "_snapshot", then_catch_up)
    check = check_read_models(ledger_of_three)
    assert check.differences == [] and check.positions["balances"] == moved[0]
    assert check.rows["claims.members"] == 4


def test_verify_finds_what_the_chain_check_and_the_replay_find(
    ledger_of_three: Books, db: str
) -> None:
    published = head(ledger_of_three.log)
    with raw(db) as r:
        r.unprotect()
        set_state(r, premium_paid_at(r, 1), lambda s: s.replace(b'"49.00"', b'"94.00"'))
        r.execute("DELETE FROM members WHERE member_id = 'm2'")
    assert published is not None
    chain, replay = verify(ledger_of_three, [published])
    assert chain == check_chain(ledger_of_three.log, [published]) and chain.findings
    assert replay == check_read_models(ledger_of_three) and replay.differences


def test_the_closed_period_guard_is_checked_against_the_logs_closes(books: Books, db: str) -> None:
    """`closed_periods` is no read model and not in the chain: verify compares it with the
    closes in the log, so a row deleted (postings let in) or added (an open period shut) is
    named."""
    record_period(books)
    chain, _ = verify(books)
    assert chain.findings == []
    with raw(db) as r:
        closed_at = r.position_of("PeriodClosed")
        r.execute("DELETE FROM closed_periods WHERE period = 1")
        r.execute("INSERT INTO closed_periods VALUES (7)")
    chain, _ = verify(books)
    assert [(f.position, f.problem) for f in chain.findings] == [
        (closed_at, "period 1 is closed here but not in the store's guard (closed_periods, a row "
         "deleted): postings into it would not be refused"),
        (None, "period 7 is in the store's guard (closed_periods) but the log never closed it "
         "(a row inserted): postings into it are refused"),
    ]  # fmt: skip


def forge_at_the_tail(r: Raw, model: int, change: Callable[[bytes], bytes]) -> int:
    """A copy of the event at `model`, changed, as the next event of its aggregate, with its
    link computed by the published formula: the chain holds. Its position."""
    originator, _, topic, state = r.rows(
        f"SELECT originator_id, originator_version, topic, state FROM {{events}} "
        f"WHERE {r.id_column} = ?",
        model,
    )[0]
    (version,) = r.rows(
        "SELECT MAX(originator_version) FROM {events} WHERE originator_id = ?", originator
    )[0]
    forged = change(bytes(state))
    r.execute(
        "INSERT INTO {events} (originator_id, originator_version, topic, state) "
        "VALUES (?, ?, ?, ?)",
        originator, version + 1, topic, forged,
    )  # fmt: skip
    (position,) = r.rows(f"SELECT MAX({r.id_column}) FROM {{events}}")[0]
    (previous,) = r.rows("SELECT hash FROM event_chain ORDER BY position DESC LIMIT 1")[0]
    at = "2026-02-01T00:00:00.000000Z"
    r.execute(
        "INSERT INTO event_chain VALUES (?, ?, ?)",
        position, at, link(previous, position, at, str(originator), version + 1, topic, forged),
    )  # fmt: skip
    return int(position)


def test_a_forged_payout_at_the_tail_with_a_valid_link_breaks_the_rules(
    books: Books, db: str
) -> None:
    """The chain cannot tell a well-linked forgery from a fact; the replay, applying the
    rules every command keeps, can: a second payout of a paid claim, in a closed period."""
    record_period(books)
    with raw(db) as r:
        paid = r.position_of("PayoutMade", 0)
        forged = forge_at_the_tail(r, paid, lambda s: s.replace(b'"B-1"', b'"B-1-again"'))
    chain, replay = verify(books)
    assert chain.findings == []  # the chain holds
    [(closed_at, _)] = books.log.events_of_kind(Scheme.PeriodClosed)
    shared = closed_at + 2  # the close's save ends with the two counties' deficits shared
    assert [(f.position, f.problem) for f in replay.broken] == [
        (forged, f"Member.PayoutMade posts into period 1, closed at position {shared}: no "
         "command records that"),
        (forged, "Member.PayoutMade pays claim 'M0010001-1-1' 10380.00 beyond what was "
         "payable on it"),
        (forged, "Member.PayoutMade leaves C1's benefits payable of period 1 at -10279.80: "
         "more paid out than approved"),
    ]  # fmt: skip
    assert not verification(chain, replay, partial=False)["verified"]


def test_a_forged_approval_past_the_annual_cap_breaks_the_rules(db: str) -> None:
    """A second approval of the same amount, forged with its link: the member's cap (here
    6,000.00 on Pinghu's bands) is past, which no command would have let through."""
    books = Books(db)
    app = books.app
    app.create_scheme("Capped", None, {"C1": "C1"}, "admin", date(2025, 1, 1))
    for user in ("clerk", "approver"):
        app.grant_role(user, user, "admin", date(2025, 1, 1))
    policy = load_preset("pinghu").policy_for(1)
    capped = policy.model_copy(
        update={"benefit": policy.benefit.model_copy(update={"annual_cap": Decimal("6000.00")})}
    )
    app.open_period(1, date(2025, 1, 1), date(2025, 12, 31), capped, "approver", date(2025, 1, 1))
    on = date(2025, 3, 1)
    app.enrol("m1", 1, "C1", "U1", None, "clerk", on)
    app.pay_premium("m1", 1, None, "R1", "clerk", on)
    claim = app.submit_claim("m1", 1, "9000.00", "clerk", on)  # benefit 2,880.00
    app.approve_claim(claim, "approver", on)
    assert verify(books)[1].broken == []
    with raw(db) as r:
        approved = r.position_of("ClaimApproved")
        amount = (b'"_data_":"2880.00"', b'"_data_":"5000.00"')
        forged = forge_at_the_tail(r, approved, lambda s: s.replace(*amount))
    _, replay = verify(books)
    broken = [(f.position, f.problem) for f in replay.broken]
    past = "Member.ClaimApproved takes m1's benefit of period 1 to 7880.00, past its annual cap"
    assert (forged, f"{past} of 6000.00") in broken
    books.close()
