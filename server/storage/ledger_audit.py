"""Audit queries behind ``gridsync ledger verify``: everything the chain alone
cannot prove (columns against signed bodies, causes paid once, redemptions,
service logs and stored answers against the entries that paid them).
"""

from __future__ import annotations

import os
import sqlite3
import urllib.parse
from collections.abc import Iterator
from typing import Any

import orjson
import psycopg

from primitives import names, strict_json
from primitives.canonical import canonical

from .connection import BUSY_TIMEOUT_MS, Database
from .postgres import is_postgres_url, translate


class LedgerAuditStore:
    def __init__(self, db: Database):
        self.db = db

    # --- audit queries (gridsync ledger verify) ---------------------------
    # Whatever these parse they parse with `primitives.strict_json`: an object naming a
    # key twice reads one way in SQLite (json_extract keeps the first) and
    # another in Python (the last), so it is a finding, never a value. Rows
    # are streamed from cursors, never fetched whole: memory stays flat in
    # the number of entries, logs, redemptions and requests.
    def first_column_mismatch(self) -> tuple[int, str] | None:
        """(seq, problem) of the lowest entry whose body is not a JSON object
        with unique keys, or whose indexed columns differ from that body.

        The columns (seq, kind, accounts, amount, ref, hash...) exist for
        queries and indexes; the body is what is hashed and signed. A row
        where they disagree has been edited behind the server's back.
        """
        columns = ", ".join(ENTRY_COLUMNS)
        for row in self.db.execute(f"SELECT {columns}, body FROM entries ORDER BY seq"):
            body, problem = parse_object(row["body"])
            if body is None:
                return int(row["seq"]), f"its body {problem}"
            for col in ENTRY_COLUMNS:
                value = body.get(col)
                if type(value) is not type(row[col]) or value != row[col]:
                    return int(row["seq"]), (
                        f"the row's columns differ from its signed body ({col})")
        return None

    def entry_hashes(self) -> Iterator[str]:
        """Every entry's ``hash`` column in seq order, streamed (the Merkle
        leaves; first_column_mismatch checks the column against the body)."""
        for row in self.db.execute("SELECT hash FROM entries ORDER BY seq"):
            yield row[0]

    def tree_rows(self) -> Iterator[tuple[int, str, list[bytes]]]:
        """(seq, ``hash`` column, the nodes of the Merkle tree's row for that entry) of
        every entry in seq order, streamed: the row's nodes in order of level (the leaf,
        then each subtree it closes), [] where the entry has no row."""
        for row in self.db.execute(
                "SELECT e.seq, e.hash, t.nodes FROM entries e "
                "LEFT JOIN merkle_tree t ON t.size = e.seq ORDER BY e.seq"):
            nodes = b"" if row[2] is None else bytes(row[2])
            yield int(row[0]), row[1], [nodes[i:i + 32] for i in range(0, len(nodes), 32)]

    def first_repeated_ref(self) -> tuple[int, str, str] | None:
        """(seq, kind, ref) of the first earn, redeem or reverse whose ref an
        earlier entry of the same kind already used: a log earned twice, a
        redemption paid twice or an entry reversed twice."""
        groups = self.db.query(
            "SELECT kind, ref FROM entries WHERE kind IN ('earn', 'redeem', 'reverse') "
            "GROUP BY kind, ref HAVING count(*) > 1")
        found = []
        for kind, ref in groups:
            second = self.db.scalar(
                "SELECT seq FROM entries WHERE kind = ? AND ref = ? ORDER BY seq LIMIT 1 OFFSET 1",
                (kind, ref))
            found.append((int(second), kind, ref))
        return min(found) if found else None

    def redemption_problems(self) -> Iterator[tuple[int, str, str]]:
        """(entry_seq, redemption id, problem) for each redemption whose redeem
        entry is missing or does not match it, whose items do not add up to
        its total, or whose stored row is not what the shop was answered
        when it was made (its ``requests`` row: items, total, entry)."""
        rows = self.db.execute(
            """SELECT r.id, r.volunteer, r.shop, r.items, r.total, r.at, r.entry_seq,
                      e.seq, e.kind, e.ref, e.debit, e.credit, e.amount, q.response
               FROM redemptions r LEFT JOIN entries e ON e.seq = r.entry_seq
               LEFT JOIN requests q ON q.kind = 'redemption' AND q.id = r.id""")
        for r in rows:
            seq, rid = r["entry_seq"], r["id"]
            if r["seq"] is None:
                yield seq, rid, "its redeem entry is missing"
                continue
            if (r["kind"], r["ref"], r["debit"], r["credit"], r["amount"]) != (
                    "redeem", names.redemption(rid), names.volunteer(r["volunteer"]),
                    names.shop(r["shop"]), r["total"]):
                yield seq, rid, "its entry does not match it"
                continue
            items, problem = parse_json(r["items"])
            if problem is not None:
                yield seq, rid, f"its items {problem}"
                continue
            added = _items_total(items)
            if added is None:
                yield seq, rid, "its items are not a list of lines with qty and price"
                continue
            if added != r["total"]:
                yield seq, rid, f"its items add up to {added}, not its total {r['total']}"
                continue
            if r["response"] is None:
                yield seq, rid, "no stored answer (requests row) for it"
                continue
            answer, problem = parse_object(r["response"])
            if answer is None:
                yield seq, rid, f"the stored answer for it {problem}"
                continue
            stored = {"id": rid, "volunteer": r["volunteer"], "shop": r["shop"],
                      "items": items, "total": r["total"], "at": r["at"]}
            given = answer.get("redemption")
            given = given if isinstance(given, dict) else {}
            changed = [k for k in stored if not _same(stored[k], given.get(k, _MISSING))]
            if changed:
                yield seq, rid, (f"its {', '.join(changed)} differ from the answer given "
                                 "when it was made")
                continue
            entry = answer.get("entry")
            named = entry.get("seq") if isinstance(entry, dict) else None
            if not _same(named, seq):
                yield seq, rid, (f"it names entry {seq}, the answer given when it was made "
                                 f"named {named}")

    def first_redeem_without_redemption(self) -> tuple[int, str] | None:
        """(seq, ref) of the first redeem entry with no redemption row that
        names it (same id, same entry seq)."""
        row = self.db.one(
            """SELECT e.seq, e.ref FROM entries e
               WHERE e.kind = 'redeem' AND NOT EXISTS (
                 SELECT 1 FROM redemptions r
                 WHERE r.id = substr(e.ref, length(:prefix) + 1) AND e.ref = :prefix || r.id
                   AND r.entry_seq = e.seq)
               ORDER BY e.seq LIMIT 1""", {"prefix": names.prefix(names.REDEMPTION)})
        return None if row is None else (int(row[0]), row[1])

    def earn_count(self) -> int:
        """How many earn entries there are (the audit's progress counts them)."""
        # The redundant IN repeats entries_once's WHERE so its partial index is used.
        return int(self.db.scalar("SELECT count(*) FROM entries WHERE kind IN "
                                  "('earn', 'redeem', 'reverse') AND kind = 'earn'"))

    def earn_evidence(self, after: tuple[str, int], limit: int) -> list[Any]:
        """A page of earns: those after ``after`` (credit, seq) in (credit, seq) order, at
        most ``limit``, each with what it stands on.

        Columns: the entry's seq, ref, credit, amount, and its body's evidence and rules;
        the evidence op's row (op, device, status, change as stored: NULL when no op has
        that id) with its device's person and public key (NULL when the device is not
        registered); and the stored state of the service log (state) or case (case_state)
        it pays for (NULL when missing). The order is entries_credit's: each volunteer's earns
        come together, in the order the server priced them.
        """
        credit, seq = after
        # The rest of this credit's earns, then the next credits': SQLite bounds a row
        # value's range on the index by its first column only, so `(credit, seq) > (?, ?)`
        # would scan a volunteer's earlier earns again on every page of theirs.
        rows = self._earns("e.credit = :credit AND e.seq > :seq", credit, seq, limit)
        if len(rows) < limit:
            rows += self._earns("e.credit > :credit", credit, seq, limit - len(rows))
        return rows

    def _earns(self, where: str, credit: str, seq: int, limit: int) -> list[Any]:
        """Earns matching ``where`` in (credit, seq) order, joined to their evidence."""
        evidence = self.db.sql.json_text("e.body", "evidence")
        rules = self.db.sql.json_text("e.body", "rules")
        return self.db.query(
            f"""SELECT e.seq, e.ref, e.credit, e.amount, {evidence} AS evidence,
                      {rules} AS rules, o.op, o.device, o.status AS op_status, o.change,
                      d.person, d.public_key, r.state, c.state AS case_state
               FROM entries e
               LEFT JOIN ops o ON o.op = {evidence}
               LEFT JOIN devices d ON d.id = o.device
               LEFT JOIN records r ON r.collection = 'service_logs'
                 AND r.id = substr(e.ref, length(:log) + 1) AND e.ref = :log || r.id
               LEFT JOIN records c ON c.collection = 'cases'
                 AND c.id = substr(e.ref, length(:case) + 1) AND e.ref = :case || c.id
               WHERE e.kind = 'earn' AND {where}
               ORDER BY e.credit, e.seq LIMIT :limit""",
            {"log": names.prefix(names.SERVICE_LOG), "case": names.prefix(names.CASE),
             "credit": credit, "seq": seq, "limit": limit})

    def first_earn_without_log(self) -> tuple[int, str] | None:
        """(seq, ref) of the first earn whose service log (or case) is not stored."""
        row = self.db.one(
            """SELECT e.seq, e.ref FROM entries e
               WHERE e.kind = 'earn' AND NOT EXISTS (
                 SELECT 1 FROM records r
                 WHERE (r.collection = 'service_logs' AND r.id = substr(e.ref, length(:log) + 1)
                        AND e.ref = :log || r.id)
                    OR (r.collection = 'cases' AND r.id = substr(e.ref, length(:case) + 1)
                        AND e.ref = :case || r.id))
               ORDER BY e.seq LIMIT 1""", {"case": names.prefix(names.CASE),
                                           "log": names.prefix(names.SERVICE_LOG)})
        return None if row is None else (int(row[0]), row[1])

    def service_log_problems(self) -> Iterator[tuple[int | None, str, str]]:
        """(earn seq or None, log id, problem) for each service log whose
        state does not match the ledger, in log id order.

        A log with an earn entry must still be verified, not deleted, with
        ``points`` equal to the amount earned (a verified log is locked, and
        a reversal moves points back without touching the log); a verified
        log with points must have an earn paying exactly those points (seq
        None: there is no entry to name).
        """
        # The redundant IN repeats entries_once's WHERE: without it SQLite
        # cannot use that partial index and scans every entry for each log.
        rows = self.db.execute(
            """SELECT r.id, r.state, e.seq, e.amount FROM records r
               LEFT JOIN entries e
                 ON e.kind IN ('earn', 'redeem', 'reverse') AND e.kind = 'earn'
                    AND e.ref = ? || r.id
               WHERE r.collection = 'service_logs' ORDER BY r.id""",
            (names.prefix(names.SERVICE_LOG),))
        for row in rows:
            log, seq, amount = row["id"], row["seq"], row["amount"]
            state, problem = parse_object(row["state"])
            if state is None:
                yield seq, log, f"its stored state {problem}"
                continue
            fields = state.get("fields")
            fields = fields if isinstance(fields, dict) else {}
            status, points = fields.get("status"), fields.get("points")
            if seq is not None:
                if state.get("deleted") is not False:
                    yield seq, log, "it is deleted"
                elif status != "verified":
                    yield seq, log, f"its status is {status!r}, not 'verified'"
                elif not _same(points, amount):
                    yield seq, log, f"it has {points!r} points, the earn pays {amount}"
            elif status == "verified" and _is_int(points) and points > 0:  # type: ignore[operator]
                yield None, log, (f"it is verified and has {points} points but no earn entry "
                                  "paying them")

    def request_problems(self) -> Iterator[tuple[int | None, str, str, str]]:
        """(seq, request kind, request id, problem) for each remembered answer
        (adjustment, reversal, redemption) whose entry is not the chain's
        entry at that seq, byte for byte once parsed, or not the entry such a
        request makes. seq is the one the answer names (None if it names none).
        """
        # The answer may be anything (it is what is being checked), so it is parsed
        # here, not by the database, and its entry looked up by the seq it names.
        rows = self.db.execute("SELECT kind, id, response FROM requests ORDER BY kind, id")
        for row in rows:
            kind, rid = row["kind"], row["id"]
            answer, problem = parse_object(row["response"])
            if answer is None:
                yield None, kind, rid, f"its stored answer {problem}"
                continue
            given = answer.get("entry")
            seq = given.get("seq") if isinstance(given, dict) else None
            if not _is_int(seq):
                yield None, kind, rid, "its stored answer names no entry"
                continue
            assert isinstance(given, dict)
            shown = f"entry {seq} (hash {str(given.get('hash'))[:12]}…)"
            body = self.db.scalar("SELECT body FROM entries WHERE seq = ?", (seq,))
            if body is None:
                yield seq, kind, rid, f"it was answered with {shown}, which the chain lacks"
                continue
            # Bodies were parsed strictly by first_column_mismatch already.
            entry = orjson.loads(body)
            if entry != given:
                yield seq, kind, rid, (f"it was answered with {shown}, the chain holds "
                                       f"another there (hash {str(entry.get('hash'))[:12]}…)")
                continue
            problem = _answer_mismatch(kind, rid, answer, entry)
            if problem is not None:
                yield seq, kind, rid, problem


