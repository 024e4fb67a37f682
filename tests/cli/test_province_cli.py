"""A province's cities from the command line: a register of city funds, each city's own
commands run by its code, the cities side by side in one statement (each column at a
position of its city's log, reproducibly), and the province's witness of every city's
digests finding a history rewritten with its chain recomputed. One city on each backend,
the other an SQLite file: nothing assumes one server."""

import json
from pathlib import Path

import pytest
from cli_runner import Ledger, create_scheme
from rawdb import raw

from ledger.application.policies import load_preset
from ledger.application.province import ProvinceRegister

YEAR = "2025"


@pytest.fixture
def cities(ledger: Ledger, db: str, tmp_path: Path) -> tuple[str, str]:
    """ZS on the backend at hand (one claim approved and paid), TZ a simulated Nanyang-like
    city in an SQLite file; both in the register at province.db in tmp_path."""
    create_scheme(ledger, db)
    on = ("--date", "2025-02-01")
    ledger.ok(db, "enrol", "m1", "--period", "1", "--county", "C1", "--unit", "U", *on)
    ledger.ok(db, "pay-premium", "m1", "--period", "1", "--receipt", "R1", *on)
    ledger.ok(db, "claim", "submit", "m1", "--period", "1", "--self-paid", "2000",
              "--claim-id", "S1", *on)  # fmt: skip
    ledger.ok(db, "--actor", "approver", "claim", "approve", "S1", *on)
    tz = str(tmp_path / "tz.db")
    ledger.ok(tz, "demo", "--preset", "nanyang", "--members", "60", "--seed", "3")
    province = ("--province", str(tmp_path / "province.db"))
    ledger.ok(db, *province, "cities", "add", "ZS", "--name", "舟山 Zhoushan", "--ledger", db)
    ledger.ok(db, *province, "cities", "add", "TZ", "--name", "台州 Taizhou", "--ledger", tz)
    return db, tz


def province(tmp_path: Path) -> tuple[str, ...]:
    return ("--province", str(tmp_path / "province.db"))


