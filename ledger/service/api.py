"""The finance service: the ledger over HTTP, for the systems of a union's office.

Thin, like the command line: each route authenticates its user, calls the application or
a report, and answers JSON; nothing is decided here. Every write names an idempotency key,
so that a client may retry any write it did not see answered (docs/service.md).
"""

import datetime as dt
import hashlib
import json
import threading
from collections.abc import Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Header, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, Field

from domain.errors import (
    Conflict,
    DutyRefused,
    FieldError,
    InvalidAmount,
    LedgerError,
    NotFound,
)
from domain.money import fmt
from ledger.application.books import Books
from ledger.application.records import PositiveAmount
from ledger.reports.audit import head
from ledger.reports.trails import known_at_position, trail
from ledger.store.identity import writing_as
from ledger.store.service import ServiceStore

PAGE = 100
"""Items a list gives at most, unless asked for fewer."""


class Problem(Exception):
    """An answer other than success, with the body the client is given."""

    def __init__(self, status: int, reason: str, field: str | None = None) -> None:
        super().__init__(reason)
        self.status, self.reason, self.field = status, reason, field


def problem_of(error: LedgerError) -> Problem:
    """The HTTP status of a refusal: the same reasons as the command line gives."""
    if isinstance(error, DutyRefused):
        return Problem(403, str(error))
    if isinstance(error, NotFound):
        return Problem(404, str(error))
    if isinstance(error, Conflict):
        return Problem(409, str(error))
    if isinstance(error, FieldError):
        return Problem(400, error.reason, error.field)
    if isinstance(error, InvalidAmount):
        return Problem(400, str(error), error.field)
    return Problem(400, str(error))


def body_of(problem: Problem) -> dict[str, Any]:
    return {"error": {"reason": problem.reason, "field": problem.field}}


class Write(BaseModel):
    model_config = ConfigDict(extra="forbid")

    date: dt.date = Field(description="The business date of the fact (YYYY-MM-DD).")


class Enrolment(Write):
    member_id: str
    period: int
    county: str
    unit: str
    group: str | None = None


class Premium(Write):
    member_id: str
    period: int
    receipt: str
    amounts: dict[str, PositiveAmount] | None = Field(
        None, description="Yuan by funding source ('49.00'); none: all still due."
    )


class Submission(Write):
    member_id: str
    period: int
    eligible_self_paid: PositiveAmount = Field(description="Yuan ('1234.50'); never a float.")
    claim_id: str | None = None


class Decision(Write):
    pass


class Rejection(Write):
    reason: str


class Payout(Write):
    claim_id: str
    bank_reference: str
    amount: PositiveAmount | None = Field(None, description="Yuan; none: all that is payable.")


class Service:
    """The books, shared by the routes one request at a time: the store's lock orders the
    writers of several processes, this lock the requests of one."""

    def __init__(self, db: str) -> None:
        self.books = Books(db)
        self.store = ServiceStore(self.books.app.recorder.datastore)  # type: ignore[attr-defined]
        self.lock = threading.Lock()

    @contextmanager
    def acting(self, user: str) -> Iterator[Books]:
        """The books for a write by `user`, the one way every write reaches the ledger. On
        PostgreSQL the write's connections are SET ROLE `user` and reset after it, so the
        database records and checks `user` (this login being a member of that role), and
        the next request starts as this login again (ledger/store/identity.py)."""
        with self.lock, writing_as(self.store.datastore, user):
            yield self.books

    @contextmanager
    def reading(self) -> Iterator[Books]:
        with self.lock:
            yield self.books

    def written(
        self, user: str, key: str, request: dict[str, Any], run: Callable[[Books], Any]
    ) -> JSONResponse:
        """Run a write once per key: a retry gets the first answer, and records nothing."""
        if not key.strip() or len(key) > 200:
            raise Problem(400, "Idempotency-Key must be 1 to 200 characters", "Idempotency-Key")
        fingerprint = hashlib.sha256(json.dumps(request, sort_keys=True).encode()).hexdigest()
        earlier = self.store.take_key(user, key, fingerprint)
        if earlier is not None:
            if earlier.request_hash != fingerprint:
                raise Problem(422, "this Idempotency-Key was used for another request")
            if earlier.status is None or earlier.body is None:
                raise Problem(
                    409,
                    "a request with this Idempotency-Key was cut off before it was answered: "
                    "look up what it recorded (its trail) before sending it with a new key",
                )
            return JSONResponse(json.loads(earlier.body), earlier.status)
        status, body = 200, {}
        try:
            with self.acting(user) as books:
                body = run(books)
        except LedgerError as e:
            p = problem_of(e)
            status, body = p.status, body_of(p)
        self.store.keep_answer(user, key, status, json.dumps(body))
        return JSONResponse(body, status)

    def close(self) -> None:
        self.books.close()


