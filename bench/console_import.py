"""Office console figures: a 50,000-row roster import through the versioned record
path, and household search over 50,000 households.

- ``roster_import_rows_per_s``: the whole import of a template-filled .xlsx (read by
  server/services/xlsx_rows.py, every row checked, merged as a server change, stored
  with its seq and indexed), rows per second; bound 5,000 rows/s.
- ``roster_write_rows_per_s``: the write alone (``apply``), for comparison.
- ``roster_import_cpu_rows_per_s``: the whole import's rows per CPU-second of this
  process (plan and write; SQLite's own work runs in it too), which a busy machine
  barely moves: an estimate of the quiet machine's rate, less the waits for the disk.
- ``roster_write_vs_insert``: the same write rate against raw ``executemany`` inserts of
  the same record rows into a bare table, measured in this run (a ratio that holds on
  a busy machine; no target).
- ``household_search_p95_ms``: 95th percentile of ``search_households`` over mixed
  queries (trigram words, short words, names, misses); bound 50 ms.
- ``pg_roster_import_rows_per_s``, ``pg_household_search_p95_ms``: the same roster
  imported into PostgreSQL (GRIDSYNC_TEST_DATABASE_URL's server, else a throwaway
  cluster with fsync on, tests/pg_support.py) and the same searches there, through its
  pg_trgm index. ``--no-postgres`` leaves them out; without PostgreSQL they are skipped.
  A fifth of the searches are street names matching 6,250 households, past the first
  pass's cap of 1,000: they set the p95 on PostgreSQL, where every match is read through
  the index in one statement (page and count; 60 -> 15 ms against the planner's choice
  of a scan of every household) and two-character names scan every household (no
  trigram to look up) at about the same cost.

    .venv/bin/python bench/console_import.py [--rows 50000] [--queries 300] [--no-postgres]
"""

from __future__ import annotations

import argparse
import io
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from server.storage import Storage

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from _common import print_figure  # noqa: E402

STREETS = ["幸福路", "和平街", "建设大道", "人民路", "解放街", "光明巷", "春风里", "团结路"]
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗"
GIVEN = "芳明华伟秀英敏静丽强磊军洋勇艳杰娟涛超"


def roster(rows: int, grids: list[str]) -> bytes:
    from openpyxl import Workbook

    from server.services.roster_import import HOUSEHOLD_COLUMNS

    rnd = random.Random(7)
    book = Workbook(write_only=True)
    sheet = book.create_sheet("住户")
    sheet.append([zh for _f, zh, _en in HOUSEHOLD_COLUMNS])
    for i in range(rows):
        street = STREETS[i % len(STREETS)]
        sheet.append([f"H{i:06d}", grids[i % len(grids)],
                      f"{street}{i // 40 + 1}号{i % 6 + 1}单元{i % 40 + 101}室",
                      rnd.choice(SURNAMES) + rnd.choice(GIVEN) + rnd.choice(GIVEN),
                      rnd.randint(1, 6), 13800000000 + i,
                      "独居老人、低保" if i % 11 == 0 else None, None])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def raw_insert_rate(store: object) -> float:
    """Rows/s of plain executemany of the stored household rows into a bare table in a
    WAL file, 2,000 a commit (no indexes, triggers or merge): the floor cost of writing
    these rows on this machine, now."""
    import sqlite3

    rows = store.db.query("SELECT collection, id, seq, state FROM records "  # type: ignore[attr-defined]
                          "WHERE collection = 'households'")
    folder = tempfile.mkdtemp(prefix="bench-raw-")
    conn = sqlite3.connect(f"{folder}/raw.db")
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = FULL")      # as the server's own connections
    conn.execute("CREATE TABLE t (collection TEXT, id TEXT, seq INTEGER, state TEXT)")
    started = time.perf_counter()
    for i in range(0, len(rows), 2000):
        conn.executemany("INSERT INTO t VALUES (?, ?, ?, ?)", [tuple(r) for r in rows[i:i + 2000]])
        conn.commit()
    rate = len(rows) / (time.perf_counter() - started)
    conn.close()
    shutil.rmtree(folder, ignore_errors=True)
    return rate


def setup(store: Storage) -> list[str]:
    """Community c1 with 20 grids; their ids."""
    from server.services import directory
    from server.services.admin_scope import DISTRICT

    directory.create_grid(store, {"id": "c1", "name": "幸福社区", "parent": None}, DISTRICT)
    grids = [f"g{i}" for i in range(1, 21)]
    for gid in grids:
        directory.create_grid(store, {"id": gid, "name": f"第{gid[1:]}网格", "parent": "c1"},
                              DISTRICT)
    return grids


