"""A small sync: server CPU for one request that pushes 10 changes and pulls 100 records.

What a phone on patrol does many times a day. A worker's device holds a grid
of ``--households`` households (seeded through the storage API, as
bench/initial_pull.py does, beside 20,000 visits other workers recorded in
another grid) and its cursor; between two of its syncs a
colleague changes 90 households; the device then syncs once, pushing 10
signed visits and pulling the 100 records changed since its cursor (the 90
and its own 10). That one request is timed with ``time.process_time`` around
the app's WSGI call, in this process (the app as gunicorn runs it, without
gunicorn's own HTTP parsing), over ``--syncs`` syncs; the median is the figure
(target <= 2 ms).

Then as many more syncs run with a meter on (``Meter``: the functions that
start each phase wrapped, ``time.process_time`` in and out, a phase called
inside another taken out of the outer one) for the split of that CPU, in ms a
sync: auth, scope, cursor, the push (Ed25519 verify apart: what the protocol
costs for 10 signed changes), its writes, the pull, request parsing,
encoding (JSON, gzip), the commit (its BEGIN and COMMIT: the fsync's system
time) and Flask; SQL is counted apart, in the phase that runs it. Sampling
profilers (pyinstrument, py-spy) were tried first: their clock is wall time,
which on a shared 2-core machine measures the queue for a core as much as
the work, and at the 0.1 ms interval a 5 ms request needs, pyinstrument's
hook made a sync 10x slower and the split meaningless. The meter's own cost
(about 2 µs a wrapped call, calibrated) is taken out of the phase around each
call and printed on a line of its own.

What bounds the figure: three costs no change to the Python removes come to
about the 2 ms target by themselves, and the last line of the split adds them
up (a faster Ed25519 would move the first: libsodium's verify, through PyNaCl,
took 55 µs a signature here against OpenSSL's 103 µs, about 0.5 ms of the 10;
bench/sync_push.py's and bench/ledger_verify.py's bounds measure OpenSSL's).
The protocol's Ed25519 check of each signed change (``cryptography``'s
OpenSSL verify with the device's key object loaded once and cached, about
0.1 ms a change here: 1.0-1.2 ms for 10), the durable commit of the push
(``synchronous=FULL``: the WAL frames of about 20 pages and their fsync,
0.3-0.5 ms; the WAL's checkpoint runs after a response, at most once a second
a worker, and counts in the sync whose response it follows) and the pull's read
of 100 record views (0.35-0.4 ms). Everything else (Flask and werkzeug, the request log and
metrics hooks, body parsing and the request schema, auth, scope, cursor, the
checks, merges and writes of 10 changes, JSON and gzip) is 2-3 ms more,
spread over dozens of pieces of 0.05-0.35 ms; code that runs once a request
runs cold (a request log line: 79 µs after a sync, 19 µs in a loop).

The figure leaves out what gunicorn adds, and what a worker pays when others write:
bench/worker_split.py meters the same sync inside a gunicorn sync worker, a colleague
writing through another connection between two syncs. There it costs the worker
6-7 ms (load 4-10): gunicorn's own share 0.80-0.90 ms (parsing the request about 0.2,
its loop and accept 0.3, writing 0.11, closing the socket, select and the environ
0.06-0.07 each), and its SQL about twice what it is here, as another connection's
commit leaves the worker's page cache stale and SQLite reads each page again (a
memory-mapped database file, ``PRAGMA mmap_size``, took the pull's SQL from 0.55 to
0.31 ms there; not taken: it would bill the mapped file to the workers' RSS, and a
read error becomes a SIGBUS that kills the worker), plus the WAL checkpoint after a
response, about 0.3 ms a sync when spread over the syncs (it copies the colleague's
pages too). A trivial request (GET /health) costs a gunicorn worker 0.6-0.8 ms.

    .venv/bin/python bench/small_sync.py [--households 5000] [--syncs 60]
"""

from __future__ import annotations

import argparse
import atexit
import functools
import gzip
import os
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
from werkzeug.datastructures import Headers
from werkzeug.test import EnvironBuilder

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import init_data_dir, print_figure  # noqa: E402
from initial_pull import seed  # noqa: E402

from client_sdk.ids import uuid7  # noqa: E402
from server import create_app  # noqa: E402
from server.storage import open_storage  # noqa: E402
from server.storage.records import Placement, RecordWrite  # noqa: E402
from sync.crypto import DeviceKey  # noqa: E402
from sync.hlc import HybridClock, format_hlc  # noqa: E402
from sync.merge import merge  # noqa: E402
from sync.signing import enrolment_proof, sign_change  # noqa: E402

