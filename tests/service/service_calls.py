"""Calls of the service as its tests make them: a user's headers, members enrolled and
claims submitted through the API itself."""

from fastapi.testclient import TestClient

D = "2025-03-01"


def as_(tokens: dict[str, str], user: str, key: str | None = None) -> dict[str, str]:
    """The headers of a request by `user`; with `key`, of a write."""
    headers = {"Authorization": f"Bearer {tokens[user]}"}
    return headers if key is None else {**headers, "Idempotency-Key": key}


def enrolled(client: TestClient, tokens: dict[str, str], member: str) -> None:
    """`member` enrolled in C1 for period 1, with the premium paid."""
    for path, body in (
        ("/enrolments", {"member_id": member, "period": 1, "county": "C1", "unit": "U1"}),
        ("/premiums", {"member_id": member, "period": 1, "receipt": f"R-{member}"}),
    ):
        answer = client.post(
            path, json={**body, "date": D}, headers=as_(tokens, "clerk", f"{path}{member}")
        )
        assert answer.status_code == 200, answer.json()


def submitted(client: TestClient, tokens: dict[str, str], member: str, eligible: str) -> str:
    """The id of a claim submitted for `member`."""
    answer = client.post(
        "/claims",
        json={"member_id": member, "period": 1, "eligible_self_paid": eligible, "date": D},
        headers=as_(tokens, "clerk", f"claim-{member}-{eligible}"),
    )
    assert answer.status_code == 200, answer.json()
    return str(answer.json()["claim_id"])
