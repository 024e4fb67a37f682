"""The province's register and witness, as rules: each city once under a code of its own, at
a ledger of its own; a witness only of a registered city, and only of a digest."""

from datetime import date

import pytest

from domain.errors import Conflict, FieldError
from domain.province import Province, UnknownCity

ON = date(2026, 1, 5)
HASH = "ab" * 32


@pytest.fixture
def province() -> Province:
    province = Province.create("浙江 Zhejiang", "admin", ON)
    province.add_city("ZS", "舟山 Zhoushan", "zs.db", "admin", ON)
    return province


def test_a_city_is_registered_once_under_its_code_and_at_its_own_ledger(province: Province) -> None:
    with pytest.raises(Conflict, match="city 'ZS' is in the register already: 舟山 Zhoushan"):
        province.add_city("ZS", "x", "other.db", "admin", ON)
    with pytest.raises(Conflict, match=r"zs\.db is the ledger of city 'ZS' already"):
        province.add_city("TZ", "台州", "zs.db", "admin", ON)
    for code in ("zs", "Z", "ZS-1", " TZ", "ABCDEFGHIJK"):
        with pytest.raises(FieldError) as refused:
            province.add_city(code, "x", f"{code}.db", "admin", ON)
        assert refused.value.field == "city"
    with pytest.raises(FieldError, match="a city needs its name"):
        province.add_city("TZ", " ", "tz.db", "admin", ON)
    province.add_city("TZ", "台州 Taizhou", "tz.db", "admin", ON)
    assert sorted(province.cities) == ["TZ", "ZS"]


def test_only_a_registered_citys_digest_is_witnessed(province: Province) -> None:
    with pytest.raises(UnknownCity, match="unknown city 'LS': the register has ZS"):
        province.witness("LS", 3, HASH, "close", "admin", ON)
    with pytest.raises(FieldError, match="is no digest"):
        province.witness("ZS", 3, "not-a-hash", "close", "admin", ON)
    with pytest.raises(FieldError, match="'reboot' is none of"):
        province.witness("ZS", 3, HASH, "reboot", "admin", ON)
    province.witness("ZS", 3, HASH, "close", "admin", ON)
    assert [(w.position, w.digest, w.on) for w in province.witnessed_of("ZS")] == [
        (3, HASH, "close")
    ]


def test_a_city_moves_to_a_ledger_no_other_city_has(province: Province) -> None:
    province.add_city("TZ", "台州 Taizhou", "tz.db", "admin", ON)
    with pytest.raises(Conflict, match=r"tz\.db is the ledger of city 'TZ' already"):
        province.move_city("ZS", "tz.db", "admin", ON)
    with pytest.raises(Conflict, match=r"ledger is at zs\.db already"):
        province.move_city("ZS", "zs.db", "admin", ON)
    with pytest.raises(UnknownCity):
        province.move_city("LS", "ls.db", "admin", ON)
    province.move_city("ZS", "postgresql://db2/zs", "admin", ON)
    assert province.city("ZS").db == "postgresql://db2/zs"