ENTRY_COLUMNS = ("seq", "id", "kind", "debit", "credit", "amount", "ref", "at", "hash")
"""The columns of ``entries`` that copy a field of the signed body."""

_MISSING = object()


def parse_json(text: Any) -> tuple[Any, str | None]:
    """(value, None), or (None, what is wrong with the text)."""
    try:
        return strict_json.loads_stored(text), None
    except strict_json.DuplicateKey as exc:
        return None, f"names the key {exc.key!r} twice"
    except (ValueError, UnicodeDecodeError):
        return None, "is not JSON"


def parse_object(text: Any) -> tuple[dict | None, str | None]:
    value, problem = parse_json(text)
    if problem is None and not isinstance(value, dict):
        return None, "is not a JSON object"
    return value, problem


def _is_int(value: Any) -> bool:
    return type(value) is int


def _same(a: Any, b: Any) -> bool:
    """Equal as JSON: 1 is not 1.0 nor true, and key order does not matter."""
    if a is _MISSING or b is _MISSING:
        return False
    try:
        return canonical(a) == canonical(b)
    except (TypeError, ValueError):
        return False


def _items_total(items: Any) -> int | None:
    """Σ qty × price over redemption lines, None unless every line has integer ones."""
    if not isinstance(items, list):
        return None
    total = 0
    for line in items:
        if not (isinstance(line, dict) and _is_int(line.get("qty"))
                and _is_int(line.get("price"))):
            return None
        total += line["qty"] * line["price"]
    return total


