"""Shared fixtures: a real initialised data dir in tmp_path, the app, an admin client.

``make_app(data_dir)`` lets a test build a second app on the same data dir
(an app restart); ``api`` wraps the test client with the admin token.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from server import create_app
from server.bootstrap import initialise
from tests.helpers import ApiClient, LiveServer, make_tokens

pytest_plugins = ["tests.browser_support"]  # the ``browser`` fixture of every browser test

BOTH_BACKENDS = pytest.mark.parametrize("backend", ["sqlite", "postgresql"], indirect=True)
"""Mark a module or test with this to run it on both databases (``backend`` fixture)."""


@pytest.fixture
def backend(request):
    """The database behind ``data_dir``: "sqlite" unless parametrized (BOTH_BACKENDS)."""
    return getattr(request, "param", "sqlite")


@pytest.fixture
def database_url(backend, request, monkeypatch):
    """None for SQLite (the data dir's file), else a fresh PostgreSQL database's URL,
    also put in GRIDSYNC_DATABASE_URL for the CLI and `gridsync serve` subprocesses."""
    monkeypatch.delenv("GRIDSYNC_DATABASE_URL", raising=False)
    if backend == "sqlite":
        return None
    url = request.getfixturevalue("pg_url")
    monkeypatch.setenv("GRIDSYNC_DATABASE_URL", url)
    return url


@pytest.fixture
def data_dir(tmp_path, monkeypatch, database_url):
    monkeypatch.delenv("GRIDSYNC_SECRET", raising=False)
    path = tmp_path / "data"
    info = initialise(str(path), database_url)
    path.joinpath("admin-token").write_text(info["token"])
    return path


@pytest.fixture
def make_app(database_url):
    def factory(data_dir, **config):
        extra = {"DATABASE_URL": database_url} if database_url else {}
        return create_app({"DATA_DIR": str(data_dir), "TESTING": True, **extra, **config})
    return factory


@pytest.fixture
def app(data_dir, make_app):
    return make_app(data_dir)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def api(app, data_dir):
    return ApiClient(app.test_client(), data_dir.joinpath("admin-token").read_text())


@pytest.fixture
def world(api):
    """A community c1 with grids g1, g2 (and g1a under g1), a shop, workers, volunteers."""
    return api.make_world()


@pytest.fixture
def make_live_server(data_dir):
    """`make_live_server(workers=2, env={...}, start=True)`: a gunicorn `gridsync serve`
    on a free port of 127.0.0.1 over the initialised ``data_dir``; stopped at teardown."""
    servers: list[LiveServer] = []

    def factory(*, workers: int = 2, env: dict | None = None, start: bool = True) -> LiveServer:
        server = LiveServer(data_dir, data_dir.joinpath("admin-token").read_text(),
                            workers=workers, env=env)
        servers.append(server)
        return server.start() if start else server

    yield factory
    for server in servers:
        try:
            server.stop()
        except RuntimeError:
            server.kill()


@pytest.fixture
def live_server(make_live_server):
    """A running server: ``.url``, ``.api_url``, ``.token`` (admin), ``.data_dir``,
    ``.stop()``, ``.start()``, ``.kill()``."""
    return make_live_server()


@pytest.fixture
def tokens(world, api, data_dir):
    """make_world plus add_second_community, and a token per person: device tokens
    (enrolled with a code) for workers, volunteers and shop staff; `gridsync token`-style
    tokens for admin and auditor a1. ``tokens["w1"]`` etc."""
    return make_tokens(api, data_dir)


@pytest.fixture(scope="module")
def shared_world(tmp_path_factory):
    """One data dir with make_world, add_second_community and ``tokens``, built once per
    test module, for tests that change nothing (and prove it with ``db_dump``): far
    cheaper than a new world per test. ``.api``, ``.app``, ``.data_dir``, ``.tokens``,
    ``.world``."""
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("GRIDSYNC_SECRET", raising=False)
        data_dir = tmp_path_factory.mktemp("shared") / "data"
        token = initialise(str(data_dir))["token"]
        data_dir.joinpath("admin-token").write_text(token)
        app = create_app({"DATA_DIR": str(data_dir), "TESTING": True})
        api = ApiClient(app.test_client(), token)
        world = api.make_world()
        tokens = make_tokens(api, data_dir)
        yield SimpleNamespace(api=api, app=app, data_dir=data_dir, tokens=tokens, world=world)


# --- PostgreSQL (tests/pg_support.py) ------------------------------------------------------
@pytest.fixture(scope="session")
def pg_cluster():
    """The PostgreSQL server of this test session (GRIDSYNC_TEST_DATABASE_URL or a throwaway
    cluster); tests using it skip, saying why, where there is none."""
    from tests import pg_support as pg

    try:
        cluster = pg.server()
    except pg.Unavailable as exc:
        pytest.skip(str(exc))
    yield cluster
    cluster.stop()


@pytest.fixture
def pg_url(pg_cluster):
    """A fresh PostgreSQL database (schema migrated, nothing else) for one test; dropped
    after it."""
    from server.storage.postgres import close_pools

    url = pg_cluster.create_database(migrated=True)
    yield url
    close_pools()
    pg_cluster.drop_database(url)
