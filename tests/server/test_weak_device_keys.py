"""Weak device keys: enrolment refuses the identity and the other small-order points
and non-canonical encodings (with the forged "proof" that such a key makes verify), a
device stored with one before this check can sign nothing, and `gridsync ledger verify`
reports it."""

from __future__ import annotations

import sqlite3

import pytest
from click.testing import CliRunner

from server.cli import main
from sync.crypto import b64url_encode
from tests.helpers import api_validation, db_dump
from tests.sync.test_weak_keys import NON_CANONICAL, SMALL_ORDER

WEAK = {**SMALL_ORDER, **NON_CANONICAL}
IDENTITY = b64url_encode((1).to_bytes(32, "little"))
ANY_MESSAGE_SIG = b64url_encode((1).to_bytes(32, "little") + bytes(32))  # R = identity, s = 0


@pytest.mark.parametrize("name", sorted(WEAK))
def test_enrolment_refuses_weak_public_keys(api, world, data_dir, name):
    code = api.ok(api.post("/enrollments", {"person": "w1"}), 201)["code"]
    raw = WEAK[name]
    # The proof verifies for every message under the identity key; for the others
    # the key is refused before the proof is looked at.
    body = {"code": code, "public_key": b64url_encode(raw), "name": "phone",
            "proof": ANY_MESSAGE_SIG}
    before = db_dump(data_dir)
    err = api_validation(api.client.post("/api/v1/devices/enroll", json=body), "public_key")
    assert "weak public key" in err["fields"]["public_key"][0]
    assert db_dump(data_dir) == before
    resp = api.client.post("/api/v1/devices/enroll", json={**body, "public_key": IDENTITY})
    api_validation(resp, "public_key")


def test_a_device_stored_with_a_weak_key_signs_nothing_and_verify_reports_it(
        api, world, data_dir):
    w1 = api.enroll("w1")
    ok = CliRunner().invoke(main, ["ledger", "verify", "--data-dir", str(data_dir)])
    assert ok.exit_code == 0, ok.output
    conn = sqlite3.connect(data_dir / "gridsync.db")  # as an enrolment before the check did
    conn.execute("UPDATE devices SET public_key = ? WHERE id = ?", (IDENTITY, w1.id))
    conn.commit()
    conn.close()
    forged = {**w1.change("households", {"grid": "g1"}), "sig": ANY_MESSAGE_SIG}
    result = w1.sync([forged])["results"][0]
    assert result["status"] == "rejected" and result["error"]["code"] == "bad_signature"
    out = CliRunner().invoke(main, ["ledger", "verify", "--data-dir", str(data_dir)])
    assert out.exit_code == 1
    assert "weak public key" in out.output and w1.id in out.output and "w1" in out.output
