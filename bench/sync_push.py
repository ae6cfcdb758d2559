"""Sync push throughput and a week's offline backlog, through HTTP under gunicorn.

Prints:
- sync_push: signed changes/s ingested by `gridsync serve` (2 sync workers),
  several clients on loopback, vs the bound measured in this run:
  1 / (1/verify_rate + 1/insert_rate) where verify_rate is Ed25519 verification
  of the same changes and insert_rate raw SQLite executemany inserts of the
  same rows (one WAL transaction); also the ratio to insert_rate alone.
- week_offline: server time for one device's 2,000-change backlog (two requests of
  1,000, the most one request may carry).

Usage: python bench/sync_push.py [--changes 20000] [--clients 4]
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import live_server, print_figure, rate  # noqa: E402

from primitives.canonical import canonical  # noqa: E402
from sync.crypto import DeviceKey, verify  # noqa: E402
from sync.hlc import HybridClock  # noqa: E402
from sync.signing import enrolment_proof, sign_change, unsigned_form  # noqa: E402
from sync.wire import MAX_CHANGES  # noqa: E402

BATCH = 500


def setup(url: str, token: str, workers: int) -> list[dict]:
    h = {"Authorization": f"Bearer {token}"}
    s = requests.Session()
    s.post(url + "/grids", json={"id": "c1", "name": "c", "parent": None}, headers=h)
    s.post(url + "/grids", json={"id": "g1", "name": "g", "parent": "c1"}, headers=h)
    devices = []
    for i in range(workers):
        s.post(url + "/people", json={"id": f"w{i}", "name": "w", "role": "worker",
                                      "grids": ["g1"]}, headers=h)
        code = s.post(url + "/enrollments", json={"person": f"w{i}"}, headers=h).json()["code"]
        key = DeviceKey.generate()
        out = s.post(url + "/devices/enroll", json={
            "code": code, "public_key": key.public_key, "name": "bench",
            "proof": enrolment_proof(code, key)}).json()
        devices.append({"key": key, "id": out["device_id"], "token": out["token"],
                        "clock": HybridClock(out["device_id"])})
    return devices


def household_changes(device: dict, n: int) -> list[dict]:
    out = []
    for i in range(n):
        out.append(sign_change({
            "op": str(uuid.uuid4()), "collection": "households", "id": str(uuid.uuid4()),
            "hlc": device["clock"].send(), "base": None, "deleted": False,
            "fields": {"grid": "g1", "address": f"幸福路 {i} 号", "head_name": "张三",
                       "members": 3, "tags": ["独居老人"], "phone": "13800000000",
                       "notes": "bench"}}, device["key"]))
    return out


def push(url: str, device: dict, changes: list[dict]) -> float:
    s = requests.Session()
    h = {"Authorization": f"Bearer {device['token']}"}
    t = time.perf_counter()
    for i in range(0, len(changes), BATCH):
        r = s.post(url + "/sync", json={"cursor": None, "changes": changes[i:i + BATCH],
                                        "limit": 1}, headers=h)
        r.raise_for_status()
        assert all(x["status"] == "applied" for x in r.json()["results"])
    return time.perf_counter() - t


def verify_rate(device: dict, changes: list[dict]) -> float:
    pk = device["key"].public_key
    t = time.perf_counter()
    for c in changes:
        verify(pk, canonical(unsigned_form(c)), c["sig"])
    return rate(len(changes), time.perf_counter() - t)


def insert_rate(changes: list[dict]) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        conn = sqlite3.connect(Path(tmp) / "raw.db", isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("CREATE TABLE records (collection TEXT, id TEXT, seq INTEGER UNIQUE, "
                     "state TEXT, PRIMARY KEY (collection, id))")
        conn.execute("CREATE TABLE ops (op TEXT UNIQUE, change TEXT)")
        rows = [(c["collection"], c["id"], i, json.dumps(c)) for i, c in enumerate(changes)]
        ops = [(c["op"], json.dumps(c)) for c in changes]
        t = time.perf_counter()
        for i in range(0, len(rows), BATCH):
            conn.execute("BEGIN")
            conn.executemany("INSERT INTO records VALUES (?, ?, ?, ?)", rows[i:i + BATCH])
            conn.executemany("INSERT INTO ops VALUES (?, ?)", ops[i:i + BATCH])
            conn.execute("COMMIT")
        elapsed = time.perf_counter() - t
        conn.close()
    return rate(len(rows), elapsed)


def run(total: int, clients: int) -> list[dict]:
    figures = []
    with live_server() as (url, token, _):
        devices = setup(url, token, clients + 1)
        per = total // clients
        batches = [household_changes(d, per) for d in devices[:clients]]
        t = time.perf_counter()
        with ThreadPoolExecutor(clients) as pool:
            list(pool.map(lambda a: push(url, *a), zip(devices, batches, strict=False)))
        ingest = rate(per * clients, time.perf_counter() - t)
        sample = batches[0]
        v, ins = verify_rate(devices[0], sample), insert_rate(sample)
        bound = 1 / (1 / v + 1 / ins)
        figures.append(print_figure("sync_push", ingest, bound, "changes/s"))
        figures.append(print_figure("sync_push_vs_insert", ingest, ins, "changes/s"))
        week = household_changes(devices[-1], 2000)
        h = {"Authorization": f"Bearer {devices[-1]['token']}"}
        t = time.perf_counter()
        # The backlog goes as the client sends it: requests of at most MAX_CHANGES (1,000;
        # a bigger one is refused with 413 before it is read).
        for i in range(0, len(week), MAX_CHANGES):
            r = requests.post(url + "/sync", json={"cursor": None, "limit": 1,
                                                   "changes": week[i:i + MAX_CHANGES]},
                              headers=h, timeout=60)
            r.raise_for_status()
        seconds = time.perf_counter() - t
        figures.append(print_figure("week_offline", seconds, 1.0, "s (2,000 changes)"))
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--changes", type=int, default=20_000)
    parser.add_argument("--clients", type=int, default=4)
    args = parser.parse_args()
    run(args.changes, args.clients)


if __name__ == "__main__":
    from _common import exit_on_signals

    exit_on_signals()
    main()