PUSHED, CHANGED = 10, 90
OTHER_VISITS = 20_000
"""Visits other workers recorded in another grid: the rest of the community's data."""
TARGET_MS = 2.0
"""Printed as the figure's bound (bench/run.py judges the target)."""
FLOOR = ("push: Ed25519 verify", "commit", "SQL in pull")
"""The phases that bound the figure from below (the module's docstring says why)."""



class Meter:
    """CPU time (``time.process_time``) per phase of a request, exclusive: a phase
    called inside another is taken out of the outer one. Installed by wrapping the
    functions that start each phase. A wrapped call costs a microsecond or two of its
    own, which lands in the phase around it: ``calibrate`` measures that cost, and each
    call's is taken out of the phase around it (or out of Flask's share, for a call in
    no phase) and shown on a line of its own."""

    def __init__(self) -> None:
        self.spent: dict[str, float] = defaultdict(float)
        self.stack: list[str] = []
        self.on = False
        self.cost = {False: 0.0, True: 0.0}  # a wrapped call's own CPU: plain, SQL phase
        self.overhead = self.outside = 0.0  # that cost, in all and for calls in no phase

    def enter(self, phase: str) -> float:
        self.stack.append(phase)
        return time.process_time()

    def leave(self, started: float, cost: float = 0.0) -> None:
        elapsed = time.process_time() - started
        phase = self.stack.pop()
        if self.on:
            self.spent[phase] += elapsed
            self.overhead += cost
            if self.stack:
                self.spent[self.stack[-1]] -= elapsed + cost
            else:
                self.outside += cost

    def wrap(self, owner: Any, name: str, phase: str | Callable[..., str]) -> None:
        original = getattr(owner, name)
        named = callable(phase)

        @functools.wraps(original)
        def timed(*args: Any, **kwargs: Any) -> Any:
            started = self.enter(phase(*args) if callable(phase) else phase)
            try:
                return original(*args, **kwargs)
            finally:
                self.leave(started, self.cost[named])

        setattr(owner, name, timed)

    def calibrate(self, calls: int = 20_000) -> None:
        """Measure what a wrapped call costs beyond the call itself (both kinds of
        phase: named, and worked out from a statement's SQL), then forget it."""
        def noop(*args: Any) -> None:
            return None

        sql = "SELECT seq, collection, id FROM records WHERE seq > ? " + "AND 1 " * 40
        for named in (False, True):
            holder: Any = type("Calibration", (), {"call": staticmethod(noop)})
            self.wrap(holder, "call", _statement(self) if named else "calibration")
            self.on, self.stack = True, ["outer"]
            runs = []
            for fn in (noop, holder.call, noop, holder.call):
                started = time.process_time()
                for _ in range(calls):
                    fn(None, sql)
                runs.append((time.process_time() - started) / calls)
            self.cost[named] = max(0.0, (runs[1] + runs[3] - runs[0] - runs[2]) / 2)
        self.on, self.stack = False, []
        self.spent.clear()
        self.overhead = self.outside = 0.0


def _statement(meter: Meter) -> Callable[..., str]:
    """The phase of a statement: the commit (and its BEGIN), or SQL in the phase
    that runs it."""
    def phase(db: Any, sql: str, *rest: Any) -> str:
        if sql.lstrip().upper().startswith(("COMMIT", "BEGIN")):
            return "commit"
        return f"SQL in {meter.stack[-1] if meter.stack else 'Flask'}"
    return phase


def install(meter: Meter) -> None:
    """Wrap the functions that start each phase of a sync (the gzip hook: meter_hook)."""
    import server.api.blueprint as blueprint
    import server.auth as auth
    import server.services.sync as sync_service
    import server.services.sync.cursors as cursors
    import server.services.sync.push as push
    import server.services.sync.service as service
    import server.services.sync.writes as writes
    from server.storage.connection import Database

    meter.wrap(auth, "authenticate", "auth")
    meter.wrap(auth, "request_json", "request parsing")
    meter.wrap(blueprint.BodyParser, "parse", "request parsing")
    meter.wrap(service, "device_scope", "scope")
    meter.wrap(cursors, "read_keys", "cursor")
    meter.wrap(cursors, "check", "cursor")
    meter.wrap(cursors, "issue", "cursor")
    meter.wrap(push.Push, "check", "push: checks")
    meter.wrap(push, "verify_change", "push: Ed25519 verify")
    meter.wrap(push.Push, "apply", "push: apply")
    meter.wrap(writes.WriteBuffer, "prefetch", "push: apply")
    meter.wrap(push.Push, "flush", "push: writes")
    meter.wrap(service, "pull", "pull")
    meter.wrap(sync_service, "sync", "sync service: the rest")  # the view calls it here
    meter.wrap(orjson, "dumps", "encoding: JSON")
    for name in ("execute", "executemany", "query", "tuples", "one", "scalar"):
        meter.wrap(Database, name, _statement(meter))


