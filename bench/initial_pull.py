"""Initial pull: a new device pulls a 50,000-household grid in pages.

The grid is seeded directly through the server's storage API (the same
``sync.merge.merge`` the server applies, then ``RecordStore.put_many`` in
batches of 5,000) in this process, before ``gridsync serve`` starts: seeding
50,000 households through signed HTTP pushes would take longer than the pull
being measured. A worker device is then enrolled over HTTP and pulls with
``cursor: null`` until ``has_more`` is false, once per page limit (5,000 and
500), each against a freshly started server so that its peak RSS belongs to
that pull alone.

Prints, per limit:
- initial_pull_<limit>: records per second of the server's CPU (gunicorn's
  arbiter and workers, from /proc) through HTTP (requests asks for gzip, as a
  device on a mobile network would), against the bound: records per CPU
  second of the same pages read in-process by ``RecordStore.pull`` (the scope
  query reading the record views stored with the records, as bytes) with no
  HTTP, no auth, no cursor and no gzip (targets: >= 0.8 in pages of 5,000, >= 0.6 in
  pages of 500). Server CPU rather than wall time: the bench's client (JSON
  parsing, gunzip) shares the two cores and runs between the pages, and other
  work on a shared machine stretches the wall clock of both sides unevenly;
- initial_pull_<limit>_wall: the same pull in records per wall second through
  HTTP, client included, against the same bound (no target);
- initial_pull_<limit>_seconds: the pull's wall time (target < 5 s);
- initial_pull_<limit>_rss: the server's peak RSS, VmHWM from /proc/<pid>/status
  of the largest gunicorn worker (target < 200 MB); also the arbiter's, and
  the peak summed PSS of the arbiter and workers sampled during the pulls
  (RSS summed over forked workers would count shared pages twice).

Usage: python bench/initial_pull.py [--households 50000] [--limits 5000,500]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import orjson
import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import children, init_data_dir, print_figure, rate, serve  # noqa: E402

from server.storage import open_storage  # noqa: E402
from server.storage.records import Placement, RecordWrite  # noqa: E402
from sync.crypto import DeviceKey  # noqa: E402
from sync.hlc import format_hlc  # noqa: E402
from sync.merge import merge  # noqa: E402
from sync.signing import enrolment_proof  # noqa: E402

SEED_BATCH = 5_000
SEED_DEVICE = "seed"


def seed(data: Path, households: int, grid: str = "g1") -> float:
    """Write ``households`` records of one grid through the storage API; returns seconds."""
    started = time.perf_counter()
    store = open_storage(str(data / "gridsync.db"))
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    wall = int(time.time() * 1000) - 3_600_000
    with store.transaction():
        store.directory.add_grid(id="c1", name="community", parent=None, at=now)
        store.directory.add_grid(id=grid, name="grid", parent="c1", at=now)
    seq = store.records.last_seq()
    for start in range(0, households, SEED_BATCH):
        rows = []
        for i in range(start, min(start + SEED_BATCH, households)):
            change = {
                "op": str(uuid.uuid4()), "collection": "households", "id": str(uuid.uuid4()),
                "hlc": format_hlc(wall + i // 100, i % 100, SEED_DEVICE), "base": None,
                "deleted": False,
                "fields": {"grid": grid, "address": f"幸福路 {i} 号 {i % 30} 栋",
                           "head_name": "张三", "members": 1 + i % 6,
                           "tags": ["独居老人"] if i % 5 == 0 else [],
                           "phone": f"138{i:08d}", "notes": "入户走访：家中有老人需要照顾"}}
            seq += 1
            rows.append(RecordWrite(merge(None, change, device_id=SEED_DEVICE).state, seq,
                                    Placement(grid=grid), now))
        with store.transaction():
            store.records.put_many(rows)
    store.close()
    return time.perf_counter() - started


def read_bound(data: Path, grid: str = "g1", limit: int = 5000) -> float:
    """Records per CPU second for the pull's own work in-process: the scope query
    reading the stored record views (UTF-8 JSON) page by page, with no HTTP around it."""
    store = open_storage(str(data / "gridsync.db"), migrate_schema=False)
    total, after = 0, 0
    started = time.process_time()
    while True:
        rows = store.records.pull(after=after, grids=[grid], people=[], author="",
                                  limit=limit)
        if not rows:
            break
        total += len(rows)
        after = rows[-1][0]
    elapsed = time.process_time() - started
    store.close()
    return rate(total, elapsed)


def descendants(pid: int) -> list[int]:
    out, todo = [], [pid]
    while todo:
        kids = children(todo.pop())
        out += kids
        todo += kids
    return out


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process and all its descendants (alive ones)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for p in [pid, *descendants(pid)]:
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / tick


def peak_rss_mb(pid: int) -> float:
    """VmHWM of one process, in MB (10^6 bytes)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024 / 1e6
    return 0.0


