"""Field client memory on a big first pull: peak Python memory must be flat in dataset size.

One server data dir is seeded through the server's storage API (the same
``sync.merge`` the server applies, then ``RecordStore.put_many``) with two
grids: ``gs`` holding ``--small`` households and ``gl`` holding ``--large``.
``gridsync serve`` (gunicorn) then starts on it, a worker of each grid
enrols a ``FieldClient`` (``HttpTransport``, page limit ``--limit``) and
pulls its whole grid in one ``sync()`` from an empty store, under
``tracemalloc``. The peak counts only what the client allocates during the
sync (the server runs in other processes).

Prints, per size, the peak in MB, and then

    client_pull_peak   <large peak> MB   bound <small peak>   ratio <large/small>

where the ratio should stay near 1 (docs/design.md: "memory flat in dataset size")
though the large grid is ``large/small`` times bigger. Times are printed for
information only: tracemalloc slows Python down several times.

    .venv/bin/python bench/client_pull_memory.py                # 10,000 vs 50,000
    .venv/bin/python bench/client_pull_memory.py --quick        # 2,000 vs 10,000
"""

from __future__ import annotations

import argparse
import gc
import sys
import tempfile
import time
import tracemalloc
import uuid
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import init_data_dir, print_figure, serve  # noqa: E402

from client_sdk import FieldClient, HttpTransport  # noqa: E402
from server.storage import open_storage  # noqa: E402
from server.storage.records import Placement, RecordWrite  # noqa: E402
from sync.hlc import format_hlc  # noqa: E402
from sync.merge import merge  # noqa: E402

SEED_BATCH = 5_000


def seed(data: Path, grids: dict[str, int]) -> None:
    """``grids``: grid id → households to write, all through the storage API."""
    store = open_storage(str(data / "gridsync.db"))
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    wall = int(time.time() * 1000) - 3_600_000
    with store.transaction():
        store.directory.add_grid(id="c1", name="community", parent=None, at=now)
        for grid in grids:
            store.directory.add_grid(id=grid, name=grid, parent="c1", at=now)
    seq = store.records.last_seq()
    for grid, count in grids.items():
        for start in range(0, count, SEED_BATCH):
            rows = []
            for i in range(start, min(start + SEED_BATCH, count)):
                change = {
                    "op": str(uuid.uuid4()), "collection": "households",
                    "id": str(uuid.uuid4()), "base": None, "deleted": False,
                    "hlc": format_hlc(wall + i // 100, i % 100, "seed"),
                    "fields": {"grid": grid, "address": f"幸福路 {i} 号 {i % 30} 栋",
                               "head_name": "张三", "members": 1 + i % 6,
                               "tags": ["独居老人"] if i % 5 == 0 else [],
                               "phone": f"138{i:08d}", "notes": "入户走访：家中有老人需要照顾"}}
                seq += 1
                rows.append(RecordWrite(merge(None, change, device_id="seed").state, seq,
                                        Placement(grid=grid), now))
            with store.transaction():
                store.records.put_many(rows)
    store.close()


def enrolment_code(url: str, admin: str, person: str, grid: str) -> str:
    h = {"Authorization": f"Bearer {admin}"}
    requests.post(url + "/api/v1/people", json={"id": person, "name": person, "role": "worker",
                                                "grids": [grid]}, headers=h).raise_for_status()
    r = requests.post(url + "/api/v1/enrollments", json={"person": person}, headers=h)
    r.raise_for_status()
    return str(r.json()["code"])


def measure(url: str, admin: str, tmp: Path, grid: str, households: int, limit: int) -> dict:
    person = f"w_{grid}"
    client = FieldClient(tmp / person, HttpTransport(url), page_limit=limit)
    client.enroll(url, enrolment_code(url, admin, person, grid), "bench phone")
    gc.collect()
    tracemalloc.start()
    started = time.perf_counter()
    summary = client.sync()
    elapsed = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    pulled = len(client.households())
    client.close()
    assert pulled == households, (pulled, households)
    db_mb = (tmp / person / "field.db").stat().st_size / 1e6
    print(f"{households:>7,} households: peak {peak / 1e6:6.2f} MB, {summary.pages} pages, "
          f"{elapsed:5.1f} s under tracemalloc, local db {db_mb:.1f} MB", flush=True)
    return {"households": households, "peak_mb": peak / 1e6, "pages": summary.pages,
            "seconds": elapsed}


def run(small: int, large: int, limit: int) -> list[dict]:
    with tempfile.TemporaryDirectory(prefix="gridsync-bench-client-") as tmpdir:
        tmp = Path(tmpdir)
        data = tmp / "data"
        admin = init_data_dir(data)
        seed(data, {"gs": small, "gl": large})
        print(f"seeded {small:,} + {large:,} households; page limit {limit}", flush=True)
        with serve(data) as (api, _):
            url = api.removesuffix("/api/v1")
            a = measure(url, admin, tmp, "gs", small, limit)
            b = measure(url, admin, tmp, "gl", large, limit)
    fig = print_figure("client_pull_peak", b["peak_mb"], a["peak_mb"],
                       f"MB peak, {large:,} vs {small:,} households")
    fig.update(small=a, large=b, limit=limit,
               note=f"dataset ratio {large / small:.0f}x; memory ratio should be ~1")
    return [fig]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", type=int, default=10_000)
    parser.add_argument("--large", type=int, default=50_000)
    parser.add_argument("--limit", type=int, default=500, help="page limit")
    parser.add_argument("--quick", action="store_true", help="2,000 vs 10,000 households")
    args = parser.parse_args()
    if args.quick:
        args.small, args.large = 2_000, 10_000
    run(args.small, args.large, args.limit)


if __name__ == "__main__":
    from _common import exit_on_signals

    exit_on_signals()
    main()
