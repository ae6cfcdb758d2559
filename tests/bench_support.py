"""Helpers of the bench tests (tests/test_bench_*.py): the bench scripts' folder on the
path, a bench-like child process to stop with a signal, and the processes left behind."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1] / "bench"
if str(BENCH) not in sys.path:
    sys.path.insert(0, str(BENCH))


def processes_naming(text: str) -> list[int]:
    """Live processes whose command line holds ``text`` (a test's own temporary path)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()  # empty for a zombie
        except OSError:
            continue
        if text.encode() in cmdline:
            found.append(int(entry.name))
    return found


def gone(text: str, within: float = 10.0) -> list[int]:
    """The processes naming ``text`` still alive after at most ``within`` seconds."""
    end = time.monotonic() + within
    while (left := processes_naming(text)) and time.monotonic() < end:
        time.sleep(0.1)
    return left


class BenchChild:
    """A Python child running ``script`` (a bench's main, in short) with bench/ on its
    path; ``ready()`` is the first line it prints, ``stop()`` SIGTERMs it and returns its
    exit status."""

    def __init__(self, script: str):
        self.proc = subprocess.Popen(
            [sys.executable, "-c", f"import sys; sys.path.insert(0, {str(BENCH)!r})\n" + script],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def ready(self) -> str:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            _, err = self.proc.communicate(timeout=60)
            raise AssertionError(f"the child ended first: {err[-2000:]}")
        return line.strip()

    def stop(self, signum: int = signal.SIGTERM) -> int:
        """Send ``signum``; the child's exit status once it has ended (``stderr`` then
        holds what it wrote there)."""
        self.proc.send_signal(signum)
        try:
            _, self.stderr = self.proc.communicate(timeout=90)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.communicate()
            raise
        return self.proc.returncode
