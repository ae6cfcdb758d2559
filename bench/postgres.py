"""PostgreSQL beside SQLite, one app host against two, and the write lock, in the same run.

Prints (each against its bound measured in this run):
- pg_sync_push: signed changes/s pushed through one `gridsync serve` (gunicorn, 2
  workers) on PostgreSQL, against the same push on SQLite (ratio = PG / SQLite).
- pg_two_hosts_sync_push: the same push split over two `gridsync serve` hosts on one
  PostgreSQL, against one host, with each host (its arbiter and workers) held to
  --host-cores of CPU by a cgroup of its own (bench/cpu_budget.py, weighted to get its
  budget before other work), PostgreSQL and the client outside the budgets, reniced
  ahead of other work: app hosts on machines of their own, emulated on one machine
  (target: two hosts >= 1.6x one). The median of --pairs alternated pairs. Each
  run prints the CPU per 1,000 changes of the app hosts, PostgreSQL and the client, how
  busy the cores were with these and with everything, how much of their budgets the
  hosts used and how often they were throttled, and how busy the write lock was
  (``pg_locks`` sampled every 10 ms: the share of samples in which a transaction held it
  and how many waited). Hosts that use all their budget while the lock stays free part
  of the time are bound by their own CPU, not serialized by the lock. Where no cgroup
  CPU controller is writable (not root, none mounted), it is the run on shared cores,
  with a note saying so.
- pg_two_hosts_shared_cores: one host against two with no budgets, every process on
  this machine's cores (no target: a second host adds processes, not CPU, here).
- pg_write_lock_share: the share of a lone push's server time spent holding the write
  lock (the part no second host can overlap), against the share that lets two hosts
  reach 1.6x one; pg_two_hosts_cap: the two-host ratio that share allows with each
  host on cores of its own (a model beside the measurement above).
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
           [--only hosts,locks,pull,append] [--host-cores 0.35] [--pairs 3]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager, nullcontext
from pathlib import Path
from typing import TYPE_CHECKING

import requests

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))
import cpu_budget  # noqa: E402
import pg_contention  # noqa: E402
from _common import GRIDSYNC, children, print_figure, rate, serve  # noqa: E402
from cpu_budget import CpuBudget  # noqa: E402
from sync_push import BATCH, household_changes, push, setup  # noqa: E402

if TYPE_CHECKING:
    from tests.pg_support import Cluster

CLIENTS = 4
WORKERS = 2
"""gunicorn workers per host in these runs (``serve(..., workers=2)``)."""
HOST_CORES = 0.35
"""Each host's CPU budget in the two-host figure, in cores: small enough that two hosts
at full budget, PostgreSQL and the client (about 1.1 cores together) leave a 2-core
machine room for other work, so the hosts' budgets, not the machine, bound the run."""
PAIRS = 3
"""One-host/two-host pairs behind that figure (their median ratio; runs alternate)."""
PARTS = ("hosts", "locks", "pull", "append")


def init(data: Path, url: str | None) -> str:
    """``gridsync init`` on SQLite (url None) or PostgreSQL; the admin token."""
    env = {k: v for k, v in os.environ.items() if k != "GRIDSYNC_DATABASE_URL"}
    if url:
        env["GRIDSYNC_DATABASE_URL"] = url
    out = subprocess.run([GRIDSYNC, "init", "--data-dir", str(data), "--json"], env=env,
                         check=True, capture_output=True, text=True)
    return str(json.loads(out.stdout)["token"])


