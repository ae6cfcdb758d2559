"""The seeded simulation (tests/sim/driver.py): a few bounded seeds in `make test`,
many more with GRIDSYNC_SLOW=1 (or `make sim`)."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from tests.helpers import raw_db
from tests.sim.driver import SimFailure, build, check_invariants, finish, run, step

SLOW = os.environ.get("GRIDSYNC_SLOW") == "1"


@pytest.fixture
def fast_dir():
    """A tmpfs dir when there is one: synchronous=FULL fsyncs cost nothing there, so the
    simulation measures logic, not the disk (crash durability is tests/reliability's job)."""
    made: list[str] = []

    def factory(tmp_path):
        if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK):
            made.append(tempfile.mkdtemp(prefix="gridsync-sim-", dir="/dev/shm"))
            return Path(made[-1])
        return tmp_path

    yield factory
    for path in made:
        shutil.rmtree(path, ignore_errors=True)


def _run(seed: int, steps: int, devices: int, tmp_path, fast_dir) -> dict:
    try:
        return run(seed, steps, devices, data_dir=fast_dir(tmp_path) / "data")
    except SimFailure as failure:  # the seed and every step, to reproduce with `make sim`
        pytest.fail(f"{failure}\n" + "\n".join(failure.steps), pytrace=False)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_bounded_seeds_keep_every_invariant(seed, tmp_path, fast_dir):
    stats = _run(seed, 150, 6, tmp_path, fast_dir)
    assert stats["acked"] > 20 and stats["ops"] >= stats["acked"]


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_a_bounded_seed_on_postgresql(database_url, tmp_path, fast_dir):
    """The same simulation with the server's data in PostgreSQL (GRIDSYNC_DATABASE_URL)."""
    stats = _run(1, 150, 6, tmp_path, fast_dir)
    assert stats["acked"] > 20 and stats["ops"] >= stats["acked"]


@pytest.mark.slow
@pytest.mark.skipif(not SLOW, reason="long simulation: set GRIDSYNC_SLOW=1")
@pytest.mark.parametrize("seed", range(100, 120))
def test_many_seeds_long_runs(seed, tmp_path, fast_dir):
    _run(seed, 600, 10, tmp_path, fast_dir)


def test_the_checker_catches_a_lost_acknowledged_change_and_a_double_earn(tmp_path, fast_dir):
    """The invariants checker is not vacuous: tamper with the database after a run."""
    sim = build(11, 6, fast_dir(tmp_path) / "data")
    try:
        for _ in range(150):
            try:
                step(sim)
            except Exception:  # noqa: BLE001 - local refusals, as run() does
                pass
        finish(sim)
        stats = check_invariants(sim)
        assert stats["acked"] > 0 and stats["earns"] > 0
        db = raw_db(sim.data_dir)
        acked = next(op for d in sim.devices for op, r in d.net.acked.items()
                     if r["status"] == "applied")
        db.execute("DELETE FROM ops WHERE op = ?", (acked,))
        db.execute("DROP INDEX entries_once")
        db.execute("INSERT INTO entries SELECT seq + 100000, id || 'x', kind, debit, credit, "
                   "amount, ref, at, hash, body FROM entries WHERE kind = 'earn' LIMIT 1")
        db.close()
        with pytest.raises(AssertionError) as caught:
            check_invariants(sim)
        text = str(caught.value)
        assert f"acked op {acked}" in text and "2 earn entries" in text
    finally:
        for dev in sim.devices:
            dev.client.close()
