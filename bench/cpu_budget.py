"""A CPU budget for a process tree: a cgroup with a CPU quota, so a bench can hold an app
host to a fraction of the machine's cores as if it ran on a machine of its own.

A ``CpuBudget`` is a uniquely named cgroup (cgroup v1's ``cpu`` controller, else cgroup
v2's ``cpu.max``) made when it is entered and removed when it is left, with the cpu
controller of v2's root turned back off if it was the one to turn it on. A process joins
it at its start (``join`` as a ``preexec_fn``, so everything it forks afterwards is in it
too); ``limit`` then sets the quota (``cores`` of CPU per ``period_us``) and a weight
that gives the group its budget before other work gets the rest. Until then the quota is
unlimited, so a server boots at full speed. ``stats`` reads how often the group
was throttled: a host held to its budget is throttled in most periods.

``available()`` says why no budget can be set here (not root, no writable cpu controller),
or None when one can.
"""

from __future__ import annotations

import os
import signal
import sys
import time
import uuid
from pathlib import Path
from types import TracebackType

V1 = Path("/sys/fs/cgroup/cpu")
V2_MOUNTS = (Path("/sys/fs/cgroup/unified"), Path("/sys/fs/cgroup"))
WEIGHT = 20
"""A group's scheduling weight, in ordinary (nice 0) processes (see ``limit``)."""
PERIOD_US = 10_000
"""The quota's period: short, so a throttled worker holding PostgreSQL's write lock waits
at most a few milliseconds for its next slice (a 100 ms period would stall it for tens of
milliseconds, which no machine of its own does)."""


def _v2_root() -> Path | None:
    for mount in V2_MOUNTS:
        controllers = mount / "cgroup.controllers"
        try:
            if "cpu" in controllers.read_text().split():
                return mount
        except OSError:
            continue
    return None


def available() -> str | None:
    """None when a budget can be set here, else why not."""
    if V1.joinpath("cpu.cfs_quota_us").exists():
        return None if os.access(V1, os.W_OK) else f"{V1} is not writable (run as root)"
    root = _v2_root()
    if root is None:
        return "no cgroup cpu controller (neither v1's cpu nor v2's cpu.max)"
    return None if os.access(root, os.W_OK) else f"{root} is not writable (run as root)"


class CpuBudget:
    """One cgroup holding a process tree to ``cores`` of CPU (see the module docstring)."""

    def __init__(self, cores: float, name: str = "gridsync-bench",
                 period_us: int = PERIOD_US) -> None:
        if cores <= 0:
            raise ValueError("a CPU budget needs cores > 0")
        self.cores, self.period_us = cores, period_us
        self.name = f"{name}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.path: Path | None = None
        self.v2 = False
        self.enabled: tuple[Path, set[str]] | None = None
        """(v2's cgroup.subtree_control, the groups beside ours then) when this budget
        turned the cpu controller on."""

    def __enter__(self) -> CpuBudget:
        why = available()
        if why:
            raise OSError(f"no CPU budget: {why}")
        if V1.joinpath("cpu.cfs_quota_us").exists():
            self.path = V1 / self.name
            self.path.mkdir()
        else:
            root = _v2_root()
            assert root is not None
            control = root / "cgroup.subtree_control"
            if "cpu" not in control.read_text().split():
                control.write_text("+cpu")
                self.enabled = (control, _groups(root))
            self.v2 = True
            try:
                (root / self.name).mkdir()
            except OSError:
                if self.enabled is not None:
                    self._disable_cpu(*self.enabled)
                raise
            self.path = root / self.name
        return self

    def join(self) -> None:
        """Move the calling process into the group (a ``preexec_fn``: only os calls)."""
        assert self.path is not None
        fd = os.open(self.path / "cgroup.procs", os.O_WRONLY)
        try:
            os.write(fd, str(os.getpid()).encode())
        finally:
            os.close(fd)

    def limit(self) -> None:
        """Hold the group to its budget from now on, and give it its budget first: a
        group's weight is one ordinary process's by default, so on a machine busy with
        other work its processes together got less CPU than their budget (a machine of
        their own would not make them wait); at WEIGHT processes' weight the quota, not
        the other work, bounds them."""
        assert self.path is not None
        quota = max(int(self.cores * self.period_us), 1000)
        if self.v2:
            (self.path / "cpu.weight").write_text(str(100 * WEIGHT))
            (self.path / "cpu.max").write_text(f"{quota} {self.period_us}")
        else:
            (self.path / "cpu.shares").write_text(str(1024 * WEIGHT))
            (self.path / "cpu.cfs_period_us").write_text(str(self.period_us))
            (self.path / "cpu.cfs_quota_us").write_text(str(quota))

    def stats(self) -> dict[str, float]:
        """Periods run, periods throttled, seconds throttled (cumulative)."""
        assert self.path is not None
        fields = dict(line.split() for line in (self.path / "cpu.stat").read_text().splitlines()
                      if len(line.split()) == 2)
        if self.v2:
            return {"periods": int(fields.get("nr_periods", 0)),
                    "throttled": int(fields.get("nr_throttled", 0)),
                    "throttled_s": int(fields.get("throttled_usec", 0)) / 1e6}
        return {"periods": int(fields.get("nr_periods", 0)),
                "throttled": int(fields.get("nr_throttled", 0)),
                "throttled_s": int(fields.get("throttled_time", 0)) / 1e9}

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        """Remove the group. The caller stops its processes first; any still in it (only
        processes this bench started can be) are killed, so nothing is left behind."""
        if self.path is None:
            return
        for _ in range(50):
            try:
                self.path.rmdir()
                break
            except OSError:
                for pid in (self.path / "cgroup.procs").read_text().split():
                    try:
                        os.kill(int(pid), signal.SIGKILL)
                    except ProcessLookupError:
                        pass
                time.sleep(0.1)
        else:
            raise OSError(f"could not remove cgroup {self.path}")
        self.path = None
        if self.enabled is not None:
            self._disable_cpu(*self.enabled)

    def _disable_cpu(self, control: Path, before: set[str]) -> None:
        """Turn v2's cpu controller back off, as it was before this budget, unless a group
        made since (another bench's budget) may be using it."""
        self.enabled = None
        if not _groups(control.parent) <= before:
            return
        try:
            control.write_text("-cpu")
        except OSError as exc:  # a group below uses it in turn (EBUSY): leave it on
            print(f"note: left the cpu controller on in {control} ({exc})", file=sys.stderr)


def _groups(root: Path) -> set[str]:
    """The names of the cgroups directly under ``root``."""
    return {entry.name for entry in root.iterdir() if entry.is_dir()}