def push_rate(url_for_database: str | None, hosts: int, changes: int, root: Path,
              admin_url: str | None = None, cores: float | None = None) -> dict:
    """changes/s for ``changes`` pushed by CLIENTS devices spread over ``hosts`` hosts, and
    the CPU seconds the app workers, PostgreSQL (``admin_url``'s cluster) and this client
    spent meanwhile. With ``cores``, each host (its arbiter and workers) is held to that
    much CPU by a cgroup of its own (bench/cpu_budget.py); the result then also says how
    much of their budgets the hosts used and how often they were throttled."""
    data = Path(tempfile.mkdtemp(prefix=f"hosts{hosts}-", dir=root)) / "data"
    token = init(data, url_for_database)
    saved = os.environ.get("GRIDSYNC_DATABASE_URL")
    if url_for_database:
        os.environ["GRIDSYNC_DATABASE_URL"] = url_for_database
    else:
        os.environ.pop("GRIDSYNC_DATABASE_URL", None)
    try:
        with ExitStack() as stack:
            urls, masters, budgets = [], [], []
            for i in range(hosts):
                host_dir = data if i == 0 else data.with_name(f"host{i}")
                if i:
                    host_dir.mkdir()
                    shutil.copy2(data / "secret.key", host_dir / "secret.key")
                budget = (stack.enter_context(CpuBudget(cores, f"gridsync-host{i}"))
                          if cores else None)
                url, proc = stack.enter_context(serve(host_dir, WORKERS, budget=budget))
                urls.append(url)
                masters.append(proc.pid)
                budgets += [budget] if budget else []
            devices = setup(urls[0], token, CLIENTS)
            warm_up(urls, devices)
            per = changes // CLIENTS
            bodies = [encoded(household_changes(d, per)) for d in devices]
            app = [p for m in masters for p in (m, *children(m))]
            throttled = totals(budgets)
            machine = pg_contention.machine_busy()
            before = (pg_contention.cpu_seconds(app), time.process_time())
            pg_before = pg_contention.postgres_cpu(admin_url) if admin_url else None
            with (pg_contention.LockSampler(url_for_database) if url_for_database
                  else nullcontext()) as sampler:
                started = time.perf_counter()
                with ThreadPoolExecutor(CLIENTS) as pool:
                    list(pool.map(lambda i: post(urls[i % hosts], devices[i], bodies[i]),
                                  range(CLIENTS)))
                wall = time.perf_counter() - started
            busy, ticks = (a - b for a, b in zip(pg_contention.machine_busy(), machine,
                                                 strict=True))
            pg_after = pg_contention.postgres_cpu(admin_url) if admin_url else None
            app_cpu = pg_contention.cpu_seconds(app) - before[0]
            cpu = {"app": app_cpu,
                   "client": time.process_time() - before[1],
                   "postgres": None if pg_after is None or pg_before is None
                   else pg_after - pg_before}
            out = {"rate": rate(per * CLIENTS, wall), "wall": wall, "cpu": cpu,
                   "changes": per * CLIENTS, "hosts": hosts, "cores": cores,
                   "machine_busy": busy / max(ticks, 1),
                   "lock": sampler.result() if sampler else None}
            if budgets:
                after = totals(budgets)
                out["throttled"] = ((after["throttled"] - throttled["throttled"])
                                    / max(after["periods"] - throttled["periods"], 1))
                out["budget_used"] = app_cpu / (wall * hosts * (cores or 1))
            return out
    finally:
        if saved is None:
            os.environ.pop("GRIDSYNC_DATABASE_URL", None)
        else:
            os.environ["GRIDSYNC_DATABASE_URL"] = saved


def totals(budgets: list[CpuBudget]) -> dict[str, float]:
    """The budgets' cpu.stat counters, summed."""
    out: dict[str, float] = {}
    for budget in budgets:
        for key, value in budget.stats().items():
            out[key] = out.get(key, 0) + value
    return out


def encoded(changes: list[dict]) -> list[bytes]:
    """The requests' bodies (BATCH changes each), encoded before the clock starts: the
    client signs and encodes nothing while it is timed, so it does not bound the rate."""
    return [json.dumps({"cursor": None, "changes": changes[i:i + BATCH], "limit": 1},
                       ensure_ascii=False).encode() for i in range(0, len(changes), BATCH)]


def post(url: str, device: dict, bodies: list[bytes]) -> None:
    session = requests.Session()
    headers = {"Authorization": f"Bearer {device['token']}",
               "Content-Type": "application/json"}
    for body in bodies:
        r = session.post(url + "/sync", data=body, headers=headers, timeout=120)
        r.raise_for_status()
        assert all(x["status"] == "applied" for x in r.json()["results"])


def warm_up(urls: list[str], devices: list[dict]) -> None:
    """A few small pushes to every host at once, twice, so each gunicorn worker has loaded
    the sync path and opened its pool before the clock starts (a worker's first sync costs
    far more than a later one: without this, two hosts pay it twice as often)."""
    for _ in range(2):
        for url in urls:
            with ThreadPoolExecutor(len(devices)) as pool:
                list(pool.map(lambda d, u=url: push(u, d, household_changes(d, 5)), devices))


