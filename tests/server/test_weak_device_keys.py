"""Weak device keys: enrolment refuses the identity and the other small-order points
and non-canonical encodings (with the forged "proof" that such a key makes verify), a
device stored with one before this check can sign nothing, and `gridsync ledger verify`
reports it."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from server.cli import main
from sync.crypto import b64url_encode
from tests.helpers import api_validation, db_dump, raw_db
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
    with raw_db(data_dir) as db:  # as an enrolment before the check did
        db.execute("UPDATE devices SET public_key = ? WHERE id = ?", (IDENTITY, w1.id))
    forged = {**w1.change("households", {"grid": "g1"}), "sig": ANY_MESSAGE_SIG}
    result = w1.sync([forged])["results"][0]
    assert result["status"] == "rejected" and result["error"]["code"] == "bad_signature"
    out = CliRunner().invoke(main, ["ledger", "verify", "--data-dir", str(data_dir)])
    assert out.exit_code == 1
    assert "weak public key" in out.output and w1.id in out.output and "w1" in out.output


def test_devices_with_a_weak_key_are_flagged_in_the_api_and_on_the_admin_page(
        app, api, world, data_dir):
    from tests.web.web_support import WebClient

    w1, w1b = api.enroll("w1"), api.enroll("w1b", "w1b phone")
    listed = {d["id"]: d for d in api.ok(api.get("/devices"))["devices"]}
    assert not listed[w1.id]["weak_key"] and listed[w1.id]["weak_key_reason"] is None
    with raw_db(data_dir) as db:  # as an enrolment before the check did
        db.execute("UPDATE devices SET public_key = ? WHERE id = ?", (IDENTITY, w1.id))
    listed = {d["id"]: d for d in api.ok(api.get("/devices"))["devices"]}
    assert listed[w1.id]["weak_key"] is True
    assert "small order" in listed[w1.id]["weak_key_reason"]
    assert listed[w1b.id]["weak_key"] is False and listed[w1b.id]["weak_key_reason"] is None
    office = WebClient(app.test_client())
    office.post("/login/token", {"token": api.token}, page="/login")
    page = office.get("/admin/devices")
    assert page.status_code == 200
    html = office.last_html
    assert 'id="weak-keys"' in html and "1 台设备的密钥不安全" in html
    mine = html.split(f'id="device-{w1.id}"')[1].split("</li>")[0]
    theirs = html.split(f'id="device-{w1b.id}"')[1].split("</li>")[0]
    assert "weak-key" in mine and "weak-key" not in theirs
    revoked = api.ok(api.post(f"/devices/{w1.id}/revoke"))
    assert revoked["revoked"] and revoked["weak_key"] is True
    office.get("/admin/devices")                  # revoked: still marked, no longer urged
    assert 'id="weak-keys"' not in office.last_html and "weak-key" in office.last_html
