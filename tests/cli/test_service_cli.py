"""`ledger service token|revoke` and `ledger serve`: tokens an admin issues and revokes, and
the service itself, started as a user starts it, answering over real HTTP."""

import json
import os
import socket
import subprocess
import time
from pathlib import Path

import httpx2 as httpx
from cli_runner import LEDGER, Ledger, create_scheme, events_in

from ledger.application.books import Books


def user_of(db: str, token: str) -> str | None:
    books = Books(db)
    try:
        return books.app.service.user_of(token)
    finally:
        books.close()


def test_an_admin_issues_and_revokes_a_token(ledger: Ledger, db: str) -> None:
    create_scheme(ledger, db)
    token = ledger.ok(db, "service", "token", "approver").strip()
    assert user_of(db, token) == "approver"
    assert ledger.ok(db, "service", "revoke", "approver").strip() == "Revoked 1 token of approver."
    assert user_of(db, token) is None


def test_a_token_is_refused_to_a_non_admin_and_for_a_user_with_no_role(
    ledger: Ledger, db: str
) -> None:
    create_scheme(ledger, db)
    before = events_in(db)
    refused = ledger.refused(db, "--actor", "approver", "service", "token", "approver")
    assert refused.startswith("error: approver may not issue service tokens")
    nobody = ledger.refused(db, "service", "token", "stranger")
    assert nobody == "error: 'stranger' holds no role: grant one first (ledger users grant)"
    assert events_in(db) == before
    listed = ledger.json(db, "users", "refusals")
    assert [r["command"] for r in listed["refusals"]] == ["issue_token"]  # type: ignore[index]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_serve_starts_with_a_first_admin_and_answers_what_the_command_line_does(
    ledger: Ledger, db: str, tmp_path: Path
) -> None:
    create_scheme(ledger, db)
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(Path.cwd()), "LEDGER_ADMIN": "tester"}
    env.pop("PYTHONUNBUFFERED", None)  # the token must reach a pipe while the server runs
    server = subprocess.Popen(
        [*LEDGER, "--db", db, "serve", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=(tmp_path / "serve.log").open("w"),
        text=True,
        env=env,
    )
    try:
        assert server.stdout is not None
        token = server.stdout.readline().strip()
        url = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                httpx.get(f"{url}/openapi.json", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        headers = {"Authorization": f"Bearer {token}"}
        answered = httpx.get(f"{url}/balances", headers=headers, timeout=10)
        assert answered.status_code == 200, (tmp_path / "serve.log").read_text()
        assert answered.json() == json.loads(ledger.ok(db, "balances", "--json"))
        assert httpx.get(f"{url}/balances", timeout=10).status_code == 401
        assert "/enrolments" in httpx.get(f"{url}/openapi.json", timeout=10).json()["paths"]
    finally:
        server.terminate()
        server.wait(timeout=30)
