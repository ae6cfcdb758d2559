"""Helpers shared by the ledger and redemption tests (real app, real database: the data
dir's SQLite file, or PostgreSQL when GRIDSYNC_DATABASE_URL is set by the fixtures)."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from server.cli import main
from tests.helpers import ApiClient, Device, RawDb, raw_db


def record_and_verify(recorder: Device, verifier: Device, *, volunteer: str = "v1",
                      activity: str = "elderly_care", minutes: int = 60,
                      started_at: str = "2026-11-26T02:00:00Z") -> tuple[str, dict, dict]:
    """Record a log on `recorder`, verify it on `verifier`:
    (log id, the verifying change, its result)."""
    log = recorder.change("service_logs", {"volunteer": volunteer, "activity": activity,
                                           "started_at": started_at, "minutes": minutes})
    result = recorder.sync([log])["results"][0]
    assert result["status"] == "applied", result
    verify = verifier.change("service_logs", {"status": "verified"}, id=log["id"],
                             base=result["version"])
    out = verifier.sync([verify])["results"][0]
    assert out["status"] == "applied", out
    return log["id"], verify, out


def redemption_body(volunteer: str, card: str, items: list[tuple[str, int]],
                    id: str | None = None) -> dict:
    return {"id": id or str(uuid.uuid4()), "volunteer": volunteer, "card": card,
            "items": [{"sku": sku, "qty": qty} for sku, qty in items]}


def adjust(api: ApiClient, account: str, amount: int, id: str | None = None,
           reason: str = "test") -> Any:
    return api.post("/ledger/adjustments", {"id": id or uuid.uuid4().hex, "account": account,
                                            "amount": amount, "reason": reason})


def give(api: ApiClient, account: str, amount: int) -> dict:
    return api.ok(adjust(api, account, amount), 201)


def db(data_dir: Path) -> RawDb:
    return raw_db(data_dir)


def state(data_dir: Path) -> dict:
    """What an error must leave unchanged: entries, balances, stock, requests, redemptions."""
    conn = db(data_dir)
    try:
        return {
            "entries": conn.execute("SELECT count(*) FROM entries").fetchone()[0],
            "balances": dict(conn.execute("SELECT account, balance FROM balances").fetchall()),
            "stock": dict(conn.execute("SELECT sku, stock FROM catalog").fetchall()),
            "requests": conn.execute("SELECT count(*) FROM requests").fetchone()[0],
            "redemptions": conn.execute("SELECT count(*) FROM redemptions").fetchone()[0],
        }
    finally:
        conn.close()


def verify_cli(*args: str) -> Any:
    """`gridsync ledger verify ARGS` in-process; stdout and stderr kept apart."""
    return CliRunner().invoke(main, ["ledger", "verify", *args], catch_exceptions=False)


def entries(data_dir: Path) -> list[dict]:
    import json

    conn = db(data_dir)
    try:
        return [json.loads(r[0]) for r in conn.execute("SELECT body FROM entries ORDER BY seq")]
    finally:
        conn.close()


def concurrent_actor(task: dict, barrier: Any, results: Any) -> None:
    """One OS process of the concurrency test: its own app on the shared data dir.

    Every process builds its app, waits at `barrier` so all start together,
    then verifies logs, redeems or takes points back, and puts what it saw
    on `results`. Runs under the spawn start method: nothing is inherited.
    """
    from server import create_app
    from sync.crypto import DeviceKey
    from sync.hlc import HybridClock

    app = create_app({"DATA_DIR": task["data_dir"], "TESTING": True})
    api = ApiClient(app.test_client(), task["admin_token"])
    seen: list = []
    barrier.wait(120)
    if task["kind"] == "verify":
        device = Device(api=api, key=DeviceKey.from_private_bytes(task["key"]),
                        id=task["device_id"], token=task["token"], person=task["person"],
                        clock=HybridClock(task["device_id"]))
        for log_id in task["logs"]:
            change = device.change("service_logs", {"status": "verified"}, id=log_id, base=1)
            first = device.sync([change], cursor=None)["results"][0]
            again = device.sync([change], cursor=None)["results"][0]
            seen.append((log_id, first, again))
    elif task["kind"] == "redeem":
        for i in range(task["count"]):
            sku = "rice" if i % 3 == 0 else "soap"
            body = redemption_body(task["volunteer"], task["card"], [(sku, 1)])
            first = api.post("/redemptions", body, token=task["token"])
            again = api.post("/redemptions", body, token=task["token"])
            seen.append((body, first.status_code, first.get_json(), again.status_code,
                         again.get_json()))
    elif task["kind"] == "take_back":
        for _ in range(task["count"]):
            resp = adjust(api, f"volunteer:{task['volunteer']}", -task["amount"])
            seen.append(resp.status_code)
    results.put((task["name"], seen))


def keep_appending(data_dir: str, admin_token: str, stop: Any, count: Any) -> None:
    """A separate server process adding points until `stop` is set (spawned)."""
    from server import create_app

    app = create_app({"DATA_DIR": data_dir, "TESTING": True})
    api = ApiClient(app.test_client(), admin_token)
    while not stop.is_set():
        assert adjust(api, "volunteer:v1", 1).status_code == 201
        with count.get_lock():
            count.value += 1
