"""Schema migrations: from empty, from every earlier version, re-runs, newer schemas,
and two processes racing to migrate one new file."""

from __future__ import annotations

import multiprocessing
import sqlite3

import pytest

from server.config import database_target
from server.storage import LATEST, SchemaTooNew, open_current, open_storage
from server.storage.connection import Database
from server.storage.maintenance import Maintenance
from server.storage.migrations import MIGRATIONS, current_version, migrate
from server.storage.pg_dump import PgMaintenance
from tests.conftest import BOTH_BACKENDS
from tests.helpers import raw_db


def schema(path):
    conn = sqlite3.connect(path)
    try:
        return sorted(conn.execute(
            "SELECT type, name, tbl_name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'"))
    finally:
        conn.close()


def version(path):
    conn = sqlite3.connect(path)
    try:
        return conn.execute("PRAGMA user_version").fetchone()[0]
    finally:
        conn.close()


def test_latest_is_the_number_of_migrations():
    assert LATEST == len(MIGRATIONS) >= 1


def test_empty_database_reaches_latest(tmp_path):
    path = str(tmp_path / "new.db")
    open_storage(path).close()
    assert version(path) == LATEST
    names = {row[1] for row in schema(path) if row[0] == "table"}
    assert {"grids", "shops", "people", "person_grids", "devices", "tokens", "enrollments",
            "catalog", "rules", "signing_keys", "records", "ops", "conflicts", "entries",
            "balances", "redemptions"} <= names


def test_rerunning_is_a_no_op(tmp_path):
    path = str(tmp_path / "new.db")
    open_storage(path).close()
    first = schema(path)
    db = Database(path)
    try:
        assert migrate(db) == LATEST
        assert migrate(db) == LATEST
    finally:
        db.close()
    open_storage(path).close()
    assert schema(path) == first and version(path) == LATEST


@pytest.mark.parametrize("start", range(LATEST))
def test_every_earlier_version_upgrades_to_the_same_schema(tmp_path, start):
    fresh = str(tmp_path / "fresh.db")
    open_storage(fresh).close()
    old = str(tmp_path / "old.db")
    db = Database(old)
    try:
        assert migrate(db, target=start) == start
        assert current_version(db) == start
    finally:
        db.close()
    open_storage(old).close()
    assert version(old) == LATEST
    assert schema(old) == schema(fresh)


def test_data_survives_reopening(tmp_path):
    path = str(tmp_path / "d.db")
    store = open_storage(path)
    with store.transaction():
        store.directory.add_grid(id="c1", name="社区", parent=None, at="2026-01-01T00:00:00Z")
    store.close()
    store = open_storage(path)
    try:
        assert store.directory.grid("c1")["name"] == "社区"
    finally:
        store.close()


def test_a_newer_schema_is_refused_with_a_clear_error(tmp_path):
    path = str(tmp_path / "future.db")
    open_storage(path).close()
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {LATEST + 1}")
    conn.close()
    before = schema(path)
    with pytest.raises(SchemaTooNew) as exc:
        open_storage(path)
    message = str(exc.value)
    assert f"version {LATEST + 1}" in message and "newer" in message
    assert "upgrade gridsync" in message
    assert version(path) == LATEST + 1 and schema(path) == before


def test_a_newer_schema_stops_the_app_factory(tmp_path):
    from server import create_app

    data = tmp_path / "data"
    data.mkdir()
    with raw_db(data) as db:  # the data dir's file, or the run's PostgreSQL database
        db.set_schema_version(LATEST + 5)
    with pytest.raises(SchemaTooNew, match="newer than this gridsync"):
        create_app({"DATA_DIR": str(data), "TESTING": True})


@BOTH_BACKENDS
def test_one_schema_too_new_whoever_meets_it(data_dir, database_url):
    """Migrating, the backup and restore check (each database's maintenance) and the
    ledger audit's open_current refuse a newer gridsync's database with one error type,
    worded in one place, and change nothing."""
    target = database_target(str(data_dir), database_url)
    with raw_db(data_dir) as db:
        db.set_schema_version(LATEST + 2)
    store = open_storage(target, migrate_schema=False)
    try:
        maintenance = (Maintenance if database_url is None else PgMaintenance)(store.db)
        refusals = []
        for meet in (lambda: open_storage(target), maintenance.check_is_gridsync,
                     lambda: open_current(target)):
            with pytest.raises(SchemaTooNew) as exc:
                meet()
            refusals.append(exc.value)
        assert {(e.version, e.latest, str(e)) for e in refusals} == {
            (LATEST + 2, LATEST, f"database schema version {LATEST + 2} is newer than this "
                                 f"gridsync ({LATEST}): upgrade gridsync first")}
        assert current_version(store.db) == LATEST + 2
    finally:
        store.close()


def _migrate_in_child(path, barrier, results):
    try:
        barrier.wait(10)
        store = open_storage(path)
        try:
            results.put(("ok", current_version(store.db)))
        finally:
            store.close()
    except BaseException as exc:  # reported to the parent, which fails the test
        results.put(("error", repr(exc)))


@pytest.mark.parametrize("attempt", range(3))
def test_two_processes_migrating_one_new_file_both_succeed(tmp_path, attempt):
    path = str(tmp_path / "race.db")
    ctx = multiprocessing.get_context("fork")
    barrier, results = ctx.Barrier(2), ctx.Queue()
    procs = [ctx.Process(target=_migrate_in_child, args=(path, barrier, results))
             for _ in range(2)]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(60)
    outcomes = [results.get(timeout=5) for _ in procs]
    assert outcomes == [("ok", LATEST), ("ok", LATEST)], outcomes
    assert all(proc.exitcode == 0 for proc in procs)
    assert version(path) == LATEST
    fresh = str(tmp_path / "fresh.db")
    open_storage(fresh).close()
    assert schema(path) == schema(fresh)
