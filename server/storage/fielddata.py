"""What the field recorded, read back for the office: households (with full-text
search), visits, needs and hazards, service hours, and the dashboard's counts, on
both backends (the few differing pieces of SQL from ``db.sql``, dialect.py).

Households are searched through ``household_index``: one row per household,
kept up to date by triggers on ``records`` (migration 5). On SQLite an FTS5 index
over address, head's name and phone, made by sqlite-utils' FTS support with the
trigram tokenizer, finds any three or more characters of a Chinese address or
name; on PostgreSQL a GIN trigram index (pg_trgm, migration 9) serves ``LIKE``
(``ILIKE`` for a word with letters) over the same three columns. Words shorter
than a trigram scan (``instr``/``strpos``, or a case-blind LIKE for words with
letters) on both. Everything else reads the
records' JSON state (``db.sql.json_text`` and friends).
"""

from __future__ import annotations

import json
from typing import Any

import sqlite_utils

from .connection import Database
from .migrations import HOUSEHOLD_SEARCH_TEXT

SEARCH_COLUMNS = ("address", "head_name", "phone")
#: Matches a search sorts and counts in its first pass (see ``search_households``).
SEARCH_CAP = 1000


def ensure_search_index(db: Database) -> None:
    """Create the FTS5 trigram index over ``household_index`` (idempotent).

    Runs after the migrations, outside a transaction: sqlite-utils issues its own
    statements (and commits them). Two processes starting at once may race; the
    loser sees the table already there and carries on.
    """
    if db.scalar("SELECT 1 FROM sqlite_master WHERE name = 'household_index_fts'"):
        return
    utils = sqlite_utils.Database(db.conn)
    try:
        utils.table("household_index").enable_fts(SEARCH_COLUMNS, tokenize="trigram",
                                            create_triggers=True)
    except Exception:  # noqa: BLE001 - re-checked below; anything else is raised
        if not db.scalar("SELECT 1 FROM sqlite_master WHERE name = 'household_index_fts'"):
            raise
        return
    # A household written by another process between the index's populate and its
    # triggers would be missing from it: rebuild once from household_index, now that
    # the triggers keep it current.
    db.execute("INSERT INTO household_index_fts (household_index_fts) VALUES ('rebuild')")


def fts_all_words(words: list[str]) -> str:
    """An FTS5 query matching rows that hold every word as typed: each word is one
    quoted string (its own quotes doubled), so a quote, ``OR``, ``*`` or ``col:`` is text
    to look for, never query syntax (sqlite-utils' quote_fts left a word of quotes
    unbalanced, a syntax error)."""
    return " ".join('"' + word.replace('"', '""') + '"' for word in words)


def _in(values: Any) -> str:
    return json.dumps(sorted(values))


