"""Named domain errors. Each carries the offending values; the CLI prints str(error)."""

from datetime import date
from decimal import Decimal


class LedgerError(Exception):
    """A request the ledger refuses. Nothing was recorded."""


class InvalidAmount(LedgerError, ValueError):
    def __init__(self, field: str, value: object, reason: str) -> None:
        self.field, self.value, self.reason = field, value, reason
        super().__init__(f"{field}: {value!r} is not a valid amount: {reason}")


class InvalidPolicy(LedgerError, ValueError):
    pass


class Conflict(LedgerError):
    """A request well formed on its face that the books as they stand refuse: the fact is
    already recorded, or the member's, claim's or period's state does not allow it."""


class NotFound(LedgerError):
    """A request names a member, a claim or a period the ledger has no record of."""


class UnknownCounty(LedgerError):
    def __init__(self, county: str, known: list[str]) -> None:
        super().__init__(
            f"county {county!r} is not part of this scheme (known: {', '.join(known)})"
        )


class CountyNotInPeriod(Conflict):
    """The county is in the scheme, but not in the city pool in that period: it joined
    later, or had left."""

    def __init__(self, county: str, period: int, why: str) -> None:
        self.county, self.period = county, period
        super().__init__(f"county {county!r} is not in the city pool in period {period}: {why}")


class PeriodError(Conflict):
    """A period is unknown, already opened, or already closed."""


class UnknownPeriod(NotFound, PeriodError):
    def __init__(self, number: int, at: int | None = None) -> None:
        when = "has not been opened" if at is None else f"had not been opened at position {at}"
        super().__init__(f"period {number} {when}")


class NoPeriodCovers(PeriodError):
    def __init__(self, day: date) -> None:
        self.day = day
        super().__init__(f"no period covers {day}")


class PeriodNotOpen(PeriodError):
    def __init__(self, period: int) -> None:
        self.period = period
        super().__init__(
            f"period {period} is closed: record an adjustment instead of posting into it"
        )


class NotEnrolled(Conflict):
    def __init__(self, member: str, period: int) -> None:
        super().__init__(f"member {member!r} is not enrolled in period {period}")


class AlreadyEnrolled(Conflict):
    def __init__(self, member: str, period: int) -> None:
        super().__init__(f"member {member!r} is already enrolled in period {period}")


class PremiumNotPaid(Conflict):
    def __init__(self, member: str, period: int, paid: Decimal, due: Decimal) -> None:
        super().__init__(
            f"member {member!r} has paid {paid} of the {due} premium for period {period}"
        )


class PremiumOverpaid(Conflict):
    def __init__(self, member: str, period: int, paid: Decimal, due: Decimal) -> None:
        super().__init__(
            f"member {member!r} would have paid {paid}, more than the {due} premium "
            f"for period {period}"
        )


class ClaimDeadlinePassed(Conflict):
    """`received` when the claim reached the scheme later than its own date (a settlement
    imported after the discharge it records): the deadline counts from the day received."""

    def __init__(self, claim: str, submitted: date, deadline: date, received: bool = False) -> None:
        self.submitted, self.deadline = submitted, deadline
        how = "received" if received else "submitted"
        super().__init__(f"claim {claim!r} {how} on {submitted} after the deadline {deadline}")


class DateOutOfOrder(Conflict):
    """A business date that contradicts a fact already recorded: a claim decided before it
    was submitted, a payout made before its approval, an enrolment after its period."""

    def __init__(self, reason: str, on: date, fact_on: date) -> None:
        self.on, self.fact_on = on, fact_on
        super().__init__(reason)


class FieldError(LedgerError, ValueError):
    """A value refused for a reason that names the field at fault."""

    def __init__(self, record: str, field: str, reason: str) -> None:
        self.field, self.reason = field, reason
        super().__init__(f"{record}: {reason}")


class InvalidText(FieldError):
    """Text refused before it is recorded for good: blank, spaces around an id, or a control
    character, which the statements (XLSX above all) could never show."""

    def __init__(self, field: str, value: str, reason: str) -> None:
        self.value = value
        super().__init__(f"{field.replace('_', ' ')} {value!r}", field, reason)


class InvalidSettlement(FieldError):
    """Settlement figures that do not add up."""

    def __init__(self, claim: str, field: str, reason: str) -> None:
        super().__init__(f"claim {claim!r}", field, reason)


class ClaimError(Conflict):
    """A claim is unknown, duplicated, or not in a state that allows the request."""


class UnknownMember(NotFound):
    def __init__(self, member: str) -> None:
        super().__init__(f"unknown member {member!r}")


class UnknownClaim(NotFound, ClaimError):
    def __init__(self, claim: str) -> None:
        super().__init__(f"unknown claim {claim!r}")


class PayoutExceedsPayable(Conflict):
    def __init__(self, claim: str, amount: Decimal, payable: Decimal) -> None:
        super().__init__(
            f"claim {claim!r}: payout {amount} exceeds the approved unpaid amount {payable}"
        )


class DeficitAlreadyShared(Conflict):
    def __init__(self, county: str, period: int) -> None:
        super().__init__(f"the deficit of county {county!r} for period {period} is already shared")


class DutyRefused(LedgerError):
    """A user asked for something their roles do not allow, or that their own earlier act
    rules out (approving a claim they submitted)."""

    def __init__(self, user: str, command: str, action: str, reason: str) -> None:
        self.user, self.command, self.reason = user, command, reason
        super().__init__(f"{user} may not {action}: {reason}")