def test_the_register_takes_each_city_once_and_commands_run_per_city(
    ledger: Ledger, cities: tuple[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db, tz = cities
    p = province(tmp_path)
    listed = json.loads(ledger.ok(db, *p, "cities", "list", "--json"))
    assert [c["code"] for c in listed] == ["TZ", "ZS"]
    add = (*p, "cities", "add")
    assert ledger.refused(db, *add, "ZS", "--name", "x", "--ledger", tz) == (
        "error: city 'ZS' is in the register already: 舟山 Zhoushan"
    )
    assert ledger.refused(db, *add, "NB", "--name", "宁波", "--ledger", tz) == (
        f"error: city 'NB': {tz} is the ledger of city 'TZ' already"
    )
    assert ledger.refused(db, *add, "zs-1", "--name", "x", "--ledger", tz).startswith(
        "error: city 'zs-1': a city's code is 2 to 10 capitals and digits"
    )
    nowhere = str(tmp_path / "nowhere.db")
    assert ledger.refused(db, *add, "LS", "--name", "丽水", "--ledger", nowhere).startswith(
        f"error: no ledger at {nowhere}"
    )
    assert [c["code"] for c in json.loads(ledger.ok(db, *p, "cities", "list", "--json"))] == [
        "TZ",
        "ZS",
    ]
    shown = json.loads(ledger.ok(None, *p, "--city", "TZ", "scheme", "show", "--json"))
    assert shown["preset"] == "nanyang"
    after = json.loads(ledger.ok(None, "scheme", "show", "--city", "ZS", *p, "--json"))
    assert after["preset"] == "pinghu"
    assert ledger.refused(None, *p, "--city", "HZ", "balances") == (
        "error: unknown city 'HZ': the register has TZ, ZS"
    )
    assert ledger.refused(tz, *p, "--city", "TZ", "balances") == (
        "error: --city TZ and --db: give one, the city or its ledger"
    )
    monkeypatch.setenv("LEDGER_DB", tz)  # a default in the environment gives way to --city
    zs = json.loads(ledger.ok(None, *p, "--city", "ZS", "scheme", "show", "--json"))
    assert zs["preset"] == "pinghu"


def test_the_province_statement_sets_the_cities_side_by_side_reproducibly(
    ledger: Ledger, cities: tuple[str, str], tmp_path: Path
) -> None:
    db, _ = cities
    p = province(tmp_path)
    data = json.loads(ledger.ok(db, *p, "province", "statement", "--period", YEAR))
    by_city = {c["city"]: c for c in data["cities"]}
    zs = json.loads(ledger.ok(db, "statement", "--period", "1", "--format", "json"))["city"]
    assert by_city["ZS"]["benefits_approved"] == zs["benefits_approved"] == "280.00"
    assert data["total"]["members"] == by_city["ZS"]["members"] + by_city["TZ"]["members"]
    assert sorted(data["ranked_by_claims_ratio"]) == ["TZ", "ZS"]
    positions = [f"{c['city']}={c['known_at']['position']}" for c in data["cities"]]

    on = ("--date", "2025-03-01")  # recorded after the statement: the positions hold it out
    ledger.ok(db, "enrol", "m2", "--period", "1", "--county", "C1", "--unit", "U", *on)
    again = ("province", "statement", "--period", YEAR, "--known-at", positions[0],
             "--known-at", positions[1])  # fmt: skip
    assert json.loads(ledger.ok(db, *p, *again)) == data
    later = json.loads(ledger.ok(db, *p, "province", "statement", "--period", YEAR))
    assert {c["city"]: c["members"] for c in later["cities"]}["ZS"] == by_city["ZS"]["members"] + 1
    for format in ("html", "pdf", "xlsx"):
        out = tmp_path / f"province.{format}"
        said = ledger.ok(db, *p, *again, "--format", format, "--out", str(out))
        assert said.startswith("Wrote the province statement of 2025") and out.stat().st_size
    assert "人均储备 Reserve per member" in (tmp_path / "province.html").read_text("utf-8")


def test_a_province_statement_short_of_a_city_is_not_written(
    ledger: Ledger, cities: tuple[str, str], tmp_path: Path
) -> None:
    db, tz = cities
    p = province(tmp_path)
    assert ledger.refused(db, *p, "province", "statement", "--period", "2024") == (
        "error: city TZ: it has no period of 2024: no province statement without it"
    )
    unknown = ("province", "statement", "--period", YEAR, "--known-at", "HZ=3")
    assert ledger.refused(db, *p, *unknown) == "error: unknown city 'HZ': the register has TZ, ZS"
    moved = tmp_path / "moved.db"
    Path(tz).rename(moved)
    out = tmp_path / "province.pdf"
    statement = ("province", "statement", "--period", YEAR, "--format", "pdf", "--out", str(out))
    assert ledger.refused(db, *p, *statement).startswith("error: city TZ: no ledger at")
    assert not out.exists()
    ledger.ok(db, *p, "cities", "move", "TZ", "--ledger", str(moved))
    ledger.ok(db, *p, *statement)
    assert out.exists()


def test_the_provinces_witness_finds_a_history_rewritten_with_its_chain(
    ledger: Ledger, cities: tuple[str, str], tmp_path: Path
) -> None:
    """The city's own verify cannot tell: the links agree with the events again. The digest
    the province kept at the city's statement no longer holds."""
    db, _ = cities
    p = province(tmp_path)
    ledger.ok(None, *p, "--city", "ZS", "statement", "--period", "1", "--format", "json",
              "--out", str(tmp_path / "zs.json"))  # fmt: skip
    ledger.ok(db, *p, "province", "witness")
    found = json.loads(ledger.ok(db, *p, "province", "verify", "--json"))
    assert found["province"]["verified"] and all(c["verified"] for c in found["cities"])

    with raw(db) as r:  # the city's owner moves the time of the 3rd event, and re-chains all
        r.rewrite_time_and_rechain(3, "2025-01-01T00:00:00.000000Z")
    ledger.ok(db, "--read-only", "audit", "verify", "--partial")  # the city's own: no finding

    found = json.loads(ledger(db, *p, "province", "verify", "--json").stdout)
    assert found["province"]["verified"]  # the province's own log is untouched
    checks = {c["city"]: c for c in found["cities"]}
    assert checks["TZ"]["verified"] and not checks["ZS"]["verified"]
    assert [w["holds"] for w in checks["ZS"]["witnessed"]] == [False, False]
    said = ledger.refused(db, *p, "province", "verify")
    assert said == "error: verification failed for ZS"


def test_a_reader_is_no_witness_and_a_year_of_two_periods_is_refused(
    ledger: Ledger, cities: tuple[str, str], tmp_path: Path
) -> None:
    db, tz = cities
    p = province(tmp_path)
    register = ProvinceRegister(str(tmp_path / "province.db"), read_only=True)
    before = len(register.witnessed_of("ZS"))
    register.close()
    ledger.ok(None, *p, "--read-only", "--city", "ZS", "statement", "--period", "1",
              "--format", "json", "--out", str(tmp_path / "zs.json"))  # fmt: skip
    register = ProvinceRegister(str(tmp_path / "province.db"), read_only=True)
    assert len(register.witnessed_of("ZS")) == before  # reading records nothing anywhere
    register.close()

    halves = ("--policy-file", str(tmp_path / "policy.json"))
    (tmp_path / "policy.json").write_text(
        json.dumps(load_preset("pinghu").policy_for(1).model_dump(mode="json")), "utf-8"
    )
    ledger.ok(db, "period", "open", "2", "--start", "2026-01-01", "--end", "2026-06-30", *halves)
    ledger.ok(db, "period", "open", "3", "--start", "2026-07-01", "--end", "2026-12-31", *halves)
    assert ledger.refused(db, *p, "province", "statement", "--period", "2026") == (
        "error: city TZ: it has no period of 2026: no province statement without it"
    )
    ledger.ok(tz, "--actor", "demo-approver", "period", "open", "2", "--start", "2026-01-01",
              "--end", "2026-12-31")  # fmt: skip
    assert ledger.refused(db, *p, "province", "statement", "--period", "2026") == (
        "error: city ZS: it has 2 periods starting in 2026 (2, 3): a province statement takes "
        "a city's year as one period"
    )


def test_the_provinces_own_log_is_verified_before_its_witness_is_relied_on(
    ledger: Ledger, cities: tuple[str, str], tmp_path: Path
) -> None:
    """Whoever can write the register's file could make a witnessed digest agree with a
    rewritten city: the province's own chain names the event changed."""
    db, _ = cities
    p = province(tmp_path)
    ledger.ok(db, *p, "province", "witness")
    said = ledger.ok(db, *p, "province", "verify")
    assert said.splitlines()[0].startswith("province: verified at ")
    register = str(tmp_path / "province.db")
    with raw(register) as r:
        r.unprotect()
        at = r.position_of("CityWitnessed", 0)
        where = f"WHERE {r.id_column} = ?"
        [(state,)] = r.rows(f"SELECT state FROM {{events}} {where}", at)
        forged = bytes(state).replace(b'"witness"', b'"close"')
        assert forged != bytes(state)
        r.execute(f"UPDATE {{events}} SET state = ? {where}", forged, at)
    found = json.loads(ledger(db, *p, "province", "verify", "--json").stdout)
    assert not found["province"]["verified"]
    assert found["province"]["problems"] == [
        f"position {at}: the event does not match its link: changed or reordered"
    ]
    assert all(c["verified"] for c in found["cities"])  # the cities themselves are sound
    assert ledger.refused(db, *p, "province", "verify") == (
        "error: verification failed for province"
    )


def test_a_refused_first_city_leaves_no_register_and_codes_are_read_in_capitals(
    ledger: Ledger, cities: tuple[str, str], tmp_path: Path
) -> None:
    db, tz = cities
    fresh = ("--province", str(tmp_path / "fresh.db"))
    assert ledger.refused(db, *fresh, "cities", "add", "zs-1", "--name", "x", "--ledger", tz)
    assert not (tmp_path / "fresh.db").exists()  # nothing half-registered, not even a file
    p = province(tmp_path)
    shown = json.loads(ledger.ok(None, *p, "--city", "tz", "scheme", "show", "--json"))
    assert shown["preset"] == "nanyang"
    assert ledger.refused(db, *p, "province", "statement", "--period", YEAR,
                          "--known-at", "ZS=9999").startswith(
        "error: city ZS: --known-at: position 9999 is beyond the end of the log"
    )  # fmt: skip
    nowhere = ("--province", str(tmp_path / "no" / "province.db"))
    assert ledger.refused(db, *nowhere, "cities", "list").startswith(
        "error: --province: there is no folder"
    )
