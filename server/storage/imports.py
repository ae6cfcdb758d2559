"""Roster import jobs: the uploaded .xlsx, its dry run, progress and result."""

from __future__ import annotations

import json
from typing import Any

from .connection import Database

_COLUMNS = "id, filename, created_by, created_at, status, total, done, plan, result, updated_at"


class ImportStore:
    def __init__(self, db: Database):
        self.db = db

    def add(self, *, id: str, filename: str, file: bytes, by: str, at: str, plan: dict) -> None:
        self.db.execute(
            "INSERT INTO import_jobs (id, filename, file, created_by, created_at, status, plan, "
            "updated_at) VALUES (?, ?, ?, ?, ?, 'planned', ?, ?)",
            (id, filename, file, by, at, json.dumps(plan, ensure_ascii=False), at))

    def get(self, id: str) -> dict | None:
        row = self.db.one(f"SELECT {_COLUMNS} FROM import_jobs WHERE id = ?", (id,))
        if row is None:
            return None
        job = dict(row)
        job["plan"] = json.loads(job["plan"]) if job["plan"] else None
        job["result"] = json.loads(job["result"]) if job["result"] else None
        return job

    def file(self, id: str) -> bytes | None:
        data = self.db.scalar("SELECT file FROM import_jobs WHERE id = ?", (id,))
        return bytes(data) if data is not None else None

    def claim(self, id: str, at: str) -> bool:
        """planned → running, once (a second click or a second worker gets False)."""
        cur = self.db.execute(
            "UPDATE import_jobs SET status = 'running', updated_at = ? "
            "WHERE id = ? AND status = 'planned'", (at, id))
        return cur.rowcount == 1

    def progress(self, id: str, done: int, total: int, at: str) -> None:
        self.db.execute("UPDATE import_jobs SET done = ?, total = ?, updated_at = ? WHERE id = ?",
                        (done, total, at, id))

    def finish(self, id: str, status: str, result: dict[str, Any], at: str) -> None:
        self.db.execute(
            "UPDATE import_jobs SET status = ?, result = ?, updated_at = ?, file = ? "
            "WHERE id = ?", (status, json.dumps(result, ensure_ascii=False), at, b"", id))

    def recent(self, limit: int = 10) -> list[dict]:
        return [dict(r) for r in self.db.query(
            "SELECT id, filename, created_by, created_at, status, total, done, updated_at "
            "FROM import_jobs ORDER BY created_at DESC LIMIT ?", (limit,))]
