"""Run the app under gunicorn from Python (``gridsync serve``), and gunicorn's logger
for gridsync (also named by deploy/gunicorn.conf.py)."""

from __future__ import annotations

import json
import logging
from typing import Any

from gunicorn.app.base import Application, BaseApplication
from gunicorn.glogging import Logger, SafeAtoms

from .logging_setup import scrub

#: gunicorn's access log line: JSON, the path without its query string (%(U)s; %(r)s and
#: %(q)s would carry ?token=...), every value redacted by ``RedactingLogger``.
ACCESS_LOG_FORMAT = (
    '{"time":"%(t)s","level":"INFO","logger":"gunicorn.access",'
    '"request_id":"%({x-request-id}o)s","method":"%(m)s","path":"%(U)s",'
    '"status":%(s)s,"duration_ms":%(M)s,"bytes":"%(B)s","remote":"%(h)s"}'
)


class RedactedAtoms(SafeAtoms):
    """The values an access log line is made of, each read through ``scrub`` (no
    resident's receipt, query string, token or card) and escaped for a JSON string, so
    a path holding a quote or a newline cannot break the line or forge another one."""

    def __init__(self, atoms: dict):
        dict.__init__(self, atoms)   # raw: SafeAtoms would escape quotes only

    def __getitem__(self, key: str) -> Any:
        value = super().__getitem__(key)
        if isinstance(value, str):
            return json.dumps(scrub(value), ensure_ascii=False)[1:-1]
        return value


class _ScrubFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = scrub(record.getMessage()), ()
        return True


_SCRUB = _ScrubFilter()


class RedactingLogger(Logger):
    """gunicorn's logger, with receipts and other secrets kept out of both its logs:
    whatever ``access_log_format`` an operator writes (gunicorn's default ``%(r)s``
    included), the access log gets redacted values (``RedactedAtoms``); error-log
    messages ("Error handling request /r/receipt/…") are scrubbed too."""

    atoms_wrapper_class = RedactedAtoms

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        self.error_log.addFilter(_SCRUB)   # once: a logger keeps one of each filter


class GridsyncGunicorn(BaseApplication):
    # Reading a config file (--config) is Application's, not BaseApplication's.
    get_config_from_filename = Application.get_config_from_filename
    get_config_from_module_name = Application.get_config_from_module_name
    load_config_from_module_name_or_filename = Application.load_config_from_module_name_or_filename
    load_config_from_file = Application.load_config_from_file

    def __init__(self, config: dict, *, bind: str, workers: int | None,
                 config_file: str | None = None):
        """Defaults, then the config file, then what the command line said
        (``bind`` always, ``workers`` when given)."""
        self.app_config = config
        from .config import load_settings

        access_log = load_settings({"DATA_DIR": config["DATA_DIR"]})[0].access_log.strip()
        self.defaults = {"workers": 2, "worker_class": "sync", "timeout": 120,
                         "graceful_timeout": 30,
                         # gunicorn's control socket lives at one shared path in
                         # ~/.gunicorn/ (servers would collide); gridsync does not use it.
                         "control_socket_disable": True,
                         "logger_class": RedactingLogger, "access_log_format": ACCESS_LOG_FORMAT,
                         "accesslog": access_log or None}
        self.options = {"bind": bind, **({"workers": workers} if workers else {})}
        self.config_file = config_file
        from .metrics import prepare_multiprocess_dir

        prepare_multiprocess_dir(config["DATA_DIR"])  # GET /metrics sums every worker
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.defaults.items():
            self.cfg.set(key, value)
        if self.config_file:
            self.load_config_from_file(self.config_file)
        for key, value in self.options.items():
            self.cfg.set(key, value)
        self.cfg.set("child_exit", _child_exit_hook(self.cfg.child_exit))
        self.cfg.set("on_exit", _on_exit_hook(self.cfg.on_exit, self.app_config["DATA_DIR"]))

    def load(self) -> Any:
        from . import create_app

        return create_app(self.app_config)


def _child_exit_hook(configured: Any) -> Any:
    def child_exit(server: Any, worker: Any) -> None:
        from .metrics import worker_exited

        worker_exited(worker.pid)
        configured(server, worker)

    return child_exit


def _on_exit_hook(configured: Any, data_dir: str) -> Any:
    def on_exit(server: Any) -> None:
        configured(server)
        from .metrics import discard_multiprocess_dir

        discard_multiprocess_dir(data_dir)

    return on_exit
