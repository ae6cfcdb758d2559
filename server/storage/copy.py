"""Copy a whole SQLite database into an empty PostgreSQL one (``gridsync copy``).

The target is migrated to the same schema first; then every table is copied
row for row, parents before children (foreign keys stay checked), in one
transaction, so a failed copy leaves the target as empty as it was. Tables
the target keeps by itself are skipped: the household search index (filled
by the trigger on ``records``) and SQLite's FTS5 tables. Identity sequences
are moved past the copied keys afterwards.
"""

from __future__ import annotations

from collections.abc import Callable

from .connection import Database
from .errors import StorageError
from .migrations import LATEST, current_version
from .postgres import PgDatabase

BATCH = 2000
SKIPPED = ("household_index",)
"""Tables the target fills itself (triggers), never copied."""

Progress = Callable[[str, int, int], None]


class CopyRefused(StorageError):
    """The source or the target is not fit for a copy (the message says why)."""


def _tables(src: Database) -> list[str]:
    """The source's tables, parents before children (foreign keys), then by name."""
    names = [r[0] for r in src.query(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
        "AND sql NOT LIKE 'CREATE VIRTUAL TABLE%' ORDER BY name")]
    shadow = {r[0] for r in src.query(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND sql LIKE 'CREATE VIRTUAL%'")}
    names = [n for n in names if n not in SKIPPED
             and not any(n.startswith(v + "_") for v in shadow)]
    parents = {n: {r["table"] for r in src.query(f'PRAGMA foreign_key_list("{n}")')} - {n}
               for n in names}
    ordered: list[str] = []
    while len(ordered) < len(names):
        ready = [n for n in names if n not in ordered and parents[n] <= set(ordered)]
        if not ready:
            raise CopyRefused("the source's foreign keys form a cycle")
        ordered += ready
    return ordered


_GRIDS_BY_DEPTH = (
    "ORDER BY (WITH RECURSIVE up(id, depth) AS (SELECT grids.id, 0 UNION ALL "
    "SELECT p.parent, depth + 1 FROM up JOIN grids p ON p.id = up.id "
    "WHERE p.parent IS NOT NULL) SELECT max(depth) FROM up), id")
"""A parent grid before its children (grids.parent references grids)."""


def copy_database(src: Database, dest: PgDatabase, progress: Progress | None = None
                  ) -> dict[str, int]:
    """Copy every row of ``src`` into the empty ``dest``; returns rows copied per table."""
    version = current_version(src)
    if version != LATEST:
        raise CopyRefused(f"the source is at schema {version}, this gridsync at {LATEST}: "
                          "open it once with this gridsync (gridsync serve or init) first")
    if dest.scalar("SELECT count(*) FROM signing_keys") or dest.scalar(
            "SELECT count(*) FROM entries") or dest.scalar("SELECT count(*) FROM records"):
        raise CopyRefused("the target database is not empty: copy into a new database")
    copied: dict[str, int] = {}
    with src.snapshot(), dest.transaction():
        # The target's migrations wrote their own settings (epoch, cursor key): the
        # source's replace them, so cursors devices hold stay valid.
        dest.execute("DELETE FROM settings")
        for table in _tables(src):
            columns = [r[1] for r in src.query(f"PRAGMA table_info('{table}')")]
            names = ", ".join(f'"{c}"' for c in columns)
            insert = (f'INSERT INTO "{table}" ({names}) VALUES '
                      f"({', '.join('?' * len(columns))})")
            total = int(src.scalar(f'SELECT count(*) FROM "{table}"'))
            done = 0
            order = _GRIDS_BY_DEPTH if table == "grids" else ""
            cursor = src.execute(f'SELECT {names} FROM "{table}" {order}')
            while True:
                rows = cursor.fetchmany(BATCH)
                if not rows:
                    break
                dest.executemany(insert, [tuple(r) for r in rows])
                done += len(rows)
                if progress:
                    progress(table, done, total)
            copied[table] = done
        for table, column in dest.query(
                "SELECT table_name, column_name FROM information_schema.columns "
                "WHERE table_schema = current_schema() AND is_identity = 'YES'"):
            dest.execute(f"SELECT setval(pg_get_serial_sequence('\"{table}\"', '{column}'), "
                         f'coalesce((SELECT max("{column}") FROM "{table}"), 0) + 1, false)')
    return copied
