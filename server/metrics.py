"""``GET /metrics``: Prometheus text format, for an admin token.

Two kinds of figures:

- **From the database, at scrape time** (the same answer whichever gunicorn
  worker serves the scrape): changes by result status and rejection code,
  open conflicts, ledger entries by kind and the head seq, points outstanding
  (the sum of volunteer balances), devices that synced in the last day,
  devices by state, sync records by collection.
- **Request counters and latency histograms**, counted in each worker process.
  Under gunicorn they are shared through prometheus-client's multiprocess
  mode: ``PROMETHEUS_MULTIPROC_DIR`` (default: ``default_multiprocess_dir``, in
  memory, not on the data dir's disk) is prepared by the gunicorn master
  (deploy/gunicorn.conf.py and ``gridsync serve`` both call
  ``prepare_multiprocess_dir`` before forking) and every scrape sums all
  workers' files. Without it (the Flask dev server, tests)
  they count the one process. They reset when the server restarts, as
  Prometheus counters may.

prometheus_client is imported lazily: it decides between single- and
multi-process mode when first imported, which must happen after the master
has set ``PROMETHEUS_MULTIPROC_DIR``.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import stat
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from flask import Blueprint, Flask, Response

from primitives import names, times

from .auth import require
from .context import current_g, current_request
from .state import storage
from .version import __version__

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
                   120.0)
SYNC_ENDPOINT = "sync.sync"
SYNC_COLLECTIONS = ("households", "visits", "service_logs", "people")
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

log = logging.getLogger(__name__)
bp = Blueprint("metrics", __name__)

_lock = threading.Lock()
_request_metrics: SimpleNamespace | None = None
_series: dict[tuple[str, str, str], tuple[Any, Any, Any]] = {}
"""(method, endpoint, status) -> the labelled series a request updates (``_labelled``)."""


# --- gunicorn master ------------------------------------------------------------
def default_multiprocess_dir(data_dir: str) -> Path:
    """Where the workers' counter files go unless ``PROMETHEUS_MULTIPROC_DIR`` says.

    Not on the data dir's disk: prometheus-client writes these files through mmap,
    and a page first touched while that filesystem is full kills the worker with
    SIGBUS instead of failing a write (tests/reliability/test_disk_full.py). So in
    memory: systemd's ``RuntimeDirectory`` (``$RUNTIME_DIRECTORY``, /run/gridsync),
    else the user's ``$XDG_RUNTIME_DIR``, else /dev/shm, else (lacking both) the temp
    dir; one subdirectory per data dir, so two servers on one machine do not mix
    counters.
    """
    runtime = os.environ.get("RUNTIME_DIRECTORY", "").split(":")[0]
    if runtime:
        return Path(runtime) / "prometheus"
    candidates = (os.environ.get("XDG_RUNTIME_DIR", ""), "/dev/shm", tempfile.gettempdir())
    base = next(c for c in candidates if c and os.path.isdir(c) and os.access(c, os.W_OK))
    key = hashlib.sha256(os.path.abspath(data_dir).encode()).hexdigest()[:16]
    return Path(base) / f"gridsync-prometheus-{os.geteuid()}-{key}"


def prepare_multiprocess_dir(data_dir: str) -> str:
    """In the gunicorn master, before workers fork: choose the multiprocess dir
    (``$PROMETHEUS_MULTIPROC_DIR`` or ``default_multiprocess_dir``), create it, empty
    it of the previous run's files and export it to the workers."""
    default = default_multiprocess_dir(data_dir)
    path = Path(os.environ.get(MULTIPROC_ENV) or default)
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    if path == default:
        # Possibly in a shared directory (/dev/shm, /tmp): refuse one made by someone
        # else (or a symlink), since its *.db files are deleted below.
        st = os.lstat(path)
        if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.geteuid() or st.st_mode & 0o077:
            raise RuntimeError(f"{path} is not a private directory of this user; set "
                               f"{MULTIPROC_ENV} to a directory for the metrics files")
    for stale in path.glob("*.db"):
        stale.unlink(missing_ok=True)
    os.environ[MULTIPROC_ENV] = str(path)
    return str(path)


def discard_multiprocess_dir(data_dir: str) -> None:
    """gunicorn ``on_exit`` (master): remove the default multiprocess dir, which
    would otherwise stay in memory after the server; a dir the operator chose stays."""
    path = os.environ.get(MULTIPROC_ENV)
    if path and Path(path) == default_multiprocess_dir(data_dir):
        shutil.rmtree(path, ignore_errors=True)


def worker_exited(pid: int) -> None:
    """gunicorn ``child_exit`` hook: drop a dead worker's live gauges."""
    if os.environ.get(MULTIPROC_ENV):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid)


# --- request metrics (per process) -----------------------------------------------
def request_metrics() -> SimpleNamespace:
    global _request_metrics
    if _request_metrics is None:
        with _lock:
            if _request_metrics is None:
                _request_metrics = _make_request_metrics()
    return _request_metrics


def _make_request_metrics() -> SimpleNamespace:
    from prometheus_client import Counter, Histogram, disable_created_metrics, values

    disable_created_metrics()  # no *_created series: they only add noise here

    if os.environ.get(MULTIPROC_ENV) and values.ValueClass is values.MutexValue:
        log.warning("%s is set but prometheus_client was imported before it: request "
                    "metrics count this process only", MULTIPROC_ENV)
    return SimpleNamespace(
        requests=Counter("gridsync_http_requests", "HTTP requests answered.",
                         ["method", "endpoint", "status"], registry=None),
        latency=Histogram("gridsync_http_request_duration_seconds",
                          "Time to answer an HTTP request, by endpoint.", ["endpoint"],
                          buckets=LATENCY_BUCKETS, registry=None),
        sync_requests=Counter("gridsync_sync_requests",
                              "POST /api/v1/sync requests, by HTTP status.", ["status"],
                              registry=None),
        sync_latency=Histogram("gridsync_sync_request_duration_seconds",
                               "Time to answer POST /api/v1/sync.", buckets=LATENCY_BUCKETS,
                               registry=None),
    )


