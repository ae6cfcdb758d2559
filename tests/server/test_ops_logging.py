"""Structured JSON logs: one object per line, a request id everywhere, no secrets."""

from __future__ import annotations

import json
import logging
import uuid
from typing import Any

import pytest

from server.logging_setup import configure_logging, scrub
from sync.crypto import DeviceKey
from sync.hlc import HybridClock
from sync.signing import enrolment_proof
from tests.helpers import ApiClient, Device, issue_token


class Recording:
    """A Flask test client that keeps every response it returns."""

    def __init__(self, client: Any):
        self.client = client
        self.responses: list[Any] = []

    def __getattr__(self, name: str) -> Any:
        method = getattr(self.client, name)

        def call(*args: Any, **kwargs: Any) -> Any:
            resp = method(*args, **kwargs)
            self.responses.append(resp)
            return resp

        return call


@pytest.fixture
def log_file(tmp_path):
    path = tmp_path / "gridsync.log.jsonl"
    yield path
    configure_logging()  # back to stderr; closes the file


@pytest.fixture
def logged_app(make_app, data_dir, log_file):
    app = make_app(data_dir, LOG_FILE=str(log_file))
    leak = "t0123456789ab.EXCEPTIONSECRETexceptionsecret123"

    @app.route("/boom")
    def boom():  # type: ignore[no-untyped-def]
        raise RuntimeError(f"failed while holding Bearer {leak} and ?token={leak}")

    app.config["LEAK_IN_EXCEPTION"] = leak
    return app


def lines(path) -> list[dict]:
    text = path.read_text(encoding="utf-8")
    out = []
    for line in text.splitlines():
        obj = json.loads(line)  # every line is one JSON object
        assert isinstance(obj, dict), line
        out.append(obj)
    return out


def enroll(api: ApiClient, person: str, secrets: list[str]) -> Device:
    code = api.ok(api.post("/enrollments", {"person": person}), 201)["code"]
    key = DeviceKey.generate()
    body = {"code": code, "public_key": key.public_key, "name": "phone",
            "proof": enrolment_proof(code, key)}
    out = api.ok(api.client.post("/api/v1/devices/enroll", json=body), 201)
    secrets += [code, code.replace("-", ""), out["token"], out["token"].split(".", 1)[1]]
    return Device(api=api, key=key, id=out["device_id"], token=out["token"], person=person,
                  clock=HybridClock(out["device_id"]))


def test_a_full_flow_logs_json_lines_with_request_ids_and_no_secrets(
        logged_app, data_dir, log_file):
    recording = Recording(logged_app.test_client())
    admin_token = data_dir.joinpath("admin-token").read_text()
    api = ApiClient(recording, admin_token)
    secrets = [admin_token, admin_token.split(".", 1)[1]]

    world = api.make_world()                                    # admin token in use
    secrets.append(world.cards["v1"])
    card = api.ok(api.post("/people/v1/card"), 201)["card"]    # a new card code
    secrets.append(card)
    w1, w1b = enroll(api, "w1", secrets), enroll(api, "w1b", secrets)
    shop = enroll(api, "shop1", secrets)
    auditor_person = api.person("a9", "auditor", [])
    assert auditor_person["id"] == "a9"
    auditor = issue_token(data_dir, "a9")
    secrets += [auditor, auditor.split(".", 1)[1]]

    log = w1.change("service_logs", {"volunteer": "v1", "activity": "elderly_care",
                                     "started_at": "2026-11-26T01:00:00Z", "minutes": 60})
    assert w1.sync([log])["results"][0]["status"] == "applied"
    verify = w1b.change("service_logs", {"status": "verified"}, id=log["id"], base=1)
    assert w1b.sync([verify])["results"][0]["status"] == "applied"
    api.ok(api.post("/redemptions", {"id": str(uuid.uuid4()), "volunteer": "v1", "card": card,
                                     "items": [{"sku": "soap", "qty": 1}]}, token=shop.token), 201)
    # A wrong card, a wrong enrolment code, a forged token: refused, and not logged either.
    bad_card = "C" + "x" * 21 + "Q"
    bad_code = "ENR-ZZZZ-YYYY-XXXX-WWWW"
    forged = "t0123456789ab.FORGEDSECRETforgedsecretFORGED"
    secrets += [bad_card, bad_code, forged, forged.split(".", 1)[1]]
    resp = api.post("/redemptions", {"id": str(uuid.uuid4()), "volunteer": "v1",
                                     "card": bad_card, "items": [{"sku": "soap", "qty": 1}]},
                    token=shop.token)
    assert resp.status_code == 403
    key = DeviceKey.generate()
    resp = recording.post("/api/v1/devices/enroll", json={
        "code": bad_code, "public_key": key.public_key, "name": "x",
        "proof": enrolment_proof(bad_code, key)})
    assert resp.status_code == 401
    assert api.get("/grids", token=forged).status_code == 401
    # Query strings, including secrets put in them by a careless client.
    query_secrets = ["QUERYSECRET1queryvalue", "QUERYSECRET2cardvalue", "QUERYSECRET3pin"]
    secrets += query_secrets
    api.get(f"/ledger/entries?after=0&token={query_secrets[0]}")
    recording.get(f"/api/v1/health?card={query_secrets[1]}&pin={query_secrets[2]}")
    recording.get(f"/nowhere?token={query_secrets[0]}")
    assert api.get("/accounts/volunteer:v1", token=auditor).status_code == 200
    # An unexpected exception whose message carries a token: scrubbed from the traceback.
    assert recording.get("/boom").status_code == 500
    secrets.append(logged_app.config["LEAK_IN_EXCEPTION"].split(".", 1)[1])
    # Malformed bodies.
    recording.post("/api/v1/sync", data=b"{not json", content_type="application/json",
                   headers={"Authorization": f"Bearer {w1.token}"})

    text = log_file.read_text(encoding="utf-8")
    for secret in secrets:
        assert secret not in text, f"a secret reached the log: {secret[:6]}…"
    assert "?" not in "".join(str(line.get("path", "")) for line in lines(log_file))

    records = lines(log_file)
    assert records and all("request_id" in line for line in records)
    requests_logged = [r for r in records if r["logger"] == "server.requests"]
    assert len(requests_logged) >= len(recording.responses) - 1  # /health is DEBUG
    for line in requests_logged:
        assert line["request_id"] and line["level"] in ("INFO", "ERROR")
        assert {"time", "method", "path", "status", "duration_ms"} <= set(line)
        assert line["time"].endswith("Z")
    sync_lines = [r for r in requests_logged if r["path"] == "/api/v1/sync"
                  and r["status"] == 200]
    assert {(r["person"], r["device"]) for r in sync_lines} == {("w1", w1.id), ("w1b", w1b.id)}
    boom = [r for r in records if r["logger"] == "server.errors"]
    assert boom and boom[0]["request_id"] and "RuntimeError" in boom[0]["exc"]
    assert "[token]" in boom[0]["exc"] or "[redacted]" in boom[0]["exc"]

    # Every response, errors included, carries its request id, and it is the logged one.
    logged_ids = {r["request_id"] for r in requests_logged}
    for resp in recording.responses:
        rid = resp.headers.get("X-Request-Id")
        assert rid, (resp.status_code, resp.request.path)
        if resp.request.path != "/api/v1/health":
            assert rid in logged_ids


