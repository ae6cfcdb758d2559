"""Write contention on PostgreSQL: the write lock's two forms, and where push time goes.

Every write transaction on PostgreSQL begins by taking one lock (server/storage/postgres.py):
ledger seqs and change seqs are handed out from the current head, so writers must run one
at a time. Two forms of that lock are measured against each other with WRITERS processes
appending ledger entries and pushing signed changes at once (in-process apps, no HTTP):
- advisory: ``pg_advisory_xact_lock`` on one key (what ships);
- row: ``SELECT ... FOR UPDATE`` on the one row of a lock table (the "row lock on the
  head": the head entry itself cannot be the row, see docs/operations.md, Isolation).
The same runs time how long each push holds the lock (from taking it to the end of its
commit; a push of households and visits takes it only after applying its changes,
services/sync/push.py) against its whole server time: the part that cannot overlap
across hosts, whatever their cores.

CPU accounting for the HTTP runs of bench/postgres.py: ``cpu_seconds`` of the gunicorn
workers, of the PostgreSQL cluster (the postmaster with its reaped children and the live
backends) and of the client, so a note can say which side a second host would relieve.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any

LOCKS: dict[str, tuple[str, tuple]] = {
    "advisory": ("SELECT pg_advisory_xact_lock(%s)", (0x67726964,)),
    "row": ("SELECT id FROM bench_write_lock WHERE id = 1 FOR UPDATE", ()),
}
WRITERS = 4
PUSH_BATCH = 250
_TICK = os.sysconf("SC_CLK_TCK")


# --- CPU accounting -------------------------------------------------------------------
def _stat(pid: int) -> list[str]:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def cpu_seconds(pids: list[int], *, reaped: bool = False) -> float:
    """User + system CPU of the live processes ``pids`` (with ``reaped``, also of their
    children already waited for: a PostgreSQL backend's CPU after it exits)."""
    total = 0
    for pid in pids:
        try:
            fields = _stat(pid)
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
        if reaped:
            total += int(fields[13]) + int(fields[14])
    return total / _TICK


def postgres_pids(admin_url: str) -> list[int] | None:
    """The cluster's postmaster and its children (None when the server is not local)."""
    import psycopg
    from _common import children

    try:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            data = conn.execute("SHOW data_directory").fetchone()[0]  # type: ignore[index]
        master = int(Path(data, "postmaster.pid").read_text().split()[0])
    except (OSError, psycopg.Error, ValueError):
        return None
    return [master, *children(master)]


def postgres_cpu(admin_url: str) -> float | None:
    pids = postgres_pids(admin_url)
    if pids is None:
        return None
    return cpu_seconds(pids[:1], reaped=True) + cpu_seconds(pids[1:])


def machine_busy() -> tuple[int, int]:
    """(busy, total) jiffies of every core since boot, all processes (``/proc/stat``)."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return sum(fields) - idle, sum(fields)


# --- how busy the write lock was ------------------------------------------------------
class LockSampler:
    """Samples ``pg_locks`` every ``every`` seconds from a thread while entered: the share
    of samples in which a transaction held the write lock (server/storage/postgres.py's
    WRITE_LOCK) and the mean number of transactions waiting for it. A lock held in nearly
    every sample with writers queued behind it is what serializes app hosts."""

    QUERY = ("SELECT count(*) FILTER (WHERE granted), count(*) FILTER (WHERE NOT granted) "
             "FROM pg_locks WHERE locktype = 'advisory' AND classid = 0 AND objid = %s "
             "AND objsubid = 1")

    def __init__(self, url: str, every: float = 0.01) -> None:
        self.url, self.every = url, every
        self.samples: list[tuple[int, int]] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> LockSampler:
        import psycopg

        from server.storage.postgres import WRITE_LOCK

        conn = psycopg.connect(self.url, autocommit=True)

        def sample() -> None:
            with conn:
                while not self._stop.is_set():
                    row = conn.execute(self.QUERY, (WRITE_LOCK,)).fetchone()
                    self.samples.append((int(row[0]), int(row[1])))  # type: ignore[index]
                    self._stop.wait(self.every)

        self._thread = threading.Thread(target=sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(10)

    def result(self) -> dict[str, float]:
        n = max(len(self.samples), 1)
        return {"held": sum(1 for held, _ in self.samples if held) / n,
                "waiting": sum(waiting for _, waiting in self.samples) / n,
                "samples": len(self.samples)}


# --- the lock's two forms -------------------------------------------------------------
def prepare_lock(url: str, name: str) -> None:
    """Create the row lock ``name`` needs (once, before the writers start)."""
    import psycopg

    if name == "row":
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("CREATE TABLE IF NOT EXISTS bench_write_lock (id INT PRIMARY KEY)")
            conn.execute("INSERT INTO bench_write_lock VALUES (1) ON CONFLICT DO NOTHING")


def use_lock(name: str) -> None:
    """Make this (writer) process's write transactions take lock ``name``."""
    from server.storage.postgres import PgDatabase

    PgDatabase.write_lock = LOCKS[name]


@contextmanager
def lock_timer(held: list[float]) -> Any:
    """Add to held[0] the wall time each outermost write transaction of this process held
    the write lock: from taking it (at BEGIN, or a deferred transaction's lock_writes())
    to the end of its COMMIT."""
    from server.storage.postgres import PgDatabase

    original, take = PgDatabase.transaction, PgDatabase.lock_writes
    taken: dict[int, float] = {}

    def lock_writes(self: Any) -> None:
        if not self._locked:
            taken.setdefault(id(self), time.perf_counter())
        take(self)

    @contextmanager
    def timed(self: Any, **kw: Any) -> Any:
        outer = self._depth == 0
        try:
            with original(self, **kw):
                yield self
        finally:
            started = taken.pop(id(self), None) if outer else None
            if started is not None:
                held[0] += time.perf_counter() - started

    PgDatabase.transaction = timed  # type: ignore[method-assign]
    PgDatabase.lock_writes = lock_writes  # type: ignore[method-assign]
    try:
        yield
    finally:
        PgDatabase.transaction = original  # type: ignore[method-assign]
        PgDatabase.lock_writes = take  # type: ignore[method-assign]


def _appender(url: str, data_dir: str, lock: str, n: int, tag: str, barrier: Any) -> None:
    from server.keystore import Signer
    from server.services.ledger_append import append
    from server.storage import open_storage

    use_lock(lock)
    store = open_storage(url, migrate_schema=False)
    signer = Signer(data_dir)
    barrier.wait(60)
    for i in range(n):
        with store.transaction():
            append(store, signer, kind="adjust", debit="issuance:c1", credit="shop:s1",
                   amount=1 + i % 9, ref=f"adjustment:{tag}-{i}")
    store.close()


def _pusher(url: str, data_dir: str, lock: str, token: str, batches: list[list[dict]],
            barrier: Any, out: Any, warm: list[dict] | None = None) -> None:
    from server import create_app

    use_lock(lock)
    app = create_app({"DATA_DIR": data_dir, "DATABASE_URL": url})
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}

    def push(batch: list[dict]) -> None:
        resp = client.post("/api/v1/sync", json={"cursor": None, "changes": batch,
                                                 "limit": 1}, headers=headers)
        assert resp.status_code == 200, resp.get_json()
        assert all(r["status"] == "applied" for r in resp.get_json()["results"])

    if warm:
        push(warm)  # the process's first push loads the sync path and opens the pool
    held = [0.0]
    barrier.wait(60)
    started = time.perf_counter()
    with lock_timer(held):
        for batch in batches:
            push(batch)
    out.put((held[0], time.perf_counter() - started))


