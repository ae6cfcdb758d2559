"""Web sign-in: logins (username or phone + scrypt hash), sessions, personal links,
and the few read queries the web pages need (card lookup, a volunteer's logs).

Secrets are never stored: sessions and personal links by SHA-256 of their
random value, passwords and PINs by a peppered scrypt (see ``server.services.web_auth``).
"""

from __future__ import annotations

import json

from .connection import Database
from .errors import Conflict

_PERSON = "p.id AS person, p.name, p.role, p.shop, p.community, p.active"


class WebStore:
    def __init__(self, db: Database):
        self.db = db

    # --- logins ----------------------------------------------------------
    def set_login(self, *, person: str, login: str, secret_hash: str, at: str) -> None:
        """Create or replace a person's login; Conflict if another person has that login."""
        other = self.db.scalar("SELECT person FROM web_logins WHERE login = ?", (login,))
        if other is not None and other != person:
            raise Conflict("login", login)
        self.db.execute(
            """INSERT INTO web_logins (person, login, secret_hash, failed, locked_until, updated_at)
               VALUES (?, ?, ?, 0, NULL, ?)
               ON CONFLICT (person) DO UPDATE SET login = excluded.login,
                 secret_hash = excluded.secret_hash, failed = 0, locked_until = NULL,
                 updated_at = excluded.updated_at""", (person, login, secret_hash, at))

    def replace_secret_hash(self, person: str, secret_hash: str) -> None:
        """Store a login's secret again in a newer hash format (same secret)."""
        self.db.execute("UPDATE web_logins SET secret_hash = ? WHERE person = ?",
                        (secret_hash, person))

    def login(self, login: str) -> dict | None:
        """The login row joined with its person, or None."""
        row = self.db.one(
            f"""SELECT l.login, l.secret_hash, l.failed, l.locked_until, {_PERSON}
                FROM web_logins l JOIN people p ON p.id = l.person WHERE l.login = ?""",
            (login,))
        return dict(row) if row else None

    def login_of(self, person: str) -> dict | None:
        """{login, failed, locked_until} of one person's login, or None."""
        row = self.db.one("SELECT login, failed, locked_until FROM web_logins WHERE person = ?",
                          (person,))
        return dict(row) if row else None

    def logins(self) -> dict[str, dict]:
        """person -> {login, failed, locked_until} for everyone who has a login."""
        return {r["person"]: dict(r) for r in self.db.query(
            "SELECT person, login, failed, locked_until FROM web_logins")}

    def record_failure(self, person: str, *, failed: int, locked_until: str | None) -> None:
        self.db.execute("UPDATE web_logins SET failed = ?, locked_until = ? WHERE person = ?",
                        (failed, locked_until, person))

    def clear_failures(self, person: str) -> None:
        self.db.execute(
            "UPDATE web_logins SET failed = 0, locked_until = NULL WHERE person = ?", (person,))

    # --- sessions --------------------------------------------------------
    def add_session(self, *, id_hash: str, person: str, csrf: str, token: str | None,
                    at: str, expires_at: str) -> None:
        self.db.execute(
            "INSERT INTO web_sessions (id_hash, person, csrf, token, created_at, expires_at) "
            "VALUES (?, ?, ?, ?, ?, ?)", (id_hash, person, csrf, token, at, expires_at))

    def session(self, id_hash: str) -> dict | None:
        """The session joined with its person (and the API token it came from, if any)."""
        row = self.db.one(
            f"""SELECT s.id_hash, s.csrf, s.token, s.expires_at, t.revoked_at AS token_revoked,
                       {_PERSON}
                FROM web_sessions s JOIN people p ON p.id = s.person
                LEFT JOIN tokens t ON t.id = s.token
                WHERE s.id_hash = ?""", (id_hash,))
        return dict(row) if row else None

    def delete_session(self, id_hash: str) -> None:
        self.db.execute("DELETE FROM web_sessions WHERE id_hash = ?", (id_hash,))

    def delete_sessions_of(self, person: str) -> int:
        return self.db.execute("DELETE FROM web_sessions WHERE person = ?", (person,)).rowcount

    def expire_links_of(self, person: str, now: str) -> None:
        self.db.execute("UPDATE web_links SET expires_at = ? WHERE person = ? AND used_at IS NULL "
                        "AND expires_at > ?", (now, person, now))

    def purge_sessions(self, now: str) -> int:
        return self.db.execute("DELETE FROM web_sessions WHERE expires_at <= ?", (now,)).rowcount

    # --- personal links --------------------------------------------------
    def add_link(self, *, token_hash: str, person: str, at: str, expires_at: str) -> None:
        self.db.execute(
            "INSERT INTO web_links (token_hash, person, created_at, expires_at) "
            "VALUES (?, ?, ?, ?)",
            (token_hash, person, at, expires_at))

    def claim_link(self, token_hash: str, now: str) -> str | None:
        """Mark an unused, unexpired link used; its person, or None."""
        row = self.db.one(
            "SELECT person FROM web_links WHERE token_hash = ? AND used_at IS NULL "
            "AND expires_at > ?", (token_hash, now))
        if row is None:
            return None
        self.db.execute("UPDATE web_links SET used_at = ? WHERE token_hash = ?", (now, token_hash))
        return str(row["person"])

    # --- reads for the pages ---------------------------------------------
    def person_by_card(self, card_hash: str) -> dict | None:
        row = self.db.one(
            "SELECT id, name, role, community, active FROM people WHERE card_hash = ?",
            (card_hash,))
        return dict(row) if row else None

    def service_logs_of(self, volunteer: str, limit: int = 500) -> list[dict]:
        """Current states of the volunteer's service logs (tombstones left out), newest first."""
        of_volunteer = self.db.sql.json_text("state", "fields", "volunteer")
        rows = self.db.query(
            "SELECT state FROM records WHERE collection = 'service_logs' AND person = ? "
            f"AND deleted = 0 AND {of_volunteer} = ? "
            "ORDER BY seq DESC LIMIT ?", (volunteer, volunteer, limit))
        return [json.loads(r[0]) for r in rows]

    def service_hours_of(self, volunteer: str) -> dict[str, dict[str, int]]:
        """Count and minutes of all the volunteer's live logs, by status."""
        sql = self.db.sql
        rows = self.db.query(
            f"SELECT coalesce({sql.json_text('state', 'fields', 'status')}, 'recorded'), "
            f"count(*), coalesce(sum(CAST({sql.json_text('state', 'fields', 'minutes')} "
            "AS INTEGER)), 0) FROM records "
            "WHERE collection = 'service_logs' AND person = ? AND deleted = 0 "
            f"AND {sql.json_text('state', 'fields', 'volunteer')} = ? GROUP BY 1",
            (volunteer, volunteer))
        return {r[0]: {"count": int(r[1]), "minutes": int(r[2])} for r in rows}
