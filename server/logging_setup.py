"""Structured logs: one JSON object per line, and a request id on every request.

``init_app(app)`` (called once by the app factory):
- configures logging: a JSON handler on the root logger (stderr, or the file
  named by ``GRIDSYNC_LOG_FILE``), level ``GRIDSYNC_LOG_LEVEL`` (default INFO)
  for gridsync's own loggers; the development server's request lines, which
  carry query strings, are dropped;
- gives each request an id: a sane incoming ``X-Request-Id`` (1–64 of
  ``[A-Za-z0-9._:-]``) or a new random one, returned as ``X-Request-Id`` on
  every response, errors included, and attached to every line logged while
  the request runs;
- logs one line per request: ``time, level, logger, message, request_id,
  method, path, status, duration_ms, endpoint, person, role, device, remote``.
  The path never has its query string nor a resident's receipt; headers,
  bodies, tokens, card codes, enrolment codes and keys are never logged, and
  ``scrub`` removes anything
  shaped like one from every message as a second line of defence;
- with ``GRIDSYNC_TRUSTED_PROXIES=N`` (behind nginx: 1) trusts N proxies'
  X-Forwarded-For/-Proto, so ``remote`` and the per-address enrolment rate
  limit see the real client address.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
import uuid
from typing import Any

from flask import Flask, Response, g, has_request_context

from primitives import times

from .context import current_g, current_request

REQUEST_ID_HEADER = "X-Request-Id"
_SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")
_MARK = "_gridsync_json_handler"
_QUIET_ENDPOINTS = frozenset({"health.health"})

log = logging.getLogger("server.requests")

# Shapes of secrets, removed from any message or traceback before it is written.
_SCRUBS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"(?i)\b(bearer)\s+\S+"), r"\1 [redacted]"),
    (re.compile(r"\bt[0-9a-f]{12}\.[A-Za-z0-9_-]{8,}"), "[token]"),
    (re.compile(r"(?i)\bENR-[0-9A-Z]{4}(?:-[0-9A-Z]{4}){3}\b"), "[enrolment code]"),
    (re.compile(r"(?<![A-Za-z0-9_-])C[A-Za-z0-9_-]{22}(?![A-Za-z0-9_-])"), "[card]"),
    (re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?-----END [A-Z ]*PRIVATE KEY-----",
                re.S), "[private key]"),
    (re.compile(r"""(?i)(["']?\b(?:token|secret|password|passwd|pin|card|proof|"""
                r"""private_key|authorization)\b["']?\s*[:=]\s*)(["']?)[^\s"',&;}]+"""),
     r"\1\2[redacted]"),
    (re.compile(r"(/[^\s?\"']*)\?[^\s\"']*"), r"\1?[query redacted]"),
    # a resident's receipt (it closes a case), in /r/receipt/<receipt> and the API's path
    (re.compile(r"(/(?:r/receipt|public/reports)/)[^/\s?\"']+"), r"\1[receipt]"),
]


_CLEAN: set[str] = set()
"""Texts ``scrub`` found nothing in (each request line's path and message, mostly the
same few): looked up instead of scrubbed again. Only text with no secret's shape is kept,
short and at most ``_CLEAN_MAX`` of them (emptied when full)."""
_CLEAN_MAX, _CLEAN_LENGTH = 1024, 200


def scrub(text: str) -> str:
    if text in _CLEAN:
        return text
    original = text
    for pattern, replacement in _SCRUBS:
        text = pattern.sub(replacement, text)
    if text == original and len(text) <= _CLEAN_LENGTH:
        if len(_CLEAN) >= _CLEAN_MAX:
            _CLEAN.clear()
        _CLEAN.add(text)
    return text


def _iso(created: float) -> str:
    return times.format_ms(int(created * 1000))


_LINE = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=str)
"""What ``json.dumps`` with these options would build anew for every line."""