def _run_together(target: Any, jobs: list[tuple]) -> float:
    """Start one spawned process per job, release them together; wall seconds."""
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(len(jobs) + 1)
    procs = [ctx.Process(target=target, args=(*job, barrier)) for job in jobs]
    for p in procs:
        p.start()
    barrier.wait(120)
    started = time.perf_counter()
    for p in procs:
        p.join(600)
        if p.exitcode != 0:
            raise RuntimeError(f"a bench writer failed (exit {p.exitcode})")
    return time.perf_counter() - started


def append_rate(url: str, data_dir: str, lock: str, appends: int) -> float:
    """Ledger appends/s with WRITERS processes appending at once under ``lock``."""
    prepare_lock(url, lock)
    per = max(appends // WRITERS, 1)
    jobs = [(url, data_dir, lock, per, f"{lock}-{w}") for w in range(WRITERS)]
    return per * WRITERS / _run_together(_appender, jobs)


def push_rate(url: str, data_dir: str, lock: str, devices: list[dict],
              batches: list[list[list[dict]]], warm: list[list[dict]] | None = None) -> dict:
    """changes/s with one process per device pushing its own batches (``batches[i]`` for
    ``devices[i]``) under ``lock``, the seconds they held the lock and spent pushing
    (``warm[i]``: pushed by ``devices[i]`` before the clock starts)."""
    import queue

    prepare_lock(url, lock)
    ctx = multiprocessing.get_context("spawn")
    out = ctx.Queue()
    barrier = ctx.Barrier(len(devices) + 1)
    procs = [ctx.Process(target=_pusher, args=(url, data_dir, lock, d["token"], batches[i],
                                               barrier, out, warm[i] if warm else None))
             for i, d in enumerate(devices)]
    for p in procs:
        p.start()
    barrier.wait(120)
    started = time.perf_counter()
    results: list[tuple[float, float]] = []
    while len(results) < len(procs):
        try:
            results.append(out.get(timeout=1))
        except queue.Empty:
            if any(p.exitcode not in (None, 0) for p in procs):
                raise RuntimeError("a bench pusher failed") from None
    wall = time.perf_counter() - started
    for p in procs:
        p.join(60)
    changes = sum(len(b) for mine in batches for b in mine)
    return {"rate": changes / wall, "held": sum(r[0] for r in results),
            "busy": sum(r[1] for r in results)}