class FieldDataStore:
    def __init__(self, db: Database):
        self.db = db

    # --- households ------------------------------------------------------
    def household_counts(self) -> dict[str, int]:
        """grid → live households directly in it."""
        return {r[0]: int(r[1]) for r in self.db.query(
            "SELECT grid, count(*) FROM household_index WHERE deleted = 0 GROUP BY grid")}

    def search_households(self, q: str, grids: list[str] | None, *, limit: int = 50,
                          offset: int = 0) -> tuple[list[dict], int]:
        """(households matching ``q`` in ``grids`` (None: all), total found).

        Each word of ``q`` must occur in the address, the head's name or the phone.
        The work is bounded: one pass takes at most ``SEARCH_CAP`` + 1 matches, sorts
        and counts those; only a word matching more (a street name) pays for an exact
        count and a sort of all its matches, in one more statement. Words of
        three or more characters go through the trigram index (FTS5 on SQLite, pg_trgm
        on PostgreSQL); shorter ones scan with ``instr``/``strpos`` (about half the cost
        of ``LIKE``), or a case-blind ``LIKE`` when they have letters."""
        sql = self.db.sql
        words = q.split()
        source = "household_index h"
        where = ["h.deleted = 0"]
        args: dict[str, Any] = {"limit": limit, "offset": offset, "cap": SEARCH_CAP + 1}
        if grids is not None:
            where.append(f"h.grid IN ({sql.json_values(':grids')})")
            args["grids"] = _in(grids)
        if sql.name == "sqlite" and words and all(len(w) >= 3 for w in words):
            # Driven from the FTS index (a join, not "rowid IN (…)", which the planner
            # answers by scanning every household).
            source = "household_index_fts f JOIN household_index h ON h.rowid = f.rowid"
            where.append("household_index_fts MATCH :query")
            args["query"] = fts_all_words(words)
            words = []
        trigrams = False  # PostgreSQL: a word the GIN trigram index serves
        for i, word in enumerate(words):
            args[f"w{i}"] = word
            if len(word) >= 3 and sql.name == "postgresql":     # served by the GIN index
                trigrams = True
                # LIKE where case cannot matter: the index serves both, and each match
                # it finds is checked again at two thirds of ILIKE's cost
                like = "LIKE" if word.lower() == word.upper() else "ILIKE"
                where.append(f"{HOUSEHOLD_SEARCH_TEXT} {like} :w{i} ESCAPE '\\'")
            elif word.lower() == word.upper():
                where.append("(" + " OR ".join(sql.contains(f"h.{c}", f":w{i}")
                                               for c in SEARCH_COLUMNS) + ")")
                continue
            else:
                where.append("(" + " OR ".join(f"h.{c} {sql.ilike} :w{i} ESCAPE '\\'"
                                               for c in SEARCH_COLUMNS) + ")")
            args[f"w{i}"] = "%" + word.replace("\\", "\\\\").replace("%", "\\%").replace(
                "_", "\\_") + "%"
        columns = "h.id, h.grid, h.address, h.head_name, h.phone, h.members"
        matches = f"FROM {source} WHERE {' AND '.join(where)}"
        found = f"SELECT {columns} {matches}"
        with self.db.snapshot():
            rows = self.db.query(
                f"SELECT *, count(*) OVER () FROM ({found} LIMIT :cap) AS found "
                "ORDER BY address, id LIMIT :limit OFFSET :offset", args)
            total = int(rows[0][6]) if rows else 0
            if total > SEARCH_CAP or (offset and not rows):
                if trigrams:
                    # Every match is read: the index's candidates, not every household,
                    # which the planner prefers, pricing (I)LIKE as cheap as "=" (a street
                    # of 6,250 in 50,000: 15 against 60 ms; bench/console_import.py).
                    # For these statements only: an outer transaction gets back the value
                    # it had (its own, the database's or the role's, not always "on"); if
                    # one fails, the rollback of the transaction undoes the SET LOCAL.
                    seqscan = self.db.scalar("SELECT current_setting('enable_seqscan')")
                    self.db.execute("SET LOCAL enable_seqscan = off")
                # the page and the count of every match from one pass over them
                rows = self.db.query(f"SELECT {columns}, count(*) OVER () {matches} "
                                     "ORDER BY h.address, h.id LIMIT :limit OFFSET :offset", args)
                total = int(rows[0][6]) if rows else int(self.db.scalar(
                    f"SELECT count(*) {matches}", args))  # an offset past the last page
                if trigrams:
                    self.db.scalar("SELECT set_config('enable_seqscan', ?, true)", (seqscan,))
        cols = ("id", "grid", "address", "head_name", "phone", "members")
        return [dict(zip(cols, r[:6], strict=True)) for r in rows], total

    # --- visits ----------------------------------------------------------
    def _field(self, name: str, row: str = "r") -> str:
        return self.db.sql.json_text(f"{row}.state", "fields", name)

    def visits(self, *, grids: list[str] | None = None, household: str | None = None,
               start: str | None = None, end: str | None = None, worker: str | None = None,
               outcome: str | None = None, need: str | None = None, hazard: str | None = None,
               limit: int = 100, offset: int = 0) -> tuple[list[dict], int]:
        """(visits newest first with their household's address and head, total).

        ``start``/``end`` bound ``visited_at`` (UTC, end exclusive); ``need``/``hazard``
        match a substring of any listed item, ``"*"`` any visit that lists one."""
        sql, f = self.db.sql, self._field
        where = ["r.collection = 'visits'", "r.deleted = 0"]
        args: dict[str, Any] = {}
        if grids is not None:
            where.append(f"r.grid IN ({sql.json_values(':grids')})")
            args["grids"] = _in(grids)
        for name, value, test in (
                ("household", household, f("household") + " = :household"),
                ("start", start, f("visited_at") + " >= :start"),
                ("end", end, f("visited_at") + " < :end"),
                ("worker", worker, "r.author = :worker"),
                ("outcome", outcome, f("outcome") + " = :outcome")):
            if value:
                where.append(test)
                args[name] = value
        for name, value in (("needs", need), ("hazards", hazard)):
            if not value:
                continue
            items = sql.json_items("r.state", "j", "fields", name)
            if value == "*":
                where.append(f"EXISTS (SELECT 1 FROM {items})")
            else:
                where.append(f"EXISTS (SELECT 1 FROM {items} "
                             f"WHERE j.value {sql.ilike} :{name} ESCAPE '\\')")
                args[name] = "%" + value.replace("\\", "\\\\").replace("%", "\\%").replace(
                    "_", "\\_") + "%"
        test = " AND ".join(where)
        total = int(self.db.scalar(f"SELECT count(*) FROM records r WHERE {test}", args))
        rows = self.db.query(
            f"""SELECT r.id, r.grid, r.author, r.state, h.address, h.head_name
                FROM records r LEFT JOIN household_index h ON h.id = {f("household")}
                WHERE {test} ORDER BY {f("visited_at")} DESC, r.id
                LIMIT :limit OFFSET :offset""", {**args, "limit": limit, "offset": offset})
        return [{"id": r["id"], "grid": r["grid"], "worker": r["author"],
                 "address": r["address"], "head_name": r["head_name"],
                 **json.loads(r["state"])["fields"]} for r in rows], total

    def visit_counts(self, grids: list[str]) -> dict[str, int]:
        return {r[0]: int(r[1]) for r in self.db.query(
            "SELECT grid, count(*) FROM records WHERE collection = 'visits' AND deleted = 0 "
            f"AND grid IN ({self.db.sql.json_values('?')}) GROUP BY grid", (_in(grids),))}

    def items_found(self, kind: str, grids: list[str], *, start: str | None = None,
                    end: str | None = None, limit: int = 10) -> list[tuple[str, int]]:
        """The most often noted needs (``kind="needs"``) or hazards, with counts."""
        assert kind in ("needs", "hazards")
        sql, f = self.db.sql, self._field
        rows = self.db.query(
            f"""SELECT j.value, count(*) AS n
                FROM records r CROSS JOIN {sql.json_items("r.state", "j", "fields", kind)}
                WHERE r.collection = 'visits' AND r.deleted = 0
                  AND r.grid IN ({sql.json_values(':grids')})
                  AND {f("visited_at")} >= :start AND {f("visited_at")} < :end
                GROUP BY j.value ORDER BY n DESC, j.value LIMIT :limit""",
            {"grids": _in(grids), "start": start or "", "end": end or "9999",
             "limit": limit})
        return [(str(r[0]), int(r[1])) for r in rows]

    # --- service hours -----------------------------------------------------
    def _log_status(self) -> str:
        return f"coalesce({self._field('status', 'records')}, 'recorded')"

    def hours(self, *, volunteers: list[str] | None = None, start: str | None = None,
              end: str | None = None) -> list[dict]:
        """Per volunteer and status: logs, minutes and points (live logs only)."""
        sql = self.db.sql
        started = self._field("started_at", "records")
        where = ["collection = 'service_logs'", "deleted = 0"]
        args: dict[str, Any] = {}
        if volunteers is not None:
            where.append(f"person IN ({sql.json_values(':people')})")
            args["people"] = _in(volunteers)
        if start:
            where.append(f"{started} >= :start")
            args["start"] = start
        if end:
            where.append(f"{started} < :end")
            args["end"] = end
        rows = self.db.query(
            f"""SELECT person, {self._log_status()} AS st, count(*),
                       sum({sql.json_number("records.state", "fields", "minutes")}),
                       sum(coalesce({sql.json_number("records.state", "fields", "points")}, 0))
                FROM records WHERE {' AND '.join(where)} GROUP BY person, st
                ORDER BY person, st""", args)
        return [{"volunteer": r[0], "status": r[1], "logs": int(r[2]), "minutes": int(r[3] or 0),
                 "points": int(r[4] or 0)} for r in rows]

    def service_logs(self, *, volunteers: list[str], start: str | None = None,
                     end: str | None = None, status: str | None = None,
                     limit: int = 5000) -> list[dict]:
        """Live service logs of these volunteers, newest first (for exports)."""
        started = self._field("started_at", "records")
        args = {"people": _in(volunteers), "start": start or "", "end": end or "9999",
                "limit": limit}
        where = ""
        if status is not None:
            where = f"AND {self._log_status()} = :status"
            args["status"] = status
        rows = self.db.query(
            f"""SELECT id, state FROM records
                WHERE collection = 'service_logs' AND deleted = 0
                  AND person IN ({self.db.sql.json_values(':people')})
                  AND {started} >= :start AND {started} < :end {where}
                ORDER BY {started} DESC, id LIMIT :limit""", args)
        return [{"id": r[0], **json.loads(r[1])["fields"]} for r in rows]

    def minutes_by_month(self, volunteers: list[str], offset_minutes: int, since: str
                         ) -> list[tuple[str, str, int]]:
        """(local month "YYYY-MM", status, minutes) of logs started since ``since``."""
        sql = self.db.sql
        started = self._field("started_at", "records")
        rows = self.db.query(
            f"""SELECT {sql.local_month(started, ':shift')} AS m, {self._log_status()} AS st,
                       sum({sql.json_number("records.state", "fields", "minutes")})
                FROM records WHERE collection = 'service_logs' AND deleted = 0
                  AND person IN ({sql.json_values(':people')}) AND {started} >= :since
                GROUP BY m, st ORDER BY m, st""",
            {"people": _in(volunteers), "shift": f"{offset_minutes:+d} minutes",
             "since": since})
        return [(str(r[0]), str(r[1]), int(r[2] or 0)) for r in rows]

    def active_people(self, collection: str, column: str, grids_or_people: list[str],
                      since: str) -> int:
        """How many distinct authors (visits) or volunteers (logs) wrote since ``since``."""
        assert (collection, column) in (("visits", "author"), ("service_logs", "person"))
        scope = "grid" if collection == "visits" else "person"
        return int(self.db.scalar(
            f"SELECT count(DISTINCT {column}) FROM records WHERE collection = ? "
            f"AND {scope} IN ({self.db.sql.json_values('?')}) AND updated_at >= ?",
            (collection, _in(grids_or_people), since)))

    def points_by_month(self, accounts: dict[str, list[str]], offset_minutes: int,
                        since: str) -> list[tuple[str, str, int]]:
        """(local month, kind, points) of ``earn`` entries debiting the issuance accounts
        and ``redeem`` entries crediting the shop accounts given, since ``since``."""
        sql = self.db.sql
        rows = self.db.query(
            f"""SELECT {sql.local_month('at', ':shift')} AS m, kind, sum(amount) FROM entries
                WHERE at >= :since AND (
                  (kind = 'earn' AND debit IN ({sql.json_values(':issuers')}))
                  OR (kind = 'redeem' AND credit IN ({sql.json_values(':shops')})))
                GROUP BY m, kind ORDER BY m, kind""",
            {"shift": f"{offset_minutes:+d} minutes", "since": since,
             "issuers": _in(accounts["issuance"]), "shops": _in(accounts["shops"])})
        return [(str(r[0]), str(r[1]), int(r[2] or 0)) for r in rows]

    # --- ledger reads for exports ---------------------------------------------
    def entries_between(self, start: str, end: str, limit: int) -> list[dict]:
        """Ledger entries (their signed bodies) with ``start <= at < end``, by seq."""
        return [json.loads(r[0]) for r in self.db.query(
            "SELECT body FROM entries WHERE at >= ? AND at < ? ORDER BY seq LIMIT ?",
            (start, end, limit))]

    def redemptions_between(self, start: str, end: str, limit: int) -> list[dict]:
        rows = self.db.query(
            "SELECT r.id, r.shop, r.volunteer, r.items, r.total, r.at, e.hash, r.entry_seq "
            "FROM redemptions r JOIN entries e ON e.seq = r.entry_seq "
            "WHERE r.at >= ? AND r.at < ? ORDER BY r.at LIMIT ?", (start, end, limit))
        return [{"id": r[0], "shop": r[1], "volunteer": r[2], "items": json.loads(r[3]),
                 "total": int(r[4]), "at": r[5], "hash": r[6], "seq": int(r[7])} for r in rows]

    # --- record states in bulk (imports) ---------------------------------------
    def states(self, collection: str, ids: list[str]) -> dict[str, dict]:
        """id → stored state of each of these records that exists."""
        out: dict[str, dict] = {}
        with self.db.snapshot():
            for start in range(0, len(ids), 5000):
                for r in self.db.query(
                        "SELECT id, state FROM records WHERE collection = ? AND id IN "
                        f"({self.db.sql.json_values('?')})",
                        (collection, json.dumps(ids[start:start + 5000]))):
                    out[r[0]] = json.loads(r[1])
        return out
