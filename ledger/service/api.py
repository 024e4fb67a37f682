"""The finance service: the ledger over HTTP, for the systems of a union's office.

Thin, like the command line: each route authenticates its user, calls the application or
a report, and answers JSON; nothing is decided here. Every write names an idempotency key,
so that a client may retry any write it did not see answered (docs/service.md).
"""

import datetime as dt
import hashlib
import json
import logging
import pathlib
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Header, Path, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
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
from ledger.application.feeds import ImportRefused, import_feed
from ledger.application.province import Witness
from ledger.application.records import PositiveAmount
from ledger.reports.audit import Digest, head, verification, verify
from ledger.reports.benefit_notice import benefit_notice
from ledger.reports.render.document import benefit_notice_document, summary_document
from ledger.reports.statement import Statement, statement
from ledger.reports.summary import parse_periods, parse_sources, summary
from ledger.reports.trails import explain, known_at_position, trail
from ledger.service import pages
from ledger.service.downloads import MEDIA_TYPES, attachment, document_file, statement_file
from ledger.store.identity import writing_as

PAGE = 100
"""Items a list gives at most, unless asked for fewer."""

KnownAt = Annotated[
    str | None, Query(description="The books as known at a log position or an ISO date-time.")
]


class Problem(Exception):
    """An answer other than success, with the body the client is given."""

    def __init__(self, status: int, reason: str, field: str | None = None, **more: Any) -> None:
        super().__init__(reason)
        self.status, self.reason, self.field, self.more = status, reason, field, more


def problem_of(error: LedgerError) -> Problem:
    """The HTTP status of a refusal: the same reasons as the command line gives."""
    if isinstance(error, DutyRefused):
        return Problem(403, str(error))
    if isinstance(error, ImportRefused):
        return Problem(400, str(error), summary=error.summary.as_dict())
    if isinstance(error, NotFound):
        return Problem(404, str(error))
    if isinstance(error, Conflict):
        return Problem(409, str(error))
    if isinstance(error, FieldError):
        return Problem(400, error.reason, error.field)
    if isinstance(error, InvalidAmount):
        return Problem(400, str(error), error.field)
    return Problem(400, str(error))


def page_of(items: list[Any], offset: int, limit: int) -> dict[str, Any]:
    """One page of a list, oldest first, and where the next one starts (None: no more)."""
    end = offset + limit
    return {
        "total": len(items),
        "offset": offset,
        "items": items[offset:end],
        "next_offset": end if end < len(items) else None,
    }


def body_of(problem: Problem) -> dict[str, Any]:
    return {"error": {"reason": problem.reason, "field": problem.field}, **problem.more}


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


class Reasoned(Write):
    reason: str


class Appeal(Write):
    grounds: str = Field(description="What the member disputes, and why.")


class Reassessment(Write):
    reason: str
    eligible_self_paid: PositiveAmount | None = Field(
        None, description="Corrected eligible self-paid amount; none: the claim's own."
    )


class Correction(Write):
    reason: str = Field(description="What was wrong: a duplicate settlement, a re-settled bill.")
    eligible_self_paid: PositiveAmount | None = Field(
        None, description="The eligible self-paid amount as corrected; or `reverse`."
    )
    reverse: bool = Field(False, description="Reverse the claim whole.")


class Recovery(Write):
    receipt: str
    amount: PositiveAmount | None = Field(None, description="Yuan; none: all that is owed.")


class Payout(Write):
    claim_id: str
    bank_reference: str
    amount: PositiveAmount | None = Field(None, description="Yuan; none: all that is payable.")


class Return(Write):
    bank_reference: str
    reason: str


FEED_SUFFIXES = (".csv", ".jsonl", ".xlsx")


class Service:
    """The books, shared by the routes one request at a time: the store's lock orders the
    writers of several processes, this lock the requests of one."""

    def __init__(self, db: str, witness: Witness | None = None) -> None:
        self.books = Books(db, create=False)  # a ledger to serve, never a new one
        self.store = self.books.app.service
        self.lock = threading.Lock()
        self.witness = witness
        """The province of the city served, which keeps each statement's digest."""

    def issued(self, found: Statement, user: str) -> None:
        """A statement handed out: the province witnesses the digest it stands on, as for
        `ledger --city CODE statement`; a province out of reach is logged, not refused."""
        if self.witness is None:
            return
        at = found.provenance
        missed = self.witness.publish(at.position, at.hash, "statement", user, dt.date.today())
        if missed is not None:
            logging.getLogger("ledger.service").warning(missed)

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