def _answer_mismatch(kind: str, rid: str, answer: dict, entry: dict) -> str | None:
    """What is wrong with an answer whose entry is the chain's, or None: the
    entry must be the one such a request makes, for this request's id."""
    made = answer.get(kind)
    made = made if isinstance(made, dict) else {}
    if not _same(made.get("id", _MISSING), rid):
        return f"its stored answer is for another {kind} ({made.get('id')!r})"
    if kind == "adjustment":
        amount = made.get("amount")
        if not _is_int(amount) or amount == 0:
            return "its stored answer has no amount"
        expected = ("adjust", names.adjustment(rid), made.get("account"), abs(amount))  # type: ignore[arg-type]
        actual = (entry["kind"], entry["ref"],
                  entry["credit"] if amount > 0 else entry["debit"], entry["amount"])  # type: ignore[operator]
    elif kind in ("reversal", "refund"):
        expected = ("reverse", names.entry(made.get("entry")))  # type: ignore[assignment]
        actual = (entry["kind"], entry["ref"])  # type: ignore[assignment]
    elif kind == "redemption":
        expected = ("redeem", names.redemption(rid))  # type: ignore[assignment]
        actual = (entry["kind"], entry["ref"])  # type: ignore[assignment]
    else:
        return "a stored answer of an unknown kind"
    if expected != actual:
        return f"its entry is not the one a {kind} {rid} makes"
    return None


