"""gridsync side by side with Kinto on the same workload, alternately, in one session.

What it compares: each server as it is deployed by default, not one storage engine
against another. gridsync runs on its embedded SQLite (WAL, ``synchronous=FULL``:
the one-box-per-community deployment); Kinto has no durable embedded store, so it
runs on PostgreSQL, its production backend. Kinto (Mozilla's Python sync server)
is installed into bench/.kinto-venv (made here if missing: ``pip install
kinto[postgresql] gunicorn``); its PostgreSQL is a throwaway cluster started here
(initdb into a temporary directory, as the ``postgres`` user when run as root;
fsync and synchronous_commit left on), else, where none can be started, Kinto's
memory backend, and the output and the JSON say which. Kinto's CPU figure counts
its PostgreSQL's processes; gridsync's has none to count. gridsync on PostgreSQL
is not compared here: its pulls there cost about 2.5x its SQLite ones
(bench/postgres.py, pg_initial_pull), which would leave the pull figures near
Kinto's. Both servers run under gunicorn with 2 sync workers (Kinto's memory
backend lives in one process, so 1 worker then), request logging off, on
loopback ports.

Workload, per round, each server in turn (the order alternates every round),
one client, no compression asked (Kinto serves none), every answer parsed with
orjson (as a device's native JSON parser would; Python's json module, about four
times slower, made the client most of either side's wall time):
- upload: N household records in batches (gridsync: signed changes, 500 per
  ``POST /sync``, signed before the clock starts; Kinto: ``POST /v1/batch``
  creating records in a fresh collection, batch size as printed);
- pull all: a second device / client fetches everything since zero in pages
  of 5,000 (gridsync: ``POST /sync`` with cursor null, limit 5000, while
  ``has_more``; Kinto: ``GET .../records?_since=0&_sort=last_modified&_limit=5000``
  following ``Next-Page``);
- pull 100 changed: the first client modifies 100 records (a signed change
  with ``base``; a ``PATCH`` batch), then the second pulls only those
  (gridsync: its cursor; Kinto: ``_since=<ETag of its last pull>``). Repeated
  ``delta_cycles`` times per round; each is timed alone.
Before the rounds, one uncounted warm-up round of each server (a tenth of the
records, one delta cycle): a worker's first requests pay for what it loads and
caches on first use, which would land in round 1 of one side only.

Prints records/s for both and the speed-up (target >= 2x on each), by wall
time (the figure) and per second of server CPU (the servers' processes and
their children, PostgreSQL's included: steadier when the machine is shared).

Usage: python bench/kinto_compare.py [--records 10000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import orjson
import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (  # noqa: E402
    free_port,
    init_data_dir,
    kill_group,
    print_figure,
    rate,
    serve,
    stop,
)
from initial_pull import cpu_seconds  # noqa: E402

from sync.crypto import DeviceKey  # noqa: E402
from sync.hlc import HybridClock  # noqa: E402
from sync.signing import enrolment_proof, sign_change  # noqa: E402

HERE = Path(__file__).resolve().parent
KINTO_VENV = HERE / ".kinto-venv"
GRIDSYNC_BATCH = 500
PAGE = 5000
DELTA = 100
NO_GZIP = {"Accept-Encoding": "identity"}
WARM = "warm"  # the tag of the uncounted first round, which sets up what the others share


def household(i: int, grid: str) -> dict:
    return {"grid": grid, "address": f"幸福路 {i} 号 {i % 30} 栋", "head_name": "张三",
            "members": 1 + i % 6, "tags": ["独居老人"] if i % 5 == 0 else [],
            "phone": f"138{i:08d}", "notes": "入户走访：家中有老人需要照顾"}


# --- Kinto installation and start --------------------------------------------
def ensure_kinto() -> Path:
    """bench/.kinto-venv with kinto, psycopg2 and gunicorn; returns its bin dir."""
    bin_dir = KINTO_VENV / "bin"
    if not (bin_dir / "kinto").exists() or not (bin_dir / "gunicorn").exists():
        print("installing Kinto into bench/.kinto-venv ...", flush=True)
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(KINTO_VENV)], check=True)
        subprocess.run([str(bin_dir / "pip"), "install", "--quiet", "kinto[postgresql]",
                        "gunicorn"], check=True)
    return bin_dir


def _pg_bin() -> Path | None:
    for name in ("initdb", "postgres", "pg_ctl"):
        found = shutil.which(name)
        if found and Path(found).resolve().parent.joinpath("initdb").exists():
            return Path(found).resolve().parent
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    return versions[-1].parent if versions else None


def _try_install_postgres() -> None:
    """The Debian package, when running as root and apt-get is there (bounded in time)."""
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        return
    print("no PostgreSQL found: trying apt-get install postgresql ...", flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    try:
        subprocess.run(["apt-get", "install", "-y", "-q", "postgresql"], env=env, timeout=240,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        pass


def _as_postgres(cmd: list[str]) -> list[str]:
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *cmd]
    return cmd


@contextmanager
def postgres() -> Iterator[tuple[str | None, int | None]]:
    """A throwaway PostgreSQL cluster on a free loopback port; yields (URL, pid) or
    (None, None)."""
    pg = _pg_bin()
    if pg is None:
        _try_install_postgres()
        pg = _pg_bin()
    if pg is None:
        yield None, None
        return
    tmp = Path(tempfile.mkdtemp(prefix="gridsync-bench-pg-"))
    proc = None
    url = None
    try:
        try:
            if os.geteuid() == 0:
                shutil.chown(tmp, "postgres", "postgres")
            data = tmp / "data"
            subprocess.run(_as_postgres([str(pg / "initdb"), "-D", str(data), "-U", "postgres",
                                         "--auth=trust", "-E", "UTF8", "--locale=C"]),
                           check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            port = free_port()
            proc = subprocess.Popen(_as_postgres([
                str(pg / "postgres"), "-D", str(data), "-p", str(port), "-k", str(tmp),
                "-c", "listen_addresses=127.0.0.1", "-c", "shared_buffers=256MB",
                "-c", "max_connections=50"]),
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            deadline = time.monotonic() + 30
            while subprocess.run([str(pg / "pg_isready"), "-h", "127.0.0.1", "-p", str(port)],
                                 stdout=subprocess.DEVNULL).returncode != 0:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("PostgreSQL did not start")
                time.sleep(0.2)
            subprocess.run([str(pg / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U",
                            "postgres", "kinto"], check=True)
            url = f"postgresql://postgres@127.0.0.1:{port}/kinto"
        except (OSError, subprocess.CalledProcessError, RuntimeError, LookupError) as exc:
            print(f"PostgreSQL could not be started ({exc}): using Kinto's memory backend",
                  flush=True)
            if proc is not None and proc.poll() is None:
                proc.terminate()
                proc.wait(timeout=30)
            proc = None
        # Outside the setup's except: an error in the caller's body is not taken
        # for a failed start.
        yield (url, proc.pid) if url and proc is not None else (None, None)
    finally:
        if proc is not None:
            # pg_ctl, not a signal to proc: as root proc is runuser, which does not pass
            # SIGINT on, and killing it would leave the postmaster running.
            subprocess.run(_as_postgres([str(pg / "pg_ctl"), "-D", str(tmp / "data"), "-m",
                                         "fast", "-w", "stop"]), check=False, timeout=60,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        shutil.rmtree(tmp, ignore_errors=True)


def kinto_ini(storage_url: str | None, batch: int) -> str:
    if storage_url:
        backends = f"""\
            kinto.storage_backend = kinto.core.storage.postgresql
            kinto.storage_url = {storage_url}
            kinto.permission_backend = kinto.core.permission.postgresql
            kinto.permission_url = {storage_url}"""
    else:
        backends = """\
            kinto.storage_backend = kinto.core.storage.memory
            kinto.permission_backend = kinto.core.permission.memory"""
    return textwrap.dedent(f"""\
        [app:main]
        use = egg:kinto
        {textwrap.dedent(backends).strip().replace(chr(10), chr(10) + ' ' * 8)}
        kinto.cache_backend = kinto.core.cache.memory
        kinto.userid_hmac_secret = gridsync-bench-secret
        multiauth.policies = basicauth
        kinto.bucket_create_principals = system.Authenticated
        kinto.batch_max_requests = {batch}
        kinto.storage_max_fetch_size = 10000

        [loggers]
        keys = root

        [handlers]
        keys = console

        [formatters]
        keys = plain

        [logger_root]
        level = WARNING
        handlers = console

        [handler_console]
        class = StreamHandler
        args = (sys.stderr,)
        level = WARNING
        formatter = plain

        [formatter_plain]
        format = %%(levelname)s %%(name)s %%(message)s
        """)


@contextmanager
def kinto_server(storage_url: str | None, batch: int) -> Iterator[tuple[str, int]]:
    """Kinto under gunicorn on a free loopback port; yields (its /v1 URL, gunicorn pid)."""
    bin_dir = ensure_kinto()
    with tempfile.TemporaryDirectory(prefix="gridsync-bench-kinto-") as tmp:
        ini = Path(tmp) / "kinto.ini"
        ini.write_text(kinto_ini(storage_url, batch))
        if storage_url:
            subprocess.run([str(bin_dir / "kinto"), "migrate", "--ini", str(ini)], check=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        port = free_port()
        workers = "2" if storage_url else "1"
        proc = subprocess.Popen(
            [str(bin_dir / "gunicorn"), "--paste", str(ini), "-w", workers, "-k", "sync",
             "-b", f"127.0.0.1:{port}", "--timeout", "120"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=tmp, process_group=0)
        url = f"http://127.0.0.1:{port}/v1"
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if requests.get(url + "/__heartbeat__", timeout=2).ok:
                        break
                except requests.RequestException:
                    pass
                if proc.poll() is not None or time.monotonic() > deadline:
                    kill_group(proc)
                    raise RuntimeError("Kinto did not start")
                time.sleep(0.2)
            yield url, proc.pid
        finally:
            stop(proc)


class Clock:
    """Times a phase in wall seconds and in the server's CPU seconds (its processes and
    their children: gunicorn workers, PostgreSQL backends), the second being steadier on
    a shared machine."""

    def __init__(self, *pids: int):
        self.pids = pids

    def cpu(self) -> float:
        return sum(cpu_seconds(p) for p in self.pids)

    @contextmanager
    def phase(self, into: list) -> Iterator[None]:
        cpu, wall = self.cpu(), time.perf_counter()
        yield
        into.append((time.perf_counter() - wall, self.cpu() - cpu))


# --- Kinto workload ------------------------------------------------------------
class KintoClient:
    def __init__(self, url: str, batch: int):
        self.url, self.batch = url, batch
        self.s = requests.Session()
        self.s.auth = ("bench", "bench-password")
        self.s.headers.update(NO_GZIP)

    def setup(self, bucket: str, collection: str) -> None:
        self.s.put(f"{self.url}/buckets/{bucket}", json={}).raise_for_status()
        self.s.put(f"{self.url}/buckets/{bucket}/collections/{collection}",
                   json={}).raise_for_status()

    def batch_write(self, path: str, method: str, bodies: list[dict]) -> None:
        for i in range(0, len(bodies), self.batch):
            chunk = bodies[i:i + self.batch]
            r = self.s.post(self.url + "/batch", json={
                "defaults": {"method": method},
                "requests": [{"path": path.format(**b), "body": {"data": b}} for b in chunk]})
            r.raise_for_status()
            bad = [x["status"] for x in orjson.loads(r.content)["responses"] if x["status"] >= 400]
            assert not bad, bad

    def pull(self, path: str, since: str) -> tuple[int, str]:
        """(records, ETag) fetching everything newer than ``since``, in pages."""
        url: str | None = f"{self.url}{path}?_since={since}&_sort=last_modified&_limit={PAGE}"
        count, etag = 0, since
        first = True
        while url:
            r = self.s.get(url)
            r.raise_for_status()
            if first:
                etag, first = r.headers["ETag"].strip('"'), False
            count += len(orjson.loads(r.content)["data"])
            url = r.headers.get("Next-Page")
        return count, etag


def kinto_round(url: str, clock: Clock, batch: int, n: int, cycles: int, tag: str) -> dict:
    writer, reader = KintoClient(url, batch), KintoClient(url, batch)
    bucket, coll = "bench", f"c{tag}"
    if tag == WARM:
        writer.setup(bucket, coll)
    else:
        writer.s.put(f"{url}/buckets/{bucket}/collections/{coll}", json={}).raise_for_status()
    path = f"/buckets/{bucket}/collections/{coll}/records"
    bodies = [{"id": str(uuid.uuid4()), **household(i, "g")} for i in range(n)]
    upload: list = []
    pull_all: list = []
    deltas: list = []
    with clock.phase(upload):
        writer.batch_write(path, "POST", bodies)
    with clock.phase(pull_all):
        count, etag = reader.pull(path, "0")
    assert count == n, (count, n)
    for c in range(cycles):
        changed = [{"id": b["id"], "notes": f"changed {c}"}
                   for b in bodies[c * DELTA:(c + 1) * DELTA]]
        writer.batch_write(path + "/{id}", "PATCH", changed)
        with clock.phase(deltas):
            count, etag = reader.pull(path, etag)
        assert count == DELTA, (count, DELTA)
    return {"upload": upload, "pull_all": pull_all, "delta": deltas}


# --- gridsync workload ---------------------------------------------------------
def _enroll(s: requests.Session, url: str, admin: dict, person: str, grid: str) -> dict:
    s.post(url + "/people", json={"id": person, "name": person, "role": "worker",
                                  "grids": [grid]}, headers=admin).raise_for_status()
    code = s.post(url + "/enrollments", json={"person": person}, headers=admin).json()["code"]
    key = DeviceKey.generate()
    r = s.post(url + "/devices/enroll", json={"code": code, "public_key": key.public_key,
                                               "name": "bench",
                                               "proof": enrolment_proof(code, key)})
    r.raise_for_status()
    out = r.json()
    return {"key": key, "id": out["device_id"], "clock": HybridClock(out["device_id"]),
            "h": {"Authorization": f"Bearer {out['token']}", **NO_GZIP}}


def _push(s: requests.Session, url: str, dev: dict, changes: list[dict]) -> None:
    for i in range(0, len(changes), GRIDSYNC_BATCH):
        r = s.post(url + "/sync", json={"cursor": None, "changes": changes[i:i + GRIDSYNC_BATCH],
                                        "limit": 1}, headers=dev["h"])
        r.raise_for_status()
        bad = [x for x in orjson.loads(r.content)["results"] if x["status"] != "applied"]
        assert not bad, bad[:3]


def _pull(s: requests.Session, url: str, dev: dict, cursor: str | None) -> tuple[int, str]:
    count = 0
    while True:
        r = s.post(url + "/sync", json={"cursor": cursor, "changes": [], "limit": PAGE},
                   headers=dev["h"])
        r.raise_for_status()
        body = orjson.loads(r.content)
        count += sum(1 for c in body["changes"] if c["collection"] == "households")
        cursor = body["cursor"]
        if not body["has_more"]:
            return count, cursor


def gridsync_round(url: str, clock: Clock, token: str, n: int, cycles: int, tag: str
                   ) -> dict:
    s = requests.Session()
    admin = {"Authorization": f"Bearer {token}"}
    if tag == WARM:
        s.post(url + "/grids", json={"id": "c1", "name": "c", "parent": None}, headers=admin)
    grid = f"g{tag}"
    s.post(url + "/grids", json={"id": grid, "name": grid, "parent": "c1"},
           headers=admin).raise_for_status()
    writer = _enroll(s, url, admin, f"writer{tag}", grid)
    reader = _enroll(s, url, admin, f"reader{tag}", grid)
    ids = [str(uuid.uuid4()) for _ in range(n)]
    changes = [sign_change({"op": str(uuid.uuid4()), "collection": "households", "id": ids[i],
                            "hlc": writer["clock"].send(), "base": None, "deleted": False,
                            "fields": household(i, grid)}, writer["key"]) for i in range(n)]
    upload: list = []
    pull_all: list = []
    deltas: list = []
    with clock.phase(upload):
        _push(s, url, writer, changes)
    with clock.phase(pull_all):
        count, cursor = _pull(s, url, reader, None)
    assert count == n, (count, n)
    for c in range(cycles):
        mods = [sign_change({"op": str(uuid.uuid4()), "collection": "households", "id": id,
                             "hlc": writer["clock"].send(), "base": 1,
                             "deleted": False, "fields": {"notes": f"changed {c}"}},
                            writer["key"]) for id in ids[c * DELTA:(c + 1) * DELTA]]
        _push(s, url, writer, mods)
        with clock.phase(deltas):
            count, cursor = _pull(s, url, reader, cursor)
        assert count == DELTA, (count, DELTA)
    return {"upload": upload, "pull_all": pull_all, "delta": deltas}


# --- the comparison -------------------------------------------------------------
def pick_kinto_batch(url: str) -> int:
    """Kinto's faster batch size on this machine: its default maximum (25) or 500."""
    best, best_rate = 25, 0.0
    for size in (25, 500):
        client = KintoClient(url, size)
        coll = f"probe{size}"
        client.s.put(f"{url}/buckets/probe", json={}).raise_for_status()
        client.s.put(f"{url}/buckets/probe/collections/{coll}", json={}).raise_for_status()
        bodies = [{"id": str(uuid.uuid4()), **household(i, "g")} for i in range(1000)]
        t = time.perf_counter()
        client.batch_write(f"/buckets/probe/collections/{coll}/records", "POST", bodies)
        r = rate(len(bodies), time.perf_counter() - t)
        print(f"kinto batch size {size}: {r:,.0f} records/s (probe, 1,000 records)", flush=True)
        if r > best_rate:
            best, best_rate = size, r
    return best


