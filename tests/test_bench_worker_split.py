"""bench/worker_split.py and its gunicorn config, bench/worker_meter.py: the meter inside a
real gunicorn worker counts the window it is told to, and its phases add up to no more
than the worker's CPU (what is left is gunicorn's loop)."""

from __future__ import annotations

import pytest

import tests.bench_support  # noqa: F401  (bench/ on the path)

# The split meters the embedded default's worker (bench/worker_split.py makes its own
# SQLite data dir); a PostgreSQL run's GRIDSYNC_DATABASE_URL would point its in-process
# app at another database than its server's.
pytestmark = pytest.mark.sqlite_only(reason="bench/worker_split.py meters the SQLite default")


def test_the_worker_split_meters_both_loads_inside_gunicorn(capsys):
    import worker_split

    figures = worker_split.run(households=1200, requests_=12, other_visits=200)
    assert [f["name"] for f in figures] == ["worker_split_page_500", "worker_split_small_sync"]
    for fig in figures:
        assert fig["requests"] == 12
        phases = fig["phases_ms"]
        assert fig["cpu_ms"] > 0 and abs(sum(phases.values()) - fig["cpu_ms"]) < 1e-6
        named = sum(ms for p, ms in phases.items() if not p.startswith("gunicorn: its loop"))
        assert 0 < named <= fig["cpu_ms"] * 1.1  # the meter's own cost is an estimate
        for phase in ("gunicorn: parse request", "Flask: view and decorators",
                      "hook: request log", "auth", "SQL in pull"):
            assert phases[phase] > 0, phase
    assert figures[1]["phases_ms"]["push: Ed25519 verify"] > 0
    out = capsys.readouterr().out
    assert "small_sync: worker CPU" in out and "page_500: worker CPU" in out
