"""The field app's fixtures: one real `gridsync serve` (gunicorn, one worker, a free
loopback port) over a small world, shared by every test of tests/field (each test makes
its own phones and records, so they stay independent), and one Debian chromium per
module (the ``browser`` fixture of tests/browser_support.py, which skips, saying why,
where Playwright or chromium is missing).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from server import create_app, state
from server.bootstrap import initialise
from tests.browser_support import skip_unless_browser
from tests.conftest import wider_database
from tests.helpers import ApiClient, LiveServer

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts" / "field"
VECTORS = Path(__file__).resolve().parents[1] / "vectors" / "protocol-v1.json"
PHONE = {"width": 360, "height": 740}


class Field:
    """The live server with admin helpers over plain HTTP."""

    def __init__(self, server: LiveServer):
        self.server = server
        self.url = server.url
        self.app_url = server.url + "/field/"

    def api(self, method: str, path: str, body=None, token: str | None = None,
            status: int | None = None):
        resp = requests.request(method, self.server.api_url + path, json=body, timeout=30,
                                headers=self.server.headers(token))
        if status is not None:
            assert resp.status_code == status, (resp.status_code, resp.text)
        return resp.json() if resp.content else None

    def code(self, person: str) -> str:
        return self.api("POST", "/enrollments", {"person": person}, status=201)["code"]


@pytest.fixture(scope="session")
def field_server(tmp_path_factory, request) -> Iterator[Field]:
    skip_unless_browser()
    path = tmp_path_factory.mktemp("field") / "data"
    with pytest.MonkeyPatch.context() as mp, wider_database(request) as url:
        mp.delenv("GRIDSYNC_SECRET", raising=False)
        mp.delenv("GRIDSYNC_DATABASE_URL", raising=False)
        info = initialise(str(path), url)
        path.joinpath("admin-token").write_text(info["token"])
        app = create_app({"DATA_DIR": str(path), "TESTING": True,
                          **({"DATABASE_URL": url} if url else {})})
        api = ApiClient(app.test_client(), info["token"])
        api.make_world()
        api.person("w9", "worker", ["g1"])     # a third phone of grid g1, for reading back
        state.close_all()
        server = LiveServer(path, info["token"], workers=1,
                            env={"GRIDSYNC_DATABASE_URL": url} if url else None).start()
        try:
            yield Field(server)
        finally:
            try:
                server.stop()
            except RuntimeError:
                server.kill()


@pytest.fixture
def new_phone(browser):
    """``new_phone(lang="zh-CN")``: a fresh browser context (a phone) at 360×740."""
    contexts = []

    def factory(locale: str = "zh-CN"):
        context = browser.new_context(viewport=PHONE, locale=locale, timezone_id="Asia/Shanghai",
                                      service_workers="allow")
        context.set_default_timeout(15_000)
        # the page's own errors, printed if the test fails
        context.on("weberror", lambda e: print("page error:", e.error))
        context.on("console", lambda m: m.type == "error" and print("console:", m.text))
        contexts.append(context)
        return context

    yield factory
    for context in contexts:
        context.close()


@pytest.fixture(scope="session")
def vectors() -> dict:
    return json.loads(VECTORS.read_text(encoding="utf-8"))


class _Answer:
    """A requests response with the two methods tests.helpers.ApiClient reads."""

    def __init__(self, resp: requests.Response):
        self.status_code = resp.status_code
        self._resp = resp

    def get_json(self):
        return self._resp.json()

    def get_data(self, as_text: bool = False):
        return self._resp.text if as_text else self._resp.content


class HttpClient:
    """What ApiClient wants from a Flask test client, over real HTTP to the live server."""

    def __init__(self, url: str):
        self.url = url

    def get(self, path: str, headers=None, **kw):
        return _Answer(requests.get(self.url + path, headers=headers, timeout=30, **kw))

    def post(self, path: str, json=None, headers=None, **kw):
        return _Answer(requests.post(self.url + path, json=json, headers=headers, timeout=30))

    def put(self, path: str, json=None, headers=None):
        return _Answer(requests.put(self.url + path, json=json, headers=headers, timeout=30))


@pytest.fixture(scope="session")
def admin(field_server) -> ApiClient:
    """An ApiClient (admin token) over HTTP; ``admin.enroll("w9")`` gives a Python device."""
    return ApiClient(HttpClient(field_server.url), field_server.server.token)


def device_of(record: dict) -> str:
    """The device whose stamp a pulled record carries (the last writer)."""
    return record["hlc"].split(":", 2)[2]
