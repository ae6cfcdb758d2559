"""PostgreSQL beside SQLite, one app host against two, and the write lock, in the same run.

Prints (each against its bound measured in this run):
- pg_sync_push: signed changes/s pushed through one `gridsync serve` (gunicorn, 2
  workers) on PostgreSQL, against the same push on SQLite (ratio = PG / SQLite).
- pg_two_hosts_sync_push: the same push split over two `gridsync serve` hosts on one
  PostgreSQL, against one host (target: two hosts >= 1.6x one), then the CPU seconds
  per 1,000 changes spent by the app workers, PostgreSQL and the client in each run, how
  busy that kept the machine's cores.
- pg_write_lock_share: the share of a lone push's server time spent holding the write
  lock (the part no second host can overlap), against the share that lets two hosts
  reach 1.6x one; pg_two_hosts_cap: the two-host ratio that share allows with each
  host on a machine of its own (what bounds pg_two_hosts_sync_push there; on one
  2-core machine the cores bound it first).
- pg_lock_row_appends / pg_lock_row_push: ledger appends/s and changes/s with 4 writer
  processes at once when the write lock is a row lock (SELECT ... FOR UPDATE on a
  one-row table), against the advisory lock that ships (bench/pg_contention.py).
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
import pg_contention  # noqa: E402
from _common import GRIDSYNC, children, print_figure, rate, serve  # noqa: E402
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


def push_rate(url_for_database: str | None, hosts: int, changes: int, root: Path,
              admin_url: str | None = None) -> dict:
    """changes/s for ``changes`` pushed by CLIENTS devices spread over ``hosts`` hosts, and
    the CPU seconds the app workers, PostgreSQL (``admin_url``'s cluster) and this client
    spent meanwhile."""
    data = root / f"data-{hosts}-{'pg' if url_for_database else 'sqlite'}"
    token = init(data, url_for_database)
    saved = os.environ.get("GRIDSYNC_DATABASE_URL")
    if url_for_database:
        os.environ["GRIDSYNC_DATABASE_URL"] = url_for_database
    else:
        os.environ.pop("GRIDSYNC_DATABASE_URL", None)
    try:
        with ExitStack() as stack:
            urls, masters = [], []
            for i in range(hosts):
                host_dir = data if i == 0 else root / f"{data.name}-host{i}"
                if i:
                    host_dir.mkdir()
                    shutil.copy2(data / "secret.key", host_dir / "secret.key")
                url, proc = stack.enter_context(serve(host_dir, workers=2))
                urls.append(url)
                masters.append(proc.pid)
            devices = setup(urls[0], token, CLIENTS)
            warm_up(urls, devices)
            per = changes // CLIENTS
            batches = [household_changes(d, per) for d in devices]
            app = [p for m in masters for p in (m, *children(m))]
            before = (pg_contention.cpu_seconds(app), time.process_time(),
                      pg_contention.postgres_cpu(admin_url) if admin_url else None)
            started = time.perf_counter()
            with ThreadPoolExecutor(CLIENTS) as pool:
                list(pool.map(lambda i: push(urls[i % hosts], devices[i], batches[i]),
                              range(CLIENTS)))
            wall = time.perf_counter() - started
            pg_after = pg_contention.postgres_cpu(admin_url) if admin_url else None
            cpu = {"app": pg_contention.cpu_seconds(app) - before[0],
                   "client": time.process_time() - before[1],
                   "postgres": None if pg_after is None or before[2] is None
                   else pg_after - before[2]}
            return {"rate": rate(per * CLIENTS, wall), "wall": wall, "cpu": cpu,
                    "changes": per * CLIENTS}
    finally:
        if saved is None:
            os.environ.pop("GRIDSYNC_DATABASE_URL", None)
        else:
            os.environ["GRIDSYNC_DATABASE_URL"] = saved


def warm_up(urls: list[str], devices: list[dict]) -> None:
    """A few small pushes to every host at once, twice, so each gunicorn worker has loaded
    the sync path and opened its pool before the clock starts (a worker's first sync costs
    far more than a later one: without this, two hosts pay it twice as often)."""
    for _ in range(2):
        for url in urls:
            with ThreadPoolExecutor(len(devices)) as pool:
                list(pool.map(lambda d, u=url: push(u, d, household_changes(d, 5)), devices))


WORKERS = 2
"""gunicorn workers per host in these runs (``serve(..., workers=2)``)."""


def host_cap(share: float, hosts: int, workers: int = WORKERS) -> float:
    """Pushes in flight at most with ``hosts`` hosts of ``workers`` workers, each on a core
    of its own, when the write lock is held ``share`` of every push's server time: the
    workers bound it, and so does the lock, which lets one push at a time hold it (at
    most 1 / share pushes' worth of work in flight)."""
    return min(hosts * workers, 1 / share) if share > 0 else float(hosts * workers)


def explain_hosts(one: dict, two: dict, uncontended: dict) -> list[dict]:
    """What bounds two hosts against one: CPU per 1,000 changes on each side, how busy
    the cores were, the share of a lone push's server time under the write lock, and the
    two-host ratio that share allows on machines of their own. The figures: the lock
    share (bound: the share that allows 1.6x) and that cap (bound: 1.6x)."""
    cores = os.cpu_count() or 1
    for name, run_ in (("1 host", one), ("2 hosts", two)):
        k = run_["changes"] / 1000
        parts = {side: seconds for side, seconds in run_["cpu"].items() if seconds is not None}
        text = ", ".join(f"{side} {seconds / k:.2f} s" for side, seconds in parts.items())
        busy = sum(parts.values()) / run_["wall"] / cores
        print(f"  {name}: CPU per 1,000 changes: {text}; {cores} cores {busy:.0%} busy "
              f"({run_['wall']:.1f} s wall)", flush=True)
    share = uncontended["held"] / uncontended["busy"] if uncontended["busy"] else 0.0
    cap = host_cap(share, 2) / host_cap(share, 1)
    needed = 1 / (1.6 * WORKERS)  # host_cap(s, 2) / host_cap(s, 1) >= 1.6 <=> s <= this
    measured = two["rate"] / one["rate"] if one["rate"] else 0.0
    print(f"  two hosts vs one: measured {measured:.2f}x here; write lock held {share:.1%} "
          f"of a lone push's server time (1.6x needs at most {needed:.1%}), which caps two "
          f"hosts of {WORKERS} workers at {cap:.2f}x one on machines of their own; here "
          f"every process shares {cores} cores (load average {os.getloadavg()[0]:.1f}), so "
          f"a second host adds processes, not CPU", flush=True)
    return [print_figure("pg_write_lock_share", 100 * share, 100 * needed,
                         "% of a lone push (bound: share allowing 1.6x)"),
            print_figure("pg_two_hosts_cap", cap, 1.6,
                         "x (2 hosts vs 1, cap from the lock share)")]


def lock_figures(cluster: object, changes: int, appends: int, root: Path) -> tuple[list, dict]:
    """Advisory lock vs row lock: appends/s and changes/s with 4 writers each, and the lock
    share of a lone writer's push (the advisory lock's)."""
    from server.bootstrap import initialise
    from server.storage.postgres import close_pools

    def fresh(tag: str) -> tuple[str, str, list[dict]]:
        url = cluster.create_database("bench")  # type: ignore[attr-defined]
        data = root / f"locks-{tag}"
        token = initialise(str(data), url)["token"]
        devices = devices_for(data, url, token, pg_contention.WRITERS)
        return url, str(data), devices

    results: dict[str, dict] = {}
    for lock in ("advisory", "row", "advisory", "row"):  # twice each, alternated
        url, data, devices = fresh(lock)
        per = max(changes // pg_contention.WRITERS, pg_contention.PUSH_BATCH)
        batches = [chunks(household_changes(d, per)) for d in devices]
        appended = pg_contention.append_rate(url, data, lock, appends)
        pushed = pg_contention.push_rate(url, data, lock, devices, batches)
        close_pools()
        best = results.setdefault(lock, {"appends": 0.0, "push": 0.0})
        best["appends"] = max(best["appends"], appended)
        best["push"] = max(best["push"], pushed["rate"])
    url, data, devices = fresh("lone")
    lone = pg_contention.push_rate(url, data, "advisory", devices[:1],
                                   [chunks(household_changes(devices[0], 8 * 250))],
                                   warm=[household_changes(devices[0], 20)])
    close_pools()
    figures = [
        print_figure("pg_lock_row_appends", results["row"]["appends"],
                     results["advisory"]["appends"], "appends/s (row lock vs advisory)"),
        print_figure("pg_lock_row_push", results["row"]["push"], results["advisory"]["push"],
                     "changes/s (row lock vs advisory)")]
    return figures, lone


def chunks(changes: list[dict]) -> list[list[dict]]:
    step = pg_contention.PUSH_BATCH
    return [changes[i:i + step] for i in range(0, len(changes), step)]


def devices_for(data: Path, url: str, token: str, n: int) -> list[dict]:
    """A grid and ``n`` enrolled worker devices, through an in-process app."""
    from server import create_app
    from tests.helpers import ApiClient

    api = ApiClient(create_app({"DATA_DIR": str(data), "DATABASE_URL": url}).test_client(),
                    token)
    api.post("/grids", {"id": "c1", "name": "c", "parent": None})
    api.post("/grids", {"id": "g1", "name": "g", "parent": "c1"})
    out = []
    for i in range(n):
        api.person(f"w{i}", "worker", ["g1"])
        device = api.enroll(f"w{i}")
        out.append({"key": device.key, "clock": device.clock, "token": device.token})
    return out


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
        admin = cluster.admin_url
        sqlite_push = push_rate(None, 1, changes, root)["rate"]
        one = push_rate(cluster.create_database("bench"), 1, changes, root, admin)
        two = push_rate(cluster.create_database("bench"), 2, changes, root, admin)
        figures.append(print_figure("pg_sync_push", one["rate"], sqlite_push,
                                    "changes/s (1 host)"))
        figures.append(print_figure("pg_two_hosts_sync_push", two["rate"], one["rate"],
                                    "changes/s (2 hosts vs 1)"))
        lock_figs, lone = lock_figures(cluster, changes, appends, root)
        figures += explain_hosts(one, two, lone)
        figures += lock_figs
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
