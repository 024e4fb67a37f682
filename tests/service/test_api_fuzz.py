"""Every endpoint fuzzed from the service's own OpenAPI description, on each backend: as a
clerk, as an approver, and with no token, whatever is sent, the answer is never a server
error, and the log stays whole."""

import uuid
from datetime import date
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.openapi import from_asgi

from ledger.application.books import Books
from ledger.reports.audit import check_chain
from ledger.service.api import create_app

ON = date(2025, 3, 1)
EXAMPLES = 10
"""Requests generated per endpoint and backend, each sent as clerk, approver and nobody."""


@pytest.fixture
def api(books: Books, db: str) -> Any:
    """The service over books with two members, a claim approved and paid, and a token
    each for clerk and approver (as `fuzz_tokens`)."""
    app = books.app
    for member in ("m1", "m2"):
        app.enrol(member, 1, "C1", "U1", None, "clerk", ON)
        app.pay_premium(member, 1, None, f"R-{member}", "clerk", ON)
    claim = app.submit_claim("m1", 1, "6000.00", "clerk", ON, "S-1")
    app.approve_claim(claim, "approver", ON)
    app.make_payout(claim, None, "B-1", "cashier", ON)
    return from_asgi("/openapi.json", create_app(db))


@pytest.fixture
def fuzz_tokens(books: Books) -> dict[str, str]:
    return {user: books.app.issue_token(user, "admin") for user in ("clerk", "approver")}


def test_no_request_gets_a_server_error(
    api: Any, fuzz_tokens: dict[str, str], books: Books
) -> None:
    operations = [result.ok() for result in api.get_all_operations()]
    assert len(operations) >= 15
    for operation in operations:
        cases = st.one_of(
            operation.as_strategy(GenerationMode.POSITIVE),
            operation.as_strategy(GenerationMode.NEGATIVE),
        )

        @given(case=cases)
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def answered(case: Any) -> None:
            for token in (fuzz_tokens["clerk"], fuzz_tokens["approver"], None):
                headers = {"Idempotency-Key": f"fuzz-{uuid.uuid4()}"}
                if token is not None:
                    headers["Authorization"] = f"Bearer {token}"
                answer = case.call(headers=headers)
                assert answer.status_code < 500, (case.method, case.formatted_path, answer.text)

        answered()
    assert not check_chain(books.log).findings
