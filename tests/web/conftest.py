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
from server.storage.postgres import close_pools
from tests.cases.cases_support import case_rules
from tests.conftest import wider_database
from tests.helpers import ApiClient
from tests.web.web_support import (
    ADMIN_LOGIN,
    ADMIN_PASSWORD,
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
def web_template(tmp_path_factory, request):
    """(data dir, world, database URL or None): the template each test copies."""
    path = tmp_path_factory.mktemp("web-template") / "data"
    with pytest.MonkeyPatch.context() as mp, wider_database(request) as url:
        mp.delenv("GRIDSYNC_SECRET", raising=False)
        mp.delenv("GRIDSYNC_DATABASE_URL", raising=False)
        mp.setattr(web_auth, "SCRYPT_N", CHEAP_SCRYPT_N)
        info = initialise(str(path), url)
        path.joinpath("admin-token").write_text(info["token"])
        app = create_app({"DATA_DIR": str(path), "TESTING": True,
                          **({"DATABASE_URL": url} if url else {})})
        world = make_web_world(ApiClient(app.test_client(), info["token"]))
        state.close_all()      # last connection closed: the WAL is checkpointed into the file
        if url:
            close_pools(url)   # nobody connected: PostgreSQL copies it per test
        yield path, world, url


@pytest.fixture
def database_url(request, monkeypatch, web_template):
    """On the PostgreSQL run, a copy of the template's database (overrides the root
    conftest's), in GRIDSYNC_DATABASE_URL; None on SQLite (the copied file)."""
    monkeypatch.delenv("GRIDSYNC_DATABASE_URL", raising=False)
    template_url = web_template[2]
    if template_url is None:
        yield None
        return
    cluster = request.getfixturevalue("pg_cluster")
    url = cluster.create_database(copy_of=template_url)
    monkeypatch.setenv("GRIDSYNC_DATABASE_URL", url)
    yield url
    close_pools(url)
    cluster.drop_database(url)


@pytest.fixture
def data_dir(tmp_path, monkeypatch, web_template, database_url):
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


@pytest.fixture
def office_web(app, api, web_world):
    """The office signed in (adm2's password), with the cases' rules (categories, points)."""
    case_rules(api)
    client = WebClient(app.test_client())
    client.sign_in(ADMIN_LOGIN, ADMIN_PASSWORD)
    return client
