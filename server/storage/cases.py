"""Cases: the case index (for lists and the 办结率 report), step history, report
codes and receipts.

A case's current state is a sync record (``records``, collection ``cases``);
the ``cases`` table is an index of the columns lists and reports filter and
count on, written in the same transaction as every new version
(``index``). ``case_steps`` keeps every status step, oldest first.
Plain, portable SQL (no SQLite-only functions).
"""

from __future__ import annotations

from collections.abc import Iterable

from .connection import Database

_INDEX_COLUMNS = ("grid", "community", "kind", "category", "status", "assignee", "difficulty",
                  "rating", "points", "created_at", "due_at", "done_at", "closed_at",
                  "hours_to_close", "updated_at")


def _in(name: str, values: list[str]) -> tuple[str, list[str]]:
    """``name IN (?, ?, ...)`` and its parameters (portable: no json_each)."""
    return f"{name} IN ({', '.join('?' * len(values))})", list(values)


class CaseStore:
    def __init__(self, db: Database):
        self.db = db

    # --- index -----------------------------------------------------------
    def index(self, rows: Iterable[dict]) -> None:
        """Upsert index rows: ``id`` plus every column of ``_INDEX_COLUMNS``."""
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
            params += values
        for name, value in (("status", status), ("kind", kind)):
            if value is not None:
                where.append(f"{name} = ?")
                params.append(value)
        rows = self.db.query(
            f"SELECT pos, id FROM cases WHERE {' AND '.join(where)} ORDER BY pos LIMIT ?",
            (*params, limit))
        return [(int(r[0]), r[1]) for r in rows]

    def board(self, *, grids: list[str] | None, limit: int) -> list[dict]:
        """Cases not yet closed or cancelled (the dispatch board), oldest first."""
        where, params = ["status NOT IN ('closed', 'cancelled')"], []
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

    def report_groups(self, *, grids: list[str] | None, community: str | None, start: str,
                      end: str, now: str) -> list[tuple]:
        """Counts of the cases received in [start, end) grouped by (category, status,
        rating, overdue, hours_to_close): one pass over the index, the rest is
        arithmetic on a few hundred groups (``services.case_report``)."""
        where, params = ["created_at >= ?", "created_at < ?"], [start, end]
        if community is not None:
            where.append("community = ?")
            params.append(community)
        if grids is not None:
            clause, values = _in("grid", grids)
            where.append(clause)
            params += values
        return [tuple(r) for r in self.db.query(
            "SELECT category, status, rating, "
            "CASE WHEN status NOT IN ('closed', 'cancelled') AND due_at < ? THEN 1 ELSE 0 END, "
            f"hours_to_close, count(*) FROM cases WHERE {' AND '.join(where)} "
            "GROUP BY 1, 2, 3, 4, 5", (now, *params))]

    def received(self, *, community: str, grids: list[str] | None, start: str, end: str,
                 limit: int) -> list[str]:
        """Ids of the cases received in [start, end), oldest first."""
        where, params = ["community = ?", "created_at >= ?", "created_at < ?"], [
            community, start, end]
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
