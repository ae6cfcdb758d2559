"""PostgreSQL beside SQLite, and one app host against two, in the same run.

Prints (each against its bound measured in this run):
- pg_sync_push: signed changes/s pushed through one `gridsync serve` (gunicorn, 2
  workers) on PostgreSQL, against the same push on SQLite (ratio = PG / SQLite).
- pg_two_hosts_sync_push: the same push split over two `gridsync serve` hosts on one
  PostgreSQL, against one host (target: two hosts >= 1.6x one).
- pg_initial_pull: seconds for a new device's first full pull of N households on
  PostgreSQL, against SQLite.
- pg_ledger_append: durable ledger appends/s (services.ledger_append.append, one
  transaction each) on PostgreSQL, against SQLite.

The PostgreSQL server is GRIDSYNC_TEST_DATABASE_URL's, else a throwaway cluster
(tests/pg_support.py) with fsync on, so commits cost what they cost in production.

Usage: python bench/postgres.py [--changes 4000] [--households 20000] [--appends 500]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path

import requests

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))
from _common import GRIDSYNC, print_figure, rate, serve  # noqa: E402
from sync_push import household_changes, push, setup  # noqa: E402

CLIENTS = 4


def init(data: Path, url: str | None) -> str:
    """``gridsync init`` on SQLite (url None) or PostgreSQL; the admin token."""
    env = {k: v for k, v in os.environ.items() if k != "GRIDSYNC_DATABASE_URL"}
    if url:
        env["GRIDSYNC_DATABASE_URL"] = url
    out = subprocess.run([GRIDSYNC, "init", "--data-dir", str(data), "--json"], env=env,
                         check=True, capture_output=True, text=True)
    return str(json.loads(out.stdout)["token"])


def push_rate(url_for_database: str | None, hosts: int, changes: int, root: Path) -> float:
    """changes/s for ``changes`` pushed by CLIENTS devices spread over ``hosts`` hosts."""
    data = root / f"data-{hosts}-{'pg' if url_for_database else 'sqlite'}"
    token = init(data, url_for_database)
    saved = os.environ.get("GRIDSYNC_DATABASE_URL")
    if url_for_database:
        os.environ["GRIDSYNC_DATABASE_URL"] = url_for_database
    else:
        os.environ.pop("GRIDSYNC_DATABASE_URL", None)
    try:
        with ExitStack() as stack:
            urls = []
            for i in range(hosts):
                host_dir = data if i == 0 else root / f"{data.name}-host{i}"
                if i:
                    host_dir.mkdir()
                    shutil.copy2(data / "secret.key", host_dir / "secret.key")
                url, _ = stack.enter_context(serve(host_dir, workers=2))
                urls.append(url)
            devices = setup(urls[0], token, CLIENTS)
            per = changes // CLIENTS
            batches = [household_changes(d, per) for d in devices]
            started = time.perf_counter()
            with ThreadPoolExecutor(CLIENTS) as pool:
                list(pool.map(lambda i: push(urls[i % hosts], devices[i], batches[i]),
                              range(CLIENTS)))
            return rate(per * CLIENTS, time.perf_counter() - started)
    finally:
        if saved is None:
            os.environ.pop("GRIDSYNC_DATABASE_URL", None)
        else:
            os.environ["GRIDSYNC_DATABASE_URL"] = saved


def pull_seconds(target: str, households: int) -> float:
    """A first full pull of ``households`` seeded households by a new device (in-process)."""
    import uuid

    from server.storage import open_storage
    from server.storage.records import Placement, RecordWrite
    from sync.hlc import format_hlc
    from sync.merge import merge

    store = open_storage(target)
    now = "2026-11-26T00:00:00.000Z"
    with store.transaction():
        store.directory.add_grid(id="c1", name="c", parent=None, at=now)
        store.directory.add_grid(id="g1", name="g", parent="c1", at=now)
    seq, wall = store.records.last_seq(), 1_764_000_000_000
    for start in range(0, households, 2000):
        rows = []
        for i in range(start, min(start + 2000, households)):
            change = {"op": str(uuid.uuid4()), "collection": "households",
                      "id": str(uuid.uuid4()), "base": None, "deleted": False,
                      "hlc": format_hlc(wall + i, 0, "seed"),
                      "fields": {"grid": "g1", "address": f"幸福路 {i} 号", "head_name": "张三",
                                 "members": 3, "phone": "13800000000", "notes": "bench"}}
            seq += 1
            rows.append(RecordWrite(merge(None, change, device_id="seed").state, seq,
                                    Placement(grid="g1"), now))
        with store.transaction():
            store.records.put_many(rows)
    started, after, seen = time.perf_counter(), 0, 0
    while True:
        with store.snapshot():
            page = store.records.pull(after=after, grids=["g1"], people=[], author="w",
                                      limit=5000)
        if not page:
            break
        seen += len(page)
        after = page[-1][0]
    elapsed = time.perf_counter() - started
    store.close()
    assert seen == households, (seen, households)
    return elapsed


def append_rate(target: str, data_dir: Path, n: int) -> float:
    from server.bootstrap import initialise
    from server.keystore import Signer
    from server.services.ledger_append import append
    from server.storage import open_storage

    initialise(str(data_dir), target if target.startswith("postgresql") else None)
    store = open_storage(target)
    signer = Signer(str(data_dir))
    started = time.perf_counter()
    for i in range(n):
        with store.transaction():
            append(store, signer, kind="adjust", debit="issuance:c1", credit="shop:s1",
                   amount=1 + i % 9, ref=f"adjustment:bench-{i}")
    elapsed = time.perf_counter() - started
    store.close()
    return rate(n, elapsed)


def run(changes: int, households: int, appends: int) -> list[dict]:
    from tests import pg_support as pg
    from tests.pg_support import Cluster

    figures: list[dict] = []
    cluster: Cluster = pg.server() if os.environ.get(pg.ENV_URL) else pg.start_cluster(
        durable=True)
    root = Path(tempfile.mkdtemp(prefix="gridsync-bench-pg-"))
    try:
        sqlite_push = push_rate(None, 1, changes, root)
        one = push_rate(cluster.create_database("bench"), 1, changes, root)
        two = push_rate(cluster.create_database("bench"), 2, changes, root)
        figures.append(print_figure("pg_sync_push", one, sqlite_push, "changes/s (1 host)"))
        figures.append(print_figure("pg_two_hosts_sync_push", two, one,
                                    "changes/s (2 hosts vs 1)"))
        sqlite_pull = pull_seconds(str(root / "pull.db"), households)
        pg_pull = pull_seconds(cluster.create_database("bench"), households)
        figures.append(print_figure(f"pg_initial_pull_{households}", pg_pull, sqlite_pull,
                                    "s (PG vs SQLite)"))
        sqlite_append = append_rate(str(root / "ledger" / "gridsync.db"), root / "ledger", appends)
        pg_append = append_rate(cluster.create_database("bench"), root / "ledger-pg", appends)
        figures.append(print_figure("pg_ledger_append", pg_append, sqlite_append,
                                    "appends/s (PG vs SQLite)"))
    finally:
        from server.storage.postgres import close_pools

        close_pools()
        cluster.stop()
        shutil.rmtree(root, ignore_errors=True)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--changes", type=int, default=4000)
    parser.add_argument("--households", type=int, default=20_000)
    parser.add_argument("--appends", type=int, default=500)
    args = parser.parse_args()
    run(args.changes, args.households, args.appends)


if __name__ == "__main__":
    requests.packages.urllib3.disable_warnings()  # type: ignore[attr-defined]
    main()
