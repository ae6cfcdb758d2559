"""SQLite's WAL checkpoint runs after a response is sent, not inside a request's commit.

In WAL mode only a checkpoint writes the database file, so the file's bytes say when
one ran: not while the request runs, once its response is closed (what gunicorn does
after writing the last byte), at most once an interval, and only after a write.
"""

from __future__ import annotations

import hashlib

import pytest
from werkzeug.test import EnvironBuilder

from server import state
from server.storage import connection

pytestmark = pytest.mark.sqlite_only(reason="about SQLite's WAL file")


def file_digest(data_dir) -> str:
    return hashlib.sha256((data_dir / "gridsync.db").read_bytes()).hexdigest()


def call(app, data_dir, method: str, path: str, body: dict | None = None):
    """The WSGI call as a server makes it: (status, the response iterable, not closed)."""
    token = (data_dir / "admin-token").read_text()
    environ = EnvironBuilder(path=path, method=method, json=body,
                             headers={"Authorization": f"Bearer {token}"}).get_environ()
    status: list[str] = []
    chunks = app(environ, lambda s, h, e=None: status.append(s))
    b"".join(chunks)
    return status[0], chunks


def grid(n: int) -> dict:
    return {"id": f"g{n}", "name": f"grid {n}", "parent": None}


@pytest.fixture(autouse=True)
def _own_connection():
    state.close_all()  # this thread's connection is opened by the app under test
    yield
    state.close_all()


def test_a_write_is_checkpointed_after_its_response_not_during_it(app, data_dir, monkeypatch):
    monkeypatch.setattr(connection, "CHECKPOINT_INTERVAL_S", 0.0)
    call(app, data_dir, "GET", "/api/v1/grids")[1].close()  # open the connection
    before = file_digest(data_dir)
    status, answer = call(app, data_dir, "POST", "/api/v1/grids", grid(1))
    assert status.startswith("201")
    assert file_digest(data_dir) == before  # answered: the commit is in the WAL only
    answer.close()
    assert file_digest(data_dir) != before  # then checkpointed into the file
    with app.app_context():
        assert state.storage().records.db.scalar("SELECT count(*) FROM grids WHERE id = 'g1'")


def test_no_checkpoint_without_a_write_or_within_the_interval(app, data_dir, monkeypatch):
    monkeypatch.setattr(connection, "CHECKPOINT_INTERVAL_S", 0.0)
    call(app, data_dir, "POST", "/api/v1/grids", grid(1))[1].close()
    before = file_digest(data_dir)
    call(app, data_dir, "GET", "/api/v1/grids")[1].close()
    assert file_digest(data_dir) == before  # nothing written since the last one
    monkeypatch.setattr(connection, "CHECKPOINT_INTERVAL_S", 3600.0)
    call(app, data_dir, "POST", "/api/v1/grids", grid(2))[1].close()
    assert file_digest(data_dir) == before  # the last one was less than an hour ago


def test_commits_still_checkpoint_past_the_safety_bound(app, data_dir):
    """The WAL stays bounded even if no checkpoint ran after responses: a request
    connection's commit checkpoints by itself past SAFETY_AUTOCHECKPOINT_PAGES; other
    connections (the CLI, migrations) keep SQLite's default."""
    with app.app_context():
        db = state.storage().records.db
        assert db.scalar("PRAGMA wal_autocheckpoint") == connection.SAFETY_AUTOCHECKPOINT_PAGES
    other = connection.Database(str(data_dir / "gridsync.db"))
    try:
        assert other.scalar("PRAGMA wal_autocheckpoint") == 1000
        assert not other.checkpoint_due()
    finally:
        other.close()


def test_a_failed_checkpoint_after_a_response_is_logged_not_raised(
        app, data_dir, monkeypatch, caplog):
    monkeypatch.setattr(connection, "CHECKPOINT_INTERVAL_S", 0.0)

    def fails(self):
        raise connection.wrapped(connection.sqlite3.OperationalError("disk I/O error"))

    monkeypatch.setattr(connection.Database, "checkpoint", fails)
    status, answer = call(app, data_dir, "POST", "/api/v1/grids", grid(1))
    answer.close()
    assert status.startswith("201")
    assert "WAL checkpoint after a response failed" in caplog.text
