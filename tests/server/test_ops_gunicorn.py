"""deploy/gunicorn.conf.py for real: gunicorn -c, two sync workers, GET /metrics
summed across them, JSON lines on stderr."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from server.metrics import default_multiprocess_dir
from tests.helpers import ApiClient, free_port, gridsync_command
from tests.server.ops_support import HttpClient

ROOT = Path(__file__).resolve().parents[2]
# gunicorn lets workers finish for up to graceful_timeout (30 s in the deploy config)
# after SIGTERM; waiting less made a slow-but-clean shutdown fail the test.
STOP_WAIT = 45
CONF = ROOT / "deploy" / "gunicorn.conf.py"


@contextmanager
def running(cmd: list[str], env: dict, tmp_path: Path):
    """Start a server command, wait (bounded) for /health, SIGTERM it at the end."""
    port = free_port()
    err = tmp_path / f"server-{port}.err"
    cmd = [part.replace("{port}", str(port)) for part in cmd]
    with open(err, "wb") as e:
        proc = subprocess.Popen(cmd, cwd=ROOT, env={**os.environ, **env},
                                stdout=subprocess.DEVNULL, stderr=e, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            assert proc.poll() is None, err.read_text()[-3000:]
            try:
                if requests.get(url + "/api/v1/health", timeout=2).status_code == 200:
                    break
            except requests.RequestException:  # not listening yet, or still booting
                pass
            assert time.monotonic() < deadline, "server did not start:\n" + err.read_text()
            time.sleep(0.05)
        yield proc, url, err
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(STOP_WAIT)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(5)


@pytest.fixture
def gunicorn(data_dir, tmp_path, monkeypatch):
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
    cmd = [str(Path(sys.executable).with_name("gunicorn")), "-c", str(CONF),
           "--bind", "127.0.0.1:{port}"]
    env = {"GRIDSYNC_DATA_DIR": str(data_dir), "GRIDSYNC_WORKERS": "2",
           "GRIDSYNC_LOG_LEVEL": "info"}
    with running(cmd, env, tmp_path) as server:
        yield server


def scrape(url: str, token: str) -> dict[tuple[str, tuple], float]:
    resp = requests.get(url + "/metrics", headers={"Authorization": f"Bearer {token}"},
                        timeout=10)
    assert resp.status_code == 200, resp.text
    assert resp.headers["Content-Type"].startswith("text/plain")
    assert resp.headers["X-Request-Id"]
    values = {}
    for family in text_string_to_metric_families(resp.text):
        for sample in family.samples:
            values[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return values


@pytest.mark.timeout(90)
def test_gunicorn_conf_serves_metrics_across_workers(gunicorn, data_dir):
    proc, url, err = gunicorn
    token = data_dir.joinpath("admin-token").read_text()

    anonymous = requests.get(url + "/metrics", timeout=5)
    assert anonymous.status_code == 401
    assert anonymous.json()["error"]["code"] == "unauthenticated"
    assert anonymous.headers["X-Request-Id"]
    api = ApiClient(HttpClient(url), token)
    assert requests.get(url + "/metrics", timeout=5, headers={
        "Authorization": f"Bearer {token}x"}).status_code == 401

    before = scrape(url, token)
    for name in ("gridsync_conflicts_open", "gridsync_ledger_head_seq",
                 "gridsync_points_outstanding", "gridsync_devices_seen_last_day"):
        assert (name, ()) in before, name
    assert before[("gridsync_ledger_entries_total", (("kind", "earn"),))] == 0

    api.ok(api.post("/grids", {"id": "c1", "name": "c1", "parent": None}), 201)
    api.ok(api.post("/grids", {"id": "g1", "name": "g1", "parent": "c1"}), 201)
    api.person("w1", "worker", ["g1"])
    w1 = api.enroll("w1")
    good = w1.change("households", {"grid": "g1", "address": "1 号楼"})
    forged = {**w1.change("households", {"grid": "g1"}), "fields": {"grid": "g2"}}
    statuses = [r["status"] for r in w1.sync([good, forged])["results"]]
    assert statuses == ["applied", "rejected"]
    for _ in range(6):
        assert requests.get(url + "/api/v1/ledger/keys", timeout=5).status_code == 200

    after = scrape(url, token)
    assert after[("gridsync_sync_requests_total", (("status", "200"),))] == 1
    assert after[("gridsync_sync_request_duration_seconds_count", ())] == 1
    assert after[("gridsync_sync_changes_total", (("code", ""), ("status", "applied")))] == 1
    assert after[("gridsync_sync_changes_total",
                  (("code", "bad_signature"), ("status", "rejected")))] == 1
    assert after[("gridsync_records", (("collection", "households"),))] == 1
    assert after[("gridsync_devices_seen_last_day", ())] == 1
    # Six requests spread over two workers, counted once each in the sum.
    keys = ("gridsync_http_requests_total",
            (("endpoint", "health.ledger_keys"), ("method", "GET"), ("status", "200")))
    assert after[keys] == 6
    assert after[("gridsync_http_request_duration_seconds_count",
                  (("endpoint", "health.ledger_keys"),))] == 6
    shared = default_multiprocess_dir(str(data_dir))  # in memory, not in the data dir
    assert len(list(shared.glob("counter_*.db"))) >= 1
    assert not (data_dir / "prometheus").exists()

    proc.send_signal(signal.SIGTERM)
    assert proc.wait(STOP_WAIT) == 0
    log = [json.loads(line) for line in err.read_text().splitlines() if line.strip()]
    assert all("request_id" in line and "level" in line for line in log)
    workers = [line for line in log if line["message"].startswith("Booting worker")]
    assert len(workers) == 2
    served = [line for line in log if line.get("logger") == "server.requests"]
    assert any(line["path"] == "/api/v1/sync" and line["device"] == w1.id for line in served)
    assert all(line["request_id"] for line in served)


@pytest.mark.timeout(90)
def test_gridsync_serve_reads_the_deploy_config_and_shares_metrics(data_dir, tmp_path, monkeypatch):
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
    cmd = [*gridsync_command(), "serve", "--data-dir", str(data_dir), "--port", "{port}",
           "--workers", "2", "--config", str(CONF)]
    with running(cmd, {"GRIDSYNC_DATA_DIR": str(data_dir)}, tmp_path) as (proc, url, err):
        token = data_dir.joinpath("admin-token").read_text()
        for _ in range(5):
            assert requests.get(url + "/api/v1/ledger/keys", timeout=5).status_code == 200
        values = scrape(url, token)  # `gridsync serve` shares the counters too
        assert values[("gridsync_http_requests_total",
                       (("endpoint", "health.ledger_keys"), ("method", "GET"),
                        ("status", "200")))] == 5
        assert ("gridsync_ledger_head_seq", ()) in values
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(STOP_WAIT) == 0
    log = [json.loads(line) for line in err.read_text().splitlines()
           if line.startswith("{")]  # the first line is serve's own banner
    assert any(line["message"].startswith("Booting worker") for line in log)