class EntryReader:
    """Read-only pages of stored entries for `gridsync ledger verify`.

    Opens its own read-only connection lazily in whichever process calls it
    (verification forks workers, and a connection must not cross a fork), so
    one reader can be handed to ``ledger.verify_chain_parallel``. ``path`` is
    the SQLite file or a PostgreSQL URL.
    """

    def __init__(self, path: str):
        self.path = path
        self._pid: int | None = None
        self._conn: Any = None

    def _connection(self) -> Any:
        if self._conn is None or self._pid != os.getpid():
            if is_postgres_url(self.path):
                self._conn = psycopg.connect(self.path, autocommit=True)
                self._conn.read_only = True
            else:
                uri = "file:" + urllib.parse.quote(os.path.abspath(self.path)) + "?mode=ro"
                self._conn = sqlite3.connect(uri, uri=True, check_same_thread=False)
                self._conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            self._pid = os.getpid()
        return self._conn

    def __call__(self, after: int, limit: int) -> list[Any]:
        """Entries with seq > after, in seq order, at most `limit` (parsed
        bodies; a body that is not JSON is handed on as its text, which the
        verifier reports as malformed at its seq instead of a traceback)."""
        sql = "SELECT body FROM entries WHERE seq > ? ORDER BY seq LIMIT ?"
        rows = self._connection().execute(
            translate(sql) if is_postgres_url(self.path) else sql, (after, limit))
        return [_loads_or_text(r[0]) for r in rows]

    def close(self) -> None:
        if self._conn is not None and self._pid == os.getpid():
            self._conn.close()
        self._conn = None


def _loads_or_text(body: Any) -> Any:
    try:
        return orjson.loads(body)
    except (orjson.JSONDecodeError, TypeError):
        return body
