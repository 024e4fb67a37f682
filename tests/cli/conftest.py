import pytest
from cli_runner import Ledger


@pytest.fixture
def ledger(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Ledger:
    return Ledger(capsys, monkeypatch)
