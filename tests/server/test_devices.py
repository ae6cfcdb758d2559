"""Devices: enrolment with a one-time code and proof of key possession, list, revoke."""

from __future__ import annotations

import json

import pytest

from server import clock
from sync.crypto import DeviceKey
from sync.signing import enrolment_proof
from tests.helpers import api_error as error
from tests.helpers import api_validation as validation
from tests.helpers import db_dump

T0 = 1_795_000_000_000 - 1_795_000_000_000 % 60_000 + 10_000   # 10 s into a minute


def new_code(api, person="w1"):
    return api.ok(api.post("/enrollments", {"person": person}), 201)["code"]


def enroll_body(code, key=None, *, name="phone", proof=None):
    key = key or DeviceKey.generate()
    return {"code": code, "public_key": key.public_key, "name": name,
            "proof": enrolment_proof(code, key) if proof is None else proof}


def enroll(api, body, addr="127.0.0.1"):
    return api.client.post("/api/v1/devices/enroll", json=body,
                           environ_base={"REMOTE_ADDR": addr})


@pytest.fixture
def frozen(monkeypatch):
    """Server time under the test's control: ``frozen.now = ms``."""
    class Clock:
        now = T0
    monkeypatch.setattr(clock, "now_ms", lambda: Clock.now)
    return Clock


def test_enrol_returns_a_working_device_token(api, world):
    key = DeviceKey.generate()
    code = new_code(api, "w1")
    out = api.ok(enroll(api, enroll_body(code, key, name="王的手机")), 201)
    assert set(out) == {"device_id", "token", "person", "role", "grids", "ledger_key"}
    assert (out["person"], out["role"], out["grids"]) == ("w1", "worker", ["g1"])
    assert out["token"].count(".") == 1
    assert api.ok(api.get("/rules", token=out["token"]))["activities"]
    devices = api.ok(api.get("/devices"))["devices"]
    assert [d["id"] for d in devices] == [out["device_id"]]
    assert devices[0] == {**devices[0], "person": "w1", "name": "王的手机",
                          "public_key": key.public_key, "last_sync_at": None, "applied": 0,
                          "rejected": 0, "revoked": False, "revoked_at": None}
    assert devices[0]["created_at"].endswith("Z")


@pytest.mark.parametrize(("person", "role"), [("v1", "volunteer"), ("shop1", "shop")])
def test_volunteers_and_shop_staff_enrol_too(api, world, person, role):
    out = api.ok(enroll(api, enroll_body(new_code(api, person))), 201)
    assert (out["person"], out["role"]) == (person, role)


def test_a_code_works_once(api, world, data_dir):
    code = new_code(api)
    api.ok(enroll(api, enroll_body(code)), 201)
    before = db_dump(data_dir)
    error(enroll(api, enroll_body(code)), 401, "unauthenticated")
    assert db_dump(data_dir) == before
    assert len(api.ok(api.get("/devices"))["devices"]) == 1


def test_unknown_code_is_401_and_changes_nothing(api, world, data_dir):
    before = db_dump(data_dir)
    error(enroll(api, enroll_body("ENR-0000-0000-0000-0000")), 401, "unauthenticated")
    assert db_dump(data_dir) == before


def test_code_is_read_case_insensitively_and_trimmed(api, world):
    code = new_code(api)
    typed = "  " + code.lower() + " "
    out = api.ok(enroll(api, enroll_body(typed)), 201)   # proof over the code as typed
    assert out["person"] == "w1"


def test_expired_code_is_401(api, world, frozen):
    code = new_code(api)
    frozen.now = T0 + 24 * 3600 * 1000 - 1000
    ok_code = new_code(api)                          # made later: still valid below
    frozen.now = T0 + 24 * 3600 * 1000 + 1
    error(enroll(api, enroll_body(code)), 401, "unauthenticated")
    api.ok(enroll(api, enroll_body(ok_code)), 201)


BAD_PROOFS = {
    "other key": lambda code, key: enrolment_proof(code, DeviceKey.generate()),
    "other text": lambda code, key: enrolment_proof(code + "x", key),
    "not base64": lambda code, key: "!!!",
    "empty": lambda code, key: "",
    "truncated": lambda code, key: enrolment_proof(code, key)[:-4],
}


@pytest.mark.parametrize("how", sorted(BAD_PROOFS))
def test_bad_proof_is_400_and_does_not_use_the_code(api, world, data_dir, how):
    code = new_code(api)
    key = DeviceKey.generate()
    before = db_dump(data_dir)
    validation(enroll(api, enroll_body(code, key, proof=BAD_PROOFS[how](code, key))), "proof")
    assert db_dump(data_dir) == before
    api.ok(enroll(api, enroll_body(code, key)), 201)


