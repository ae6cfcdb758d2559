"""Shared fixtures: a real initialised data dir in tmp_path, the app, an admin client.

``make_app(data_dir)`` lets a test build a second app on the same data dir
(an app restart); ``api`` wraps the test client with the admin token.

The database behind every fixture is SQLite (the data dir's file) unless
``GRIDSYNC_TEST_BACKEND=postgresql`` (``make test-pg``): then every test that may
touch storage gets a fresh PostgreSQL database, named in ``GRIDSYNC_DATABASE_URL``
for the app, the CLI and `gridsync serve` subprocesses, and tests marked
``sqlite_only`` (about the SQLite file itself) skip, saying why.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace

import pytest

from server import create_app
from server.bootstrap import initialise
from tests.helpers import ApiClient, LiveServer, make_tokens

pytest_plugins = ["tests.browser_support"]  # the ``browser`` fixture of every browser test

BACKENDS = ("sqlite", "postgresql")
TEST_BACKEND = os.environ.get("GRIDSYNC_TEST_BACKEND", "sqlite").strip().lower() or "sqlite"
ON_POSTGRES = TEST_BACKEND == "postgresql"

BOTH_BACKENDS = pytest.mark.parametrize(
    "backend", ["postgresql"] if ON_POSTGRES else list(BACKENDS), indirect=True)
"""Mark a module or test with this to run it on both databases (``backend`` fixture); the
PostgreSQL run (``make test-pg``) runs only its PostgreSQL half."""

PURE = ("tests/primitives/", "tests/sync/", "tests/ledger/", "tests/test_layering.py")
"""Suites of the pure libraries: no storage, so no database on the PostgreSQL run."""

WIDER_WORLDS = ("shared_world", "field_server")
"""Fixtures that keep one database for a module or the session (a test using one gets
no database of its own); a test module adds its own in ``WIDER_WORLDS`` (each built with
``wider_database``, its URL in GRIDSYNC_DATABASE_URL while it lives)."""


def pytest_configure(config):
    if TEST_BACKEND not in BACKENDS:
        raise pytest.UsageError(f"GRIDSYNC_TEST_BACKEND={TEST_BACKEND!r}: "
                                f"use one of {', '.join(BACKENDS)}")
    config.addinivalue_line("markers", "sqlite_only(reason): about the SQLite file itself "
                                       "(skipped on the PostgreSQL run, with the reason)")


def pytest_report_header(config):
    return f"gridsync test backend: {TEST_BACKEND} (GRIDSYNC_TEST_BACKEND)"


def pytest_collection_modifyitems(config, items):
    if not ON_POSTGRES:
        return
    for item in items:
        mark = item.get_closest_marker("sqlite_only")
        if mark is not None:
            reason = mark.kwargs.get("reason") or (mark.args[0] if mark.args else "")
            item.add_marker(pytest.mark.skip(reason=f"SQLite only: {reason}"))


@pytest.fixture(autouse=True)
def _database_of_the_run(request):
    """On the PostgreSQL run, every test that may touch storage has its own database
    (``database_url``) before anything opens one, even a test that initialises a data
    dir of its own or runs `gridsync init`."""
    if not ON_POSTGRES or request.node.get_closest_marker("sqlite_only"):
        return
    where = Path(str(request.node.path)).as_posix()
    if any(f"/{part}" in where for part in PURE):
        return
    wider = (*WIDER_WORLDS, *getattr(request.module, "WIDER_WORLDS", ()))
    if any(name in request.fixturenames for name in wider):
        return
    request.getfixturevalue("database_url")


@pytest.fixture
def backend(request):
    """The database behind ``data_dir``: GRIDSYNC_TEST_BACKEND (default "sqlite") unless
    parametrized (BOTH_BACKENDS)."""
    return getattr(request, "param", TEST_BACKEND)


@contextmanager
def wider_database(request) -> Iterator[str | None]:
    """For a fixture wider than one test: None on the SQLite run; on the PostgreSQL run
    a fresh migrated database's URL, in GRIDSYNC_DATABASE_URL while the fixture sets
    up, dropped when it ends."""
    if not ON_POSTGRES:
        yield None
        return
    from server.storage.postgres import close_pools

    cluster = request.getfixturevalue("pg_cluster")
    url = cluster.create_database(migrated=True)
    try:
        yield url
    finally:
        close_pools(url)
        cluster.drop_database(url)


@pytest.fixture
def database_url(backend, request, monkeypatch):
    """None for SQLite (the data dir's file), else a fresh PostgreSQL database's URL,
    also put in GRIDSYNC_DATABASE_URL for the CLI and `gridsync serve` subprocesses."""
    monkeypatch.delenv("GRIDSYNC_DATABASE_URL", raising=False)
    if backend != "postgresql":
        return None
    url = request.getfixturevalue("pg_url")
    monkeypatch.setenv("GRIDSYNC_DATABASE_URL", url)
    return url


@pytest.fixture
def empty_pg_database(pg_cluster):
    """The URL of a new PostgreSQL database with no tables (as createdb makes it),
    dropped after the test."""
    from server.storage.postgres import close_pools

    url = pg_cluster.create_database()
    yield url
    close_pools(url)
    pg_cluster.drop_database(url)


@pytest.fixture
def other_database(backend, request):
    """For a test that makes a second data dir: the environment that gives it its own
    database (``{}`` on SQLite, where it has its own file; else GRIDSYNC_DATABASE_URL of
    an ``empty_pg_database``)."""
    if backend != "postgresql":
        return {}
    return {"GRIDSYNC_DATABASE_URL": request.getfixturevalue("empty_pg_database")}


@pytest.fixture
def empty_target(backend, request, tmp_path):
    """An empty database for ``open_storage``: a new SQLite file's path, or an
    ``empty_pg_database``."""
    if backend != "postgresql":
        return str(tmp_path / "empty.db")
    return request.getfixturevalue("empty_pg_database")


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
def shared_world(tmp_path_factory, request):
    """One data dir with make_world, add_second_community and ``tokens``, built once per
    test module, for tests that change nothing (and prove it with ``db_dump``): far
    cheaper than a new world per test. ``.api``, ``.app``, ``.data_dir``, ``.tokens``,
    ``.world``."""
    with pytest.MonkeyPatch.context() as mp, wider_database(request) as url:
        mp.delenv("GRIDSYNC_SECRET", raising=False)
        mp.delenv("GRIDSYNC_DATABASE_URL", raising=False)
        if url:
            mp.setenv("GRIDSYNC_DATABASE_URL", url)
        data_dir = tmp_path_factory.mktemp("shared") / "data"
        token = initialise(str(data_dir), url)["token"]
        data_dir.joinpath("admin-token").write_text(token)
        app = create_app({"DATA_DIR": str(data_dir), "TESTING": True,
                          **({"DATABASE_URL": url} if url else {})})
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
        if ON_POSTGRES:  # asked for the PostgreSQL run: not a skip of everything
            pytest.exit(f"GRIDSYNC_TEST_BACKEND=postgresql: {exc}", returncode=3)
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
    close_pools(url)
    pg_cluster.drop_database(url)