def create_app(db: str) -> FastAPI:
    service = Service(db)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> Any:
        yield
        service.close()

    app = FastAPI(
        title="mutual-aid-ledger",
        description="The ledger of a city-pooled medical mutual-aid fund, for finance systems.",
        lifespan=lifespan,
    )
    app.state.service = service
    bearer = HTTPBearer(auto_error=False)

    @app.exception_handler(Problem)
    async def problem(request: Request, e: Problem) -> JSONResponse:
        return JSONResponse(body_of(e), e.status)

    @app.exception_handler(LedgerError)
    async def refused(request: Request, e: LedgerError) -> JSONResponse:
        p = problem_of(e)
        return JSONResponse(body_of(p), p.status)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, e: RequestValidationError) -> JSONResponse:
        first = e.errors()[0]
        field = ".".join(str(part) for part in first["loc"][1:]) or str(first["loc"][0])
        return JSONResponse(body_of(Problem(400, first["msg"], field)), 400)

    def user(
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    ) -> str:
        if credentials is None:
            raise Problem(401, "log in: send Authorization: Bearer TOKEN")
        found = service.store.user_of(credentials.credentials)
        if found is None:
            raise Problem(401, "this token is not known, or was revoked")
        return found

    User = Annotated[str, Depends(user)]
    Key = Annotated[
        str, Header(alias="Idempotency-Key", description="One per write; reuse it to retry.")
    ]

    @app.post("/enrolments")
    def enrol(e: Enrolment, who: User, key: Key) -> JSONResponse:
        def run(books: Books) -> dict[str, Any]:
            books.app.enrol(e.member_id, e.period, e.county, e.unit, e.group, who, e.date)
            return {"member_id": e.member_id, "period": e.period}

        return service.written(who, key, {"enrol": e.model_dump(mode="json")}, run)

    @app.post("/premiums")
    def pay_premium(p: Premium, who: User, key: Key) -> JSONResponse:
        def run(books: Books) -> dict[str, Any]:
            amounts: dict[str, object] | None = None if p.amounts is None else dict(p.amounts)
            books.app.pay_premium(p.member_id, p.period, amounts, p.receipt, who, p.date)
            return {"member_id": p.member_id, "receipt": p.receipt}

        return service.written(who, key, {"premium": p.model_dump(mode="json")}, run)

    @app.post("/claims")
    def submit_claim(s: Submission, who: User, key: Key) -> JSONResponse:
        def run(books: Books) -> dict[str, Any]:
            claim = books.app.submit_claim(
                s.member_id, s.period, s.eligible_self_paid, who, s.date, s.claim_id
            )
            return {"claim_id": claim}

        return service.written(who, key, {"claim": s.model_dump(mode="json")}, run)

    @app.post("/claims/{claim_id}/approve")
    def approve_claim(claim_id: str, d: Decision, who: User, key: Key) -> JSONResponse:
        def run(books: Books) -> dict[str, Any]:
            return {
                "claim_id": claim_id,
                **books.app.approve_claim(claim_id, who, d.date).as_dict(),
            }

        request = {"approve": claim_id, **d.model_dump(mode="json")}
        return service.written(who, key, request, run)

    @app.post("/claims/{claim_id}/reject")
    def reject_claim(claim_id: str, r: Rejection, who: User, key: Key) -> JSONResponse:
        def run(books: Books) -> dict[str, Any]:
            books.app.reject_claim(claim_id, r.reason, who, r.date)
            return {"claim_id": claim_id, "rejected": r.reason}

        request = {"reject": claim_id, **r.model_dump(mode="json")}
        return service.written(who, key, request, run)

    @app.post("/payouts")
    def make_payout(p: Payout, who: User, key: Key) -> JSONResponse:
        def run(books: Books) -> dict[str, Any]:
            paid = books.app.make_payout(p.claim_id, p.amount, p.bank_reference, who, p.date)
            return {"claim_id": p.claim_id, "paid": fmt(paid), "bank_reference": p.bank_reference}

        return service.written(who, key, {"payout": p.model_dump(mode="json")}, run)

    @app.get("/balances")
    def balances(
        who: User,
        county: str | None = None,
        period: int | None = None,
        as_of: dt.date | None = None,
        as_known_at: str | None = Query(None, description="A log position or an ISO date-time."),
    ) -> dict[str, Any]:
        with service.reading() as books:
            known_at = None if as_known_at is None else known_at_position(books, as_known_at)
            return books.report(county, period, as_of, known_at)

    @app.get("/members/{member_id}/trail")
    def member_trail(member_id: str, who: User) -> dict[str, Any]:
        with service.reading() as books:
            entries = trail(books, member=member_id)
        return {"member": member_id, "entries": [e.as_dict() for e in entries]}

    @app.get("/claims/{claim_id}/trail")
    def claim_trail(claim_id: str, who: User) -> dict[str, Any]:
        with service.reading() as books:
            entries = trail(books, claim=claim_id)
        return {"claim": claim_id, "entries": [e.as_dict() for e in entries]}

    @app.get("/refusals")
    def refusals(
        who: User,
        offset: Annotated[int, Query(ge=0)] = 0,
        limit: Annotated[int, Query(ge=1, le=PAGE)] = PAGE,
    ) -> dict[str, Any]:
        """The commands refused for want of a duty, oldest first, a page at a time."""
        with service.reading() as books:
            every = books.app.refusals.all()
        page = every[offset : offset + limit]
        return {
            "total": len(every),
            "offset": offset,
            "items": [r.as_dict() for r in page],
            "next_offset": offset + limit if offset + limit < len(every) else None,
        }

    @app.get("/audit/digest")
    def digest(who: User) -> dict[str, Any]:
        with service.reading() as books:
            found = head(books.log)
        if found is None:
            raise Problem(404, "the log is empty: there is no digest yet")
        return {"position": found.position, "hash": found.hash, "digest": str(found)}

    return app
