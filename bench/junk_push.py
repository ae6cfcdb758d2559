"""What one hostile device costs the server: a body of junk changes against a real
`gridsync serve`, while an admin keeps making ledger adjustments beside it.

Prints the junk request's status, time and answer size, how much the database
grew (with the adjustments made meanwhile) and how many ops it stored, and
the slowest adjustment (and how many failed) while the junk was in flight;
the bound for that latency is the slowest adjustment measured in the
same run with no junk in flight (×10).

    .venv/bin/python bench/junk_push.py            # 330,000 junk ops, ~7.9 MB
    .venv/bin/python bench/junk_push.py --ops 1000 --uuid   # the most one request may hold
"""

from __future__ import annotations

import argparse
import sqlite3
import threading
import time
import uuid
from pathlib import Path

import requests
from _common import live_server, print_figure

from sync.crypto import DeviceKey
from sync.signing import enrolment_proof


def db_bytes(data: Path) -> int:
    return sum(p.stat().st_size for p in data.glob("gridsync.db*"))


def ops_stored(data: Path) -> tuple[int, int]:
    """(rows, bytes of stored changes) in the op log."""
    conn = sqlite3.connect(f"file:{data / 'gridsync.db'}?mode=ro", uri=True)
    try:
        rows, size = conn.execute("SELECT count(*), coalesce(sum(length(change)), 0) FROM ops"
                                  ).fetchone()
    finally:
        conn.close()
    return int(rows), int(size)


def setup(url: str, token: str) -> str:
    """One community, a worker with an enrolled device; returns the device token."""
    h = {"Authorization": f"Bearer {token}"}
    for grid in ({"id": "c1", "name": "c1", "parent": None},
                 {"id": "g1", "name": "g1", "parent": "c1"}):
        requests.post(url + "/grids", json=grid, headers=h).raise_for_status()
    requests.post(url + "/people", json={"id": "w1", "name": "w1", "role": "worker",
                                         "grids": ["g1"]}, headers=h).raise_for_status()
    requests.post(url + "/people", json={"id": "v1", "name": "v1", "role": "volunteer",
                                         "grids": ["g1"]}, headers=h).raise_for_status()
    code = requests.post(url + "/enrollments", json={"person": "w1"}, headers=h).json()["code"]
    key = DeviceKey.generate()
    out = requests.post(url + "/devices/enroll", json={
        "code": code, "public_key": key.public_key, "name": "junk phone",
        "proof": enrolment_proof(code, key)})
    out.raise_for_status()
    return str(out.json()["token"])


def adjust_loop(url: str, token: str, stop: threading.Event, out: list) -> None:
    h = {"Authorization": f"Bearer {token}"}
    while not stop.is_set():
        start = time.perf_counter()
        try:
            resp = requests.post(url + "/ledger/adjustments", headers=h, timeout=60, json={
                "id": str(uuid.uuid4()), "account": "volunteer:v1", "amount": 1,
                "reason": "bench"})
            ok = resp.status_code == 201
        except requests.RequestException:
            ok = False
        out.append((time.perf_counter() - start, ok))
        time.sleep(0.05)


def junk_body(ops: int, as_uuid: bool) -> bytes:
    """``ops`` changes, each an object with only an op id (no valid change at all)."""
    if as_uuid:
        items = ",".join(f'{{"op":"{uuid.uuid4()}"}}' for _ in range(ops))
    else:
        items = ",".join(f'{{"op":"{i}"}}' for i in range(ops))
    return ('{"cursor":null,"changes":[' + items + "]}").encode()


def run(ops: int, as_uuid: bool) -> list[dict]:
    with live_server(workers=2) as (url, token, data):
        device = setup(url, token)
        quiet: list = []
        stop = threading.Event()
        worker = threading.Thread(target=adjust_loop, args=(url, token, stop, quiet))
        worker.start()
        time.sleep(1.5)
        stop.set()
        worker.join()
        body = junk_body(ops, as_uuid)
        size_before, ops_before = db_bytes(data), ops_stored(data)
        busy: list = []
        stop = threading.Event()
        worker = threading.Thread(target=adjust_loop, args=(url, token, stop, busy))
        worker.start()
        time.sleep(0.2)
        start = time.perf_counter()
        resp = requests.post(url + "/sync", data=body, timeout=300, headers={
            "Authorization": f"Bearer {device}", "Content-Type": "application/json"})
        took = time.perf_counter() - start
        time.sleep(0.3)
        stop.set()
        worker.join()
        grown = db_bytes(data) - size_before  # includes the adjustments' own writes
        ops_after = ops_stored(data)
        print(f"junk request: {ops:,} ops, {len(body) / 1e6:.1f} MB -> HTTP "
              f"{resp.status_code}, {len(resp.content) / 1e6:.2f} MB answered")
        slowest_quiet = max(t for t, _ in quiet)
        figures = [
            print_figure("junk_request_seconds", took, None, "s"),
            print_figure("junk_db_growth_mb", grown / 1e6, None, "MB"),
            print_figure("junk_ops_stored", ops_after[0] - ops_before[0], None, "rows"),
            print_figure("junk_ops_stored_mb", (ops_after[1] - ops_before[1]) / 1e6, None, "MB"),
            print_figure("junk_answer_mb", len(resp.content) / 1e6, None, "MB"),
            print_figure("junk_adjust_slowest_s", max(t for t, _ in busy),
                         10 * slowest_quiet, "s"),
            print_figure("junk_adjust_failed", sum(1 for _, ok in busy if not ok), None, ""),
        ]
        return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ops", type=int, default=330_000)
    parser.add_argument("--uuid", action="store_true", help="op ids that are UUIDs")
    args = parser.parse_args()
    run(args.ops, args.uuid)


if __name__ == "__main__":
    from _common import exit_on_signals

    exit_on_signals()
    main()
