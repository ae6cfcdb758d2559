"""Tombstone retention: a purge makes only cursors older than the purged deletes expire."""

from __future__ import annotations

import json

from click.testing import CliRunner

from server.cli import main
from server.config import database_target
from tests.helpers import age_tombstones, raw_db


def test_purge_expires_old_cursors_only(world, api, data_dir):
    w1, w1b = api.enroll("w1"), api.enroll("w1b")
    doomed = w1.change("households", {"grid": "g1"})
    w1.sync([doomed])
    w1b.pull_all()
    stale_cursor = w1b.cursor
    w1.sync([w1.change("households", {}, id=doomed["id"], base=1, deleted=True)])
    age_tombstones(data_dir)
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


def test_purge_forgets_old_rejected_ops_but_never_applied_ones_or_evidence(world, api, data_dir):
    w1 = api.enroll("w1")
    junk = [w1.change("households", {"grid": "g1", "members": -1}) for _ in range(3)]
    good = w1.change("households", {"grid": "g1"})
    fresh_junk = w1.change("households", {"grid": "g1", "members": -2})
    out = w1.sync([*junk, good])
    assert [r["status"] for r in out["results"]] == ["rejected"] * 3 + ["applied"]
    with raw_db(data_dir) as db:
        db.execute("UPDATE ops SET received_at = '2000-01-01T00:00:00.000Z'")
    assert w1.sync([fresh_junk])["results"][0]["status"] == "rejected"
    result = CliRunner().invoke(main, ["purge-tombstones", "--data-dir", str(data_dir)])
    assert result.exit_code == 0 and "3 rejected op(s)" in result.output, result.output
    with raw_db(data_dir) as db:
        left = {r[0]: r[1] for r in db.execute("SELECT op, status FROM ops")}
    assert left == {good["op"]: "applied", fresh_junk["op"]: "rejected"}
    # A purged op id sent again is judged afresh (nobody resends after the window).
    assert w1.sync([junk[0]])["results"][0]["status"] == "rejected"


def test_purge_keeps_a_rejected_op_named_as_evidence(world, api, data_dir):
    from server.services.retention import purge_rejected_ops
    from server.storage import open_storage

    w1 = api.enroll("w1")
    junk = w1.change("households", {"grid": "g1", "members": -1})
    assert w1.sync([junk])["results"][0]["status"] == "rejected"
    api.ok(api.post("/ledger/adjustments", {"id": "0190f0c0-0000-4000-8000-0000000000a1",
                                            "account": "volunteer:v1", "amount": 5,
                                            "reason": "seed"}), 201)
    with raw_db(data_dir) as db:
        db.execute("UPDATE ops SET received_at = '2000-01-01T00:00:00.000Z'")
        # Storage-level guard: name the rejected op as an entry's evidence (as if a bug or
        # an older version had done so); the purge must keep it.
        for seq, body in db.execute("SELECT seq, body FROM entries").fetchall():
            body = json.dumps({**json.loads(body), "evidence": junk["op"]})
            db.execute("UPDATE entries SET body = ? WHERE seq = ?", (body, seq))
    store = open_storage(database_target(str(data_dir)))
    try:
        assert purge_rejected_ops(store, 180) == 0
    finally:
        store.close()
