"""Payees on both backends: the roster's names, bank accounts and phones reach the bank
file, the SMS hand-over and the referral slips; a member without an account is never paid
to a blank one; a later roster line records changed details as a new fact."""

import csv
import io
import json
from collections.abc import Callable
from dataclasses import replace
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from feed_files import CLAIM_HEADER, ROSTER_HEADER, claim, write_feed
from rawdb import raw
from recorded import events_less_refusals
from rosters import import_roster, roster_line

from domain.errors import LedgerError
from domain.member import Member, MemberDetails, member_uuid
from domain.money import fmt
from ledger.application.books import Books
from ledger.application.demo import run_demo
from ledger.application.feeds import ImportRefused, import_feed
from ledger.reports.audit import check_read_models
from ledger.reports.payments import export_notifications, export_payouts
from ledger.reports.render import write as write_document
from ledger.reports.render.document import screening_document
from ledger.reports.screening import Screening, screening
from ledger.store.recorders import POSTS_INTO

CLERK, CASHIER = "clerk", "cashier"
START = date(2025, 1, 1)
RECEIVED = date(2025, 3, 12)
PAY_DAY = date(2025, 6, 30)
DETAILS_HEADER = f"{ROSTER_HEADER},银行账号,开户银行,手机号码"
ZHANG = "6222021204001234567"
LI = "6217001630009876543"


def roster(path: Path, *lines: str) -> Path:
    """A roster as a unit union's spreadsheet saves it: Chinese headers, GB18030."""
    return write_feed(path, DETAILS_HEADER, *lines, encoding="gb18030")


def pay_up(books: Books, *members: str) -> None:
    for m in members:
        due = books.app.member(m).enrolment(1).outstanding()
        books.app.pay_premium(m, 1, due, f"P-{m}", CLERK, START)


def settle(books: Books, path: Path, *lines: str) -> None:
    feed = write_feed(path, CLAIM_HEADER, *lines)
    import_feed(books, "claims", feed, CLERK, received_on=RECEIVED)


def bank_lines(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(path.read_text("utf-8"))))


def events(books: Books) -> int:
    return events_less_refusals(books.app)


@pytest.fixture
def two_members(books: Books, tmp_path: Path) -> Books:
    """张三 (M1) and 李四 (M2) from a roster with their accounts and phones, each with a
    claim approved for 10,380.00."""
    import_feed(
        books,
        "enrolments",
        roster(
            tmp_path / "roster.csv",
            f"2025-0001,M1,张三,1,C1,平湖玻璃厂,,2025-01-05,{ZHANG},中国工商银行平湖支行,13857301234",
            f"2025-0002,M2,李四,1,C1,平湖玻璃厂,,2025/1/6,{LI},中国建设银行乍浦支行,13957305678",
        ),
        CLERK,
    )
    pay_up(books, "M1", "M2")
    settle(
        books, tmp_path / "claims.csv", claim("S1", "M1", "20000.00"), claim("S2", "M2", "20000.00")
    )
    return books


def test_the_bank_file_carries_each_payees_name_account_bank_amount_and_reference(
    two_members: Books, tmp_path: Path
) -> None:
    out = tmp_path / "bank.csv"

    written = export_payouts(two_members, "2025-06", out, CASHIER, PAY_DAY)

    assert bank_lines(out) == [
        {
            "batch": "2025-06",
            "bank_reference": f"2025-06/{member}",
            "member_id": member,
            "name": name,
            "bank_account": account,
            "bank": bank,
            "county": "C1",
            "amount": "10380.00",
            "claims": "1",
        }
        for member, name, account, bank in [
            ("M1", "张三", ZHANG, "中国工商银行平湖支行"),
            ("M2", "李四", LI, "中国建设银行乍浦支行"),
        ]
    ]
    assert (written.lines, written.unpaid) == (2, [])


def test_a_member_without_a_bank_account_is_not_paid_and_is_named(
    books: Books, enrol: Callable[..., None], tmp_path: Path
) -> None:
    enrol("M1")
    enrol("M2", with_account=False)
    settle(
        books, tmp_path / "claims.csv", claim("S1", "M1", "20000.00"), claim("S2", "M2", "6000.00")
    )
    out = tmp_path / "bank.csv"

    written = export_payouts(books, "2025-06", out, CASHIER, PAY_DAY)

    assert [line["member_id"] for line in bank_lines(out)] == ["M1"]
    approved = fmt(books.app.member("M2").claims["S2"].approved)
    assert [u.as_dict() for u in written.unpaid] == [
        {"member_id": "M2", "name": None, "amount": approved, "claims": 1}
    ]
    assert [(p.member_id, p.claim_id) for p in books.claims.payable()] == [("M2", "S2")]
    assert books.report()["counties"]["C1"]["accounts"]["benefits_payable"] == approved