def test_incoming_request_ids_kept_when_sane_replaced_when_not(logged_app, log_file):
    client = logged_app.test_client()
    sane = "req-2026.11.26:abc_DEF"
    assert client.get("/nowhere", headers={"X-Request-Id": sane}).headers["X-Request-Id"] == sane
    for insane in ("has space", "x" * 65, "tab\tchar", "ünï", ""):
        rid = client.get("/nowhere", headers={"X-Request-Id": insane}).headers["X-Request-Id"]
        assert rid != insane and len(rid) == 32
    ids = [line["request_id"] for line in lines(log_file)]
    assert ids[0] == sane and len(set(ids)) == len(ids)


def test_log_level_from_config(make_app, data_dir, log_file):
    app = make_app(data_dir, LOG_FILE=str(log_file), LOG_LEVEL="warning")
    app.test_client().get("/api/v1/grids")          # 401: INFO, below the level
    assert log_file.read_text() == ""
    assert logging.getLogger("server").level == logging.WARNING


def test_scrub_removes_secret_shapes():
    text = ("Authorization: Bearer abc.def token=t0123456789ab.SECRETsecretSECRET "
            "ENR-ABCD-EFGH-JKMN-PQRS card CAbCdEfGhIjKlMnOpQrStUv GET /x?pin=1234&a=b "
            '{"password": "hunter2"}')
    out = scrub(text)
    for secret in ("abc.def", "SECRETsecret", "ABCD-EFGH", "CAbCdEfGhIjKlMnOpQrStUv",
                   "pin=1234", "hunter2"):
        assert secret not in out
    kept = "visit 0193a1b2-0000-7000-8000-000000000001 error code: validation"
    assert scrub(kept) == kept
    assert scrub(text) == out and scrub(kept) == kept  # again: found clean or scrubbed again


def test_scrub_remembers_only_clean_text_and_a_bounded_amount(monkeypatch):
    """``scrub`` keeps the short texts it found nothing in (request paths, request lines)
    to skip its patterns next time; never a text that held a secret's shape."""
    import server.logging_setup as logging_setup

    monkeypatch.setattr(logging_setup, "_CLEAN", set())
    secret = "GET /api/v1/x?token=abc 200"
    assert scrub(secret) != secret and secret not in logging_setup._CLEAN
    assert scrub("GET /api/v1/sync 200") == "GET /api/v1/sync 200"
    assert "GET /api/v1/sync 200" in logging_setup._CLEAN
    assert scrub("x" * 300) == "x" * 300 and "x" * 300 not in logging_setup._CLEAN
    for i in range(logging_setup._CLEAN_MAX + 5):
        scrub(f"/api/v1/people/p{i}")
    assert len(logging_setup._CLEAN) <= logging_setup._CLEAN_MAX


def test_a_residents_receipt_in_a_path_is_not_logged(logged_app, log_file):
    """A receipt closes a case and pays its points: a secret, stored hashed, so the
    request line must not keep it either (the report code, printed on posters, may)."""
    client = logged_app.test_client()
    receipt = "7TD5-DJX9-7CS2-2BB3-5TSK"
    client.get(f"/api/v1/public/reports/{receipt}")
    client.get(f"/r/receipt/{receipt.lower()}")
    client.post(f"/r/receipt/{receipt}/rating", data={"rating": "5"})
    text = log_file.read_text(encoding="utf-8")
    assert "/r/receipt/" in text and "/api/v1/public/reports/" in text
    assert "7TD5" not in text.upper() and "5TSK" not in text.upper()


def test_the_request_record_itself_holds_no_receipt(logged_app, caplog):
    """Any handler an operator adds (syslog, a file with its own format) gets the
    record's message and ``path`` as they are, not through gridsync's JSON formatter."""
    receipt = "7TD5-DJX9-7CS2-2BB3-5TSK"
    with caplog.at_level(logging.INFO, logger="server.requests"):
        logged_app.test_client().get(f"/r/receipt/{receipt}")
    lines = [(r.getMessage(), getattr(r, "path", "")) for r in caplog.records
             if r.name == "server.requests"]
    assert lines and all("7TD5" not in m + p for m, p in lines), lines