def create_app(db: str, witness: Witness | None = None) -> FastAPI:
    service = Service(db, witness)

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
    app.include_router(pages.router(service))
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
        reason = str(first["msg"]).removeprefix("Value error, ")  # pydantic's, not ours
        return JSONResponse(body_of(Problem(400, reason, field)), 400)

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
    def reject_claim(claim_id: str, r: Reasoned, who: User, key: Key) -> JSONResponse:
        def run(books: Books) -> dict[str, Any]:
            books.app.reject_claim(claim_id, r.reason, who, r.date)
            return {"claim_id": claim_id, "rejected": r.reason}

        request = {"reject": claim_id, **r.model_dump(mode="json")}
        return service.written(who, key, request, run)

    @app.post("/claims/{claim_id}/appeal")
    def appeal_claim(claim_id: str, a: Appeal, who: User, key: Key) -> JSONResponse:
        """The member's appeal against the claim's decision, for another approver."""

        def run(books: Books) -> dict[str, Any]:
            books.app.appeal_claim(claim_id, a.grounds, who, a.date)
            return {"claim_id": claim_id, "appealed": a.grounds}

        request = {"appeal": claim_id, **a.model_dump(mode="json")}
        return service.written(who, key, request, run)

    @app.post("/claims/{claim_id}/reassess")
    def reassess_claim(claim_id: str, r: Reassessment, who: User, key: Key) -> JSONResponse:
        """Decide an appeal; the difference from the last decision is posted."""

        def run(books: Books) -> dict[str, Any]:
            benefit = books.app.reassess_claim(
                claim_id, r.eligible_self_paid, r.reason, who, r.date
            )
            return {"claim_id": claim_id, "benefit": fmt(benefit)}

        request = {"reassess": claim_id, **r.model_dump(mode="json")}
        return service.written(who, key, request, run)

    @app.post("/claims/{claim_id}/correct")
    def correct_claim(claim_id: str, c: Correction, who: User, key: Key) -> JSONResponse:
        """Reduce or reverse an approval found wrong; an overpayment is to be recovered."""

        def run(books: Books) -> dict[str, Any]:
            benefit = books.app.correct_claim(
                claim_id, c.eligible_self_paid, c.reverse, c.reason, who, c.date
            )
            return {"claim_id": claim_id, "benefit": fmt(benefit)}

        request = {"correct": claim_id, **c.model_dump(mode="json")}
        return service.written(who, key, request, run)

    @app.post("/recoveries/{claim_id}/collect")
    def collect_recovery(claim_id: str, r: Recovery, who: User, key: Key) -> JSONResponse:
        def run(books: Books) -> dict[str, Any]:
            collected = books.app.collect_recovery(claim_id, r.amount, r.receipt, who, r.date)
            return {"claim_id": claim_id, "collected": fmt(collected), "receipt": r.receipt}

        request = {"recover": claim_id, **r.model_dump(mode="json")}
        return service.written(who, key, request, run)

    @app.post("/recoveries/{claim_id}/write-off")
    def write_off_recovery(claim_id: str, r: Reasoned, who: User, key: Key) -> JSONResponse:
        def run(books: Books) -> dict[str, Any]:
            written_off = books.app.write_off_recovery(claim_id, r.reason, who, r.date)
            return {"claim_id": claim_id, "written_off": fmt(written_off)}

        request = {"write_off": claim_id, **r.model_dump(mode="json")}
        return service.written(who, key, request, run)

    @app.post("/payouts")
    def make_payout(p: Payout, who: User, key: Key) -> JSONResponse:
        def run(books: Books) -> dict[str, Any]:
            paid = books.app.make_payout(p.claim_id, p.amount, p.bank_reference, who, p.date)
            return {"claim_id": p.claim_id, "paid": fmt(paid), "bank_reference": p.bank_reference}

        return service.written(who, key, {"payout": p.model_dump(mode="json")}, run)

    @app.post("/payouts/{claim_id}/return")
    def return_payout(claim_id: str, r: Return, who: User, key: Key) -> JSONResponse:
        """The bank sent a payout back: what it paid is payable again."""

        def run(books: Books) -> dict[str, Any]:
            books.app.return_payout(claim_id, r.bank_reference, r.reason, who, r.date)
            return {"claim_id": claim_id, "returned": r.bank_reference}

        request = {"return": claim_id, **r.model_dump(mode="json")}
        return service.written(who, key, request, run)

    @app.post(
        "/imports/{kind}",
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {
                    "text/csv": {"schema": {"type": "string"}},
                    "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
                },
            }
        },
    )
    async def import_(
        kind: Annotated[str, Path(description="enrolments, premiums, claims or payout-results.")],
        request: Request,
        who: User,
        key: Key,
        filename: Annotated[
            str, Query(description="The file's name; its suffix (.csv, .jsonl, .xlsx) its format.")
        ],
        sheet: str | None = None,
        partial: Annotated[
            bool, Query(description="Import the good records; list the bad.")
        ] = False,
        received: Annotated[
            dt.date | None, Query(description="The day the feed was received; default today.")
        ] = None,
    ) -> JSONResponse:
        """Import a feed, the request's body, as `ledger import` does: the same summary and
        rejects. A feed with a bad record is refused whole (400) unless `partial`."""
        name = pathlib.PurePath(filename).name
        if not name.endswith(FEED_SUFFIXES) or name != filename:
            raise Problem(400, f"a file name ending {', '.join(FEED_SUFFIXES)}", "filename")
        content = await request.body()
        fingerprint = {
            "import": kind,
            "filename": name,
            "sheet": sheet,
            "partial": partial,
            "received": None if received is None else received.isoformat(),
            "sha256": hashlib.sha256(content).hexdigest(),
        }

        def run(books: Books) -> dict[str, Any]:
            with tempfile.TemporaryDirectory(prefix="ledger-import-") as folder:
                path = pathlib.Path(folder) / name
                path.write_bytes(content)
                rejects = path.with_name(f"rejects-{name}") if partial else None
                try:
                    summary = import_feed(
                        books,
                        kind,
                        path,
                        who,
                        sheet=sheet,
                        partial=partial,
                        rejects_path=rejects,
                        received_on=received,
                    )
                except ImportRefused as refused:
                    refused.summary.file = name
                    raise
            summary.file = name
            return summary.as_dict()

        return await run_in_threadpool(service.written, who, key, fingerprint, run)

    @app.get("/balances")
    def balances(
        who: User,
        county: str | None = None,
        period: int | None = None,
        as_of: dt.date | None = None,
        as_known_at: KnownAt = None,
    ) -> dict[str, Any]:
        with service.reading() as books:
            known_at = known_at_position(books, as_known_at)
            return books.report(county, period, as_of, known_at)

    Offset = Annotated[int, Query(ge=0, description="Items to skip.")]
    Limit = Annotated[int, Query(ge=1, le=PAGE, description="Items to give at most.")]

    @app.get("/members/{member_id}/trail")
    def member_trail(member_id: str, who: User, offset: Offset = 0, limit: Limit = PAGE) -> Any:
        """Every event of a member, in log order, a page at a time."""
        with service.reading() as books:
            entries = [e.as_dict() for e in trail(books, member=member_id)]
        return {"member": member_id, **page_of(entries, offset, limit)}

    @app.get("/claims/{claim_id}/trail")
    def claim_trail(claim_id: str, who: User, offset: Offset = 0, limit: Limit = PAGE) -> Any:
        """Every event of a claim, in log order, a page at a time."""
        with service.reading() as books:
            entries = [e.as_dict() for e in trail(books, claim=claim_id)]
        return {"claim": claim_id, **page_of(entries, offset, limit)}

    @app.get("/recoveries")
    def recoveries(who: User, offset: Offset = 0, limit: Limit = PAGE) -> Any:
        """Overpayments still to recover, by member and claim, a page at a time."""
        with service.reading() as books:
            books.claims.catch_up()
            owed = [
                {"member_id": o.member_id, "claim_id": o.claim_id, "county": o.county,
                 "to_recover": fmt(o.amount)}
                for o in books.claims.receivable()
            ]  # fmt: skip
        return page_of(owed, offset, limit)

    @app.get("/counties/{county}/trail")
    def county_trail(
        county: str, period: int, who: User, offset: Offset = 0, limit: Limit = PAGE
    ) -> Any:
        """Every event that posted into a county (or CITY, the city pool) in a period."""
        with service.reading() as books:
            entries = [e.as_dict() for e in trail(books, county=county, period=period)]
        return {"county": county, "period": period, **page_of(entries, offset, limit)}

    @app.get("/counties/{county}/explain")
    def explained(
        county: str,
        account: str,
        who: User,
        period: int | None = None,
        as_of: dt.date | None = None,
        as_known_at: KnownAt = None,
    ) -> dict[str, Any]:
        """The postings behind one balance of /balances, which add up to it."""
        with service.reading() as books:
            known_at = known_at_position(books, as_known_at)
            return explain(books, county, account, period, as_of, known_at).as_dict()

    @app.get("/refusals")
    def refusals(who: User, offset: Offset = 0, limit: Limit = PAGE) -> dict[str, Any]:
        """The commands refused for want of a duty, oldest first, a page at a time."""
        with service.reading() as books:
            every = [r.as_dict() for r in books.app.refusals()]
        return page_of(every, offset, limit)

    @app.get(
        "/statements/{period}",
        response_class=Response,
        responses={200: {"content": {t: {} for t in MEDIA_TYPES.values()}}},
    )
    def period_statement(
        period: Annotated[int, Path(ge=1)],
        who: User,
        format: Annotated[str, Query(pattern="^(json|html|pdf|xlsx)$")] = "json",
        county: str | None = None,
        as_known_at: KnownAt = None,
        largest: Annotated[int, Query(ge=0, le=1000)] = 10,
    ) -> Response:
        """The period statement for the boards, as `ledger statement` writes it."""
        with service.reading() as books:
            known_at = known_at_position(books, as_known_at)
            found = statement(books, period, county, known_at, largest)
        service.issued(found, who)
        return Response(
            statement_file(found, format),
            media_type=MEDIA_TYPES[format],
            headers={"Content-Disposition": attachment(f"statement-{period}.{format}")},
        )

    @app.get(
        "/summary",
        response_class=Response,
        responses={200: {"content": {t: {} for t in MEDIA_TYPES.values()}}},
    )
    def periods_summary(
        who: User,
        periods: Annotated[str, Query(description="FIRST-LAST, say 1-14.")],
        format: Annotated[str, Query(pattern="^(json|html|pdf|xlsx)$")] = "json",
        county: str | None = None,
        per_head_sources: Annotated[
            str | None, Query(description="Funding sources, comma-separated; default: all.")
        ] = None,
        as_known_at: KnownAt = None,
    ) -> Response:
        """A summary over several periods, as `ledger summary` writes it."""
        first, last = parse_periods(periods)
        with service.reading() as books:
            known_at = known_at_position(books, as_known_at)
            found = summary(books, first, last, county, known_at, parse_sources(per_head_sources))
        return Response(
            document_file(found.as_dict(), lambda: summary_document(found), format),
            media_type=MEDIA_TYPES[format],
            headers={"Content-Disposition": attachment(f"summary-{first}-{last}.{format}")},
        )

    @app.get("/audit/digest")
    def digest(who: User) -> dict[str, Any]:
        with service.reading() as books:
            found = head(books.log)
        if found is None:
            raise Problem(404, "the log is empty: there is no digest yet")
        return {"position": found.position, "hash": found.hash, "digest": str(found)}

    @app.get(
        "/claims/{claim_id}/explanation",
        response_class=Response,
        responses={200: {"content": {t: {} for t in MEDIA_TYPES.values()}}},
    )
    def benefit_explained(
        claim_id: str,
        who: User,
        format: Annotated[str, Query(pattern="^(json|html|pdf|xlsx)$")] = "json",
        as_known_at: KnownAt = None,
    ) -> Response:
        """The explanation of benefit for the member, as `ledger claim explain` writes it."""
        with service.reading() as books:
            known_at = known_at_position(books, as_known_at)
            found = benefit_notice(books, claim_id, known_at)
        return Response(
            document_file(found.as_dict(), lambda: benefit_notice_document(found), format),
            media_type=MEDIA_TYPES[format],
            headers={"Content-Disposition": attachment(f"claim-{claim_id}.{format}")},
        )

    @app.get("/audit/verify")
    def audit_verify(
        who: User,
        digest: Annotated[
            str | None, Query(description="POSITION:HASH published earlier; must match.")
        ] = None,
    ) -> JSONResponse:
        """Recompute the hash chain and replay every read model against the live one, as
        `ledger audit verify --json`: 200 if verified, 409 with the same body if not."""
        published = [] if digest is None else [Digest.parse(digest)]
        with service.reading() as books:
            books.catch_up()
            found = verification(*verify(books, published), partial=False)
        return JSONResponse(found, 200 if found["verified"] else 409)

    return app
