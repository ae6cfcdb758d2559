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


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    monkeypatch.delenv("GRIDSYNC_SECRET", raising=False)
    path = tmp_path / "data"
    info = initialise(str(path))
    path.joinpath("admin-token").write_text(info["token"])
    return path


@pytest.fixture
def make_app():
    def factory(data_dir, **config):
        return create_app({"DATA_DIR": str(data_dir), "TESTING": True, **config})
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
