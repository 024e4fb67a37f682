"""Who may do what: the roles, and the role each command needs.

Roles are granted and revoked by events of the Scheme, so who held which role on any day is
in the log itself; this table is what the Scheme checks an actor's roles against. Reading
(balances, trails, statements) needs no role here: an auditor or board member reads through
a read-only database login.
"""

from dataclasses import dataclass

ADMIN = "admin"
CLERK = "clerk"
APPROVER = "approver"
CASHIER = "cashier"
AUDITOR = "auditor"
BOARD = "board"
ROLES = (ADMIN, CLERK, APPROVER, CASHIER, AUDITOR, BOARD)

POLICY = "policy"
"""The actor of the decisions the period's policy makes by itself (claims adjudicated on
import); no user may take this name."""


@dataclass(frozen=True)
class Duty:
    role: str
    action: str
    """What the command does, as in "wang may not approve claims"."""


DUTIES: dict[str, Duty] = {
    "grant_role": Duty(ADMIN, "grant roles"),
    "revoke_role": Duty(ADMIN, "revoke roles"),
    "issue_token": Duty(ADMIN, "issue service tokens"),
    "revoke_token": Duty(ADMIN, "revoke service tokens"),
    "enrol": Duty(CLERK, "enrol members"),
    "pay_premium": Duty(CLERK, "record premiums"),
    "submit_claim": Duty(CLERK, "submit claims"),
    "import_enrolments": Duty(CLERK, "import enrolments"),
    "import_premiums": Duty(CLERK, "import premiums"),
    "import_claims": Duty(CLERK, "import claims"),
    "approve_claim": Duty(APPROVER, "approve claims"),
    "reject_claim": Duty(APPROVER, "reject claims"),
    "appeal_claim": Duty(CLERK, "record appeals"),
    "reassess_claim": Duty(APPROVER, "reassess appealed claims"),
    "correct_claim": Duty(APPROVER, "correct approved claims"),
    "write_off_recovery": Duty(APPROVER, "write off overpayments"),
    "collect_recovery": Duty(CASHIER, "record overpayments recovered"),
    "open_period": Duty(APPROVER, "open periods"),
    "join_county": Duty(ADMIN, "bring counties into the city pool"),
    "leave_county": Duty(ADMIN, "settle counties leaving the city pool"),
    "change_notice_template": Duty(ADMIN, "change the SMS text sent for payouts"),
    "seal_history": Duty(ADMIN, "seal the log's unlinked events"),
    "close_period": Duty(APPROVER, "close periods"),
    "pro_rate": Duty(APPROVER, "pro-rate a period's benefits"),
    "release_carried": Duty(APPROVER, "release benefits a pro-rating carried"),
    "post_adjustment": Duty(APPROVER, "post adjustments"),
    "fund_pool": Duty(CASHIER, "record the city pool's funding"),
    "make_payout": Duty(CASHIER, "make payouts"),
    "pay_out_batch": Duty(CASHIER, "pay out batches"),
    "return_payout": Duty(CASHIER, "record returned payouts"),
    "import_payout_results": Duty(CASHIER, "import payout results"),
    "export_notifications": Duty(CASHIER, "export notifications"),
}
"""Command -> the role it needs. A command not listed (creating the scheme, reading) needs
none."""
