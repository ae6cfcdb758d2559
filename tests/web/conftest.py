"""Fixtures for the web pages: a world with web logins and points, signed-in clients.

The world (``make_web_world``: logins, synced service logs, an adjustment) is built
once per session in a template data dir; each test gets its own copy of it as its
``data_dir``, so tests stay independent without paying for the setup each time.
"""

from __future__ import annotations

import copy
import dataclasses
import shutil

import pytest

from server import create_app, state
from server.bootstrap import initialise
from server.services import web_auth
from tests.helpers import ApiClient
from tests.web.web_support import (
    SHOP_LOGIN,
    SHOP_PASSWORD,
    V1_PHONE,
    V1_PIN,
    WebClient,
    make_web_world,
)

CHEAP_SCRYPT_N = 2**10


@pytest.fixture(autouse=True)
def cheap_scrypt(monkeypatch):
    """scrypt at n=2^10 in these tests (each hash records its own cost, so checks still
    work); test_login_api_stores_a_scrypt_hash_never_the_secret uses the real cost."""
    monkeypatch.setattr(web_auth, "SCRYPT_N", CHEAP_SCRYPT_N)


@pytest.fixture(scope="session")
def web_template(tmp_path_factory):
    path = tmp_path_factory.mktemp("web-template") / "data"
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("GRIDSYNC_SECRET", raising=False)
        mp.setattr(web_auth, "SCRYPT_N", CHEAP_SCRYPT_N)
        info = initialise(str(path))
        path.joinpath("admin-token").write_text(info["token"])
        app = create_app({"DATA_DIR": str(path), "TESTING": True})
        world = make_web_world(ApiClient(app.test_client(), info["token"]))
        state.close_all()      # last connection closed: the WAL is checkpointed into the file
    return path, world


@pytest.fixture
def data_dir(tmp_path, monkeypatch, web_template):
    """A private copy of the template data dir (overrides the root conftest's)."""
    monkeypatch.delenv("GRIDSYNC_SECRET", raising=False)
    path = tmp_path / "data"
    shutil.copytree(web_template[0], path)
    return path


@pytest.fixture
def web_world(api, web_template):
    """``{"card": v1's card code, "w1", "w1b": enrolled worker devices}`` bound to this
    test's api client (see tests.web.web_support.make_web_world for the rest)."""
    world = web_template[1]
    out = {"card": world["card"]}
    for name in ("w1", "w1b"):
        device = world[name]
        out[name] = dataclasses.replace(device, api=api, clock=copy.deepcopy(device.clock))
    return out


@pytest.fixture
def web(app):
    """An anonymous browser-like client."""
    return WebClient(app.test_client())


@pytest.fixture
def shop_web(app, web_world):
    client = WebClient(app.test_client())
    client.sign_in(SHOP_LOGIN, SHOP_PASSWORD)
    return client


@pytest.fixture
def v1_web(app, web_world):
    client = WebClient(app.test_client())
    client.sign_in(V1_PHONE, V1_PIN)
    return client