def _labelled(m: SimpleNamespace, method: str, endpoint: str, status: str
              ) -> tuple[Any, Any, Any]:
    """The labelled series one request updates: (its request counter, its endpoint's
    latency histogram, the sync status counter or None), looked up once a process for
    each (method, endpoint, status) rather than through ``labels()`` on every request.
    Labels are bounded (known methods, route names, statuses), and so is this cache."""
    key = (method, endpoint, status)
    found = _series.get(key)
    if found is None:
        found = _series[key] = (
            m.requests.labels(method, endpoint, status), m.latency.labels(endpoint),
            m.sync_requests.labels(status) if endpoint == SYNC_ENDPOINT else None)
    return found


def _observe(resp: Response) -> Response:
    """after_request: count the request and its latency."""
    m, req = request_metrics(), current_request()
    endpoint = req.endpoint or "unmatched"
    method = req.method if req.method in _METHODS else "other"  # bounded labels
    requests, latency, sync_requests = _labelled(m, method, endpoint, str(resp.status_code))
    requests.inc()
    start = current_g().get("request_start")
    if start is not None:
        seconds = time.perf_counter() - start
        latency.observe(seconds)
        if sync_requests is not None:
            m.sync_latency.observe(seconds)
    if sync_requests is not None:
        sync_requests.inc()
    return resp


# --- figures from the database ---------------------------------------------------
def _parse_time(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        return times.parse(text)
    except ValueError:
        return None


def database_families() -> list[Any]:
    """Metric families computed from the database in one read snapshot."""
    from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

    store = storage()
    with store.snapshot():
        op_counts = store.records.op_counts()
        open_conflicts = store.records.open_conflict_count()
        kinds = store.ledger.kind_counts()
        head_seq, _ = store.ledger.head()
        balances = store.ledger.balances()
        devices = store.access.devices()
        records = {c: store.records.count(c) for c in SYNC_COLLECTIONS}

    changes = CounterMetricFamily(
        "gridsync_sync_changes", "Changes received from devices, by result status and "
        "rejection code (code is empty unless rejected).", labels=["status", "code"])
    for key, n in sorted(op_counts.items()):
        status, _, code = key.partition(":")
        changes.add_metric([status, code], n)

    conflicts = GaugeMetricFamily("gridsync_conflicts_open", "Conflicts waiting for review.",
                                  value=open_conflicts)
    entries = CounterMetricFamily("gridsync_ledger_entries", "Ledger entries, by kind.",
                                  labels=["kind"])
    for kind in sorted(set(kinds) | {"earn", "redeem", "reverse", "adjust", "expire"}):
        entries.add_metric([kind], kinds.get(kind, 0))
    head = GaugeMetricFamily("gridsync_ledger_head_seq", "Seq of the last ledger entry.",
                             value=head_seq)
    outstanding = GaugeMetricFamily(
        "gridsync_points_outstanding", "Points held by volunteers (sum of their balances).",
        value=sum(b for a, b in balances.items() if a.startswith(names.prefix(names.VOLUNTEER))))

    since = datetime.now(UTC) - timedelta(days=1)
    seen = sum(1 for d in devices if not d.get("revoked_at")
               and (t := _parse_time(d.get("last_sync_at"))) is not None and t >= since)
    seen_day = GaugeMetricFamily("gridsync_devices_seen_last_day",
                                 "Devices (not revoked) that synced in the last 24 hours.",
                                 value=seen)
    by_state = GaugeMetricFamily("gridsync_devices", "Enrolled devices, by state.",
                                 labels=["state"])
    revoked = sum(1 for d in devices if d.get("revoked_at"))
    by_state.add_metric(["active"], len(devices) - revoked)
    by_state.add_metric(["revoked"], revoked)
    recs = GaugeMetricFamily("gridsync_records", "Stored sync records (tombstones included), "
                             "by collection.", labels=["collection"])
    for collection, n in records.items():
        recs.add_metric([collection], n)
    info = GaugeMetricFamily("gridsync_build_info", "gridsync version.", labels=["version"])
    info.add_metric([__version__], 1)
    return [changes, conflicts, entries, head, outstanding, seen_day, by_state, recs, info]


class _Families:
    def __init__(self, families: list[Any]):
        self.families = families

    def collect(self) -> list[Any]:
        return self.families


@bp.route("/metrics")
@require("admin")
def metrics() -> Response:
    """Prometheus exposition of request counters and database figures."""
    from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

    registry = CollectorRegistry(auto_describe=False)
    if os.environ.get(MULTIPROC_ENV):
        from prometheus_client import multiprocess

        multiprocess.MultiProcessCollector(registry)
    else:
        for metric in vars(request_metrics()).values():
            registry.register(metric)
    registry.register(_Families(database_families()))
    return Response(generate_latest(registry), content_type=CONTENT_TYPE_LATEST,
                    headers={"Cache-Control": "no-store"})


def init_app(app: Flask) -> None:
    """The /metrics endpoint and the per-request counters."""
    app.register_blueprint(bp)
    app.after_request(_observe)