def test_a_corrected_roster_line_gives_the_account_and_the_next_batch_pays_to_it(
    books: Books, tmp_path: Path
) -> None:
    no_account = "2025-0002,M2,李四,1,C1,平湖玻璃厂,,2025-01-05,,,"
    import_feed(books, "enrolments", roster(tmp_path / "r1.csv", no_account), CLERK)
    pay_up(books, "M2")
    settle(books, tmp_path / "claims.csv", claim("S2", "M2", "6000.00"))
    first = export_payouts(books, "2025-06", tmp_path / "june.csv", CASHIER, PAY_DAY)
    assert [u.member_id for u in first.unpaid] == ["M2"] and not first.recorded

    corrected = f"2025-0102,M2,李四,1,C1,平湖玻璃厂,,2025-01-05,{LI},中国建设银行乍浦支行,"
    summary = import_feed(books, "enrolments", roster(tmp_path / "r2.csv", corrected), CLERK)
    july = tmp_path / "july.csv"
    second = export_payouts(books, "2025-07", july, CASHIER, date(2025, 7, 31))

    assert (summary.imported, summary.counts) == (1, {"with_changed_details": 1})
    changed = [
        e for e in books.app.events.get(member_uuid("M2")) if isinstance(e, Member.DetailsChanged)
    ]
    assert [(e.bank_account, e.bank, e.name, e.phone, e.roster_line) for e in changed] == [
        (LI, "中国建设银行乍浦支行", None, None, "2025-0102")
    ]
    assert [(line["member_id"], line["bank_account"]) for line in bank_lines(july)] == [("M2", LI)]
    assert second.unpaid == []


def test_an_old_roster_imported_again_does_not_undo_a_later_correction(
    books: Books, tmp_path: Path
) -> None:
    old = roster(tmp_path / "r1.csv", f"1,M1,张三,1,C1,平湖玻璃厂,,2025-01-05,{ZHANG},工行,")
    import_feed(books, "enrolments", old, CLERK)
    fix = roster(tmp_path / "r2.csv", f"2,M1,张三,1,C1,平湖玻璃厂,,2025-01-05,{LI},建行,")
    import_feed(books, "enrolments", fix, CLERK)
    before = events(books)

    again = import_feed(books, "enrolments", old, CLERK)

    assert (again.imported, again.already_present) == (0, 1)
    assert events(books) == before
    assert books.app.member("M1").details == MemberDetails("张三", LI, "建行")


def test_a_roster_line_with_the_details_on_record_adds_nothing(
    two_members: Books, tmp_path: Path
) -> None:
    before = events(two_members)
    same = f"2025-0901,M1,张三,1,C1,平湖玻璃厂,,2025-01-05,{ZHANG},中国工商银行平湖支行,"

    summary = import_feed(two_members, "enrolments", roster(tmp_path / "r.csv", same), CLERK)

    assert (summary.imported, summary.already_present) == (0, 1)
    assert events(two_members) == before


def test_a_batch_written_again_shows_the_account_paid_not_one_given_since(
    two_members: Books, tmp_path: Path
) -> None:
    """The payout records the account the money went to: a later correction is for later
    payments, and the batch's file stays what was sent to the bank."""
    june = tmp_path / "june.csv"
    export_payouts(two_members, "2025-06", june, CASHIER, PAY_DAY)
    new_account = "6228480000000000001"
    fix = f"2025-0101,M1,张三,1,C1,平湖玻璃厂,,2025-01-05,{new_account},中国农业银行,"
    import_feed(two_members, "enrolments", roster(tmp_path / "fix.csv", fix), CLERK)
    again = tmp_path / "june-again.csv"

    export_payouts(two_members, "2025-06", again, CASHIER, date(2025, 7, 1))
    for projector in two_members.projectors:
        projector.rebuild()
    rebuilt = tmp_path / "june-rebuilt.csv"
    export_payouts(two_members, "2025-06", rebuilt, CASHIER, date(2025, 7, 1))

    assert again.read_bytes() == june.read_bytes() == rebuilt.read_bytes()
    assert two_members.app.member("M1").details.bank_account == new_account


