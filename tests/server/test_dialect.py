"""Dialect pieces that build SQL: what they build runs on the database it is for."""

from __future__ import annotations

import pytest

from server.storage.dialect import POSTGRESQL, SQLITE


@pytest.fixture
def pg(empty_pg_database):
    from server.storage.postgres import PgDatabase

    db = PgDatabase(empty_pg_database)
    yield db
    db.close()


@pytest.mark.parametrize("writes", [1, 3])
def test_writes_as_one_statement_run_each_once_on_postgresql(pg, writes):
    with pg.transaction():
        pg.execute("CREATE TABLE t (n INTEGER PRIMARY KEY)")
    sql = POSTGRESQL.one_statement(*["INSERT INTO t (n) VALUES (?)"] * writes)
    assert sql is not None
    with pg.transaction():
        pg.execute(sql, tuple(range(writes)))
    assert [row[0] for row in pg.tuples("SELECT n FROM t ORDER BY n")] == list(range(writes))


def test_sqlite_runs_writes_one_by_one():
    assert SQLITE.one_statement("INSERT INTO t (n) VALUES (?)") is None