def host_cap(share: float, hosts: int, workers: int = WORKERS) -> float:
    """Pushes in flight at most with ``hosts`` hosts of ``workers`` workers, each on a core
    of its own, when the write lock is held ``share`` of every push's server time: the
    workers bound it, and so does the lock, which lets one push at a time hold it (at
    most 1 / share pushes' worth of work in flight)."""
    return min(hosts * workers, 1 / share) if share > 0 else float(hosts * workers)


def describe(name: str, run_: dict) -> None:
    """One run's CPU per 1,000 changes on each side, how busy the cores were, and for a
    run under budgets how much of them the hosts used and how often they were throttled."""
    cores = os.cpu_count() or 1
    k = run_["changes"] / 1000
    parts = {side: seconds for side, seconds in run_["cpu"].items() if seconds is not None}
    text = ", ".join(f"{side} {seconds / k:.2f} s" for side, seconds in parts.items())
    busy = sum(parts.values()) / run_["wall"] / cores
    held = ""
    if "budget_used" in run_:
        held = (f"; hosts used {run_['budget_used']:.0%} of their {run_['cores']:g}-core "
                f"budgets, throttled in {run_['throttled']:.0%} of periods")
    lock = run_.get("lock")
    if lock:
        held += (f"; write lock held in {lock['held']:.0%} of {lock['samples']} samples, "
                 f"{lock['waiting']:.1f} waiting for it on average")
    print(f"  {name}: {run_['rate']:,.0f} changes/s; CPU per 1,000 changes: {text}; "
          f"{cores} cores {busy:.0%} busy with these, {run_['machine_busy']:.0%} with "
          f"everything ({run_['wall']:.1f} s wall){held}", flush=True)


def budgeted_hosts(database: Callable[[], str], changes: int, root: Path, cluster: Cluster,
                   cores: float, pairs: int) -> tuple[dict, dict]:
    """One host against two with each host held to ``cores`` of CPU: ``pairs`` pairs of
    runs, alternated (one, two, two, one, ...) so drifting load from other work falls on
    both; the pair with the median ratio (the lower one of an even count) as (one, two).
    PostgreSQL and the client run ahead of other work meanwhile (``ahead_of_other_work``).
    Says when a run was not bound by its hosts' budgets: a lone host, or two, that did
    not use most of their budgets (then the ratio measures something else as well)."""
    got: list[tuple[dict, dict]] = []
    for i in range(pairs):
        order = (1, 2) if i % 2 == 0 else (2, 1)
        with ahead_of_other_work(cluster):
            runs = {h: push_rate(database(), h, changes, root, cluster.admin_url, cores)
                    for h in order}
        for hosts, each in ((1, ""), (2, " each")):
            describe(f"pair {i + 1}, {hosts} host{'s' if hosts > 1 else ''} held to "
                     f"{cores:g} core{each}", runs[hosts])
        held = runs[1]["lock"]["held"]
        print(f"  pair {i + 1}: 2 hosts {runs[2]['rate'] / runs[1]['rate']:.2f}x 1; the write "
              f"lock, held {held:.0%} of the one-host run, would let hosts this fast reach "
              f"at most {1 / max(held, 1e-9):.1f}x one (load average "
              f"{os.getloadavg()[0]:.1f})", flush=True)
        got.append((runs[1], runs[2]))
    ratios = [two["rate"] / one["rate"] for one, two in got]
    one, two = got[ratios.index(statistics.median_low(ratios))]
    if one["budget_used"] < 0.9:
        print(f"  note: one host used {one['budget_used']:.0%} of its budget: something "
              "else bounds it (a smaller --host-cores keeps the hosts the bottleneck)")
    if two["budget_used"] < 0.85:
        print(f"  note: two hosts used {two['budget_used']:.0%} of their budgets: something "
              f"else bounds them too (the machine was {two['machine_busy']:.0%} busy with "
              f"everything, the write lock held {two['lock']['held']:.0%} of the run)")
    return one, two