def test_the_sms_hand_over_carries_each_members_phone(two_members: Books, tmp_path: Path) -> None:
    export_payouts(two_members, "2025-06", tmp_path / "bank.csv", CASHIER, PAY_DAY)
    new_phone = "18600001111"
    fix = f"2025-0102,M2,李四,1,C1,平湖玻璃厂,,2025/1/6,,,{new_phone}"
    import_feed(two_members, "enrolments", roster(tmp_path / "fix.csv", fix), CLERK)
    sms = tmp_path / "sms.jsonl"

    done = export_notifications(two_members, sms, CASHIER)

    sent = [json.loads(line) for line in sms.read_text("utf-8").splitlines()]
    assert [(m["member_id"], m["phone"]) for m in sent] == [
        ("M1", "13857301234"),
        ("M2", new_phone),
    ]
    assert (done.handed_over, done.without_phone) == (2, [])


def test_a_text_for_a_member_without_a_phone_is_handed_over_with_none_and_named(
    books: Books, enrol: Callable[..., None], tmp_path: Path
) -> None:
    enrol("M1")
    settle(books, tmp_path / "claims.csv", claim("S1", "M1", "20000.00"))
    export_payouts(books, "2025-06", tmp_path / "bank.csv", CASHIER, PAY_DAY)
    sms = tmp_path / "sms.jsonl"

    done = export_notifications(books, sms, CASHIER)

    assert [json.loads(line)["phone"] for line in sms.read_text("utf-8").splitlines()] == [None]
    assert done.without_phone == ["M1"]


def test_a_slip_shows_the_members_name_as_known_at_its_position(
    two_members: Books, tmp_path: Path
) -> None:
    at_first = two_members.app.recorder.max_notification_id()
    fix = "2025-0101,M1,张三丰,1,C1,平湖玻璃厂,,2025-01-05,,,"
    import_feed(two_members, "enrolments", roster(tmp_path / "fix.csv", fix), CLERK)

    now = screening(two_members, 1, Decimal("10000"))
    then = screening(two_members, 1, Decimal("10000"), known_at=at_first)

    def names(found: Screening) -> dict[str, str | None]:
        return {s.member_id: s.name for slips in found.slips.values() for s in slips}

    assert names(now) == {"M1": "张三丰", "M2": "李四"}
    assert names(then) == {"M1": "张三", "M2": "李四"}
    slips = tmp_path / "slips.html"
    write_document(screening_document(now, next(iter(now.slips))), "html", slips)
    assert "张三丰" in slips.read_text("utf-8")


@pytest.mark.parametrize(
    ("column", "value", "reason"),
    [
        ("bank_account", "6.22202E+18", "is in scientific notation (Excel lost its digits)"),
        ("bank_account", "6222 0212 0400", "must be 12 to 30 digits, without spaces or dashes"),
        ("phone", "0573-85123456", "must be a mobile number of 11 digits"),
        ("phone", "1385730123", "must be a mobile number of 11 digits"),
    ],
)
def test_a_roster_with_a_bad_account_or_phone_is_refused_naming_field_and_value(
    books: Books, tmp_path: Path, column: str, value: str, reason: str
) -> None:
    account, phone = (value, "") if column == "bank_account" else (ZHANG, value)
    bad = roster(
        tmp_path / "roster.csv",
        f"1,M1,张三,1,C1,平湖玻璃厂,,2025-01-05,{ZHANG},工行,13857301234",
        f"2,M2,李四,1,C1,平湖玻璃厂,,2025-01-05,{account},工行,{phone}",
    )
    before = events(books)

    with pytest.raises(ImportRefused) as refused:
        import_feed(books, "enrolments", bad, CLERK)

    [reject] = refused.value.summary.rejects
    assert (reject.line, reject.field, reject.value) == (3, column, value)
    assert reason in reject.reason
    assert events(books) == before


def test_an_enrolment_with_a_bad_phone_records_nothing(books: Books) -> None:
    before = events(books)
    details = MemberDetails("张三", ZHANG, "工行", "12345")

    with pytest.raises(LedgerError, match=r"phone '12345': must be a mobile number"):
        books.app.enrol("M1", 1, "C1", "U1", None, CLERK, START, details)

    assert events(books) == before


def _stored_without_new_fields(books: Books, *aggregates: Member) -> None:
    """Store events as a ledger from before payees did: their state lacks the new keys."""
    mapper = books.app.mapper
    stored = []
    for aggregate in aggregates:
        for event in aggregate.collect_events():
            record = mapper.to_stored_event(event)
            state = mapper.transcoder.decode(record.state)
            for key in ("name", "bank_account", "bank", "phone", "roster_line", "payee_name"):
                state.pop(key, None)
            stored.append(replace(record, state=mapper.transcoder.encode(state)))
    books.app.recorder.insert_events(stored, **{POSTS_INTO: 1})


