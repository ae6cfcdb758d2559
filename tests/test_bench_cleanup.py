"""Benches leave nothing running: a bench stopped by SIGTERM or Ctrl-C stops the server it
started (``exit_on_signals``), and a server that will not start or stop in time is killed
with everything it forked (bench/_common.py ``serve`` and ``stop``)."""

from __future__ import annotations

import signal
import subprocess
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.bench_support import BenchChild, gone, processes_naming

SERVE_AND_WAIT = """
import time
from pathlib import Path
from _common import children, exit_on_signals, serve
exit_on_signals()
with serve(Path({data!r}), workers=1) as (url, proc):
    print(proc.pid, *children(proc.pid), flush=True)
    time.sleep(600)
"""


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_bench_stopped_by_a_signal_stops_the_server_it_started(data_dir, signum):
    child = BenchChild(SERVE_AND_WAIT.format(data=str(data_dir)))
    try:
        pids = [int(p) for p in child.ready().split()]
        assert len(pids) == 2 and processes_naming(str(data_dir))  # arbiter and worker
        assert child.stop(signum) == 128 + signum
        assert gone(str(data_dir)) == []
    finally:
        for pid in processes_naming(str(data_dir)):
            subprocess.run(["kill", "-9", str(pid)], check=False)


def test_a_server_not_up_in_time_is_killed_before_the_error(data_dir):
    import _common  # bench/, on the path by tests.bench_support

    with pytest.raises(RuntimeError, match="did not start in 0.5 s"):
        with _common.serve(data_dir, workers=1, startup=0.5):
            pass
    assert processes_naming(str(data_dir)) == []  # killed and reaped, not left to die


def test_a_server_that_ignores_sigterm_is_killed_with_its_group():
    import _common

    marker = f"600.{uuid.uuid4().int % 10**9}"  # a sleep this test's alone
    proc = subprocess.Popen(["sh", "-c", f"trap '' TERM; sleep {marker} & sleep {marker} & wait"],
                            process_group=0)
    try:
        end = 50
        while len(processes_naming(marker)) < 3 and end:  # the shell and its two sleeps
            end -= 1
            subprocess.run(["sleep", "0.1"], check=True)
        assert len(processes_naming(marker)) == 3
        _common.stop(proc, timeout=0.5)
        assert proc.returncode == -signal.SIGKILL
        assert gone(marker) == []
    finally:
        for pid in processes_naming(marker):
            subprocess.run(["kill", "-9", str(pid)], check=False)


def test_postgres_is_reniced_only_when_the_bench_started_it(pg_cluster):
    """bench/postgres.py puts PostgreSQL ahead of other work for its two-host figure: a
    throwaway cluster of its own, never a server named by GRIDSYNC_TEST_DATABASE_URL."""
    import os

    import pg_contention
    import postgres as bench_postgres

    from tests.pg_support import Cluster

    pids = pg_contention.postgres_pids(pg_cluster.admin_url)
    if not pids:
        pytest.skip("the PostgreSQL server is not on this machine")
    master = pids[0]
    before = os.getpriority(os.PRIO_PROCESS, master)
    with bench_postgres.ahead_of_other_work(Cluster(pg_cluster.admin_url)):  # not started
        assert os.getpriority(os.PRIO_PROCESS, master) == before
    if pg_cluster.local and os.geteuid() == 0:
        with bench_postgres.ahead_of_other_work(pg_cluster, nice=before - 1):
            assert os.getpriority(os.PRIO_PROCESS, master) == before - 1
        assert os.getpriority(os.PRIO_PROCESS, master) == before


def test_an_error_in_the_kinto_bench_body_is_its_own_and_its_cluster_stops():
    import kinto_compare  # bench/, on the path by tests.bench_support

    if kinto_compare._pg_bin() is None:
        pytest.skip("no PostgreSQL binaries (make postgres installs them)")
    with pytest.raises(LookupError, match="in the body"):
        with kinto_compare.postgres() as (url, pid):
            assert url and pid
            postmaster = f"-p\x00{urlsplit(url).port}\x00"  # its command line's port
            assert processes_naming(postmaster)
            raise LookupError("in the body")  # one of the types a failed start raises
    assert gone(postmaster) == [] and not Path(f"/proc/{pid}").exists()