@contextmanager
def ahead_of_other_work(cluster: Cluster, nice: int = -10) -> Iterator[None]:
    """PostgreSQL (its postmaster and processes, and the backends it forks meanwhile) and
    this client's thread (and the threads it starts meanwhile) at ``nice``, back to
    where they were after: the hosts' budgets emulate machines of their own only while
    the database and the client answer them at once, whatever else this machine runs
    (the hosts' groups are weighted likewise, bench/cpu_budget.py). Only a cluster this
    bench started (``cluster.local``): a server named by GRIDSYNC_TEST_DATABASE_URL is
    someone else's, and its processes keep their priority."""
    def server() -> list[int]:
        return (pg_contention.postgres_pids(cluster.admin_url) or []) if cluster.local else []

    if not cluster.local:
        print("  note: PostgreSQL runs at its own priority (a server this bench did not "
              "start)", flush=True)
    moved: dict[int, int] = {}
    try:
        for pid in (0, *server()):
            moved[pid] = os.getpriority(os.PRIO_PROCESS, pid)
            os.setpriority(os.PRIO_PROCESS, pid, nice)
    except OSError as exc:  # not root, or a process gone
        print(f"  note: PostgreSQL and the client run at their own priority ({exc})",
              flush=True)
    try:
        yield
    finally:
        for pid in (0, *server()):
            try:
                os.setpriority(os.PRIO_PROCESS, pid, moved.get(pid, moved.get(0, 0)))
            except OSError:
                pass  # gone meanwhile


def host_figures(cluster: Cluster, changes: int, root: Path, cores: float,
                 pairs: int) -> list[dict]:
    """pg_sync_push (one host, PG vs SQLite) and the two-host figures: with each host
    held to ``cores`` of CPU (pg_two_hosts_sync_push) and with every process on the
    machine's cores (pg_two_hosts_shared_cores)."""
    admin = cluster.admin_url
    sqlite_push = push_rate(None, 1, changes, root)["rate"]
    one = push_rate(cluster.create_database("bench"), 1, changes, root, admin)
    two = push_rate(cluster.create_database("bench"), 2, changes, root, admin)
    describe("1 host, shared cores", one)
    describe("2 hosts, shared cores", two)
    figures = [print_figure("pg_sync_push", one["rate"], sqlite_push, "changes/s (1 host)"),
               print_figure("pg_two_hosts_shared_cores", two["rate"], one["rate"],
                            "changes/s (2 hosts vs 1, all sharing this machine's cores)")]
    why = cpu_budget.available()
    if why is None:
        one_b, two_b = budgeted_hosts(lambda: cluster.create_database("bench"), changes,
                                      root, cluster, cores, pairs)
        figures.append(print_figure(
            "pg_two_hosts_sync_push", two_b["rate"], one_b["rate"],
            f"changes/s (2 hosts vs 1, each host held to {cores:g} CPU by a cgroup: "
            f"machines of their own; median of {pairs} pairs)"))
    else:
        print(f"  no CPU budget per host ({why}): pg_two_hosts_sync_push is the run on "
              "shared cores, where a second host adds processes, not CPU", flush=True)
        figures.append(print_figure(
            "pg_two_hosts_sync_push", two["rate"], one["rate"],
            f"changes/s (2 hosts vs 1, shared cores: no cgroup CPU budget here: {why})"))
    return figures


def lock_share_figures(uncontended: dict) -> list[dict]:
    """The share of a lone push's server time under the write lock and the two-host
    ratio that share allows with hosts of WORKERS workers on cores of their own. The
    figures: the lock share (bound: the share that allows 1.6x) and that cap (bound:
    1.6x)."""
    share = uncontended["held"] / uncontended["busy"] if uncontended["busy"] else 0.0
    cap = host_cap(share, 2) / host_cap(share, 1)
    needed = 1 / (1.6 * WORKERS)  # host_cap(s, 2) / host_cap(s, 1) >= 1.6 <=> s <= this
    print(f"  write lock held {share:.1%} of a lone push's server time (1.6x needs at most "
          f"{needed:.1%}), which caps two hosts of {WORKERS} workers at {cap:.2f}x one on "
          f"cores of their own", flush=True)
    return [print_figure("pg_write_lock_share", 100 * share, 100 * needed,
                         "% of a lone push (bound: share allowing 1.6x)"),
            print_figure("pg_two_hosts_cap", cap, 1.6,
                         "x (2 hosts vs 1, cap from the lock share)")]


