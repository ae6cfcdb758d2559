"""`gridsync serve` for real: gunicorn in a subprocess, HTTP over a socket, SIGTERM."""

from __future__ import annotations

import gzip
import json
import time

import requests


def test_serve_answers_health_creates_a_grid_and_stops_cleanly(live_server):
    health = requests.get(live_server.api_url + "/health", timeout=5)
    assert health.status_code == 200
    assert health.json()["status"] == "ok" and health.json()["protocol"] == 1

    resp = requests.post(live_server.api_url + "/grids", headers=live_server.headers(),
                         json={"id": "c1", "name": "社区一", "parent": None}, timeout=5)
    assert resp.status_code == 201, resp.text
    assert resp.json() == {"id": "c1", "name": "社区一", "parent": None, "community": "c1"}

    grids = requests.get(live_server.api_url + "/grids", headers=live_server.headers(), timeout=5)
    assert [g["id"] for g in grids.json()["grids"]] == ["c1"]

    assert live_server.stop() == 0
    try:
        requests.get(live_server.api_url + "/health", timeout=1)
    except requests.ConnectionError:
        pass
    else:
        raise AssertionError("server still answering after SIGTERM")


def test_serve_runs_the_requested_number_of_workers(live_server):
    deadline = time.monotonic() + 10
    while len(live_server.worker_pids()) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(live_server.worker_pids()) == 2


def test_gzip_request_and_response_over_http(live_server):
    body = gzip.compress(json.dumps({"id": "c1", "name": "社区一", "parent": None}).encode())
    resp = requests.post(live_server.api_url + "/grids", data=body, timeout=5,
                         headers={**live_server.headers(), "Content-Type": "application/json",
                                  "Content-Encoding": "gzip"})
    assert resp.status_code == 201, resp.text
    for i in range(60):
        requests.post(live_server.api_url + "/grids", headers=live_server.headers(), timeout=5,
                      json={"id": f"g{i:02d}", "name": f"网格 {i}", "parent": "c1"})
    raw = requests.get(live_server.api_url + "/grids", timeout=5, stream=True,
                       headers={**live_server.headers(), "Accept-Encoding": "gzip"})
    assert raw.headers["Content-Encoding"] == "gzip"
    assert len(json.loads(gzip.decompress(raw.raw.read()))["grids"]) == 61


def test_restart_keeps_data_and_url(live_server):
    requests.post(live_server.api_url + "/grids", headers=live_server.headers(), timeout=5,
                  json={"id": "c1", "name": "c", "parent": None})
    url = live_server.url
    live_server.stop()
    live_server.start()
    assert live_server.url == url
    grids = requests.get(live_server.api_url + "/grids", headers=live_server.headers(), timeout=5)
    assert [g["id"] for g in grids.json()["grids"]] == ["c1"]


def test_serve_refuses_an_uninitialised_data_dir(tmp_path):
    import subprocess

    from tests.helpers import gridsync_command

    out = subprocess.run([*gridsync_command(), "serve", "--data-dir", str(tmp_path / "empty"),
                          "--port", "1"], capture_output=True, text=True, timeout=30)
    assert out.returncode != 0
    assert "not initialised" in out.stderr and "gridsync init" in out.stderr
    assert "Traceback" not in out.stderr
