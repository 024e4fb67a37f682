"""Feeds uploaded to the service: the same summary and rejects as `ledger import`, a bad
feed refused whole, and an upload retried under its key imported once."""

import pytest
from fastapi.testclient import TestClient
from service_calls import as_

from ledger.application.books import Books

ROSTER = "roster_line,member_id,period,county,unit,enrolled_on\r\n"


def roster(*members: str, county: str = "C1") -> bytes:
    lines = (f"{m}/1,{m},1,{county},U1,2025-02-01" for m in members)
    return (ROSTER + "".join(f"{line}\r\n" for line in lines)).encode()


def upload(
    client: TestClient, tokens: dict[str, str], body: bytes, key: str, **query: object
) -> tuple[int, dict[str, object]]:
    answer = client.post(
        "/imports/enrolments",
        content=body,
        params={"filename": "roster.csv", **query},
        headers={**as_(tokens, "clerk", key), "Content-Type": "text/csv"},
    )
    return answer.status_code, answer.json()


def test_an_uploaded_feed_is_imported_once_with_its_summary(
    client: TestClient, tokens: dict[str, str], books: Books
) -> None:
    status, summary = upload(client, tokens, roster("m1", "m2"), "feed-1")
    assert status == 200, summary
    assert (summary["file"], summary["read"], summary["imported"]) == ("roster.csv", 2, 2)
    assert summary["rejects"] == []
    position = books.log.last_position()
    assert upload(client, tokens, roster("m1", "m2"), "feed-1") == (status, summary)
    assert books.log.last_position() == position
    # the same feed under a new key: the ledger finds it already present
    status, again = upload(client, tokens, roster("m1", "m2"), "feed-2")
    assert (status, again["imported"], again["already_present"]) == (200, 0, 2)
    assert books.log.last_position() == position


def test_a_feed_with_a_bad_record_is_refused_whole_naming_it(
    client: TestClient, tokens: dict[str, str], books: Books
) -> None:
    position = books.log.last_position()
    bad = roster("m1") + b"m2/1,m2,1,NOWHERE,U1,2025-02-01\r\n"
    status, answer = upload(client, tokens, bad, "bad-1")
    assert status == 400
    [reject] = answer["summary"]["rejects"]  # type: ignore[index]
    assert reject["line"] == 3 and reject["field"] == "county", reject
    assert books.log.last_position() == position
    status, partial = upload(client, tokens, bad, "bad-2", partial="true")
    assert (status, partial["imported"], partial["rejected"]) == (200, 1, 1)
    assert books.app.member("m1").enrolment(1).county == "C1"


@pytest.mark.parametrize(
    ("query", "field"),
    [({"filename": "../roster.csv"}, "filename"), ({"filename": "roster.txt"}, "filename")],
)
def test_an_upload_names_a_feed_file(
    client: TestClient, tokens: dict[str, str], query: dict[str, str], field: str
) -> None:
    answer = client.post(
        "/imports/enrolments", content=roster("m1"), params=query, headers=as_(tokens, "clerk", "k")
    )
    assert answer.status_code == 400
    assert answer.json()["error"]["field"] == field


def test_a_feed_of_another_role_is_refused_403(
    client: TestClient, tokens: dict[str, str], books: Books
) -> None:
    answer = client.post(
        "/imports/enrolments",
        content=roster("m1"),
        params={"filename": "roster.csv"},
        headers=as_(tokens, "cashier", "k"),
    )
    assert answer.status_code == 403
    assert "cashier may not" in answer.json()["error"]["reason"]
