"""Tokens, devices, enrolment codes and rate-limit counters."""

from __future__ import annotations

from .connection import Database


class AccessStore:
    def __init__(self, db: Database):
        self.db = db

    # --- tokens ----------------------------------------------------------
    def add_token(self, *, id: str, person: str, device: str | None, secret_hash: str,
                  at: str) -> None:
        self.db.execute(
            "INSERT INTO tokens (id, person, device, secret_hash, created_at) "
            "VALUES (?, ?, ?, ?, ?)", (id, person, device, secret_hash, at))

    def token_principal(self, token_id: str) -> dict | None:
        """The token row joined with its person and device, or None."""
        row = self.db.one(
            """SELECT t.id AS token_id, t.secret_hash, t.revoked_at AS token_revoked,
                      p.id AS person, p.role, p.active, p.shop, p.community,
                      d.id AS device, d.revoked_at AS device_revoked, d.public_key
               FROM tokens t JOIN people p ON p.id = t.person
               LEFT JOIN devices d ON d.id = t.device
               WHERE t.id = ?""", (token_id,))
        return dict(row) if row else None

    def revoke_token(self, token_id: str, at: str) -> bool:
        cur = self.db.execute(
            "UPDATE tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL", (at, token_id))
        return cur.rowcount == 1

    # --- devices ---------------------------------------------------------
    def add_device(self, *, id: str, person: str, name: str, public_key: str, at: str) -> None:
        self.db.execute(
            "INSERT INTO devices (id, person, name, public_key, created_at) VALUES (?, ?, ?, ?, ?)",
            (id, person, name, public_key, at))

    def device(self, id: str) -> dict | None:
        row = self.db.one("SELECT * FROM devices WHERE id = ?", (id,))
        return dict(row) if row else None

    def devices(self) -> list[dict]:
        return [dict(r) for r in self.db.query("SELECT * FROM devices ORDER BY created_at, id")]

    def revoke_device(self, id: str, at: str) -> None:
        self.db.execute(
            "UPDATE devices SET revoked_at = COALESCE(revoked_at, ?) WHERE id = ?", (at, id))

    def record_sync(self, device: str, *, at: str, applied: int, rejected: int) -> None:
        self.db.execute(
            "UPDATE devices SET last_sync_at = ?, applied = applied + ?, rejected = rejected + ? "
            "WHERE id = ?", (at, applied, rejected, device))

    # --- enrolment codes -------------------------------------------------
    def add_enrollment(self, *, code_hash: str, person: str, at: str, expires_at: str) -> None:
        self.db.execute(
            "INSERT INTO enrollments (code_hash, person, created_at, expires_at) "
            "VALUES (?, ?, ?, ?)", (code_hash, person, at, expires_at))

    def claim_enrollment(self, code_hash: str, now: str) -> str | None:
        """Mark an unused, unexpired code used; returns its person or None."""
        row = self.db.one(
            "SELECT person FROM enrollments WHERE code_hash = ? AND used_at IS NULL "
            "AND expires_at > ?", (code_hash, now))
        if row is None:
            return None
        self.db.execute("UPDATE enrollments SET used_at = ? WHERE code_hash = ?", (now, code_hash))
        return str(row["person"])

    # --- rate limits -----------------------------------------------------
    def hits(self, key: str, window_start: int) -> int:
        row = self.db.one("SELECT window_start, count FROM rate_limits WHERE key = ?", (key,))
        if row is None or row["window_start"] != window_start:
            return 0
        return int(row["count"])

    def hit(self, key: str, window_start: int) -> int:
        """Count one more hit in the window; returns the new count."""
        self.db.execute(
            """INSERT INTO rate_limits (key, window_start, count) VALUES (?, ?, 1)
               ON CONFLICT (key) DO UPDATE SET
                 count = CASE WHEN rate_limits.window_start = excluded.window_start
                              THEN rate_limits.count + 1 ELSE 1 END,
                 window_start = excluded.window_start""", (key, window_start))
        return self.hits(key, window_start)