def test_bad_public_key_is_400(api, world, data_dir):
    code = new_code(api)
    before = db_dump(data_dir)
    body = enroll_body(code)
    body["public_key"] = "not-a-key"
    validation(enroll(api, body))
    assert db_dump(data_dir) == before


@pytest.mark.parametrize("missing", ["code", "public_key", "name", "proof"])
def test_enrol_fields_are_required(api, world, data_dir, missing):
    body = enroll_body(new_code(api))
    del body[missing]
    before = db_dump(data_dir)
    validation(enroll(api, body), missing)
    assert db_dump(data_dir) == before


def test_enrol_rejects_unknown_keys_and_wrong_types(api, world):
    code = new_code(api)
    validation(enroll(api, {**enroll_body(code), "person": "w1"}), "person")
    validation(enroll(api, {**enroll_body(code), "name": 7}), "name")
    validation(enroll(api, {**enroll_body(code), "code": None}), "code")
    api.ok(enroll(api, enroll_body(code)), 201)


def test_inactive_person_cannot_enrol_until_reactivated(api, world):
    code = new_code(api, "w1")
    api.ok(api.patch("/people/w1", {"active": False}))
    error(enroll(api, enroll_body(code)), 401, "unauthenticated")
    assert api.ok(api.get("/devices"))["devices"] == []
    api.ok(api.patch("/people/w1", {"active": True}))
    api.ok(enroll(api, enroll_body(code)), 201)


def test_failed_attempts_are_rate_limited_per_address(api, world, frozen):
    good = new_code(api)
    for _ in range(10):
        error(enroll(api, enroll_body("ENR-0000-0000-0000-0000")), 401, "unauthenticated")
    resp = enroll(api, enroll_body(good))
    error(resp, 429, "rate_limited")
    assert resp.headers["Retry-After"] == "50"
    # Bad proofs count too, and other addresses are not affected.
    api.ok(enroll(api, enroll_body(new_code(api)), addr="10.0.0.2"), 201)
    # The limited attempt did not use the code: it works in the next minute.
    frozen.now = T0 + 50_000
    api.ok(enroll(api, enroll_body(good)), 201)


def test_bad_proofs_count_towards_the_rate_limit(api, world, frozen):
    code = new_code(api)
    for _ in range(10):
        validation(enroll(api, enroll_body(code, proof=enrolment_proof("x", DeviceKey.generate()))))
    error(enroll(api, enroll_body(code)), 429, "rate_limited")


def test_a_whole_office_enrols_at_once(api, world, frozen):
    """Successful enrolments are not limited: only failures are counted."""
    for i in range(25):
        person = f"v{i + 10}"
        api.person(person, "volunteer", ["g1"])
        api.ok(enroll(api, enroll_body(new_code(api, person))), 201)
    assert len(api.ok(api.get("/devices"))["devices"]) == 25


# --- revoke --------------------------------------------------------------------------------

def test_revoked_device_token_is_401_device_revoked(api, world, data_dir):
    phone = api.enroll("w1", "phone")
    tablet = api.enroll("w1", "tablet")
    out = api.ok(api.post(f"/devices/{phone.id}/revoke"))
    assert (out["id"], out["revoked"]) == (phone.id, True)
    assert out["revoked_at"].endswith("Z")
    err = error(api.get("/rules", token=phone.token), 401, "device_revoked")
    assert "revoked" in err["message"]
    assert api.get("/rules", token=tablet.token).status_code == 200   # the other device works
    devices = {d["id"]: d for d in api.ok(api.get("/devices"))["devices"]}
    assert devices[phone.id]["revoked"] is True and devices[tablet.id]["revoked"] is False
    # Revoking again is harmless and keeps the first time.
    again = api.ok(api.post(f"/devices/{phone.id}/revoke"))
    assert again["revoked_at"] == out["revoked_at"]


def test_revoke_unknown_device_is_404(api, world, data_dir):
    before = db_dump(data_dir)
    error(api.post("/devices/dev_nothere/revoke"), 404, "not_found")
    assert db_dump(data_dir) == before


def test_device_list_never_shows_tokens_or_secrets(api, world):
    phone = api.enroll("w1")
    listing = json.dumps(api.ok(api.get("/devices")))
    assert phone.token not in listing and phone.token.split(".")[1] not in listing
