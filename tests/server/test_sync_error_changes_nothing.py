"""Regression: a /sync answered 410 or 400 for its cursor must not have applied its push.

docs/protocol.md, Conventions: "An error changes nothing." The cursor is now checked
(decoded, and compared with the purge mark) before any change is applied.
"""

from __future__ import annotations

from tests.client.conftest import server_db, server_records
from tests.helpers import uuid7


def _expire_cursors(data_dir):
    with server_db(data_dir) as conn:
        top = conn.execute("SELECT max(seq) FROM records").fetchone()[0]
        conn.execute("INSERT INTO settings (key, value) VALUES ('purged_seq', ?) "
                     "ON CONFLICT (key) DO UPDATE SET value = excluded.value", (top + 1,))


def test_410_for_the_cursor_applies_nothing(api, world, data_dir):
    device = api.enroll("w1")
    device.sync([device.change("households", {"grid": "g1"}, id=uuid7())])
    _expire_cursors(data_dir)
    hid = uuid7()
    device.sync([device.change("households", {"grid": "g1", "address": "x"}, id=hid)],
                status=410)
    assert hid not in server_records(data_dir, "households")


def test_400_for_the_cursor_applies_nothing(api, world, data_dir):
    device = api.enroll("w1")
    hid = uuid7()
    device.sync([device.change("households", {"grid": "g1"}, id=hid)], cursor="garbage",
                status=400)
    assert hid not in server_records(data_dir, "households")
