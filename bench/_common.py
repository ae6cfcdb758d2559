"""Shared bench helpers: a real `gridsync serve` on a free port, world setup, timing."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
GRIDSYNC = str(Path(sys.executable).parent / "gridsync")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def live_server(workers: int = 2):
    """Yield (base_url, admin_token, data_dir) of a fresh server under gunicorn."""
    with tempfile.TemporaryDirectory(prefix="gridsync-bench-") as tmp:
        data = Path(tmp) / "data"
        out = subprocess.run([GRIDSYNC, "init", "--data-dir", str(data), "--json"],
                             check=True, capture_output=True, text=True)
        token = json.loads(out.stdout)["token"]
        port = free_port()
        proc = subprocess.Popen(
            [GRIDSYNC, "serve", "--data-dir", str(data), "--host", "127.0.0.1",
             "--port", str(port), "--workers", str(workers)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=os.environ.copy())
        url = f"http://127.0.0.1:{port}/api/v1"
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    if requests.get(url + "/health", timeout=1).ok:
                        break
                except requests.ConnectionError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError("server did not start")
                time.sleep(0.1)
            yield url, token, data
        finally:
            proc.terminate()
            proc.wait(timeout=30)


def rate(count: int, seconds: float) -> float:
    return count / seconds if seconds > 0 else float("inf")


def print_figure(name: str, value: float, bound: float | None, unit: str) -> dict:
    ratio = value / bound if bound else None
    text = f"{name:<22} {value:>12,.1f} {unit}"
    if bound:
        text += f"   bound {bound:>12,.1f}   ratio {ratio:.2f}"
    print(text, flush=True)
    return {"name": name, "value": value, "bound": bound, "ratio": ratio, "unit": unit}