class JsonFormatter(logging.Formatter):
    """One JSON object per line; usable from gunicorn's ``logconfig_dict`` too."""

    FIELDS = ("method", "path", "status", "duration_ms", "endpoint", "person", "role",
              "device", "remote")

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "time": _iso(record.created),
            "level": record.levelname,
            "logger": record.name,
            "message": scrub(record.getMessage()),
            "request_id": getattr(record, "request_id", None) or current_request_id(),
        }
        for name in self.FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                out[name] = scrub(value) if name == "path" else value
        if record.exc_info:
            out["exc"] = scrub(self.formatException(record.exc_info))
        if record.stack_info:
            out["stack"] = scrub(self.formatStack(record.stack_info))
        return _LINE.encode(out)


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is at the time (test runners swap it)."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, value: Any) -> None:
        pass


def current_request_id() -> str | None:
    return g.get("request_id") if has_request_context() else None


def configure_logging(level: str | int = "INFO", path: str | None = None) -> None:
    """Install (or replace) gridsync's JSON handler on the root logger.

    When another JSON handler is already there (gunicorn's ``logconfig_dict``
    in deploy/gunicorn.conf.py) and no file is asked for, only levels are set.
    """
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, _MARK, False):
            root.removeHandler(handler)
            handler.close()
    if path or not any(isinstance(h.formatter, JsonFormatter) for h in root.handlers):
        handler = logging.FileHandler(path, encoding="utf-8") if path else _StderrHandler()
        handler.setFormatter(JsonFormatter())
        setattr(handler, _MARK, True)
        root.addHandler(handler)
    if isinstance(level, str):
        level = level.strip().upper() or "INFO"
        if level not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
            raise ValueError(f"GRIDSYNC_LOG_LEVEL {level.lower()!r} is not one of debug, "
                             "info, warning, error, critical")
    logging.getLogger("server").setLevel(level)
    werkzeug = logging.getLogger("werkzeug")
    if not any(isinstance(f, _DropDevServerRequestLines) for f in werkzeug.filters):
        werkzeug.addFilter(_DropDevServerRequestLines())


class _DropDevServerRequestLines(logging.Filter):
    """The development server logs each request line, query string included:
    drop those (the app's own request line replaces them), keep its banner."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.levelno == logging.INFO and " - - [" in str(record.msg))


def _begin_request() -> None:
    ctx = current_g()
    incoming = current_request().headers.get(REQUEST_ID_HEADER, "")
    ctx.request_id = incoming if _SANE_REQUEST_ID.fullmatch(incoming) else uuid.uuid4().hex
    ctx.request_start = time.perf_counter()


def _end_request(resp: Response) -> Response:
    ctx, req = current_g(), current_request()
    request_id = ctx.get("request_id") or uuid.uuid4().hex
    resp.headers[REQUEST_ID_HEADER] = request_id
    start = ctx.get("request_start")
    duration_ms = round((time.perf_counter() - start) * 1000, 2) if start else None
    who = ctx.get("who")
    status = resp.status_code
    level = logging.ERROR if status >= 500 else logging.INFO
    if req.endpoint in _QUIET_ENDPOINTS and status < 400:
        level = logging.DEBUG
    if log.isEnabledFor(level):
        path = scrub(req.path)  # in the record itself, for every handler and formatter
        # What log.log does, less its walk up the stack for the caller's file and line
        # (always this function, and in no line written).
        log.handle(log.makeRecord(
            log.name, level, __file__, 0, "%s %s %s", (req.method, path, status), None,
            "_end_request", extra={
                "request_id": request_id, "method": req.method, "path": path,
                "status": status, "duration_ms": duration_ms, "endpoint": req.endpoint,
                "person": getattr(who, "person", None), "role": getattr(who, "role", None),
                "device": getattr(who, "device", None), "remote": req.remote_addr}))
    return resp


def init_app(app: Flask) -> None:
    """Logging, request ids and the request log; register before any other hook."""
    cfg = app.extensions["gridsync.settings"]
    configure_logging(cfg.log_level or "INFO", cfg.log_file or None)
    proxies = cfg.trusted_proxies
    if proxies > 0:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies)  # type: ignore[method-assign]
    app.before_request(_begin_request)
    app.after_request(_end_request)