class Phone:
    """An enrolled device talking to the app in-process."""

    def __init__(self, app: Any, admin: str, person: str, grid: str):
        self.app, self.client = app, app.test_client()
        admin_h = {"Authorization": f"Bearer {admin}"}
        self.client.post("/api/v1/people", json={"id": person, "name": person,
                                                 "role": "worker", "grids": [grid]},
                         headers=admin_h)
        code = self.client.post("/api/v1/enrollments", json={"person": person},
                                headers=admin_h).get_json()["code"]
        self.key = DeviceKey.generate()
        out = self.client.post("/api/v1/devices/enroll", json={
            "code": code, "public_key": self.key.public_key, "name": "bench",
            "proof": enrolment_proof(code, self.key)}).get_json()
        self.token, self.clock = out["token"], HybridClock(out["device_id"])
        self.cursor: str | None = None

    def change(self, collection: str, fields: dict, id: str | None = None,
               base: int | None = None) -> dict:
        # ids as the field client makes them (client_sdk.ids): time-ordered UUIDv7
        return sign_change({"op": uuid7(), "collection": collection,
                            "id": id or uuid7(), "hlc": self.clock.send(),
                            "base": base, "deleted": False, "fields": fields}, self.key)

    def environ(self, changes: list[dict], limit: int = 500) -> dict:
        body = orjson.dumps({"cursor": self.cursor, "changes": changes, "limit": limit})
        return EnvironBuilder(path="/api/v1/sync", method="POST", data=body, headers=Headers({
            "Authorization": f"Bearer {self.token}", "Content-Type": "application/json",
            "Accept-Encoding": "gzip"})).get_environ()

    def call(self, environ: dict) -> dict:
        return self.timed_call(environ)[1]

    def timed_call(self, environ: dict) -> tuple[float, dict]:
        """(the server's CPU for the request, the answer): ``process_time`` around the
        WSGI call and the reading of its body, not around this client's gunzip and parse."""
        status: list[str] = []
        started = time.process_time()
        chunks = self.app(environ, lambda s, h, e=None: status.append(s))
        body = b"".join(chunks)
        getattr(chunks, "close", lambda: None)()
        spent = time.process_time() - started
        out = orjson.loads(gzip.decompress(body) if body[:2] == b"\x1f\x8b" else body)
        if not status[0].startswith("200"):
            raise RuntimeError(f"sync answered {status[0]}: {out}")
        self.cursor = out["cursor"]
        return spent, out

    def pull_all(self) -> None:
        while self.call(self.environ([], 5000))["has_more"]:
            pass


def household(i: int) -> dict:
    return {"grid": "g1", "address": f"幸福路 {i} 号", "head_name": "张三", "members": 2,
            "tags": [], "phone": "13800000000", "notes": "入户走访"}


def seed_other_visits(data: Path, visits: int) -> None:
    """``visits`` visits by 20 other workers in another grid of the community: records a
    device never pulls, which a pull must not read either."""
    store = open_storage(str(data / "gridsync.db"))
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    wall = int(time.time() * 1000) - 3_600_000
    with store.transaction():
        store.directory.add_grid(id="g2", name="grid 2", parent="c1", at=now)
    seq = store.records.last_seq()
    rows = []
    for i in range(visits):
        seq += 1
        change = {"op": str(uuid.uuid4()), "collection": "visits", "id": str(uuid.uuid4()),
                  "hlc": format_hlc(wall + i, 0, "seed"), "base": None, "deleted": False,
                  "fields": {"household": str(uuid.uuid4()), "visited_at": now,
                             "outcome": "met", "notes": "入户走访"}}
        rows.append(RecordWrite(merge(None, change, device_id="seed").state, seq,
                                Placement(grid="g2", author=f"other{i % 20}"), now))
    with store.transaction():
        store.records.put_many(rows)
    store.close()


