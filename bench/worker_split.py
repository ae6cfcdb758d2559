"""Where one request's CPU goes inside a real gunicorn sync worker, phase by phase.

bench/small_sync.py times a small sync through the app's WSGI call in-process, and
bench/initial_pull.py a new device's whole pull through HTTP; neither says what gunicorn
itself costs, nor what a page pays besides its records. This starts ``gridsync serve``
with one sync worker and bench/worker_meter.py as its gunicorn config (a
``time.process_time`` meter wrapped around the functions that start each phase, in the
app, in Flask and in gunicorn: ``small_sync.Meter``) and meters two loads over
``--requests`` requests each, after a warm-up:

- ``page_500``: a new device pulling a ``--households`` grid in pages of 500, from
  ``cursor: null`` to the end and again (bench/initial_pull.py's pages of 500);
- ``small_sync``: bench/small_sync.py's sync (push 10 signed visits, pull the 100 records
  changed since the device's cursor) over HTTP. A colleague's 90 changes between two
  syncs are written by this process through an app of its own on the same database, as
  another worker would write them: the worker's SQLite connection finds its page cache
  stale at each sync and reads the pages again, as it does in production with several
  workers (in bench/small_sync.py one connection writes and reads, and its cache stays
  warm: SQL there is about half of what it is here).

For each load it prints the worker's CPU a request (user and system: a loopback write
runs the receiver's TCP work in the sender's system time), then each phase's exclusive
CPU a request, grouped: gunicorn (parsing, environ, writing, closing, select; "its
loop" is what no phase holds: accept, ``notify``, the meter's hooks), Flask's own steps,
the app's hooks (request id, body length, request log, metrics, checkpoint), and the
app's phases as bench/small_sync.py names them (SQL counted in the phase that runs it).
Wrapped calls run cold like the rest of a request: a hook that costs 20 us in a loop
costs 30-60 us here, and the sum is what the request costs, not what its pieces cost
alone.

    .venv/bin/python bench/worker_split.py [--households 50000] [--requests 300]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import orjson
import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import init_data_dir, serve  # noqa: E402
from initial_pull import seed  # noqa: E402
from small_sync import CHANGED, OTHER_VISITS, PUSHED, Phone, household, seed_other_visits  # noqa: E402

from server import create_app  # noqa: E402

METER_CONFIG = Path(__file__).resolve().parent / "worker_meter.py"
WARM_UP = 30
GROUPS = ("gunicorn", "Flask", "hook", "app")


def group(phase: str) -> str:
    head = phase.split(":")[0]
    return head if head in GROUPS else "app"


def metered(url: str, request: Callable[[], None], requests_: int, out: Path) -> dict:
    """``request`` ``WARM_UP`` times, then ``requests_`` times between the meter's start
    and stop (bench/worker_meter.py); the window's figures a request."""
    for _ in range(WARM_UP):
        request()
    requests.get(url + "/health", headers={"X-Bench-Meter": "start"}).raise_for_status()
    for _ in range(requests_):
        request()
    requests.get(url + "/health", headers={"X-Bench-Meter": f"stop {out}"}).raise_for_status()
    figures: dict = json.loads(out.read_text())
    return figures


def report(name: str, figures: dict) -> dict:
    # SQL with no phase around it runs after the app's call: the WAL checkpoint that
    # follows a response that wrote (server/state.py), in gunicorn's close of the response.
    phases = {("SQL after the response (WAL checkpoint)" if p == "SQL in Flask" else p): ms
              for p, ms in figures["phases_ms"].items()}
    phases["gunicorn: its loop (accept, the rest)"] = figures["cpu_ms"] - sum(phases.values())
    print(f"{name}: worker CPU {figures['cpu_ms']:.3f} ms a request (user "
          f"{figures['user_ms']:.2f}, system {figures['system_ms']:.2f}), "
          f"{figures['requests']} requests", flush=True)
    for each in GROUPS:
        mine = sorted(((p, ms) for p, ms in phases.items() if group(p) == each),
                      key=lambda kv: -kv[1])
        total = sum(ms for _, ms in mine)
        print(f"  {each:<44} {total:6.3f} ms  {total / figures['cpu_ms']:4.0%}", flush=True)
        for phase, ms in mine:
            print(f"      {phase:<40} {ms:6.3f} ms", flush=True)
    return {"name": f"worker_split_{name}", **figures, "phases_ms": phases}


def run(households: int = 50_000, requests_: int = 300, other_visits: int = OTHER_VISITS
        ) -> list[dict]:
    with tempfile.TemporaryDirectory(prefix="gridsync-bench-split-") as tmp:
        data = Path(tmp) / "data"
        admin = init_data_dir(data)
        seed(data, households)
        seed_other_visits(data, other_visits)
        app = create_app({"DATA_DIR": str(data), "LOG_FILE": os.devnull})
        colleague, phone, fresh = (Phone(app, admin, name, "g1") for name in ("w1", "w2", "w3"))
        ids: list[str] = []
        for start in range(0, 1000, 500):  # households the colleague keeps changing
            batch = [colleague.change("households", household(i))
                     for i in range(start, start + 500)]
            colleague.call(colleague.environ(batch, 1))
            ids += [c["id"] for c in batch]
        phone.pull_all()
        figures = []
        with serve(data, workers=1, config=METER_CONFIG) as (url, _proc):
            http = requests.Session()

            def sync(device: Phone, changes: list[dict], limit: int) -> dict:
                r = http.post(url + "/sync", data=orjson.dumps(
                    {"cursor": device.cursor, "changes": changes, "limit": limit}), headers={
                    "Authorization": f"Bearer {device.token}",
                    "Content-Type": "application/json", "Accept-Encoding": "gzip"})
                r.raise_for_status()
                out: dict = orjson.loads(r.content)
                return out

            def page() -> None:
                out = sync(fresh, [], 500)
                fresh.cursor = out["cursor"] if out["has_more"] else None  # then again

            n = 0

            def small() -> None:
                nonlocal n
                n += 1
                colleague.call(colleague.environ(
                    [colleague.change("households", {"notes": f"第 {n} 次走访"},
                                      id=ids[(n * CHANGED + j) % len(ids)])
                     for j in range(CHANGED)], 1))
                out = sync(phone, [phone.change("visits", {
                    "household": ids[j], "visited_at": "2026-12-01T10:00:00Z",
                    "outcome": "met", "notes": "走访", "hazards": []}) for j in range(PUSHED)],
                    500)
                assert len(out["changes"]) == PUSHED + CHANGED, len(out["changes"])
                phone.cursor = out["cursor"]

            for name, request in (("page_500", page), ("small_sync", small)):
                figures.append(report(name, metered(url, request, requests_,
                                                    Path(tmp) / f"{name}.json")))
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--households", type=int, default=50_000)
    parser.add_argument("--requests", type=int, default=300)
    args = parser.parse_args()
    run(args.households, args.requests)


if __name__ == "__main__":
    from _common import exit_on_signals

    exit_on_signals()
    main()
