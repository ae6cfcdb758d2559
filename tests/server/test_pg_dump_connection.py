"""How a URL's secrets are handed to pg_dump and pg_restore (server/storage/pg_dump.py):
what cannot be handed over faithfully is refused with a reason, never a traceback or a
silently different password. The tools themselves: tests/server/test_pg_backup.py."""

from __future__ import annotations

import pytest

from server.storage.pg_dump import ToolFailed, _tool_connection

BASE = "postgresql://gridsync@127.0.0.1:5439/district"


@pytest.mark.parametrize(("query", "says"), [
    ("sslpassword=abc&service=other", "service="),
    ("sslpassword=abc%20", "surrounding spaces"),
    ("sslpassword=%20abc", "surrounding spaces"),
    ("sslpassword=a%0Ab", "line break"),
])
def test_an_sslpassword_the_service_file_cannot_carry_is_refused(query, says):
    with pytest.raises(ToolFailed, match=says), _tool_connection(f"{BASE}?{query}"):
        pass


def test_the_conninfo_carries_no_secret():
    with _tool_connection(f"{BASE}?password=pw1&sslpassword=ssl1") as (conninfo, env):
        assert "pw1" not in conninfo and "ssl1" not in conninfo
        assert env["PGPASSWORD"] == "pw1"
        with open(env["PGSERVICEFILE"], encoding="utf-8") as f:
            assert f.read() == "[gridsync]\nsslpassword=ssl1\n"
