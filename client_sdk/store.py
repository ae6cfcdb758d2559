"""The field client's local SQLite store (sqlite-utils for the schema, plain SQL for work).

Tables:

- ``records``: one row per record of the device's scope: the view
  (``version``, ``hlc``, ``fields`` JSON, ``deleted``), ``pending`` (how many
  outbox changes are folded into it) and ``base``: NULL when the row is the
  server's state as last pulled, else the JSON of that server state (the
  literal ``null`` when the server has not sent the record), kept so that a
  rejected change can be taken back out of the view.
- ``outbox``: signed changes not yet acknowledged, in recording order.
  ``attempted`` is set (and committed) before a change is first sent: only
  never-sent changes may be rewritten (coalesced).
- ``rejected``: changes the server refused, with the reason, until dismissed.
- ``conflicts``: pushed changes the server reported as ``conflict``.
- ``settings``: JSON values: cursor, clock state, ledger keys, last sync.

The connection is in autocommit mode with explicit ``BEGIN IMMEDIATE``
transactions, WAL and ``synchronous=FULL``: a recorded visit survives a
power cut, and a page of pulled records lands together with its cursor.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson
import sqlite_utils

SCHEMA_VERSION = 1


def dumps(obj: Any) -> str:
    return orjson.dumps(obj).decode()


def loads(text: str | bytes) -> Any:
    return orjson.loads(text)


class LocalStore:
    def __init__(self, path: str | Path):
        self.path = str(path)
        self.conn = sqlite3.connect(self.path, isolation_level=None, timeout=30)
        self.conn.row_factory = sqlite3.Row
        self.conn.execute("PRAGMA busy_timeout = 10000")
        self.conn.execute("PRAGMA journal_mode = WAL")
        self.conn.execute("PRAGMA synchronous = FULL")
        self.db = sqlite_utils.Database(self.conn)
        self._depth = 0
        self._create()

    def _create(self) -> None:
        db = self.db
        with self.transaction():
            db.table("records").create(
                {"collection": str, "id": str, "version": int, "hlc": str, "fields": str,
                 "deleted": int, "pending": int, "base": str},
                pk=("collection", "id"), not_null={"version", "hlc", "fields", "deleted",
                                                   "pending"},
                defaults={"pending": 0}, if_not_exists=True)
            db.table("outbox").create(
                {"seq": int, "op": str, "collection": str, "record": str, "change": str,
                 "size": int, "attempted": int, "restamps": int, "created_at": str},
                pk="seq", not_null={"op", "collection", "record", "change"},
                defaults={"attempted": 0, "restamps": 0}, if_not_exists=True)
            db.table("outbox").create_index(["op"], unique=True, if_not_exists=True)
            db.table("outbox").create_index(["collection", "record"], if_not_exists=True)
            db.table("rejected").create(
                {"op": str, "collection": str, "record": str, "change": str, "code": str,
                 "message": str, "fields": str, "rejected_at": str},
                pk="op", if_not_exists=True)
            db.table("conflicts").create(
                {"op": str, "collection": str, "record": str, "version": int, "fields": str,
                 "seen_at": str},
                pk="op", if_not_exists=True)
            db.table("settings").create({"key": str, "value": str}, pk="key", if_not_exists=True)
            if self.get("schema") is None:
                self.put("schema", SCHEMA_VERSION)

    # --- plumbing --------------------------------------------------------
    @contextmanager
    def transaction(self) -> Iterator[LocalStore]:
        """BEGIN IMMEDIATE … COMMIT (rolled back on any exception); nesting joins."""
        if self._depth:
            self._depth += 1
            try:
                yield self
            finally:
                self._depth -= 1
            return
        self.conn.execute("BEGIN IMMEDIATE")
        self._depth = 1
        try:
            yield self
        except BaseException:
            self._depth = 0
            if self.conn.in_transaction:
                self.conn.execute("ROLLBACK")
            raise
        self._depth = 0
        self.conn.execute("COMMIT")

    def execute(self, sql: str, params: Any = ()) -> sqlite3.Cursor:
        return self.conn.execute(sql, params)

    def close(self) -> None:
        self.conn.close()

    # --- settings --------------------------------------------------------
    def get(self, key: str, default: Any = None) -> Any:
        row = self.execute("SELECT value FROM settings WHERE key = ?", (key,)).fetchone()
        return default if row is None else loads(row[0])

    def put(self, key: str, value: Any) -> None:
        self.execute("INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) "
                     "DO UPDATE SET value = excluded.value", (key, dumps(value)))

    def delete_setting(self, key: str) -> None:
        self.execute("DELETE FROM settings WHERE key = ?", (key,))

    # --- records ---------------------------------------------------------
    @staticmethod
    def _row(row: sqlite3.Row) -> dict[str, Any]:
        return {"collection": row["collection"], "id": row["id"], "version": row["version"],
                "hlc": row["hlc"], "fields": loads(row["fields"]),
                "deleted": bool(row["deleted"]), "pending": row["pending"], "base": row["base"]}

    def record(self, collection: str, id: str) -> dict[str, Any] | None:
        row = self.execute("SELECT * FROM records WHERE collection = ? AND id = ?",
                           (collection, id)).fetchone()
        return None if row is None else self._row(row)

    def records(self, collection: str, *, deleted: bool = False) -> list[dict[str, Any]]:
        sql = "SELECT * FROM records WHERE collection = ?"
        if not deleted:
            sql += " AND deleted = 0"
        return [self._row(r) for r in self.execute(sql + " ORDER BY rowid", (collection,))]

    def count_records(self, collection: str | None = None) -> int:
        if collection is None:
            return int(self.execute("SELECT count(*) FROM records").fetchone()[0])
        return int(self.execute("SELECT count(*) FROM records WHERE collection = ?",
                                (collection,)).fetchone()[0])

    def put_record(self, view: dict[str, Any], *, pending: int, base: str | None) -> None:
        self.put_records([(view, pending, base)])

    def put_records(self, rows: Iterable[tuple[dict[str, Any], int, str | None]]) -> None:
        self.conn.executemany(
            """INSERT INTO records (collection, id, version, hlc, fields, deleted, pending, base)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?)
               ON CONFLICT (collection, id) DO UPDATE SET version = excluded.version,
                 hlc = excluded.hlc, fields = excluded.fields, deleted = excluded.deleted,
                 pending = excluded.pending, base = excluded.base""",
            [(v["collection"], v["id"], v["version"], v["hlc"], dumps(v["fields"]),
              int(v["deleted"]), pending, base) for v, pending, base in rows])

    def delete_record(self, collection: str, id: str) -> int:
        return self.execute("DELETE FROM records WHERE collection = ? AND id = ?",
                            (collection, id)).rowcount

    def drop_synced_records(self) -> int:
        """Delete every record without pending local changes (a restart from cursor null)."""
        return self.execute("DELETE FROM records WHERE pending = 0").rowcount

    # --- outbox ----------------------------------------------------------
    def add_outbox(self, change: dict[str, Any], *, at: str) -> None:
        text = dumps(change)
        self.execute(
            "INSERT INTO outbox (op, collection, record, change, size, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (change["op"], change["collection"], change["id"], text, len(text), at))

    def replace_outbox(self, seq: int, change: dict[str, Any], *, restamped: bool = False
                       ) -> None:
        """Rewrite an outbox entry in place (same position): a new op, stamp and signature."""
        text = dumps(change)
        self.execute(
            "UPDATE outbox SET op = ?, change = ?, size = ?, attempted = 0, "
            "restamps = restamps + ? WHERE seq = ?",
            (change["op"], text, len(text), int(restamped), seq))

    @staticmethod
    def _outbox_row(row: sqlite3.Row) -> dict[str, Any]:
        return {"seq": row["seq"], "op": row["op"], "collection": row["collection"],
                "record": row["record"], "change": loads(row["change"]),
                "attempted": bool(row["attempted"]), "restamps": row["restamps"]}

    def last_outbox_for(self, collection: str, id: str) -> dict[str, Any] | None:
        row = self.execute(
            "SELECT * FROM outbox WHERE collection = ? AND record = ? ORDER BY seq DESC LIMIT 1",
            (collection, id)).fetchone()
        return None if row is None else self._outbox_row(row)

    def outbox_for(self, collection: str, id: str) -> list[dict[str, Any]]:
        rows = self.execute(
            "SELECT * FROM outbox WHERE collection = ? AND record = ? ORDER BY seq",
            (collection, id))
        return [self._outbox_row(r) for r in rows]

    def outbox_batch(self, *, limit: int, max_bytes: int) -> list[dict[str, Any]]:
        """The oldest outbox entries, at most ``limit`` and about ``max_bytes`` of JSON
        (always at least one).

        The batch also stops before a never-sent change to a record that already has
        a change in it: once the first is acknowledged, the second can be rebased on
        the version it produced (``Syncer._rebase``) instead of conflicting with it.
        """
        batch: list[dict[str, Any]] = []
        records: set[tuple[str, str]] = set()
        size = 0
        cursor = self.execute("SELECT * FROM outbox ORDER BY seq")
        for row in cursor:
            if batch and (len(batch) >= limit or size + row["size"] > max_bytes):
                break
            key = (row["collection"], row["record"])
            if key in records and not row["attempted"]:
                break
            records.add(key)
            batch.append(self._outbox_row(row))
            size += row["size"]
        cursor.close()
        return batch

    def mark_attempted(self, seqs: list[int]) -> None:
        self.conn.executemany("UPDATE outbox SET attempted = 1 WHERE seq = ?",
                              [(s,) for s in seqs])

    def remove_outbox(self, seq: int) -> None:
        self.execute("DELETE FROM outbox WHERE seq = ?", (seq,))

    def outbox_count(self) -> int:
        return int(self.execute("SELECT count(*) FROM outbox").fetchone()[0])

    def outbox_all(self) -> list[dict[str, Any]]:
        return [self._outbox_row(r) for r in self.execute("SELECT * FROM outbox ORDER BY seq")]

    def pending_keys(self, keys: list[tuple[str, str]]) -> set[tuple[str, str]]:
        """Which of ``keys`` (collection, id) have changes in the outbox."""
        if not keys:
            return set()
        rows = self.execute(
            "SELECT DISTINCT o.collection, o.record FROM outbox o JOIN json_each(?) k "
            "ON o.collection = json_extract(k.value, '$[0]') "
            "AND o.record = json_extract(k.value, '$[1]')", (dumps(keys),))
        return {(r[0], r[1]) for r in rows}

    def add_rejected(self, change: dict[str, Any], error: dict[str, Any], *, at: str) -> None:
        self.execute(
            "INSERT INTO rejected (op, collection, record, change, code, message, fields, "
            "rejected_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (op) DO NOTHING",
            (change["op"], change["collection"], change["id"], dumps(change),
             str(error.get("code", "")), str(error.get("message", "")),
             dumps(error["fields"]) if error.get("fields") is not None else None, at))

    def rejected(self) -> list[dict[str, Any]]:
        return [{"op": r["op"], "collection": r["collection"], "id": r["record"],
                 "code": r["code"], "message": r["message"],
                 "fields": loads(r["fields"]) if r["fields"] else None,
                 "change": loads(r["change"]), "rejected_at": r["rejected_at"]}
                for r in self.execute("SELECT * FROM rejected ORDER BY rowid")]

    def dismiss_rejected(self, op: str) -> bool:
        return self.execute("DELETE FROM rejected WHERE op = ?", (op,)).rowcount > 0

    def add_conflict(self, change: dict[str, Any], version: int | None, *, at: str) -> None:
        self.execute(
            "INSERT INTO conflicts (op, collection, record, version, fields, seen_at) "
            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (op) DO NOTHING",
            (change["op"], change["collection"], change["id"], version,
             dumps(change["fields"]), at))

    def conflicts(self) -> list[dict[str, Any]]:
        return [{"op": r["op"], "collection": r["collection"], "id": r["record"],
                 "version": r["version"], "fields": loads(r["fields"]), "seen_at": r["seen_at"]}
                for r in self.execute("SELECT * FROM conflicts ORDER BY rowid")]
