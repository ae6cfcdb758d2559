"""gunicorn config for bench/worker_split.py only: a CPU meter inside a real sync worker.

    gridsync serve --workers 1 --config bench/worker_meter.py

``post_worker_init`` wraps the functions that start each phase of a request, in the app
(``small_sync.install``: auth, scope, cursor, the push, the pull, parsing, encoding, SQL)
and in gunicorn (parsing the request, building the environ, writing headers and body,
closing the socket, waiting in select, the access log), plus Flask's own steps and each of
the app's before/after hooks. Metering starts after a request carrying
``X-Bench-Meter: start`` and stops at one carrying ``X-Bench-Meter: stop <file>``, which
writes the window's figures to that file as JSON: requests, the worker's CPU
(``time.process_time``, user and system apart) and each phase's exclusive CPU
(``small_sync.Meter``), all per request. What no phase holds is gunicorn's loop: accept,
``notify``, the hooks that call this file.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

HEADER = "X-BENCH-METER"
_state: dict[str, Any] = {}

HOOKS = {"_begin_request": "hook: request id", "check_length": "hook: body length",
         "_end_request": "hook: request log", "_observe": "hook: metrics",
         "compress_response": "encoding: gzip", "_checkpoint_after_response": "hook: checkpoint"}
"""The app's before/after hooks (by function name) and the phase each is counted in."""


def post_worker_init(worker: Any) -> None:
    import flask
    import flask.ctx
    import gunicorn.glogging
    import gunicorn.http.body
    import gunicorn.http.parser
    import gunicorn.http.wsgi
    import gunicorn.util
    import gunicorn.workers.sync
    import werkzeug.wrappers.response
    from small_sync import Meter, install

    meter = Meter()
    meter.calibrate()
    install(meter)
    for owner, name, phase in (
            (gunicorn.http.parser.Parser, "__next__", "gunicorn: parse request"),
            (gunicorn.http.wsgi, "create", "gunicorn: environ"),
            (gunicorn.http.body.Body, "read", "gunicorn: read body"),
            (gunicorn.http.wsgi.Response, "send_headers", "gunicorn: write headers"),
            (gunicorn.http.wsgi.Response, "_emit_body", "gunicorn: write body"),
            (gunicorn.util, "close_graceful", "gunicorn: close socket"),
            (gunicorn.workers.sync.SyncWorker, "wait", "gunicorn: select"),
            (gunicorn.glogging.Logger, "access", "gunicorn: access log"),
            (flask.Flask, "wsgi_app", "Flask: the rest"),
            (flask.Flask, "request_context", "Flask: request objects"),
            (flask.ctx.RequestContext, "push", "Flask: contexts, routing"),
            (flask.ctx.RequestContext, "pop", "Flask: contexts, routing"),
            (flask.Flask, "dispatch_request", "Flask: view and decorators"),
            (flask.Flask, "preprocess_request", "Flask: hook loops"),
            (flask.Flask, "process_response", "Flask: hook loops"),
            (werkzeug.wrappers.response.Response, "__call__", "Flask: response to WSGI")):
        meter.wrap(owner, name, phase)
    app = worker.wsgi
    for funcs in (app.before_request_funcs, app.after_request_funcs):
        for hooks in funcs.values():
            for i, hook in enumerate(hooks):
                holder = type("Hook", (), {"call": staticmethod(hook)})
                meter.wrap(holder, "call", HOOKS.get(hook.__name__, f"hook: {hook.__name__}"))
                hooks[i] = holder.call  # type: ignore[attr-defined]
    _state["meter"] = meter


def _command(req: Any) -> str:
    return next((value for name, value in req.headers if name == HEADER), "")


def pre_request(worker: Any, req: Any) -> None:
    meter, command = _state["meter"], _command(req)
    if command.startswith("stop "):
        meter.on = False
        times, n = os.times(), _state["requests"]
        per = {phase: ms * 1000 / n for phase, ms in meter.spent.items()}
        per["the meter itself"] = meter.overhead * 1000 / n
        Path(command[5:]).write_text(json.dumps({
            "requests": n, "cpu_ms": (time.process_time() - _state["cpu"]) * 1000 / n,
            "user_ms": (times.user - _state["times"].user) * 1000 / n,
            "system_ms": (times.system - _state["times"].system) * 1000 / n,
            "phases_ms": per}))
    elif meter.on:
        _state["requests"] += 1


def post_request(worker: Any, req: Any, environ: Any, resp: Any) -> None:
    if _command(req) == "start":
        meter = _state["meter"]
        meter.spent.clear()
        meter.overhead = meter.outside = 0.0
        meter.on = True
        _state.update(requests=0, cpu=time.process_time(), times=os.times())