def test_events_stored_before_payees_existed_still_load_and_are_not_paid_blank(
    books: Books, tmp_path: Path
) -> None:
    period = books.app.scheme().open_period_for_posting(1)
    member = Member.register("M1", CLERK, START)
    member.enrol(period, "C1", "U1", None, CLERK, START, MemberDetails(bank_account=ZHANG))
    member.pay_premium(1, member.enrolment(1).outstanding(), "P-1", CLERK, START)
    _stored_without_new_fields(books, member)

    loaded = books.app.member("M1")
    settle(books, tmp_path / "claims.csv", claim("S1", "M1", "20000.00"))
    written = export_payouts(books, "2025-06", tmp_path / "bank.csv", CASHIER, PAY_DAY)

    enrolled = next(
        e for e in books.app.events.get(member_uuid("M1")) if isinstance(e, Member.Enrolled)
    )
    assert (enrolled.name, enrolled.bank_account, enrolled.roster_line) == (None, None, None)
    assert loaded.details == MemberDetails() and loaded.enrolments[1].paid_up
    assert [u.member_id for u in written.unpaid] == ["M1"] and not written.recorded
    assert check_read_models(books).differences == []


def test_tables_new_to_the_read_models_are_filled_from_the_log_by_the_next_command(
    db: str, two_members: Books, tmp_path: Path
) -> None:
    """A ledger from before payees: its read models lack the payee tables (the balances,
    here, every table they have). The next writable command catches them up from the log
    before it reads, whatever it reads: its figures are whole, its verification finds every
    read model whole, and so does an auditor's read-only one just after."""
    export_payouts(two_members, "2025-06", tmp_path / "june.csv", CASHIER, PAY_DAY)
    figures = two_members.report()
    two_members.close()
    with raw(db) as r:
        for table in ("payees", "payout_payees", "outbox_phones", "statement_names", "postings"):
            r.execute(f"DROP TABLE {table}")

    writer = Books(db)  # `ledger balances`, then `ledger audit verify`
    shown = writer.report()
    verified = check_read_models(writer)
    writer.close()
    auditor = Books(db, read_only=True)
    check = check_read_models(auditor)
    auditor.close()
    reopened = Books(db)
    again = tmp_path / "june-again.csv"
    export_payouts(reopened, "2025-06", again, CASHIER, date(2025, 7, 1))

    assert shown == figures
    assert verified.differences == [] and check.differences == []
    assert set(check.positions.values()) == {events(reopened)}
    assert again.read_bytes() == (tmp_path / "june.csv").read_bytes()
    assert {m.phone for m in reopened.notifications.pending()} == {"13857301234", "13957305678"}
    reopened.close()


def test_the_demo_pays_every_member_to_a_bank_account(db: str) -> None:
    books = Books(db)
    run_demo(books, "pinghu", 2, 200, 1)
    books.catch_up()
    payments = books.claims.payments(prefix="BANK-")
    assert payments and all(p.bank_account and p.name and p.bank for p in payments)
    assert all(m.phone for m in books.notifications.pending())
    books.close()


def test_bulk_enrolment_records_the_roster_details(books: Books) -> None:
    details = MemberDetails("王芳", ZHANG, "中国工商银行平湖支行", "13857301234")
    import_roster(books, roster_line("M1", "C1", "U1", details=details, on=START))
    assert books.app.member("M1").details == details


def test_a_json_lines_roster_may_give_the_account_and_phone_as_numbers(
    books: Books, tmp_path: Path
) -> None:
    """JSON numbers are exact integers: their digits are the account. A float has lost them."""
    line = (
        '{"roster_line": "%s", "member_id": "%s", "period": 1, "county": "C1", "unit": "U1", '
        '"enrolled_on": "2025-01-05", "bank_account": %s, "phone": 13857301234}'
    )
    good = tmp_path / "roster.jsonl"
    good.write_text(line % ("1", "M1", ZHANG) + "\n", encoding="utf-8")
    bad = tmp_path / "floats.jsonl"
    bad.write_text(line % ("2", "M2", "6.222021204001235e18") + "\n", encoding="utf-8")

    import_feed(books, "enrolments", good, CLERK)
    with pytest.raises(ImportRefused) as refused:
        import_feed(books, "enrolments", bad, CLERK)

    assert books.app.member("M1").details == MemberDetails(bank_account=ZHANG, phone="13857301234")
    assert [r.field for r in refused.value.summary.rejects] == ["bank_account"]