def enroll_worker(url: str, admin: str, person: str, grid: str = "g1") -> dict:
    h = {"Authorization": f"Bearer {admin}"}
    s = requests.Session()
    r = s.post(url + "/people", json={"id": person, "name": "w", "role": "worker",
                                      "grids": [grid]}, headers=h)
    r.raise_for_status()
    code = s.post(url + "/enrollments", json={"person": person}, headers=h).json()["code"]
    key = DeviceKey.generate()
    out = s.post(url + "/devices/enroll", json={
        "code": code, "public_key": key.public_key, "name": "bench",
        "proof": enrolment_proof(code, key)})
    out.raise_for_status()
    return {"key": key, "id": out.json()["device_id"], "token": out.json()["token"]}


def pull_all(url: str, token: str, limit: int) -> tuple[int, int, float]:
    """(records, pages, seconds) for a full pull from cursor null."""
    s = requests.Session()
    h = {"Authorization": f"Bearer {token}"}
    cursor, records, pages = None, 0, 0
    started = time.perf_counter()
    while True:
        r = s.post(url + "/sync", json={"cursor": cursor, "changes": [], "limit": limit},
                   headers=h, timeout=120)
        r.raise_for_status()
        body = orjson.loads(r.content)  # as a device's native JSON parser would
        records += len(body["changes"])
        pages += 1
        cursor = body["cursor"]
        if not body["has_more"]:
            break
    return records, pages, time.perf_counter() - started


class PeakPss:
    """Samples the summed PSS of a process and its children every 20 ms (shared pages
    counted once across the forked workers, unlike a sum of their RSS)."""

    def __init__(self, pid: int):
        self.pid, self.peak_mb = pid, 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _pss(self, pid: int) -> float:
        try:
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    return int(line.split()[1]) * 1024 / 1e6
        except OSError:
            pass
        return 0.0

    def _run(self) -> None:
        while not self._stop.is_set():
            total = sum(self._pss(p) for p in [self.pid, *children(self.pid)])
            self.peak_mb = max(self.peak_mb, total)
            self._stop.wait(0.02)

    def __enter__(self) -> PeakPss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def run(households: int = 50_000, limits: tuple[int, ...] = (5000, 500),
        repeats: int = 3) -> list[dict]:
    """Per limit: a fresh server, ``repeats`` new devices each pulling everything;
    the median pull is reported, and the server's peak memory over all of them. The
    first pull is the slowest (each worker's first page reads its rows at about twice
    the CPU of later ones), so a median of three is what a running server does."""
    figures = []
    with tempfile.TemporaryDirectory(prefix="gridsync-bench-pull-") as tmp:
        data = Path(tmp) / "data"
        admin = init_data_dir(data)
        seconds = seed(data, households)
        print(f"seeded {households:,} households through the storage API in {seconds:.1f} s",
              flush=True)
        bound = max(read_bound(data) for _ in range(2))  # the better of two: a bound
        for limit in limits:
            with serve(data) as (url, proc), PeakPss(proc.pid) as pss:
                times, cpu = [], []
                for n in range(repeats):
                    device = enroll_worker(url, admin, f"w{limit}_{n}")
                    before = cpu_seconds(proc.pid)
                    records, pages, elapsed = pull_all(url, device["token"], limit)
                    cpu.append(cpu_seconds(proc.pid) - before)
                    assert records >= households, (records, households)
                    times.append(elapsed)
                workers = {pid: peak_rss_mb(pid) for pid in children(proc.pid)}
                arbiter = peak_rss_mb(proc.pid)
            elapsed, server_cpu = statistics.median(times), statistics.median(cpu)
            name = f"initial_pull_{limit}"
            fig = print_figure(name, rate(records, server_cpu), bound,
                               "records per server CPU s")
            fig.update(seconds=elapsed, all_seconds=times, pages=pages, records=records,
                       server_cpu_seconds=server_cpu, all_cpu_seconds=cpu, limit=limit,
                       seed="storage API, before the server starts")
            figures.append(fig)
            figures.append(print_figure(f"{name}_wall", rate(records, elapsed), bound,
                                        "records/s, wall, client too"))
            figures.append(print_figure(f"{name}_seconds", elapsed, None, f"s ({pages} pages)"))
            print(f"{'':<22} server CPU {server_cpu:.2f} s for the pull", flush=True)
            rss = print_figure(f"{name}_rss", max(workers.values()), None,
                               "MB peak RSS (largest worker)")
            rss.update(workers_mb=sorted(workers.values()), arbiter_mb=arbiter,
                       rss_sum_mb=arbiter + sum(workers.values()), peak_pss_sum_mb=pss.peak_mb)
            print(f"{'':<22} VmHWM arbiter {arbiter:.1f} MB, workers "
                  f"{', '.join(f'{v:.1f}' for v in sorted(workers.values()))} MB; "
                  f"peak PSS of all {pss.peak_mb:.1f} MB", flush=True)
            figures.append(rss)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--households", type=int, default=50_000)
    parser.add_argument("--limits", default="5000,500", help="page limits, comma-separated")
    parser.add_argument("--repeats", type=int, default=3, help="pulls per limit (median)")
    args = parser.parse_args()
    run(args.households, tuple(int(x) for x in args.limits.split(",")), args.repeats)


if __name__ == "__main__":
    main()
