"""A city the province cannot reach is named in one line, whatever keeps it away: its
PostgreSQL server down, its file gone."""

import socket
from datetime import date
from pathlib import Path

import pytest

from domain.errors import LedgerError
from domain.province import City
from ledger.reports.province import city_books


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])  # nothing listens there once it is closed


def reached(city: City) -> None:
    with city_books(city):
        pass


def test_a_city_whose_server_is_down_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEDGER_CONNECT_TIMEOUT", "2")
    url = f"postgresql://ledger@127.0.0.1:{closed_port()}/tz"
    with pytest.raises(LedgerError, match=r"^city TZ is out of reach: ") as refused:
        reached(City("TZ", "台州", url, date(2026, 1, 1)))
    assert "\n" not in str(refused.value)


def test_a_city_whose_ledger_is_gone_is_named(tmp_path: Path) -> None:
    with pytest.raises(LedgerError, match=r"^city LS: no ledger at"):
        reached(City("LS", "丽水", str(tmp_path / "lishui.db"), date(2026, 1, 1)))
