"""Cases: the 办结率 report over a million cases, and syncing cases to a phone.

case_report_1m_seconds: ``GET /api/v1/reports/cases`` for one community
holding 1,000,000 cases received over a year (categories, statuses,
ratings, due dates and hours to close spread like a real office's), timed
through the service in-process (median of a few runs). Target: under 1 s.
Printed beside it, as its bound, one bare indexed scan counting the same
rows: what any report computed from the cases themselves would pay at least
(the ratio is report / scan: below 1, the tally beats scanning). The cases are
seeded straight into the case index (the table the report reads) with
``executemany``: a million signed pushes would take far longer than the
report being measured.

case_sync_10k: a worker's phone pulls 10,000 cases of its grid from a fresh
cursor through ``gridsync serve`` (page limit 500, gzip), against the rate
at which a second phone pulls 10,000 households of another grid from the
same server in the same run: the median of nine rounds' ratios, the two
pulls of a round in alternating order. Target: ratio >= 0.9 (cases sync at the
households' rate). Both are seeded through the storage API as in
initial_pull.py. Printed under it, the server's CPU a record for each pull
(gunicorn's processes, from /proc): the rest of the wall time is the client's
(gunzip, JSON parsing) and the network's.

What bounds case_sync_10k: a case's stored state has a stamp for each of its 20 fields
(2.2 KB) and its view is 1.7x a household's bytes (543 B against 315 B); every field
of that view is the contract's (docs/protocol.md: server-set fields always present,
null until set), so the bytes stay. Until migration 17 the views were read from the
records rows, and a case's row fills a 4 KB SQLite page by itself where two households
share one: about 2.5 us a case against 1.8 us a household in-process. Read by key from
a table of their own (``pull_views``, dense pages) they take about 1.5 against 1.2 us,
and a pull's server CPU a record went, in runs of both versions side by side under
gunicorn at load 3-5, from 9.7 to 8.3-8.7 us a case and 7.2-7.9 to 6.9-7.3 us a
household (0.75-0.81 -> 0.83 per server CPU second; pages of 5,000: 6.1 -> 3.5 us a
case, 3.6 -> 3.1 us a household). The view is moved out of the records row, not
copied, so writing it costs a new record about 1 us (put_many of 500 households with
its commit, 73-77 against 71-76 us a household, load 7) and a new version of one 5-7
us (82-87 against 76-80 us: the old seq's view is deleted), against 1-2.6 us less
each time a case is pulled and 0.3-0.6 us a household; on PostgreSQL the views' insert
runs under the write lock (pg_write_lock_share 18-20 -> 22-25 %, bench/postgres.py).
What is left between the two is bytes: gzip costs both about 1 us a record (their
views compress alike), the client parses 1.7x the JSON a case, and a case's first
page reads past the households' seqs once. The wall-clock rounds spread widely on a
busy machine (0.5 to 1.5 in one run), so the figure's median moves by 0.1 run to run.

Usage: python bench/cases.py [--cases 1000000] [--sync 10000]
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import init_data_dir, print_figure, rate, serve  # noqa: E402
from initial_pull import cpu_seconds, enroll_worker, pull_all  # noqa: E402
from initial_pull import seed as seed_households  # noqa: E402

from server import clock  # noqa: E402
from server.services.case_report import case_report  # noqa: E402
from server.services.cases import index_row  # noqa: E402
from server.services.community_time import local_day  # noqa: E402
from server.storage import SqlStorage, Storage, open_storage  # noqa: E402
from server.storage.records import Placement, RecordWrite  # noqa: E402
from sync.cases import new_case  # noqa: E402

CATEGORIES = ("road", "elderly", "noise", "sanitation", "safety", "greening", "water", "other")
GRIDS = tuple(f"g{n}" for n in range(1, 21))
DAY_MS = 86_400_000
ZONE = "Asia/Shanghai"  # the report's default when no rules are set


def _grids(store: Storage, now: str) -> None:
    with store.transaction():
        store.directory.add_grid(id="c1", name="社区", parent=None, at=now)
        for grid in GRIDS:
            store.directory.add_grid(id=grid, name=grid, parent="c1", at=now)


def seed_index(data: Path, n: int) -> float:
    """``n`` rows of the case index over the past 365 days; returns seconds."""
    rng = random.Random(7)
    store = open_storage(str(data / "gridsync.db"))
    now_ms = clock.now_ms()
    _grids(store, clock.iso(now_ms))
    with store.transaction():
        store.cases.rebuild_tally(ZONE, lambda c: local_day(c, ZONE))  # empty: sets the zone
    started = time.perf_counter()
    batch = []
    for _ in range(n):
        created = now_ms - rng.randrange(365 * DAY_MS)
        status = rng.choices(("closed", "cancelled", "open", "assigned", "accepted", "done"),
                             (96, 1, 1, 1, 0.5, 0.5))[0]
        hours = rng.randrange(1, 96) if status == "closed" else None
        closed_at = clock.iso(created + hours * 3_600_000) if hours else None
        batch.append({
            "id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            "grid": rng.choice(GRIDS), "community": "c1",
            "kind": rng.choice(("report", "patrol", "wish")),
            "category": rng.choice(CATEGORIES), "status": status,
            "assignee": None, "difficulty": rng.randint(1, 3),
            "rating": rng.choices((None, 5, 4, 3, 2, 1), (30, 50, 12, 5, 2, 1))[0]
            if status == "closed" else None,
            "points": 0, "created_at": clock.iso(created),
            "due_at": clock.iso(created + 3 * DAY_MS), "done_at": closed_at,
            "closed_at": closed_at, "hours_to_close": hours, "updated_at": clock.iso(created),
            "day": local_day(clock.iso(created), ZONE)})
        if len(batch) == 50_000:
            with store.transaction():
                store.cases.index(batch)
            batch = []
    if batch:
        with store.transaction():
            store.cases.index(batch)
    seconds = time.perf_counter() - started
    store.close()
    return seconds


def scan_bound(store: SqlStorage, start: str, end: str) -> float:
    """Seconds for one bare indexed scan counting the report's rows (what a report
    computed from the cases themselves could not beat)."""
    started = time.perf_counter()
    store.db.scalar("SELECT count(*) FROM cases WHERE community = 'c1' AND created_at >= ? "
                    "AND created_at < ?", (start, end))
    return time.perf_counter() - started


def report_figure(n: int, repeats: int = 3) -> dict:
    from server.services.community_time import utc_bound

    with tempfile.TemporaryDirectory(prefix="gridsync-bench-cases-") as tmp:
        data = Path(tmp) / "data"
        init_data_dir(data)
        print(f"seeded {n:,} cases into the case index in {seed_index(data, n):.1f} s",
              flush=True)
        store = open_storage(str(data / "gridsync.db"), migrate_schema=False)
        today = dt.date.today()
        start, end = today - dt.timedelta(days=370), today + dt.timedelta(days=2)
        store.db.execute("ANALYZE")
        times, bounds = [], []
        for _ in range(repeats):
            t = time.perf_counter()
            out = case_report(store, "c1", start, end)
            times.append(time.perf_counter() - t)
            bounds.append(scan_bound(store, utc_bound(start, "Asia/Shanghai"),
                                     utc_bound(end, "Asia/Shanghai")))
        store.close()
    assert out["received"] == n, out
    value, bound = statistics.median(times), statistics.median(bounds)
    fig = print_figure("case_report_1m_seconds" if n == 1_000_000 else "case_report_seconds",
                       value, bound, f"s for {n:,} cases (bound: bare indexed count)")
    fig.update(cases=n, all_seconds=times,
               closure_rate_bp=out["closure_rate_bp"], target="< 1 s", **{"pass": value < 1.0})
    print(f"{'':<22} closure rate {out['closure_rate_bp'] / 100:.2f} %, median "
          f"{out['median_hours_to_close']} h, satisfaction {out['satisfaction_bp'] / 100:.2f} %",
          flush=True)
    return fig


def seed_cases(data: Path, n: int, grid: str) -> None:
    """``n`` cases of ``grid`` as records plus their index rows (storage API)."""
    store = open_storage(str(data / "gridsync.db"))
    now = clock.iso()
    with store.transaction():
        if store.directory.grid("c1") is None:
            store.directory.add_grid(id="c1", name="community", parent=None, at=now)
        store.directory.add_grid(id=grid, name=grid, parent="c1", at=now)
    wall = clock.now_ms() - 3_600_000
    seq = store.records.last_seq()
    for start in range(0, n, 5000):
        rows, index = [], []
        for i in range(start, min(start + 5000, n)):
            hlc = f"{wall + i // 100:015d}:{i % 100:05d}:seed"
            fields = new_case({"grid": grid, "kind": "report", "category": "road",
                               "title": f"三号楼 {i} 单元路灯不亮",
                               "detail": "好几天了，晚上看不清",
                               "reporter_phone": f"139{i:08d}"}, created_by=None, at=now)
            meta = {k: {"hlc": hlc, "version": 1, "op": "seed", "device": "seed"}
                    for k in (*fields, "deleted")}
            state = {"collection": "cases", "id": str(uuid.uuid4()), "version": 1,
                     "deleted": False, "fields": fields, "meta": meta}
            seq += 1
            rows.append(RecordWrite(state, seq, Placement(grid=grid), now))
            index.append(index_row(state, community="c1", at=now, zone=ZONE))
        with store.transaction():
            store.records.put_many(rows)
            store.cases.index(index)
    store.close()


def sync_figure(n: int, rounds: int = 9) -> dict:
    """``rounds`` rounds, each a new phone pulling the households and another the cases,
    in alternating order (the machine's drift hits both alike), after an uncounted
    warm-up pull of each; the figure is the median of the rounds' ratios."""
    with tempfile.TemporaryDirectory(prefix="gridsync-bench-casesync-") as tmp:
        data = Path(tmp) / "data"
        admin = init_data_dir(data)
        seed_households(data, n, grid="gh")  # makes c1 and gh
        seed_cases(data, n, "gc")
        runs: dict[str, list[tuple[int, int, float, float]]] = {"gh": [], "gc": []}
        with serve(data) as (url, proc):
            for r in range(-1, rounds):
                for grid in ("gh", "gc") if r % 2 == 0 else ("gc", "gh"):
                    phone = enroll_worker(url, admin, f"w{grid}{r + 1}", grid=grid)
                    before = cpu_seconds(proc.pid)
                    records, pages, seconds = pull_all(url, phone["token"], 500)
                    assert records >= n, (grid, records, n)
                    if r >= 0:  # round -1 warms both up
                        runs[grid].append((records, pages, seconds,
                                           cpu_seconds(proc.pid) - before))
    ratios = [rate(c[0], c[2]) / rate(h[0], h[2])
              for c, h in zip(runs["gc"], runs["gh"], strict=True)]
    c_records, pages = runs["gc"][0][0], runs["gc"][0][1]
    h_records = runs["gh"][0][0]
    c_seconds, h_seconds = (statistics.median(x[2] for x in runs[g]) for g in ("gc", "gh"))
    c_cpu, h_cpu = (statistics.median(x[3] for x in runs[g]) for g in ("gc", "gh"))
    fig = print_figure("case_sync_10k" if n == 10_000 else "case_sync", rate(c_records, c_seconds),
                       rate(h_records, h_seconds), "cases/s (bound: households/s)",
                       ratio=statistics.median(ratios))
    print(f"{'':<22} rounds' ratios {', '.join(f'{x:.2f}' for x in ratios)} (the figure: "
          "their median)", flush=True)
    # The split: what the server spent a record (the rest of the wall time is the
    # client's gunzip and JSON parsing, and the network): a case's view is about 1.7x a
    # household's bytes, and its stored state (per-field stamps) about 1.9x.
    print(f"{'':<22} server CPU a record: cases {c_cpu / c_records * 1e6:.1f} us, "
          f"households {h_cpu / h_records * 1e6:.1f} us (medians; per server CPU second, "
          f"ratio {rate(c_records, c_cpu) / rate(h_records, h_cpu):.2f})", flush=True)
    fig.update(seconds=c_seconds, pages=pages, households_seconds=h_seconds, target="ratio >= 0.9",
               server_cpu_seconds=c_cpu, households_server_cpu_seconds=h_cpu,
               all_ratios=ratios, **{"pass": statistics.median(ratios) >= 0.9})
    return fig


def run(cases: int = 1_000_000, sync: int = 10_000) -> list[dict]:
    return [report_figure(cases), sync_figure(sync)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--sync", type=int, default=10_000)
    args = parser.parse_args()
    run(args.cases, args.sync)


if __name__ == "__main__":
    from _common import exit_on_signals

    exit_on_signals()
    main()