def fresh_world(cluster: Cluster, root: Path, tag: str) -> tuple[str, str, list[dict]]:
    """A new database with a grid and pg_contention.WRITERS enrolled devices."""
    from server.bootstrap import initialise

    url = cluster.create_database("bench")
    data = root / f"locks-{tag}"
    token = initialise(str(data), url)["token"]
    return url, str(data), devices_for(data, url, token, pg_contention.WRITERS)


def lone_push(cluster: Cluster, root: Path) -> dict:
    """One writer's pushes (2,000 changes in 250-change requests) with the time it held
    the write lock (pg_contention.push_rate)."""
    from server.storage.postgres import close_pools

    url, data, devices = fresh_world(cluster, root, "lone")
    lone = pg_contention.push_rate(url, data, "advisory", devices[:1],
                                   [chunks(household_changes(devices[0], 8 * 250))],
                                   warm=[household_changes(devices[0], 20)])
    close_pools()
    return lone


def lock_figures(cluster: Cluster, changes: int, appends: int, root: Path) -> list[dict]:
    """Advisory lock vs row lock: appends/s and changes/s with 4 writers each."""
    from server.storage.postgres import close_pools

    results: dict[str, dict] = {}
    for i, lock in enumerate(("advisory", "row", "advisory", "row")):  # twice each, alternated
        url, data, devices = fresh_world(cluster, root, f"{lock}-{i}")
        per = max(changes // pg_contention.WRITERS, pg_contention.PUSH_BATCH)
        batches = [chunks(household_changes(d, per)) for d in devices]
        appended = pg_contention.append_rate(url, data, lock, appends)
        pushed = pg_contention.push_rate(url, data, lock, devices, batches)
        close_pools()
        best = results.setdefault(lock, {"appends": 0.0, "push": 0.0})
        best["appends"] = max(best["appends"], appended)
        best["push"] = max(best["push"], pushed["rate"])
    return [
        print_figure("pg_lock_row_appends", results["row"]["appends"],
                     results["advisory"]["appends"], "appends/s (row lock vs advisory)"),
        print_figure("pg_lock_row_push", results["row"]["push"], results["advisory"]["push"],
                     "changes/s (row lock vs advisory)")]


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


def run(changes: int, households: int, appends: int, parts: Iterable[str] = PARTS,
        host_cores: float = HOST_CORES, pairs: int = PAIRS) -> list[dict]:
    from tests import pg_support as pg

    wanted = set(parts)
    figures: list[dict] = []
    cluster: Cluster = pg.server() if os.environ.get(pg.ENV_URL) else pg.start_cluster(
        durable=True)
    root = Path(tempfile.mkdtemp(prefix="gridsync-bench-pg-"))
    try:
        if "hosts" in wanted:
            figures += host_figures(cluster, changes, root, host_cores, pairs)
            figures += lock_share_figures(lone_push(cluster, root))
        if "locks" in wanted:
            figures += lock_figures(cluster, changes, appends, root)
        if "pull" in wanted:
            sqlite_pull = pull_seconds(str(root / "pull.db"), households)
            pg_pull = pull_seconds(cluster.create_database("bench"), households)
            figures.append(print_figure(f"pg_initial_pull_{households}", pg_pull, sqlite_pull,
                                        "s (PG vs SQLite)"))
        if "append" in wanted:
            sqlite_append = append_rate(str(root / "ledger" / "gridsync.db"), root / "ledger",
                                        appends)
            pg_append = append_rate(cluster.create_database("bench"), root / "ledger-pg",
                                    appends)
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
    parser.add_argument("--only", default=",".join(PARTS),
                        help=f"comma-separated parts to run: {', '.join(PARTS)}")
    parser.add_argument("--host-cores", type=float, default=HOST_CORES,
                        help="each host's CPU budget in pg_two_hosts_sync_push (cores)")
    parser.add_argument("--pairs", type=int, default=PAIRS,
                        help="one-host/two-host pairs behind pg_two_hosts_sync_push")
    args = parser.parse_args()
    unknown = set(args.only.split(",")) - set(PARTS)
    if unknown:
        parser.error(f"unknown part(s) {', '.join(sorted(unknown))}; choose from "
                     f"{', '.join(PARTS)}")
    run(args.changes, args.households, args.appends, args.only.split(","), args.host_cores,
        args.pairs)


if __name__ == "__main__":
    from _common import exit_on_signals

    exit_on_signals()
    requests.packages.urllib3.disable_warnings()  # type: ignore[attr-defined]
    main()
