"""gunicorn settings for gridsync in production.

    gunicorn -c /etc/gridsync/gunicorn.conf.py           # what deploy/gridsync.service runs
    gridsync serve --config deploy/gunicorn.conf.py      # then --host/--port/--workers win

Everything that varies between machines comes from the environment (the
systemd unit's EnvironmentFile):

    GRIDSYNC_DATA_DIR    data dir (gridsync.db, secret.key)                 ./gridsync-data
    GRIDSYNC_BIND        address to listen on (nginx proxies to it)        127.0.0.1:8000
    GRIDSYNC_WORKERS     worker processes                    2 x cores, between 2 and 8
    GRIDSYNC_LOG_LEVEL   debug, info, warning, error                                 info
    GRIDSYNC_ACCESS_LOG  gunicorn's own access log: unset = off, "-" = stdout, or a file

Sync workers, not gthread: measured here, 2x4 threads halved write throughput
and pushed p99 to ~1 s as threads fought over SQLite's single write lock
(docs/design.md). More than ~8 processes only queue on that same lock.

A sync worker is busy for the whole of a request, reading the body included:
keep nginx in front (deploy/nginx.conf). It reads a slow phone's upload to
the end before passing it on, so a worker never waits on a mobile network.
"""

import os

from server.config import load_settings
from server.gunicorn_app import ACCESS_LOG_FORMAT
from server.metrics import (
    MULTIPROC_ENV,
    default_multiprocess_dir,
    discard_multiprocess_dir,
    prepare_multiprocess_dir,
    worker_exited,
)

SETTINGS, _ = load_settings()  # the app's own settings table (README, Settings)
DATA_DIR = SETTINGS.data_dir
# Decided before anything imports prometheus_client (on_starting empties it). In memory,
# not in the data dir: a full data disk must not kill workers (server/metrics.py).
os.environ.setdefault(MULTIPROC_ENV, str(default_multiprocess_dir(DATA_DIR)))
LOG_LEVEL = SETTINGS.log_level.strip().lower() or "info"
ACCESS_LOG = SETTINGS.access_log.strip()


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))  # honours CPU pinning and container limits
    except (AttributeError, OSError):
        return os.cpu_count() or 1


wsgi_app = "server.wsgi:app"
bind = SETTINGS.bind
worker_class = "sync"
workers = SETTINGS.workers or max(2, min(2 * _cores(), 8))

# A worker silent for this long is killed and replaced (nginx answers 502).
# The longest legitimate request is a big sync push or pull page: well under
# this; slow uploads are absorbed by nginx (client_body_timeout there).
timeout = 120
# On SIGTERM / restart: finish the requests in flight, for at most this long.
graceful_timeout = 30
# Sync workers close the connection after each response; nginx keeps the
# phone's connection alive, not gunicorn's.
keepalive = 2
# Request line and headers: bounded (the body limit is the app's 8 MiB).
limit_request_line = 8190
limit_request_fields = 100
limit_request_field_size = 8190
# Trust X-Forwarded-Proto only from the local proxy (nginx on the same host).
forwarded_allow_ips = "127.0.0.1,::1"
# Do not preload: each worker opens its own SQLite connection after the fork.
preload_app = False
# gunicorn >= 25's control socket (gunicornc): in systemd's RuntimeDirectory
# when there is one, else off (its default lives in $HOME, which the unit hides).
if os.environ.get("RUNTIME_DIRECTORY"):
    control_socket = os.path.join(os.environ["RUNTIME_DIRECTORY"].split(":")[0], "gunicorn.ctl")
else:
    control_socket_disable = True

# --- logs: one JSON object per line on stderr (journald) ------------------------
loglevel = LOG_LEVEL
errorlog = "-"
# The app already logs every request as JSON (server/logging_setup.py) with the
# same request id and the person/device; gunicorn's own access log is off
# unless GRIDSYNC_ACCESS_LOG asks for it. Its format never includes the query
# string (%(U)s is the path alone; %(r)s and %(q)s would leak ?token=...), and
# its logger redacts every value it writes (a resident's receipt in
# /r/receipt/<receipt> becomes [receipt]) and escapes it for JSON.
accesslog = ACCESS_LOG or None
access_log_format = ACCESS_LOG_FORMAT
logger_class = "server.gunicorn_app.RedactingLogger"


def _access_handler() -> dict:
    if ACCESS_LOG in ("", "-"):
        return {"class": "logging.StreamHandler", "formatter": "raw",
                "stream": "ext://sys.stdout"}
    return {"class": "logging.handlers.WatchedFileHandler", "formatter": "raw",
            "filename": ACCESS_LOG}


logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "json": {"()": "server.logging_setup.JsonFormatter"},
        "raw": {"format": "%(message)s"},
    },
    "handlers": {
        "stderr": {"class": "logging.StreamHandler", "formatter": "json",
                   "stream": "ext://sys.stderr"},
        "access": _access_handler(),
    },
    # The app's loggers propagate here; server/logging_setup.py sees this JSON
    # handler and only sets their level (GRIDSYNC_LOG_LEVEL).
    "root": {"level": "WARNING", "handlers": ["stderr"]},
    "loggers": {
        "gunicorn.error": {"level": LOG_LEVEL.upper(), "handlers": ["stderr"],
                           "propagate": False, "qualname": "gunicorn.error"},
        "gunicorn.access": {"level": "INFO" if ACCESS_LOG else "WARNING",
                            "handlers": ["access"], "propagate": False,
                            "qualname": "gunicorn.access"},
    },
}


# --- GET /metrics across workers ----------------------------------------------------
def on_starting(server):  # type: ignore[no-untyped-def]
    """Master, before any worker: a fresh prometheus-client multiprocess dir
    (in memory, see default_multiprocess_dir), inherited by the workers."""
    path = prepare_multiprocess_dir(DATA_DIR)
    server.log.info("metrics shared through %s", path)


def child_exit(server, worker):  # type: ignore[no-untyped-def]
    worker_exited(worker.pid)


def on_exit(server):  # type: ignore[no-untyped-def]
    """Master, at exit: the default (in-memory) multiprocess dir goes away."""
    discard_multiprocess_dir(DATA_DIR)