def make_world(households: int, meter: Meter
               ) -> tuple[Any, Callable[[], tuple[float, dict]]]:
    """The app, a colleague and the phone; returns (the app, one timed sync: ``meter``
    counts during that sync only)."""
    tmp = tempfile.mkdtemp(prefix="gridsync-bench-small-")
    atexit.register(shutil.rmtree, tmp, True)  # ~50 MB of data dir a run
    data = Path(tmp) / "data"
    admin = init_data_dir(data)
    seed(data, households)
    seed_other_visits(data, OTHER_VISITS)
    # The request log stays on, as in production (one JSON line a request), into the void.
    app = create_app({"DATA_DIR": str(data), "LOG_FILE": os.devnull})
    colleague, phone = Phone(app, admin, "w1", "g1"), Phone(app, admin, "w2", "g1")
    ids: list[str] = []
    for start in range(0, 1000, 500):  # households the colleague keeps changing
        batch = [colleague.change("households", household(i)) for i in range(start, start + 500)]
        colleague.call(colleague.environ(batch, 1))
        ids += [c["id"] for c in batch]
    phone.pull_all()
    n = 0

    def timed() -> tuple[float, dict]:
        nonlocal n
        n += 1
        colleague.call(colleague.environ(
            [colleague.change("households", {"notes": f"第 {n} 次走访"},
                              id=ids[(n * CHANGED + j) % len(ids)]) for j in range(CHANGED)], 1))
        environ = phone.environ([
            phone.change("visits", {"household": ids[j], "visited_at": "2026-12-01T10:00:00Z",
                                    "outcome": "met", "notes": "走访", "hazards": []})
            for j in range(PUSHED)])
        meter.on = True
        try:
            return phone.timed_call(environ)
        finally:
            meter.on = False

    return app, timed


def syncs_cpu(timed: Callable[[], tuple[float, dict]], syncs: int) -> list[float]:
    cpu = []
    for _ in range(syncs):
        spent, out = timed()
        cpu.append(spent)
        assert len(out["changes"]) == PUSHED + CHANGED, len(out["changes"])
        assert {r["status"] for r in out["results"]} == {"applied"}, out["results"][:2]
    return cpu


def run(households: int = 5000, syncs: int = 60) -> list[dict]:
    meter = Meter()
    app, timed = make_world(households, meter)
    syncs_cpu(timed, 5)  # warm up: caches, the first statements prepared
    cpu = syncs_cpu(timed, syncs)
    value = statistics.median(cpu) * 1000
    fig = print_figure("small_sync_cpu_ms", value, TARGET_MS,
                       f"ms server CPU (push {PUSHED}, pull {PUSHED + CHANGED})")
    fig.update(syncs=syncs, households=households,
               p90_ms=sorted(cpu)[int(len(cpu) * 0.9)] * 1000)

    meter.calibrate()
    install(meter)
    hooks = app.after_request_funcs[None]
    hooks[:] = [meter_hook(meter, h) if h.__name__ == "compress_response" else h for h in hooks]
    metered = sum(syncs_cpu(timed, syncs)) * 1000 / syncs
    per = {k: v * 1000 / syncs for k, v in meter.spent.items()}
    per["the meter itself"] = meter.overhead * 1000 / syncs
    per["Flask, werkzeug, the rest"] = metered - sum(per.values())
    print(f"{'':<22} CPU split, ms a sync (process_time, {syncs} syncs, "
          f"{metered:.2f} ms each with the meter on):", flush=True)
    for phase, ms in sorted(per.items(), key=lambda kv: -kv[1]):
        print(f"{'':<24} {phase:<28} {ms:6.3f} ms  {ms / metered:4.0%}", flush=True)
    sql = sum(ms for phase, ms in per.items() if phase.startswith("SQL"))
    print(f"{'':<24} {'of which SQL, in all':<28} {sql:6.3f} ms  {sql / metered:4.0%}",
          flush=True)
    floor = sum(per.get(phase, 0.0) for phase in FLOOR)
    print(f"{'':<24} {'verify + commit + pull read':<28} {floor:6.3f} ms: what no Python "
          f"change removes, against the {TARGET_MS} ms target", flush=True)
    fig.update(split_ms=per, metered_ms=metered, sql_ms=sql, floor_ms=floor)
    return [fig]


def meter_hook(meter: Meter, hook: Callable) -> Callable:
    holder: Any = type("Hook", (), {"hook": staticmethod(hook)})
    meter.wrap(holder, "hook", "encoding: gzip")
    return holder.hook


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--households", type=int, default=5000)
    parser.add_argument("--syncs", type=int, default=60)
    args = parser.parse_args()
    run(args.households, args.syncs)


if __name__ == "__main__":
    from _common import exit_on_signals

    exit_on_signals()
    main()
