"""Records city-seed-1.json: the events of tests/ledger/feeds/test_bulk_equivalence.py's city
(seed 1) through the aggregates' commands one at a time, as the code of the working
directory records them (but the moment each was recorded). Made with commit 93bb3f6, the
code before the bulk path on plain state, which has no such test file: it is copied.

    git worktree add /tmp/old 93bb3f6
    mkdir /tmp/equivalence && cp tests/ledger/feeds/test_bulk_equivalence.py /tmp/equivalence
    (cd /tmp/old && PYTHONPATH=/tmp/old python $OLDPWD/tests/data/bulk-golden/make.py \\
        /tmp/equivalence) > tests/data/bulk-golden/city-seed-1.json
"""

import json
import os
import sys
import tempfile

import orjson


def main(test_folder: str) -> None:
    sys.path[:0] = [test_folder, os.path.join("tests"), os.path.join("tests", "ledger", "feeds")]
    from conftest import grant_staff
    from ledger_feeds import open_scheme
    from test_bulk_equivalence import bank_results, city, one_at_a_time, pay_out

    plain = open_scheme(os.path.join(tempfile.mkdtemp(), "golden.db"), "beijing", grant_staff)
    for kind, records in city(1):
        one_at_a_time(plain.app, kind, records)
    payees = pay_out(plain)
    one_at_a_time(plain.app, "payout-results", bank_results(payees, 1))
    rows = []
    for e in plain.app.recorder.select_notifications(0, 1_000_000):
        state = orjson.loads(e.state)
        state.pop("timestamp")
        rows.append(
            [str(e.originator_id), e.originator_version, e.topic, orjson.dumps(state).decode()]
        )
    print(json.dumps(rows, ensure_ascii=False, indent=0))
    plain.close()


if __name__ == "__main__":
    main(sys.argv[1])
