"""Fixtures for the field client: enrolled devices over the in-process app or a live server.

``make_field(person)`` enrols a new device of ``person`` (a fresh data dir under
tmp_path) through ``FlaskTransport(app)``; every client's retry policy sleeps
through ``sleeps`` (a list of the delays asked for), so retries cost no time.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from client_sdk import FieldClient, FlaskTransport, HttpTransport, RetryPolicy
from tests.helpers import RawDb, raw_db


class Sleeps(list):
    """A fake ``sleep``: records each delay, optionally runs a hook first."""

    def __init__(self) -> None:
        super().__init__()
        self.hook: Any = None

    def __call__(self, seconds: float) -> None:
        self.append(seconds)
        if self.hook is not None:
            self.hook(seconds)


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def make_field(app, api, world, tmp_path, sleeps):
    counter = {"n": 0}

    def factory(person: str, *, transport: Any = None, name: str | None = None,
                **options: Any) -> FieldClient:
        counter["n"] += 1
        directory = tmp_path / f"field-{person}-{counter['n']}"
        code = api.ok(api.post("/enrollments", {"person": person}), 201)["code"]
        options.setdefault("retry", RetryPolicy(sleep=sleeps))
        client = FieldClient(directory, transport or FlaskTransport(app), **options)
        client.enroll("http://in-process", code, name or f"phone of {person}")
        return client

    return factory


@pytest.fixture
def make_live_field(live_server, api, world, tmp_path, sleeps):
    """Devices talking HTTP to the real gunicorn server (world set up through ``api``
    on the same data dir)."""
    counter = {"n": 0}

    def factory(person: str, *, wrap: Any = None, **options: Any) -> FieldClient:
        counter["n"] += 1
        directory = tmp_path / f"live-{person}-{counter['n']}"
        code = api.ok(api.post("/enrollments", {"person": person}), 201)["code"]
        options.setdefault("retry", RetryPolicy(sleep=sleeps))
        transport = HttpTransport(live_server.url, timeout=(2.0, 60.0))
        client = FieldClient(directory, wrap(transport) if wrap else transport, **options)
        client.enroll(live_server.url, code, f"phone of {person}")
        return client

    return factory


def server_db(data_dir: Path) -> RawDb:
    """The server's database (either backend), closed at the end of a ``with``."""
    return raw_db(data_dir)


def server_records(data_dir: Path, collection: str) -> dict[str, dict]:
    """id → {version, deleted, fields} of every server record of ``collection``."""
    import json

    with server_db(data_dir) as conn:
        rows = conn.execute("SELECT id, state FROM records WHERE collection = ?",
                            (collection,)).fetchall()
    out = {}
    for row in rows:
        state = json.loads(row["state"])
        out[row["id"]] = {"version": state["version"], "deleted": state["deleted"],
                          "fields": {} if state["deleted"] else state["fields"]}
    return out


def local_records(client: FieldClient, collection: str) -> dict[str, dict]:
    rows = client.store.records(collection, deleted=True)
    return {r["id"]: {"version": r["version"], "deleted": r["deleted"], "fields": r["fields"]}
            for r in rows}
