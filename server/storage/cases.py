"""Cases: the case index (for lists and the 办结率 report), step history, report
codes and receipts.

A case's current state is a sync record (``records``, collection ``cases``);
the ``cases`` table is an index of the columns lists and reports filter and
count on, written in the same transaction as every new version
(``index``). ``case_steps`` keeps every status step, oldest first.
Plain, portable SQL (no SQLite-only functions).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any

from .connection import Database

_INDEX_COLUMNS = ("grid", "community", "kind", "category", "status", "assignee", "difficulty",
                  "rating", "points", "created_at", "due_at", "done_at", "closed_at",
                  "hours_to_close", "updated_at", "day")
_TALLIED = ("community", "grid", "day", "category", "status", "rating", "hours_to_close")
OPEN_STATUSES = ("open", "assigned", "accepted", "done")


ALL_GRIDS = ""  # the tally row of a whole community's day


def _tally(row: Any, delta: dict[tuple[str, str, str], Counter[str]], sign: int) -> None:
    """Count an index row (``sign`` 1) or take it back (-1) in its grid's and its
    community's tally rows of its day. Counts are marginals, which is all the
    report needs: by category and status, by rating, by whole hours to close."""
    keys = [f"s\t{row['category']}\t{row['status']}"]
    if row["rating"] is not None:
        keys.append(f"r\t{row['rating']}")
    if row["hours_to_close"] is not None:
        keys.append(f"h\t{row['hours_to_close']}")
    for grid in (row["grid"], ALL_GRIDS):
        counts = delta.setdefault((row["community"], grid, row["day"]), Counter())
        for key in keys:
            counts[key] += sign * row.get("n", 1)


def _in(name: str, values: list[str]) -> tuple[str, list[str]]:
    """``name IN (?, ?, ...)`` and its parameters (portable: no json_each)."""
    return f"{name} IN ({', '.join('?' * len(values))})", list(values)


class CaseStore:
    def __init__(self, db: Database):
        self.db = db

    # --- index -----------------------------------------------------------
    def index(self, rows: Iterable[dict]) -> None:
        """Upsert index rows (``id`` plus every column of ``_INDEX_COLUMNS``) and move
        their counts in the tally, in the caller's transaction."""
        rows = list(rows)
        delta: dict[tuple[str, str, str], Counter[str]] = {}
        old = self._tallied([row["id"] for row in rows])
        for row in rows:
            before = old.get(row["id"])
            for sign, side in ((-1, before), (1, row)):
                if side is not None and side["day"] is not None:
                    _tally(side, delta, sign)
        self._add_to_tally(delta)
        cols = ("id", *_INDEX_COLUMNS)
        updates = ", ".join(f"{c} = excluded.{c}" for c in _INDEX_COLUMNS)
        self.db.executemany(
            f"INSERT INTO cases ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))}) "
            f"ON CONFLICT (id) DO UPDATE SET {updates}",
            [tuple(row[c] for c in cols) for row in rows])

    def row(self, id: str) -> dict | None:
        found = self.db.one("SELECT pos, * FROM cases WHERE id = ?", (id,))
        return dict(found) if found else None

    def page(self, *, grids: list[str] | None, status: str | None, kind: str | None,
             after: int, limit: int) -> list[tuple[int, str]]:
        """(position, id) of cases after ``after`` in the order received."""
        where, params = ["pos > ?"], [after]
        if grids is not None:
            clause, values = _in("grid", grids)
            where.append(clause)
            params += values  # type: ignore[arg-type]
        for name, value in (("status", status), ("kind", kind)):
            if value is not None:
                where.append(f"{name} = ?")
                params.append(value)  # type: ignore[arg-type]
        rows = self.db.query(
            f"SELECT pos, id FROM cases WHERE {' AND '.join(where)} ORDER BY pos LIMIT ?",
            (*params, limit))
        return [(int(r[0]), r[1]) for r in rows]

    def board(self, *, grids: list[str] | None, limit: int) -> list[dict]:
        """Cases not yet closed or cancelled (the dispatch board), oldest first."""
        where, params = ["status NOT IN ('closed', 'cancelled')"], []  # type: ignore[var-annotated]
        if grids is not None:
            clause, params = _in("grid", grids)
            where.append(clause)
        return [dict(r) for r in self.db.query(
            f"SELECT * FROM cases WHERE {' AND '.join(where)} ORDER BY pos LIMIT ?",
            (*params, limit))]

    def of_assignee(self, person: str, limit: int = 200) -> list[dict]:
        return [dict(r) for r in self.db.query(
            "SELECT * FROM cases WHERE assignee = ? ORDER BY pos DESC LIMIT ?", (person, limit))]

    def open_wishes(self, grids: list[str], limit: int = 200) -> list[dict]:
        if not grids:
            return []
        clause, params = _in("grid", grids)
        return [dict(r) for r in self.db.query(
            f"SELECT * FROM cases WHERE kind = 'wish' AND status = 'open' AND {clause} "
            "ORDER BY pos LIMIT ?", (*params, limit))]

    # --- the 办结率 tally ----------------------------------------------------
    def _tallied(self, ids: list[str]) -> dict[str, dict]:
        found: dict[str, dict] = {}
        for start in range(0, len(ids), 500):
            clause, params = _in("id", ids[start:start + 500])
            for r in self.db.query(f"SELECT id, {', '.join(_TALLIED)} FROM cases "
                                   f"WHERE {clause}", params):
                found[r["id"]] = dict(r)
        return found

    def _add_to_tally(self, delta: dict[tuple[str, str, str], Counter[str]]) -> None:
        for (community, grid, day), change in delta.items():
            if not any(change.values()):
                continue
            text = self.db.scalar("SELECT counts FROM case_tally WHERE community = ? "
                                  "AND grid = ? AND day = ?", (community, grid, day))
            counts = Counter(json.loads(text)) if text else Counter()
            counts.update(change)
            self.db.execute(
                "INSERT INTO case_tally (community, grid, day, counts) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (community, grid, day) DO UPDATE SET counts = excluded.counts",
                (community, grid, day, json.dumps({k: n for k, n in counts.items() if n},
                                                  sort_keys=True)))

    def tally_zone(self) -> str | None:
        """The time zone the tally's days are in (None: not built yet)."""
        return self.db.scalar("SELECT value FROM settings WHERE key = 'case_tally_zone'")

    def rebuild_tally(self, zone: str, day_of: Callable[[str], str]) -> None:
        """Give every case its local day of receipt in ``zone`` and count them all
        again (first use, or the rules' time zone changed). In a transaction."""
        rows = self.db.query("SELECT id, created_at FROM cases")
        self.db.executemany("UPDATE cases SET day = ? WHERE id = ?",
                            [(day_of(r["created_at"]), r["id"]) for r in rows])
        self.db.execute("DELETE FROM case_tally")
        delta: dict[tuple[str, str, str], Counter[str]] = {}
        for r in self.db.query(f"SELECT {', '.join(_TALLIED)}, count(*) AS n FROM cases "
                               f"GROUP BY {', '.join(_TALLIED)}"):
            _tally(dict(r), delta, 1)
        self._add_to_tally(delta)
        self.db.execute("INSERT INTO settings (key, value) VALUES ('case_tally_zone', ?) "
                        "ON CONFLICT (key) DO UPDATE SET value = excluded.value", (zone,))

    def report_groups(self, *, grids: list[str] | None, community: str, start: str,
                      end: str) -> dict[str, dict]:
        """The cases received on local days [start, end), counted from the tally (one
        small row per day for a community, per grid and day for grids):
        ``{"status": {(category, status): n}, "rating": {rating: n},
        "hours": {whole hours to close: n}}``."""
        where, params = ["community = ?", "day >= ?", "day < ?"], [community, start, end]
        clause, values = _in("grid", grids if grids is not None else [ALL_GRIDS])
        total: Counter[str] = Counter()
        for r in self.db.query(f"SELECT counts FROM case_tally WHERE {' AND '.join(where)} "
                               f"AND {clause}", [*params, *values]):
            total.update(json.loads(r[0]))
        out: dict[str, dict] = {"status": {}, "rating": {}, "hours": {}}
        for key, n in total.items():
            kind, *rest = key.split("\t")
            if kind == "s":
                out["status"][(rest[0], rest[1])] = n
            else:
                out["rating" if kind == "r" else "hours"][int(rest[0])] = n
        return out

    def overdue(self, *, grids: list[str] | None, community: str, start: str, end: str,
                now: str) -> int:
        """Cases received on local days [start, end), neither closed nor cancelled, past
        their due date at ``now``."""
        where = ["community = ?", f"status IN ({', '.join('?' * len(OPEN_STATUSES))})",
                 "due_at < ?", "day >= ?", "day < ?"]
        params: list[Any] = [community, *OPEN_STATUSES, now, start, end]
        if grids is not None:
            clause, values = _in("grid", grids)
            where.append(clause)
            params += values
        return int(self.db.scalar(f"SELECT count(*) FROM cases WHERE {' AND '.join(where)}",
                                  params))

    def received(self, *, community: str | None, grids: list[str] | None, start: str,
                 end: str, limit: int, status: str | None = None) -> list[str]:
        """Ids of the cases received in [start, end), oldest first; ``community`` and
        ``status`` None mean any."""
        where, params = ["created_at >= ?", "created_at < ?"], [start, end]
        for name, value in (("community", community), ("status", status)):
            if value is not None:
                where.append(f"{name} = ?")
                params.append(value)
        if grids is not None:
            clause, values = _in("grid", grids)
            where.append(clause)
            params += values
        return [r[0] for r in self.db.query(
            f"SELECT id FROM cases WHERE {' AND '.join(where)} ORDER BY created_at, pos "
            "LIMIT ?", (*params, limit))]

    def count(self) -> int:
        return int(self.db.scalar("SELECT count(*) FROM cases"))

    # --- history ---------------------------------------------------------
    def add_steps(self, rows: Iterable[tuple[str, str, str | None, str, str | None]]) -> None:
        """(case, status, by, at, op) rows, appended after the case's last step."""
        for case, status, by, at, op in rows:
            self.db.execute(
                "INSERT INTO case_steps (case_id, n, status, by_person, at, op) VALUES "
                "(?, (SELECT coalesce(max(n), 0) + 1 FROM case_steps WHERE case_id = ?), "
                "?, ?, ?, ?)", (case, case, status, by, at, op))

    def history(self, case: str) -> list[dict]:
        return [{"status": r[0], "by": r[1], "at": r[2], "op": r[3]} for r in self.db.query(
            "SELECT status, by_person, at, op FROM case_steps WHERE case_id = ? ORDER BY n",
            (case,))]

    def step_op(self, case: str, status: str) -> str | None:
        """The op of the case's last step to ``status`` (None if none, or not a device's)."""
        return self.db.scalar(
            "SELECT op FROM case_steps WHERE case_id = ? AND status = ? ORDER BY n DESC LIMIT 1",
            (case, status))

    # --- report codes ----------------------------------------------------
    def add_report_code(self, *, code: str, grid: str, at: str) -> None:
        """A grid's new report code; the grid's previous codes stop working."""
        self.db.execute("UPDATE report_codes SET replaced_at = ? "
                        "WHERE grid = ? AND replaced_at IS NULL", (at, grid))
        self.db.execute("INSERT INTO report_codes (code, grid, created_at) VALUES (?, ?, ?)",
                        (code, grid, at))

    def report_code(self, code: str) -> dict | None:
        row = self.db.one("SELECT code, grid, created_at, replaced_at FROM report_codes "
                          "WHERE code = ?", (code,))
        return dict(row) if row else None

    def current_report_code(self, grid: str) -> str | None:
        return self.db.scalar("SELECT code FROM report_codes WHERE grid = ? "
                              "AND replaced_at IS NULL", (grid,))

    # --- receipts --------------------------------------------------------
    def add_receipt(self, *, receipt_hash: str, case: str, at: str) -> None:
        self.db.execute("INSERT INTO case_receipts (receipt_hash, case_id, created_at) "
                        "VALUES (?, ?, ?)", (receipt_hash, case, at))

    def case_of_receipt(self, receipt_hash: str) -> str | None:
        return self.db.scalar("SELECT case_id FROM case_receipts WHERE receipt_hash = ?",
                              (receipt_hash,))
