"""Policies of the tests' own, made from a preset's with a parameter or two changed."""

from domain.policy import Policy
from ledger.application.policies import load_preset


def pinghu_varied(version: str, funding: dict[str, str] | None = None, **benefit: object) -> Policy:
    """Pinghu's policy for period 1 with some of its funding or benefit rule changed."""
    pinghu = load_preset("pinghu").policy_for(1).model_dump()
    return Policy.model_validate(
        {
            **pinghu,
            "version": version,
            "funding": funding or pinghu["funding"],
            "benefit": {**pinghu["benefit"], **benefit},
        }
    )
