"""Sync records (current state per record), the op log, conflicts, scope exits.

Each record row holds the record's whole merge state as JSON plus the columns
pull filters on: ``grid`` (households, visits), ``person`` (the volunteer of a
service log, or the person a ``people`` record describes) and ``author`` (the
worker who wrote a visit). ``seq`` is the server change sequence shared with
``scope_exits``; a new version of a record takes the next seq.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from operator import itemgetter

import orjson

from .connection import Database
from .dialect import Dialect
from .migrations import INDEX_WRITTEN, pg_household_upsert, pg_household_values
from .views import compact_json, json_bytes, redacted, view_json


@dataclass(frozen=True)
class Placement:
    """Where a record sits for pull: the columns scope filters on."""

    grid: str | None = None
    person: str | None = None
    author: str | None = None


@dataclass(frozen=True)
class StoredRecord:
    """A record's whole merge state (``sync.merge`` form), its placement and the change
    seq of its current version (a new version, or a move, gives it a new one)."""

    state: dict
    place: Placement
    seq: int = 0


@dataclass(frozen=True)
class RecordWrite:
    """A new current version of a record, taking change sequence ``seq``. ``encoded``:
    ``encode_state(state)`` when the caller made it already (a push does, before it takes
    the write lock, so the lock is not held while its states and views are encoded)."""

    state: dict
    seq: int
    place: Placement
    at: str
    encoded: tuple[str, bytes] | None = None

def _scope(sql: Dialect) -> str:
    """The pull predicate: the device's grids, its people, its own visits, its cases and
    the open wishes of its wish grids.

    Each branch reads an index on (grid | person | author, seq): with the collection
    left to the index of the primary key (``unindexed`` stops that on SQLite, whose
    planner chose it), every pull read every visit, case and service log of the
    database, whoever's, to find the few in scope (22 ms a pull with 20,000 visits
    of other workers, 0.03 ms with the author index)."""
    collection = sql.unindexed("collection")
    return f"""(grid IN ({sql.json_values(':grids')})
    OR (person IN ({sql.json_values(':people')})
        AND {collection} IN ('service_logs', 'people'))
    OR (author = :author AND {collection} = 'visits')
    OR (person = :me AND {collection} = 'cases')
    OR (grid IN ({sql.json_values(':wish_grids')}) AND {collection} = 'cases'
        AND {sql.json_text('state', 'fields', 'kind')} = 'wish'))"""


PULL_WINDOW = 4
"""A pulled page is first looked for among the next ``PULL_WINDOW * limit`` seqs."""


def page_query(sql: Dialect, *, bounded: bool, redact: bool = False) -> str:
    """One pulled page: the seqs in scope after ``:after`` (up to ``:upto`` when
    ``bounded``) chosen from the indexes (whose entries hold the seq: no records row is
    read), then the view stored under each in ``pull_views`` (NULL where there is none),
    and, to ``redact``, each row's collection and whom it is assigned to. The rows come
    in the order of the chosen seqs on SQLite, whose join keeps its outer loop's order;
    ``RecordStore.pull`` sorts them all the same (sorting a page of views again in SQL
    cost more than reading it)."""
    upto = "AND seq <= :upto" if bounded else ""
    extra = ", collection, person" if redact else ""
    return f"""SELECT p.seq, v.view{", p.collection, p.person" if redact else ""}
        FROM (SELECT seq{extra} FROM records
              WHERE seq > :after {upto} AND {_scope(sql)} ORDER BY seq LIMIT :limit) AS p
        {sql.lookup_join("pull_views", "v", "seq", "p.seq")}"""


def _args(grids: list[str], people: list[str], author: str, me: str = "",
          wish_grids: list[str] | None = None, redact: int = 0) -> dict:
    return {"grids": json.dumps(grids), "people": json.dumps(people), "author": author,
            "me": me, "wish_grids": json.dumps(wish_grids or []), "redact": redact}


_dumps = compact_json


def _dumps_allowed(obj: object) -> str:
    """``_dumps`` of a value holding no float (a record's state: validated fields and the
    server's ints and text; a change that passed validation), by orjson (``json_bytes``:
    tests hold the two together). orjson spells some floats its own way and NaN as null,
    so a change rejected as invalid goes to ``_dumps``."""
    return json_bytes(obj).decode()


def encode_state(state: dict) -> tuple[str, bytes]:
    """A record's state and its pulled view as the ``state`` and ``pull_view`` columns
    hold them."""
    return _dumps_allowed(state), view_json(state)


_PURGED_SEQ = ("coalesce((SELECT CAST(value AS BIGINT) FROM settings "
               "WHERE key = 'purged_seq'), 0)")


class RecordStore:
    def __init__(self, db: Database):
        self.db = db

    # --- records ---------------------------------------------------------
    def last_seq(self) -> int:
        return self.seq_marks()[0]

    def seq_marks(self) -> tuple[int, int]:
        """(the last seq handed out, the purge mark: the highest seq of a purged
        tombstone or exit, 0 if none) in one statement. The mark counts in the first:
        seqs never go back, even when the newest rows were purged tombstones. A pull page
        reads both first in its snapshot, so that the mark it checks the cursor against
        is the one of the rows it reads (services/sync/pull.py)."""
        row = self.db.one("SELECT " + self._seq_marks_sql())
        return (int(row[0] or 0), int(row[1] or 0)) if row else (0, 0)

    def _seq_marks_sql(self) -> str:
        return (self.db.sql.greatest("coalesce((SELECT max(seq) FROM records), 0)",
                                     "coalesce((SELECT max(seq) FROM scope_exits), 0)",
                                     _PURGED_SEQ) + ", " + _PURGED_SEQ)

    def get(self, collection: str, id: str) -> StoredRecord | None:
        row = self.db.one(
            "SELECT state, grid, person, author, seq FROM records "
            "WHERE collection = ? AND id = ?", (collection, id))
        if row is None:
            return None
        return StoredRecord(orjson.loads(row["state"]),
                            Placement(row["grid"], row["person"], row["author"]), row["seq"])

    def get_many(self, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], StoredRecord]:
        """The stored records among ``keys`` ((collection, id) pairs), one query per
        collection; keys with no record are left out."""
        ids: dict[str, list[str]] = {}
        for collection, id in keys:
            ids.setdefault(collection, []).append(id)
        found = {}
        for collection, wanted in ids.items():
            for row in self.db.query(
                    "SELECT id, state, grid, person, author, seq FROM records "
                    f"WHERE collection = ? AND id IN ({self.db.sql.json_values('?')})",
                    (collection, json.dumps(wanted))):
                found[(collection, row["id"])] = StoredRecord(
                    orjson.loads(row["state"]), Placement(row["grid"], row["person"],
                                                          row["author"]), row["seq"])
        return found

    def seqs(self, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], int]:
        """The current seq of each stored record among ``keys``, one query per collection
        (what ``get_many`` read is still current where the seq is the one it gave)."""
        ids: dict[str, list[str]] = {}
        for collection, id in keys:
            ids.setdefault(collection, []).append(id)
        return {(collection, row[0]): int(row[1])
                for collection, wanted in ids.items()
                for row in self.db.query(
                    "SELECT id, seq FROM records WHERE collection = ? "
                    f"AND id IN ({self.db.sql.json_values('?')})",
                    (collection, json.dumps(wanted)))}

    def index_households(self, rows: Iterable[tuple[dict, Placement]]) -> None:
        """Write the search index rows (household_index) of these household states and
        placements now, in one statement, ahead of their ``put_many(..., indexed=...)`` in
        the same transaction. SQLite's triggers index every records write, so there
        this is left to them."""
        if self.db.sql.name != "postgresql":
            return
        payload = sorted(({"id": state["id"], "grid": place.grid,
                           "deleted": int(state["deleted"]), "fields": state["fields"]}
                          for state, place in rows), key=lambda h: h["id"])
        if not payload:
            return
        # Sorted by id, so two pushes indexing at once lock their rows in one order.
        self.db.execute(pg_household_upsert(
            f"""SELECT h ->> 'id', h ->> 'grid', {pg_household_values("h -> 'fields'")},
                       CAST(h ->> 'deleted' AS BIGINT)
                FROM json_array_elements(CAST({self.db.sql.nul_free(':rows')} AS json)) AS e(h)
                ORDER BY h ->> 'id'"""), {"rows": _dumps(payload)})

    def put_many(self, rows: Iterable[RecordWrite], *, indexed: Collection[str] = ()) -> None:
        """Upsert new record versions. ``indexed``: ids of households among them whose
        index rows the caller wrote with ``index_households`` in this transaction; they
        are not written again (on PostgreSQL the trigger is told so, and the other
        households are indexed here in one statement)."""
        rows = list(rows)
        skip = bool(indexed) and self.db.sql.name == "postgresql"
        if skip:
            self.db.execute(f"SELECT set_config('{INDEX_WRITTEN}', 'written', true)")
        self._upsert(rows)
        if skip:
            self.db.execute(f"SELECT set_config('{INDEX_WRITTEN}', '', true)")
            self.index_households((w.state, w.place) for w in rows
                                  if w.state["collection"] == "households"
                                  and w.state["id"] not in indexed)

    def _upsert(self, rows: list[RecordWrite]) -> None:
        """Each version's row, then its view in ``pull_views`` under its seq (the row's
        ``pull_view`` is NULL: migration 17's trigger has taken away the view of the seq
        it replaces)."""
        encoded = [encode_state(w.state) if w.encoded is None else w.encoded for w in rows]
        self.db.executemany(
            """INSERT INTO records (collection, id, seq, version, deleted, grid, person, author,
                                   state, pull_view, updated_at)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, ?)
               ON CONFLICT (collection, id) DO UPDATE SET seq = excluded.seq,
                 version = excluded.version, deleted = excluded.deleted, grid = excluded.grid,
                 person = excluded.person, author = excluded.author, state = excluded.state,
                 pull_view = NULL, updated_at = excluded.updated_at""",
            [(w.state["collection"], w.state["id"], w.seq, w.state["version"],
              int(w.state["deleted"]), w.place.grid, w.place.person, w.place.author,
              state, w.at) for w, (state, _) in zip(rows, encoded, strict=True)])
        self.db.executemany(
            "INSERT INTO pull_views (seq, view) VALUES (?, ?) "
            "ON CONFLICT (seq) DO UPDATE SET view = excluded.view",
            [(w.seq, view) for w, (_, view) in zip(rows, encoded, strict=True)])

    def count(self, collection: str | None = None) -> int:
        if collection is None:
            return int(self.db.scalar("SELECT count(*) FROM records"))
        return int(self.db.scalar(
            "SELECT count(*) FROM records WHERE collection = ?", (collection,)))

    def move_visits(self, household: str, grid: str, at: str) -> list[str]:
        """Visits follow their household to another grid, with new seqs so the new
        grid's devices pull them; returns their ids."""
        ids = [r[0] for r in self.db.query(
            "SELECT id FROM records WHERE collection = 'visits' "
            f"AND {self.db.sql.json_text('state', 'fields', 'household')} = ? ORDER BY seq",
            (household,))]
        seq = self.last_seq()
        self.db.executemany(
            "UPDATE records SET grid = ?, seq = ?, updated_at = ? "
            "WHERE collection = 'visits' AND id = ?",
            [(grid, seq + i + 1, at, id) for i, id in enumerate(ids)])
        return ids

    # --- pull ------------------------------------------------------------
    def pull(self, *, after: int, grids: list[str], people: list[str], author: str,
             limit: int, me: str = "", wish_grids: list[str] | None = None, redact: int = 0
             ) -> list[tuple[int, bytes]]:
        """(seq, record view as UTF-8 JSON) in scope with seq > after, oldest first.

        The view is the one stored with the record's state (``views.view_json``), so
        a page of thousands of records is neither built nor re-encoded here: only a
        case a volunteer sees without being its assignee (``redact``) loses its
        reporter details on the way. Bytes, not text: a page's size is counted in
        bytes and the views go into the answer as they are. The page's rows are
        chosen from the indexes first (``page_query``), then only their seqs and views
        are read.

        The scope's branches are read through their indexes and OR-ed, which
        gathers every match after ``after`` before the LIMIT: a full pull in pages
        would read O(n²/limit) index entries. So the page is first looked for
        among the next ``PULL_WINDOW * limit`` seqs (where a device that sees most
        records finds it whole), and only the rest of a page not found there is
        read without an upper bound.
        """
        args = {"limit": limit, **_args(grids, people, author, me, wish_grids, redact)}
        window = after + PULL_WINDOW * limit
        rows = self._page(after=after, upto=window, **args)
        if len(rows) < limit and window < self._top():
            rows += self._page(after=window, upto=None,
                               **{**args, "limit": limit - len(rows)})
        if None in map(itemgetter(1), rows):
            rows = self._made_views(rows)
        if redact:
            return [(seq, redacted(view) if c == "cases" and (person or "") != me else view)
                    for seq, view, c, person in rows]
        return rows  # as read: no copy of a page of thousands of rows

    def _made_views(self, rows: list) -> list:
        """The page with a view made from the state of each record stored without one
        (or whose view was set aside as stale: migration 15), as ``_upsert`` makes it.
        Only a writer that does not know the column (a host still on an older release
        during an upgrade) leaves one: it is sent right, not as a 500 or an old version."""
        out = []
        for row in rows:
            if row[1] is None:
                state = self.db.scalar("SELECT state FROM records WHERE seq = ?", (row[0],))
                row = (row[0], view_json(orjson.loads(state)), *row[2:])
            out.append(row)
        return out

    def _page(self, *, after: int, upto: int | None, **args: object) -> list:
        rows = self.db.tuples(page_query(self.db.sql, bounded=upto is not None,
                                         redact=bool(args["redact"])),
                              {"after": after, "upto": upto, **args})
        rows.sort(key=itemgetter(0))  # in order already on SQLite: one pass
        return rows

    def _top(self) -> int:
        return int(self.db.scalar("SELECT max(seq) FROM records") or 0)

    def in_scope_ids(self, *, grids: list[str], people: list[str], author: str,
                     me: str = "", wish_grids: list[str] | None = None, redact: int = 0
                     ) -> list[tuple[str, str]]:
        """(collection, id) of every record in a scope (used to evict on scope shrink)."""
        rows = self.db.query(
            f"SELECT collection, id FROM records WHERE {_scope(self.db.sql)} ORDER BY seq",
            _args(grids, people, author, me, wish_grids, redact))
        return [(r[0], r[1]) for r in rows]

    def restamp_person(self, person: str, at: str) -> list[tuple[str, str]]:
        """Give a person's records (their people record and service logs) new seqs
        so that devices whose scope now includes them pull them; returns their keys."""
        rows = self.db.query(
            "SELECT collection, id FROM records WHERE person = ? "
            "AND collection IN ('people', 'service_logs') ORDER BY seq", (person,))
        seq = self.last_seq()
        self.db.executemany(
            "UPDATE records SET seq = ?, updated_at = ? WHERE collection = ? AND id = ?",
            [(seq + i + 1, at, r[0], r[1]) for i, r in enumerate(rows)])
        return [(r[0], r[1]) for r in rows]

    def visible(self, collection: str, id: str, *, grids: list[str], people: list[str],
                author: str, me: str = "", wish_grids: list[str] | None = None,
                redact: int = 0) -> bool:
        """Whether the record exists and is in the scope (the pull's own predicate)."""
        return self.db.one(
            "SELECT 1 FROM records WHERE collection = :collection AND id = :id AND "
            + _scope(self.db.sql),
            {"collection": collection, "id": id,
             **_args(grids, people, author, me, wish_grids, redact)}
        ) is not None

    def add_exit(self, *, seq: int, collection: str, id: str, grid: str, at: str) -> None:
        self.db.execute(
            "INSERT INTO scope_exits (seq, collection, id, grid, at) VALUES (?, ?, ?, ?, ?)",
            (seq, collection, id, grid, at))

    def exits(self, *, after: int, upto: int, grids: list[str]) -> list[tuple[str, str]]:
        rows = self.db.query(
            "SELECT collection, id FROM scope_exits WHERE seq > ? AND seq <= ? "
            f"AND grid IN ({self.db.sql.json_values('?')}) ORDER BY seq",
            (after, upto, json.dumps(grids)))
        return [(r[0], r[1]) for r in rows]

    def purge_tombstones(self, before: str) -> int:
        """Delete tombstones and exits older than ``before``; remember the highest
        purged seq so that older cursors get 410 instead of a silent gap."""
        top = self.db.scalar(
            "SELECT max(seq) FROM (SELECT seq FROM records WHERE deleted = 1 AND updated_at < ? "
            "UNION ALL SELECT seq FROM scope_exits WHERE at < ?) AS purged", (before, before))
        cur = self.db.execute(
            "DELETE FROM records WHERE deleted = 1 AND updated_at < ?", (before,))
        self.db.execute("DELETE FROM scope_exits WHERE at < ?", (before,))
        if top is not None:
            self.db.execute(
                "INSERT INTO settings (key, value) VALUES ('purged_seq', ?) ON CONFLICT (key) "
                "DO UPDATE SET value = " + self.db.sql.greatest(
                    "CAST(settings.value AS BIGINT)", "CAST(excluded.value AS BIGINT)"),
                (str(top),))
        return cur.rowcount

    def setting(self, key: str) -> str | None:
        value = self.db.scalar("SELECT value FROM settings WHERE key = ?", (key,))
        return None if value is None else str(value)

    def cursor_keys(self) -> tuple[str | None, str | None, int, int]:
        """(the cursor MAC key, the epoch, the last seq, the purge mark), what a sync
        checks a cursor against and issues one with, in one statement."""
        row = self.db.one(
            "SELECT (SELECT value FROM settings WHERE key = 'cursor_key'), "
            "(SELECT value FROM settings WHERE key = 'epoch'), " + self._seq_marks_sql())
        if row is None:
            return None, None, 0, 0
        return row[0], row[1], int(row[2] or 0), int(row[3] or 0)

    def renew_epoch(self) -> None:
        """Start a new history (after a restore): cursors of the old one get 410."""
        self.db.execute(f"UPDATE settings SET value = {self.db.sql.random_hex(8)} "
                        "WHERE key = 'epoch'")

    # --- op log ----------------------------------------------------------
    def op(self, op: str) -> dict | None:
        row = self.db.one("SELECT * FROM ops WHERE op = ?", (op,))
        return dict(row) if row else None

    def ops(self, ops: list[str]) -> dict[str, dict]:
        """The stored ops among ``ops``, by op id, in one query."""
        return {row["op"]: dict(row) for row in self.db.query(
            f"SELECT * FROM ops WHERE op IN ({self.db.sql.json_values('?')})",
            (json.dumps(ops),))}

    def add_ops(self, rows: list[dict], *, unless_stored: bool = False) -> int:
        """Op rows; ``change`` is the change exactly as the device sent it (a dict). With
        ``unless_stored``, an op already stored is left as it is (not an error); the
        number of rows written."""
        if not rows:
            return 0
        return int(self.db.executemany(
            "INSERT INTO ops (op, device, collection, record, digest, change, status, version, "
            "error_code, error_message, received_at) VALUES "
            "(:op, :device, :collection, :record, :digest, :change, :status, :version, "
            ":error_code, :error_message, :received_at)"
            + (" ON CONFLICT (op) DO NOTHING" if unless_stored else ""),
            [{**row, "change": (_dumps if row["status"] == "rejected" else _dumps_allowed)(
                row["change"])} for row in rows]  # type: ignore[misc]
        ).rowcount)

    def purge_rejected_ops(self, before: str) -> int:
        """Delete rejected ops received before ``before``, except any op a ledger entry
        names as evidence (a rejected op should never be one: kept all the same)."""
        evidence = self.db.sql.json_text("body", "evidence")
        cur = self.db.execute(
            f"""DELETE FROM ops WHERE status = 'rejected' AND received_at < ?
                AND op NOT IN (SELECT {evidence} FROM entries WHERE {evidence} IS NOT NULL)""",
            (before,))
        return cur.rowcount

    def op_counts(self) -> dict[str, int]:
        return {f"{r[0]}:{r[1] or ''}": int(r[2]) for r in self.db.query(
            "SELECT status, error_code, count(*) FROM ops GROUP BY status, error_code")}

    # --- conflicts -------------------------------------------------------
    def add_conflicts(self, rows: list[tuple[str, str, str, dict, dict, str]]) -> None:
        """(collection, record, field, winner, loser, at) rows."""
        self.db.executemany(
            "INSERT INTO conflicts (collection, record, field, winner, loser, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            [(c, r, f, _dumps(w), _dumps(lo), at) for c, r, f, w, lo, at in rows])

    def conflicts(self, status: str | None = "open", limit: int = 1000) -> list[dict]:
        sql = "SELECT * FROM conflicts"
        params: tuple = ()
        if status is not None:
            sql += " WHERE status = ?"
            params = (status,)
        return [self._conflict(r) for r in self.db.query(sql + " ORDER BY id LIMIT ?",
                                                          (*params, limit))]

    def conflict(self, id: int) -> dict | None:
        row = self.db.one("SELECT * FROM conflicts WHERE id = ?", (id,))
        return self._conflict(row) if row else None

    def resolve_conflict(self, id: int, *, keep: str, by: str, at: str) -> None:
        self.db.execute(
            "UPDATE conflicts SET status = 'resolved', kept = ?, resolved_by = ?, resolved_at = ? "
            "WHERE id = ?", (keep, by, at, id))

    def open_conflict_count(self) -> int:
        return int(self.db.scalar("SELECT count(*) FROM conflicts WHERE status = 'open'"))

    @staticmethod
    def _conflict(row: object) -> dict:
        r = dict(row)  # type: ignore[call-overload]
        return {"id": r["id"], "collection": r["collection"], "record": r["record"],
                "field": r["field"], "winner": json.loads(r["winner"]),
                "loser": json.loads(r["loser"]), "status": r["status"],
                "created_at": r["created_at"], "resolved_at": r["resolved_at"],
                "resolved_by": r["resolved_by"], "kept": r["kept"]}
