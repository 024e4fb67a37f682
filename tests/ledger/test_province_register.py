"""The province's register on each backend: kept in a log of its own, read back the same by
a reader, refused to a reader who would write, and missing when none was started."""

import os
from datetime import date
from pathlib import Path

import pytest

from domain.errors import LedgerError
from domain.province import UnknownCity
from ledger.application.province import NoRegister, ProvinceRegister
from ledger.store.config import ReadOnly

ON = date(2026, 1, 5)


def test_the_register_keeps_cities_and_witnessed_digests_in_its_own_log(db: str) -> None:
    register = ProvinceRegister(db)
    register.add_city("ZS", "舟山 Zhoushan", "zs.db", "admin", ON)
    register.add_city("TZ", "台州 Taizhou", "postgresql://x@h/db?schema=tz", "admin", ON)
    register.witness("ZS", 12, "0f" * 32, "close", "admin", ON)
    register.close()

    reader = ProvinceRegister(db, read_only=True)
    assert [(c.code, c.db) for c in reader.cities()] == [
        ("TZ", "postgresql://x@h/db?schema=tz"),
        ("ZS", os.path.realpath("zs.db")),  # a file by its absolute path, wherever typed
    ]
    assert [(w.position, w.on) for w in reader.witnessed_of("ZS")] == [(12, "close")]
    with pytest.raises(UnknownCity, match="the register has TZ, ZS"):
        reader.city("LS")
    with pytest.raises(ReadOnly):
        reader.add_city("LS", "丽水 Lishui", "ls.db", "admin", ON)
    reader.close()


def test_a_register_not_started_is_said_so(tmp_path: Path) -> None:
    with pytest.raises(NoRegister, match=r"no register of cities at .*nowhere\.db"):
        ProvinceRegister(str(tmp_path / "nowhere.db"), read_only=True)


def test_a_citys_url_is_kept_without_a_password(tmp_path: Path) -> None:
    register = ProvinceRegister(str(tmp_path / "province.db"))
    with pytest.raises(LedgerError, match=r"carries no password: give the password by a \.pgpass"):
        register.add_city("ZS", "舟山", "postgresql://u:s3cret@h/db?schema=zs", "admin", ON)
    assert register.cities() == []
    register.close()
