"""`gridsync copy`: a community's SQLite data dir into PostgreSQL, verified, and served on."""

from __future__ import annotations

import uuid

import pytest
from click.testing import CliRunner

from server import create_app
from server.cli import main
from tests.helpers import ApiClient
from tests.server.ledger_support import record_and_verify, redemption_body

# What is copied is always a SQLite data dir, whichever backend the run is on.
pytestmark = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)


def test_copy_into_postgresql_then_serve_on_with_the_same_history(
        world, api, data_dir, pg_cluster):
    w1, w1b = api.enroll("w1"), api.enroll("w1b")
    record_and_verify(w1, w1b, minutes=120)
    shop = api.enroll("shop1", "counter").token
    api.ok(api.post("/redemptions", redemption_body("v1", world.cards["v1"], [("soap", 2)]),
                    token=shop), 201)
    w1.sync([w1.change("households", {"grid": "g1", "address": "1 号楼"})])
    cursor = w1.cursor
    balance = api.ok(api.get("/accounts/volunteer:v1"))["balance"]
    target = pg_cluster.create_database()

    result = CliRunner().invoke(main, ["copy", "--from", str(data_dir), "--to", target])
    assert result.exit_code == 0, result.output
    assert "ledger verified (2 entries), checkpoint identical" in result.output

    again = CliRunner().invoke(main, ["copy", "--from", str(data_dir), "--to", target])
    assert again.exit_code == 1 and "not empty" in again.output

    app = create_app({"DATA_DIR": str(data_dir), "TESTING": True, "DATABASE_URL": target})
    on_pg = ApiClient(app.test_client(), api.token)
    assert on_pg.ok(on_pg.get("/accounts/volunteer:v1"))["balance"] == balance
    w1.api = on_pg
    out = w1.sync([w1.change("households", {"grid": "g1", "address": str(uuid.uuid4())})],
                  cursor=cursor)   # the cursor from SQLite goes on: same epoch, same key
    assert out["results"][0]["status"] == "applied"
    verify = CliRunner().invoke(main, ["ledger", "verify", "--data-dir", str(data_dir),
                                       "--database-url", target])
    assert verify.exit_code == 0, verify.output


def test_copy_refuses_what_it_cannot_do(data_dir, tmp_path):
    result = CliRunner().invoke(main, ["copy", "--from", str(tmp_path / "none"),
                                       "--to", "postgresql://127.0.0.1:1/x"])
    assert result.exit_code == 1 and "no gridsync database" in result.output
    result = CliRunner().invoke(main, ["copy", "--from", str(data_dir), "--to", "mysql://x"])
    assert result.exit_code == 1 and "postgresql://" in result.output
