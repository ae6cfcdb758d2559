"""bench/cpu_budget.py holds a process and what it forks to their CPU budget, and leaves no
cgroup or process behind: the two-host figure (bench/postgres.py) relies on both. Skips,
saying why, where no cgroup CPU controller is writable."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
import cpu_budget  # noqa: E402

WHY = cpu_budget.available()
needs_cgroup = pytest.mark.skipif(WHY is not None, reason=f"no CPU budget here: {WHY}")

# Forks once, both processes spin for half a second of wall time, then the parent prints
# the CPU seconds the two used (its own and its waited-for child's).
SPIN = """
import os, time
child = os.fork()
end = time.monotonic() + 0.5
while time.monotonic() < end:
    pass
if child == 0:
    os._exit(0)
os.waitpid(child, 0)
t = os.times()
print(t.user + t.system + t.children_user + t.children_system)
"""


@needs_cgroup
def test_a_process_and_its_fork_are_held_to_the_budget_and_the_group_removed():
    with cpu_budget.CpuBudget(0.2, "gridsync-test") as budget:
        path = budget.path
        assert path is not None and path.is_dir()
        budget.limit()
        weight = path / ("cpu.weight" if budget.v2 else "cpu.shares")
        assert int(weight.read_text()) == (100 if budget.v2 else 1024) * cpu_budget.WEIGHT
        started = time.monotonic()
        out = subprocess.run([sys.executable, "-c", SPIN], preexec_fn=budget.join,
                             capture_output=True, text=True, timeout=60, check=True)
        wall = time.monotonic() - started
        stats = budget.stats()
    used = float(out.stdout)
    # Unbudgeted, two spinning processes use up to 1 CPU second in 0.5 s on two cores;
    # held to 0.2 core, at most 0.2 of the wall time (plus a period's slack).
    assert used <= 0.2 * wall + 0.05, (used, wall)
    assert stats["throttled"] > 0 and stats["throttled_s"] > 0
    assert not path.exists()


@needs_cgroup
def test_a_process_left_in_the_group_is_killed_and_the_group_removed():
    with cpu_budget.CpuBudget(0.5, "gridsync-test") as budget:
        path = budget.path
        assert path is not None
        proc = subprocess.Popen(["sleep", "60"], preexec_fn=budget.join)
    try:
        assert proc.wait(timeout=10) != 0  # killed, not finished
        assert not path.exists()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_a_budget_must_be_positive():
    with pytest.raises(ValueError):
        cpu_budget.CpuBudget(0)


def test_unavailable_says_why(monkeypatch, tmp_path):
    monkeypatch.setattr(cpu_budget, "V1", tmp_path / "none")
    monkeypatch.setattr(cpu_budget, "V2_MOUNTS", (tmp_path,))
    assert "no cgroup cpu controller" in (cpu_budget.available() or "")
    with pytest.raises(OSError, match="no CPU budget"):
        cpu_budget.CpuBudget(0.5).__enter__()
    assert os.listdir(tmp_path) == []


BUDGETED_SERVER = """
import time
from pathlib import Path
from _common import exit_on_signals, serve
from cpu_budget import CpuBudget
exit_on_signals()
with CpuBudget(0.5, "gridsync-test") as budget, serve(Path({data!r}), 1, budget) as (url, proc):
    print(budget.path, flush=True)
    time.sleep(600)
"""


@needs_cgroup
def test_a_bench_stopped_by_sigterm_removes_its_group_and_stops_the_server_in_it(data_dir):
    from tests.bench_support import BenchChild, gone

    child = BenchChild(BUDGETED_SERVER.format(data=str(data_dir)))
    try:
        group = Path(child.ready())
        assert group.is_dir() and (group / "cgroup.procs").read_text().split()
        assert child.stop() == 128 + 15
        assert not group.exists()
        assert gone(str(data_dir)) == []
    finally:
        for pid in gone(str(data_dir), within=0):
            os.kill(pid, 9)


@pytest.fixture
def fake_v2(monkeypatch, tmp_path):
    """A cgroup v2 hierarchy's root as files in ``tmp_path`` (no root needed): cpu
    available, not yet on for the groups below; returns its cgroup.subtree_control."""
    monkeypatch.setattr(cpu_budget, "V1", tmp_path / "no-v1")
    monkeypatch.setattr(cpu_budget, "V2_MOUNTS", (tmp_path,))
    (tmp_path / "cgroup.controllers").write_text("cpuset cpu io memory pids\n")
    (tmp_path / "system.slice").mkdir()  # a group there before
    control = tmp_path / "cgroup.subtree_control"
    control.write_text("memory\n")
    return control


def test_v2_cpu_controller_turned_on_is_turned_back_off(fake_v2):
    with cpu_budget.CpuBudget(0.5, "gridsync-test") as budget:
        path = budget.path
        assert budget.v2 and path is not None and path.is_dir()
        assert fake_v2.read_text() == "+cpu"
    assert not path.exists()
    assert fake_v2.read_text() == "-cpu"
    assert sorted(p.name for p in fake_v2.parent.iterdir() if p.is_dir()) == ["system.slice"]


def test_v2_cpu_controller_stays_on_for_a_group_made_meanwhile(fake_v2):
    with cpu_budget.CpuBudget(0.5, "gridsync-test"):
        (fake_v2.parent / "gridsync-other-bench").mkdir()  # another budget, relying on it
    assert fake_v2.read_text() == "+cpu"


def test_v2_cpu_controller_already_on_is_left_alone(fake_v2):
    fake_v2.write_text("cpu memory\n")
    with cpu_budget.CpuBudget(0.5, "gridsync-test"):
        pass
    assert fake_v2.read_text() == "cpu memory\n"
