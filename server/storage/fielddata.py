"""What the field recorded, read back for the office: households (with full-text
search), visits, needs and hazards, service hours, and the dashboard's counts.

Households are searched through ``household_index``: one row per household,
kept up to date by triggers on ``records`` (migration 4), with an FTS5 index over
address, head's name and phone made by sqlite-utils' FTS support with the
trigram tokenizer, so any three or more characters of a Chinese address or
name match. Shorter queries fall back to ``LIKE`` (trigrams need three
characters). Everything else reads the records' JSON state with ``json_extract``.
A PostgreSQL backend provides the same methods (pg_trgm for the search).
"""

from __future__ import annotations

import json
from typing import Any

import sqlite_utils

from .connection import Database

SEARCH_COLUMNS = ("address", "head_name", "phone")
#: Matches a search sorts and counts in its first pass (see ``search_households``).
SEARCH_CAP = 1000
_F = "json_extract(r.state, '$.fields.{}')"


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


def _in(values: Any) -> str:
    return json.dumps(sorted(values))


class FieldDataStore:
    def __init__(self, db: Database):
        self.db = db
        self._utils: sqlite_utils.Database | None = None

    @property
    def utils(self) -> sqlite_utils.Database:
        """sqlite-utils over the same connection (for its FTS search)."""
        if self._utils is None:
            self._utils = sqlite_utils.Database(self.db.conn)
        return self._utils

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
        count and a sort of all its matches, each a single cheap statement. Words of
        fewer than three characters scan with ``instr`` (about half the cost of
        ``LIKE``), or ``LIKE`` when they have letters, whose case ``LIKE`` ignores."""
        words = q.split()
        source = "household_index h"
        where = ["h.deleted = 0"]
        args: dict[str, Any] = {"limit": limit, "offset": offset, "cap": SEARCH_CAP + 1}
        if grids is not None:
            where.append("h.grid IN (SELECT value FROM json_each(:grids))")
            args["grids"] = _in(grids)
        if words and all(len(w) >= 3 for w in words):
            # Driven from the FTS index (a join, not "rowid IN (…)", which the planner
            # answers by scanning every household).
            source = "household_index_fts f JOIN household_index h ON h.rowid = f.rowid"
            where.append("household_index_fts MATCH :query")
            args["query"] = self.utils.quote_fts(q)
        for i, word in enumerate(words if "query" not in args else []):
            if word.lower() == word.upper():
                where.append(f"(instr(h.address, :w{i}) > 0 OR instr(h.head_name, :w{i}) > 0 "
                             f"OR instr(h.phone, :w{i}) > 0)")
                args[f"w{i}"] = word
                continue
            where.append(f"(h.address LIKE :w{i} ESCAPE '\\' OR h.head_name LIKE :w{i} "
                         f"ESCAPE '\\' OR h.phone LIKE :w{i} ESCAPE '\\')")
            args[f"w{i}"] = "%" + word.replace("\\", "\\\\").replace("%", "\\%").replace(
                "_", "\\_") + "%"
        found = (f"SELECT h.id, h.grid, h.address, h.head_name, h.phone, h.members "
                 f"FROM {source} WHERE {' AND '.join(where)}")
        rows = self.db.query(
            f"SELECT *, count(*) OVER () FROM ({found} LIMIT :cap) ORDER BY address, id "
            "LIMIT :limit OFFSET :offset", args)
        total = int(rows[0][6]) if rows else 0
        if total > SEARCH_CAP or (offset and not rows):
            rows = self.db.query(f"{found} ORDER BY h.address, h.id LIMIT :limit OFFSET :offset",
                                 args)
            total = int(self.db.scalar(f"SELECT count(*) FROM ({found})", args))
        cols = ("id", "grid", "address", "head_name", "phone", "members")
        return [dict(zip(cols, r[:6], strict=True)) for r in rows], total

    # --- visits ----------------------------------------------------------
    def visits(self, *, grids: list[str] | None = None, household: str | None = None,
               start: str | None = None, end: str | None = None, worker: str | None = None,
               outcome: str | None = None, need: str | None = None, hazard: str | None = None,
               limit: int = 100, offset: int = 0) -> tuple[list[dict], int]:
        """(visits newest first with their household's address and head, total).

        ``start``/``end`` bound ``visited_at`` (UTC, end exclusive); ``need``/``hazard``
        match a substring of any listed item, ``"*"`` any visit that lists one."""
        where = ["r.collection = 'visits'", "r.deleted = 0"]
        args: dict[str, Any] = {}
        if grids is not None:
            where.append("r.grid IN (SELECT value FROM json_each(:grids))")
            args["grids"] = _in(grids)
        for name, value, sql in (
                ("household", household, _F.format("household") + " = :household"),
                ("start", start, _F.format("visited_at") + " >= :start"),
                ("end", end, _F.format("visited_at") + " < :end"),
                ("worker", worker, "r.author = :worker"),
                ("outcome", outcome, _F.format("outcome") + " = :outcome")):
            if value:
                where.append(sql)
                args[name] = value
        for name, value in (("needs", need), ("hazards", hazard)):
            if value == "*":
                where.append(f"json_array_length(r.state, '$.fields.{name}') > 0")
            elif value:
                where.append(f"EXISTS (SELECT 1 FROM json_each(r.state, '$.fields.{name}') "
                             f"WHERE value LIKE :{name} ESCAPE '\\')")
                args[name] = "%" + value.replace("\\", "\\\\").replace("%", "\\%") + "%"
        sql = " AND ".join(where)
        total = int(self.db.scalar(f"SELECT count(*) FROM records r WHERE {sql}", args))
        rows = self.db.query(
            f"""SELECT r.id, r.grid, r.author, r.state -> '$.fields' AS fields,
                       h.address, h.head_name
                FROM records r LEFT JOIN household_index h
                  ON h.id = {_F.format("household")}
                WHERE {sql} ORDER BY {_F.format("visited_at")} DESC, r.id
                LIMIT :limit OFFSET :offset""", {**args, "limit": limit, "offset": offset})
        return [{"id": r["id"], "grid": r["grid"], "worker": r["author"],
                 "address": r["address"], "head_name": r["head_name"],
                 **json.loads(r["fields"])} for r in rows], total

    def visit_counts(self, grids: list[str]) -> dict[str, int]:
        return {r[0]: int(r[1]) for r in self.db.query(
            "SELECT grid, count(*) FROM records WHERE collection = 'visits' AND deleted = 0 "
            "AND grid IN (SELECT value FROM json_each(?)) GROUP BY grid", (_in(grids),))}

    def items_found(self, kind: str, grids: list[str], *, start: str | None = None,
                    end: str | None = None, limit: int = 10) -> list[tuple[str, int]]:
        """The most often noted needs (``kind="needs"``) or hazards, with counts."""
        assert kind in ("needs", "hazards")
        rows = self.db.query(
            f"""SELECT j.value, count(*) AS n FROM records r, json_each(r.state,
                    '$.fields.{kind}') j
                WHERE r.collection = 'visits' AND r.deleted = 0
                  AND r.grid IN (SELECT value FROM json_each(:grids))
                  AND {_F.format("visited_at")} >= :start AND {_F.format("visited_at")} < :end
                GROUP BY j.value ORDER BY n DESC, j.value LIMIT :limit""",
            {"grids": _in(grids), "start": start or "", "end": end or "9999",
             "limit": limit})
        return [(str(r[0]), int(r[1])) for r in rows]

    # --- service hours -----------------------------------------------------
    def hours(self, *, volunteers: list[str] | None = None, start: str | None = None,
              end: str | None = None) -> list[dict]:
        """Per volunteer and status: logs, minutes and points (live logs only)."""
        where = ["collection = 'service_logs'", "deleted = 0"]
        args: dict[str, Any] = {}
        if volunteers is not None:
            where.append("person IN (SELECT value FROM json_each(:people))")
            args["people"] = _in(volunteers)
        if start:
            where.append("json_extract(state, '$.fields.started_at') >= :start")
            args["start"] = start
        if end:
            where.append("json_extract(state, '$.fields.started_at') < :end")
            args["end"] = end
        rows = self.db.query(
            f"""SELECT person, coalesce(json_extract(state, '$.fields.status'), 'recorded') AS st,
                       count(*), sum(json_extract(state, '$.fields.minutes')),
                       sum(coalesce(json_extract(state, '$.fields.points'), 0))
                FROM records WHERE {' AND '.join(where)} GROUP BY person, st
                ORDER BY person, st""", args)
        return [{"volunteer": r[0], "status": r[1], "logs": int(r[2]), "minutes": int(r[3] or 0),
                 "points": int(r[4] or 0)} for r in rows]

    def service_logs(self, *, volunteers: list[str], start: str | None = None,
                     end: str | None = None, status: str | None = None,
                     limit: int = 5000) -> list[dict]:
        """Live service logs of these volunteers, newest first (for exports)."""
        rows = self.db.query(
            """SELECT id, state -> '$.fields' FROM records
               WHERE collection = 'service_logs' AND deleted = 0
                 AND person IN (SELECT value FROM json_each(:people))
                 AND json_extract(state, '$.fields.started_at') >= :start
                 AND json_extract(state, '$.fields.started_at') < :end
                 AND (:status IS NULL OR coalesce(json_extract(state, '$.fields.status'),
                      'recorded') = :status)
               ORDER BY json_extract(state, '$.fields.started_at') DESC LIMIT :limit""",
            {"people": _in(volunteers), "start": start or "", "end": end or "9999",
             "status": status, "limit": limit})
        return [{"id": r[0], **json.loads(r[1])} for r in rows]

    def minutes_by_month(self, volunteers: list[str], offset_minutes: int, since: str
                         ) -> list[tuple[str, str, int]]:
        """(local month "YYYY-MM", status, minutes) of logs started since ``since``."""
        rows = self.db.query(
            """SELECT strftime('%Y-%m', json_extract(state, '$.fields.started_at'), :shift) AS m,
                      coalesce(json_extract(state, '$.fields.status'), 'recorded'),
                      sum(json_extract(state, '$.fields.minutes'))
               FROM records WHERE collection = 'service_logs' AND deleted = 0
                 AND person IN (SELECT value FROM json_each(:people))
                 AND json_extract(state, '$.fields.started_at') >= :since
               GROUP BY m, 2 ORDER BY m""",
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
            f"AND {scope} IN (SELECT value FROM json_each(?)) AND updated_at >= ?",
            (collection, _in(grids_or_people), since)))

    def points_by_month(self, accounts: dict[str, list[str]], offset_minutes: int,
                        since: str) -> list[tuple[str, str, int]]:
        """(local month, kind, points) of ``earn`` entries debiting the issuance accounts
        and ``redeem`` entries crediting the shop accounts given, since ``since``."""
        rows = self.db.query(
            """SELECT strftime('%Y-%m', at, :shift) AS m, kind, sum(amount) FROM entries
               WHERE at >= :since AND (
                 (kind = 'earn' AND debit IN (SELECT value FROM json_each(:issuers)))
                 OR (kind = 'redeem' AND credit IN (SELECT value FROM json_each(:shops))))
               GROUP BY m, kind ORDER BY m""",
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
        for start in range(0, len(ids), 5000):
            for r in self.db.query(
                    "SELECT id, state FROM records WHERE collection = ? AND id IN "
                    "(SELECT value FROM json_each(?))",
                    (collection, json.dumps(ids[start:start + 5000]))):
                out[r[0]] = json.loads(r[1])
        return out
