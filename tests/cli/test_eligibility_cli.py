"""`ledger enrol` under a policy that enrols only insured members: the attestation is a
flag, its absence or its denial refused in one line naming it, and nothing recorded."""

import json
from pathlib import Path

from cli_runner import Ledger, create_scheme, events_in

from ledger.application.policies import load_preset


def test_enrolling_needs_what_the_policy_requires_attested(
    ledger: Ledger, db: str, tmp_path: Path
) -> None:
    create_scheme(ledger, db)
    data = load_preset("pinghu").policy_for(1).model_dump(mode="json")
    policy = tmp_path / "policy.json"
    policy.write_text(json.dumps({**data, "version": "strict", "eligibility": ["insured"]}))
    ledger.ok(db, "period", "open", "2", "--start", "2026-01-01", "--end", "2026-12-31",
              "--policy-file", str(policy))  # fmt: skip
    enrol = ("enrol", "m1", "--period", "2", "--county", "C1", "--unit", "U", "--date",
             "2026-01-05")  # fmt: skip
    before = events_in(db)
    says = "error: member 'm1': period 2 enrols only members insured under the employees' "
    assert ledger.refused(db, *enrol) == (
        says + "basic medical insurance (参加职工医保): the roster does not say"
    )
    assert ledger.refused(db, *enrol, "--not-insured").endswith("the roster says no")
    assert events_in(db) == before
    ledger.ok(db, *enrol, "--insured")
    ledger.ok(db, "enrol", "m1", "--period", "1", "--county", "C1", "--unit", "U", "--date",
              "2025-01-05")  # period 1: no rule  # fmt: skip
