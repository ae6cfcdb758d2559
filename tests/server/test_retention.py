"""Tombstone retention: a purge makes only cursors older than the purged deletes expire."""

from __future__ import annotations

import sqlite3

from click.testing import CliRunner

from server.cli import main


def test_purge_expires_old_cursors_only(world, api, data_dir):
    w1, w1b = api.enroll("w1"), api.enroll("w1b")
    doomed = w1.change("households", {"grid": "g1"})
    w1.sync([doomed])
    w1b.pull_all()
    stale_cursor = w1b.cursor
    w1.sync([w1.change("households", {}, id=doomed["id"], base=1, deleted=True)])
    conn = sqlite3.connect(data_dir / "gridsync.db")
    conn.execute("UPDATE records SET updated_at = '2000-01-01T00:00:00.000Z' WHERE deleted = 1")
    conn.commit()
    conn.close()
    result = CliRunner().invoke(main, ["purge-tombstones", "--data-dir", str(data_dir)])
    assert result.exit_code == 0 and "purged 1" in result.output
    fresh = w1.sync()  # w1's cursor is past the purged delete: still fine
    assert "cursor" in fresh
    w1b.cursor = stale_cursor
    resp = api.post("/sync", {"cursor": stale_cursor, "changes": []}, token=w1b.token)
    assert resp.status_code == 410
    seen = w1b.pull_all(fresh=True)
    assert ("households", doomed["id"]) not in seen


def test_purge_on_uninitialised_dir_fails_clearly(tmp_path):
    result = CliRunner().invoke(main, ["purge-tombstones", "--data-dir", str(tmp_path / "x")])
    assert result.exit_code != 0 and "not initialised" in result.output
