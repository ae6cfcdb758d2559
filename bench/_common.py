"""Shared bench helpers: a real `gridsync serve` on a free port, world setup, timing.

What a bench starts (servers, PostgreSQL clusters, cgroups) it stops in ``finally``
blocks, context managers and ``atexit`` handlers; ``exit_on_signals`` makes them run when
the bench is stopped by SIGTERM (``timeout``, a supervisor) or SIGINT (Ctrl-C) too.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import requests
from cpu_budget import CpuBudget

ROOT = Path(__file__).resolve().parent.parent
GRIDSYNC = str(Path(sys.executable).parent / "gridsync")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def init_data_dir(data: Path) -> str:
    """``gridsync init``; returns the admin token."""
    out = subprocess.run([GRIDSYNC, "init", "--data-dir", str(data), "--json"],
                         check=True, capture_output=True, text=True)
    return str(json.loads(out.stdout)["token"])


def children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
        return [int(p) for p in text.split()]
    except OSError:
        out = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                out.append(int(stat.parent.name))
        return out


def cpu_ticks(pids: list[int]) -> int:
    """User + system CPU of these processes, in clock ticks (those still alive)."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total


def settle(pid: int, quiet: float = 0.3, deadline: float = 30.0) -> None:
    """Wait until a server and its workers use no CPU for ``quiet`` seconds: gunicorn's
    workers import the app after the fork (about 1.5 s of CPU each), and a worker still
    booting when a measurement starts would bill its start-up to it."""
    end = time.monotonic() + deadline
    before = cpu_ticks([pid, *children(pid)])
    while time.monotonic() < end:
        time.sleep(quiet)
        now = cpu_ticks([pid, *children(pid)])
        if now == before:
            return
        before = now


def exit_on_signals() -> None:
    """SIGTERM and SIGINT raise SystemExit (128 + the signal) in the main thread, so the
    bench unwinds and stops what it started. Python's default for SIGTERM ends the
    process at once, leaving gunicorn hosts, PostgreSQL clusters and cgroups behind.
    Only the first signal does: later ones (Ctrl-C reaches a bench and the scripts it
    runs, then bench/run.py stops them) are ignored while the bench cleans up."""

    def first(signum: int, _frame: object) -> None:
        for each in (signal.SIGTERM, signal.SIGINT):
            signal.signal(each, ignored)
        raise SystemExit(128 + signum)

    def ignored(_signum: int, _frame: object) -> None:
        """Python's handler, not SIG_IGN: what the bench starts while it cleans up does
        not inherit it."""

    for each in (signal.SIGTERM, signal.SIGINT):
        signal.signal(each, first)


def stop(proc: subprocess.Popen, timeout: float = 30.0) -> None:
    """Stop a server started in a process group of its own (``process_group=0``): SIGTERM
    to its leader (gunicorn's arbiter stops its workers), SIGKILL to the whole group if
    it has not exited within ``timeout`` seconds, and to whatever of the group is left
    after (a worker the arbiter left behind)."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            kill_group(proc)
    kill_group(proc)


def kill_group(proc: subprocess.Popen) -> None:
    """SIGKILL to ``proc``'s process group (``proc`` started with ``process_group=0``),
    then reap ``proc``."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass  # none left (the group's id is the leader's pid, reaped only below)
    proc.wait()


@contextmanager
def serve(data: Path, workers: int = 2, budget: CpuBudget | None = None,
          startup: float = 30.0, config: Path | None = None
          ) -> Iterator[tuple[str, subprocess.Popen]]:
    """``gridsync serve`` (gunicorn) on a free loopback port, once healthy with all its
    workers forked and done starting (``settle``); yields (api url, process). With an
    entered ``budget`` the server starts in its cgroup (the arbiter joins before it forks
    its workers) and is held to it from the moment it is ready (it boots unthrottled).

    The server runs in a process group of its own, stopped whatever happens (``stop``):
    one not up within ``startup`` seconds is killed with all it forked before the error
    is raised, never left running. ``config``: a gunicorn config file (``--config``)."""
    port = free_port()
    proc = subprocess.Popen(
        [GRIDSYNC, "serve", "--data-dir", str(data), "--host", "127.0.0.1", "--port", str(port),
         "--workers", str(workers), *(["--config", str(config)] if config else [])],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=os.environ.copy(),
        preexec_fn=budget.join if budget else None, process_group=0)
    url = f"http://127.0.0.1:{port}/api/v1"
    try:
        deadline = time.monotonic() + startup
        while True:
            try:
                up = requests.get(url + "/health", timeout=1).ok
                if up and len(children(proc.pid)) >= workers:
                    break
            except requests.RequestException:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                kill_group(proc)
                raise RuntimeError(f"server did not start in {startup:g} s")
            time.sleep(0.1)
        settle(proc.pid)
        if budget:
            budget.limit()
        yield url, proc
    finally:
        stop(proc)


@contextmanager
def live_server(workers: int = 2) -> Iterator[tuple[str, str, Path]]:
    """Yield (base_url, admin_token, data_dir) of a fresh server under gunicorn."""
    with tempfile.TemporaryDirectory(prefix="gridsync-bench-") as tmp:
        data = Path(tmp) / "data"
        token = init_data_dir(data)
        with serve(data, workers) as (url, _):
            yield url, token, data


def rate(count: int, seconds: float) -> float:
    return count / seconds if seconds > 0 else float("inf")


def print_figure(name: str, value: float, bound: float | None, unit: str,
                 ratio: float | None = None) -> dict:
    """Print and return a figure; ``ratio`` (default value / bound) when the script
    measured it otherwise (a median of rounds' ratios)."""
    if ratio is None:
        ratio = value / bound if bound else None
    text = f"{name:<22} {value:>12,.1f} {unit}"
    if bound:
        text += f"   bound {bound:>12,.1f}   ratio {ratio:.2f}"
    print(text, flush=True)
    return {"name": name, "value": value, "bound": bound, "ratio": ratio, "unit": unit}
