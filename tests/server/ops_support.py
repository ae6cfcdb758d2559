"""Helpers for the operations tests: ApiClient over real HTTP, running the CLI."""

from __future__ import annotations

import os
import subprocess
import uuid
from typing import Any

import requests

from tests.helpers import gridsync_command


class HttpResponse:
    """The bits of a Flask test response that tests.helpers.ApiClient uses."""

    def __init__(self, resp: requests.Response):
        self.raw = resp
        self.status_code = resp.status_code
        self.headers = resp.headers

    def get_json(self) -> Any:
        return self.raw.json()

    def get_data(self, as_text: bool = False) -> Any:
        return self.raw.text if as_text else self.raw.content


class HttpClient:
    """``ApiClient(HttpClient(url), token)``: the test helpers over a live server."""

    def __init__(self, base_url: str, timeout: float = 10.0):
        self.base = base_url.rstrip("/")
        self.session = requests.Session()
        self.timeout = timeout

    def _call(self, method: str, path: str, **kw: Any) -> HttpResponse:
        kw.setdefault("timeout", self.timeout)
        return HttpResponse(self.session.request(method, self.base + path, **kw))

    def get(self, path: str, **kw: Any) -> HttpResponse:
        return self._call("GET", path, **kw)

    def post(self, path: str, **kw: Any) -> HttpResponse:
        return self._call("POST", path, **kw)

    def put(self, path: str, **kw: Any) -> HttpResponse:
        return self._call("PUT", path, **kw)

    def patch(self, path: str, **kw: Any) -> HttpResponse:
        return self._call("PATCH", path, **kw)


def run_cli(*args: str, env: dict | None = None,
            timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([*gridsync_command(), *args], capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, **(env or {})})


class CliResult:
    def __init__(self, returncode: int, stdout: str, stderr: str):
        self.returncode, self.stdout, self.stderr = returncode, stdout, stderr


def invoke(*args: str) -> CliResult:
    """The `gridsync` command in this process (quicker than run_cli)."""
    from click.testing import CliRunner

    from server.cli import main

    result = CliRunner().invoke(main, list(args))
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return CliResult(result.exit_code, result.stdout, result.stderr)


def earn_and_redeem(api: Any, worker: Any, verifier: Any, *, shop_token: str | None,
                    card: str | None, redeem: bool) -> None:
    """One round of ledger traffic: a log recorded, verified (an earn entry),
    and optionally a redemption of one soap (a redeem entry)."""
    log = worker.change("service_logs", {"volunteer": "v1", "activity": "elderly_care",
                                         "started_at": "2026-11-26T01:00:00Z", "minutes": 60})
    assert worker.sync([log])["results"][0]["status"] == "applied"
    verify = verifier.change("service_logs", {"status": "verified"}, id=log["id"], base=1)
    assert verifier.sync([verify])["results"][0]["status"] == "applied"
    if redeem and shop_token and card:
        body = {"id": str(uuid.uuid4()), "volunteer": "v1", "card": card,
                "items": [{"sku": "soap", "qty": 1}]}
        api.ok(api.post("/redemptions", body, token=shop_token), 201)