def _median_rate(rounds: list[dict], key: str, count: int, which: int) -> float:
    """Records per second: which=0, of wall time (median over the phases); which=1, of
    server CPU time (summed over the phases: /proc counts CPU in 10 ms ticks)."""
    phases = [t for o in rounds for t in o[key]]
    if which == 0:
        return rate(count, statistics.median(t[0] for t in phases))
    return rate(count * len(phases), sum(t[1] for t in phases))


def run(records: int = 10_000, rounds: int = 3, cycles: int = 5, probe: bool = True
        ) -> list[dict]:
    results: dict[str, list[dict]] = {"gridsync": [], "kinto": []}
    with tempfile.TemporaryDirectory(prefix="gridsync-bench-kinto-") as tmp, \
            postgres() as (pg_url, pg_pid), kinto_server(pg_url, 500) as (kurl, kpid):
        data = Path(tmp) / "data"
        token = init_data_dir(data)
        with serve(data) as (gurl, gproc):
            backend = "postgresql" if pg_url else "memory"
            print(f"kinto backend: {backend}", flush=True)
            clocks = {"gridsync": Clock(gproc.pid),
                      "kinto": Clock(kpid, *([pg_pid] if pg_pid else []))}
            batch = pick_kinto_batch(kurl) if probe else 500

            def one_round(name: str, n: int, cycles: int, tag: str) -> dict:
                if name == "gridsync":
                    return gridsync_round(gurl, clocks[name], token, n, cycles, tag)
                return kinto_round(kurl, clocks[name], batch, n, cycles, tag)

            for name in ("gridsync", "kinto"):
                one_round(name, max(DELTA, records // 10), 1, WARM)
            for r in range(rounds):
                order = ("gridsync", "kinto") if r % 2 == 0 else ("kinto", "gridsync")
                for name in order:
                    out = one_round(name, records, cycles, str(r))
                    results[name].append(out)
                    print(f"round {r + 1} {name:<8} "
                          f"upload {_median_rate([out], 'upload', records, 0):>8,.0f}/s  "
                          f"pull all {_median_rate([out], 'pull_all', records, 0):>8,.0f}/s  "
                          f"pull {DELTA} changed {_median_rate([out], 'delta', DELTA, 0):>8,.0f}/s"
                          f"  (wall)", flush=True)
    figures = []
    for key, count, label in (("upload", records, "upload"), ("pull_all", records, "pull_all"),
                              ("delta", DELTA, "pull_changed")):
        g, k = (_median_rate(results[n], key, count, 0) for n in ("gridsync", "kinto"))
        gc, kc = (_median_rate(results[n], key, count, 1) for n in ("gridsync", "kinto"))
        fig = print_figure(f"kinto_{label}", g, k, "records/s (bound: Kinto's)")
        fig.update(kinto=k, gridsync=g, speedup=g / k, gridsync_per_cpu_s=gc,
                   kinto_per_cpu_s=kc, speedup_cpu=gc / kc, backend=backend,
                   kinto_batch=batch, records=count, rounds=rounds)
        print(f"{'':<22} gridsync {g:,.0f}/s vs Kinto ({backend}) {k:,.0f}/s: {g / k:.1f}x "
              f"wall; per server CPU second {gc:,.0f} vs {kc:,.0f}: {gc / kc:.1f}x", flush=True)
        figures.append(fig)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--cycles", type=int, default=5, help="delta pulls per round")
    parser.add_argument("--no-probe", action="store_true",
                        help="use batches of 500 for Kinto without probing 25 vs 500")
    args = parser.parse_args()
    run(args.records, args.rounds, args.cycles, not args.no_probe)


if __name__ == "__main__":
    from _common import exit_on_signals

    exit_on_signals()
    main()