def queries(n: int, rows: int) -> list[str]:
    """Mixed searches: streets, address fragments, two-character names, phones, misses."""
    rnd = random.Random(11)
    out = []
    for i in range(n):
        kind = i % 5
        if kind == 0:
            out.append(rnd.choice(STREETS))                            # 3+ chars: trigram
        elif kind == 1:
            out.append(f"{rnd.randint(1, rows // 40)}号{rnd.randint(1, 6)}单元")
        elif kind == 2:
            out.append(rnd.choice(SURNAMES) + rnd.choice(GIVEN))        # 2 chars: a scan
        elif kind == 3:
            out.append(f"1380000{rnd.randint(0, rows - 1):04d}"[:11])
        else:
            out.append("无此地址")                                      # a miss
    return out


def search_p95(store: object, searches: list[str]) -> float:
    times = []
    for q in searches:
        t = time.perf_counter()
        store.fielddata.search_households(q, None, limit=100)  # type: ignore[attr-defined]
        times.append((time.perf_counter() - t) * 1000)
    times.sort()
    print(f"search: median {statistics.median(times):.1f} ms, max {times[-1]:.1f} ms")
    return times[int(len(times) * 0.95) - 1]


def on_postgresql(file: bytes, rows: int, searches: list[str]) -> None:
    """The same import and searches on PostgreSQL."""
    from server.bootstrap import initialise
    from server.services import roster_import
    from server.storage import open_storage
    from tests import pg_support as pg

    try:
        cluster = pg.server() if os.environ.get(pg.ENV_URL) else pg.start_cluster(durable=True)
    except pg.Unavailable as exc:
        print(f"PostgreSQL skipped: {exc}")
        return
    folder = tempfile.mkdtemp(prefix="bench-console-pg-")
    url = ""
    try:
        url = cluster.create_database("bench_console")
        initialise(folder + "/data", url)
        store = open_storage(url)
        setup(store)
        started = time.perf_counter()
        result = roster_import.apply(store, roster_import.plan(store, file, "bench"), "bench")
        rate = rows / (time.perf_counter() - started)
        assert result["households"] == rows, result
        store.db.execute("ANALYZE household_index")
        print_figure("pg_roster_import_rows_per_s", rate, 5000, "rows/s")
        print_figure("pg_household_search_p95_ms", search_p95(store, searches), 50, "ms")
        store.close()
    finally:
        from server.storage.postgres import close_pools

        close_pools()
        if url and os.environ.get(pg.ENV_URL):
            cluster.drop_database(url)             # a server we did not start
        cluster.stop()
        shutil.rmtree(folder, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()

    from server.bootstrap import initialise
    from server.services import roster_import
    from server.storage import open_storage

    folder = tempfile.mkdtemp(prefix="bench-console-")
    data = Path(folder) / "data"
    initialise(str(data))
    store = open_storage(str(data / "gridsync.db"))
    grids = setup(store)
    file = roster(args.rows, grids)
    print(f"roster: {args.rows:,} rows, {len(file) / 1e6:.1f} MB", flush=True)

    started, cpu = time.perf_counter(), time.process_time()
    plan = roster_import.plan(store, file, "bench")
    planned = time.perf_counter()
    shown = [0]

    def progress(done: int, total: int) -> None:
        if done - shown[0] >= total // 5 or done == total:
            print(f"  {done:,} / {total:,} rows", flush=True)
            shown[0] = done

    result = roster_import.apply(store, plan, "bench", progress)
    ended, cpu = time.perf_counter(), time.process_time() - cpu
    assert result["households"] == args.rows, result
    assert store.records.count("households") == args.rows
    again = roster_import.plan(store, file, "bench")
    assert again.counts["unchanged"] == args.rows and not again.households, again.counts

    print_figure("roster_import_rows_per_s", args.rows / (ended - started), 5000, "rows/s")
    print_figure("roster_write_rows_per_s", args.rows / (ended - planned), 5000, "rows/s")
    print_figure("roster_import_cpu_rows_per_s", args.rows / cpu, 5000, "rows/CPU-s")
    print_figure("roster_write_vs_insert", args.rows / (ended - planned),
                 raw_insert_rate(store), "rows/s (bound: raw inserts)")
    searches = queries(args.queries, args.rows)
    print_figure("household_search_p95_ms", search_p95(store, searches), 50, "ms")
    store.close()
    shutil.rmtree(folder, ignore_errors=True)
    if not args.no_postgres:
        on_postgresql(file, args.rows, searches)


if __name__ == "__main__":
    from _common import exit_on_signals

    exit_on_signals()
    main()
