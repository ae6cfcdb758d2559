"""Ledger entries, balances, signing keys, redemptions and idempotent requests.

``append`` must run inside a transaction (BEGIN IMMEDIATE): it reads the
chain head and writes the next entry, so concurrent workers serialize here.
It also adds the entry's leaf to the Merkle tree kept in ``merkle_tree``:
one row per leaf, keyed by the tree's size once that leaf is in, holding
the leaf hash and every perfect subtree the leaf closes (``tree_node``).
An append writes one small row at the table's end, one B-tree page per
commit (one row per node, keyed by level and index, wrote about three: the
leaves and each level's nodes lie apart), and any root or proof is O(log² n)
lookups. The tree is a table of its own, not a column of the entry, so an
entry cut off behind the server's back leaves its leaf behind and is noticed
(``TreeAhead``).

An append reads what it needs under the write lock in one statement
(``append_state``: head, active key id, both balances) and writes three rows
(its Merkle row, the entry, both balances): three statements on SQLite, one
on PostgreSQL, where each statement is a round trip. The tree's frontier (the
O(log n) perfect subtrees a next leaf closes) is kept from the last append
with the head it belongs to, and used only when the head read under the
lock in this very transaction is that head: another process's append, a
rolled-back transaction or a restore changes the head, and the frontier is
then read again from the stored tree.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any, NamedTuple

import orjson

from ledger import ZERO_HASH, entry_leaf
from ledger.merkle import Frontier
from primitives import names

from .connection import Database
from .errors import NotNext, StorageError, TreeAhead

_ACTIVE_KEY = ("FROM signing_keys WHERE retired_at IS NULL "
               "ORDER BY created_at DESC, key_id DESC LIMIT 1")
"""The active signing key: the newest one not retired."""


_APPEND = (
    "INSERT INTO merkle_tree (size, nodes) VALUES (?, ?)",
    "INSERT INTO entries (seq, id, kind, debit, credit, amount, ref, at, hash, body) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    "INSERT INTO balances (account, balance, as_of) VALUES (?, ?, ?), (?, ?, ?) "
    "ON CONFLICT (account) DO UPDATE SET "
    "balance = balances.balance + excluded.balance, as_of = excluded.as_of",
)
"""What an append writes: its Merkle row (the leaf and the subtrees it closes), the
entry, both balances. One statement where the database allows (``one_statement``)."""


class AppendState(NamedTuple):
    """What an append reads under the write lock (``LedgerStore.append_state``)."""

    seq: int
    head: str | None
    key_id: str | None
    debit_balance: int
    credit_balance: int


class LedgerStore:
    def __init__(self, db: Database):
        self.db = db
        self._seen: tuple[int, int, str | None] | None = None
        """(write serial, seq, hash) of the head as this store last read or made it."""
        self._tip: tuple[int, str | None, Frontier] | None = None
        """(seq, hash) of the head the last append made, and the tree's frontier there."""

    # --- chain -----------------------------------------------------------
    def head(self) -> tuple[int, str | None]:
        row = self.db.one("SELECT seq, hash FROM entries ORDER BY seq DESC LIMIT 1")
        return (0, None) if row is None else (int(row["seq"]), str(row["hash"]))

    def append_state(self, debit: str, credit: str) -> AppendState:
        """The head, the active key's id and both accounts' balances, in one
        statement. Must be called inside the transaction that appends."""
        row = self.db.one(
            "SELECT (SELECT seq FROM entries ORDER BY seq DESC LIMIT 1), "
            "(SELECT hash FROM entries ORDER BY seq DESC LIMIT 1), "
            f"(SELECT key_id {_ACTIVE_KEY}), "
            "(SELECT balance FROM balances WHERE account = ?), "
            "(SELECT balance FROM balances WHERE account = ?)", (debit, credit))
        assert row is not None  # a SELECT without FROM always gives one row
        state = AppendState(int(row[0] or 0), row[1], row[2], int(row[3] or 0), int(row[4] or 0))
        self._remember(state.seq, state.head)
        return state

    def _remember(self, seq: int, head: str | None) -> None:
        serial = self.db.write_serial
        self._seen = (serial, seq, head) if serial & 1 else None

    def append(self, entry: dict) -> None:
        """Store a signed entry, add its Merkle leaf and move both balances.

        NotNext unless the entry extends the head (its seq next, its prev_hash
        the head's hash): the store never forks or gaps the chain."""
        seen = self._seen
        if seen is not None and seen[0] == self.db.write_serial:
            seq, head = seen[1], seen[2]
        else:
            seq, head = self.head()
        if entry["seq"] != seq + 1 or entry["prev_hash"] != (head or ZERO_HASH):
            raise NotNext(f"entry {entry['seq']} does not extend the head (seq {seq})")
        frontier = self._frontier(seq, head)
        self._seen = self._tip = None  # until every row below is written
        leaf = tree_row(frontier.append(entry_leaf(entry["hash"])))
        params = (frontier.size, leaf,
                  entry["seq"], entry["id"], entry["kind"], entry["debit"], entry["credit"],
                  entry["amount"], entry["ref"], entry["at"], entry["hash"],
                  orjson.dumps(entry).decode(),
                  entry["debit"], -entry["amount"], entry["seq"],
                  entry["credit"], entry["amount"], entry["seq"])
        together = self.db.sql.one_statement(*_APPEND)
        if together is not None:
            self.db.execute(together, params)
        else:
            self.db.execute(_APPEND[0], params[:2])
            self.db.execute(_APPEND[1], params[2:12])
            self.db.execute(_APPEND[2], params[12:])
        self._tip = (entry["seq"], entry["hash"], frontier)
        self._remember(entry["seq"], entry["hash"])

    def _frontier(self, seq: int, head: str | None) -> Frontier:
        """The tree's frontier at the head (seq, head), as the last append left
        it when that is still the head, else read from the stored tree (its
        missing leaves added first)."""
        tip = self._tip
        if tip is not None and tip[0] == seq and tip[1] == head:
            return tip[2]
        if self.tree_size() != seq:  # older entries without leaves, or a cut chain
            self.catch_up_tree(seq)
        return Frontier.of(seq, self.tree_node)

    def entry(self, seq: int) -> dict | None:
        body = self.db.scalar("SELECT body FROM entries WHERE seq = ?", (seq,))
        return json.loads(body) if body else None

    def entry_by_ref(self, kind: str, ref: str) -> dict | None:
        body = self.db.scalar("SELECT body FROM entries WHERE kind = ? AND ref = ?", (kind, ref))
        return json.loads(body) if body else None

    def entries(self, after: int, limit: int) -> list[dict]:
        return [json.loads(r[0]) for r in self.db.query(
            "SELECT body FROM entries WHERE seq > ? ORDER BY seq LIMIT ?", (after, limit))]

    def entry_bodies(self, after: int, limit: int) -> list[tuple[int, str]]:
        """(seq, stored JSON text) pages: served as stored, byte for byte."""
        return [(int(r[0]), r[1]) for r in self.db.query(
            "SELECT seq, body FROM entries WHERE seq > ? ORDER BY seq LIMIT ?", (after, limit))]

    def iter_entries(self, batch: int = 5000) -> Iterator[dict]:
        """Every entry in seq order, read in batches (memory flat in chain length)."""
        after = 0
        while True:
            page = self.entries(after, batch)
            if not page:
                return
            yield from page
            after = page[-1]["seq"]

    def account_entries(self, account: str, after: int = 0,
                        limit: int | None = None) -> list[dict]:
        """Entries debiting or crediting ``account`` with seq > ``after``, oldest first;
        at most ``limit`` of them (None: all). A page reads at most ``limit`` rows from
        each side's index (debit, seq) and (credit, seq), however long the account."""
        if limit is None:
            rows = self.db.query(
                "SELECT body FROM entries WHERE (debit = ? OR credit = ?) AND seq > ? "
                "ORDER BY seq", (account, account, after))
        else:
            rows = self.db.query(
                "SELECT seq, body FROM (SELECT seq, body FROM entries WHERE debit = ? "
                "AND seq > ? ORDER BY seq LIMIT ?) AS d UNION ALL "
                "SELECT seq, body FROM (SELECT seq, body FROM entries WHERE credit = ? "
                "AND seq > ? ORDER BY seq LIMIT ?) AS c ORDER BY seq LIMIT ?",
                (account, after, limit, account, after, limit, limit))
        return [json.loads(r["body"]) for r in rows]

    def balance(self, account: str) -> int:
        return int(self.db.scalar(
            "SELECT balance FROM balances WHERE account = ?", (account,)) or 0)

    def balances(self) -> dict[str, int]:
        return {r[0]: int(r[1]) for r in self.db.query("SELECT account, balance FROM balances")}

    def balance_rows(self) -> dict[str, tuple[int, int]]:
        """account -> (stored balance, seq of the last entry that moved it)."""
        return {r[0]: (int(r[1]), int(r[2])) for r in self.db.query(
            "SELECT account, balance, as_of FROM balances")}

    def count(self) -> int:
        return int(self.db.scalar("SELECT count(*) FROM entries"))

    def kind_counts(self) -> dict[str, int]:
        return {r[0]: int(r[1]) for r in self.db.query(
            "SELECT kind, count(*) FROM entries GROUP BY kind")}

    # --- Merkle tree ------------------------------------------------------
    def tree_size(self) -> int:
        """Leaves stored (the size of the stored tree)."""
        top = self.db.scalar("SELECT size FROM merkle_tree ORDER BY size DESC LIMIT 1")
        return 0 if top is None else int(top)

    def tree_node(self, level: int, idx: int) -> bytes:
        """Root of the perfect subtree (level, idx): a ``ledger.merkle`` NodeReader.
        It is closed by leaf ``((idx + 1) << level) - 1``, in whose row it is the
        ``level``-th hash."""
        found = self.db.scalar(
            "SELECT nodes FROM merkle_tree WHERE size = ?", ((idx + 1) << level,))
        digest = b"" if found is None else bytes(found)[level * 32:(level + 1) * 32]
        if len(digest) != 32:
            raise StorageError(f"Merkle node ({level}, {idx}) is missing")
        return digest

    def catch_up_tree(self, size: int) -> None:
        """Add the leaves of entries the tree lacks up to ``size`` (entries
        stored before the tree existed). Must run inside a transaction.
        Raises TreeAhead when the tree already holds more than ``size``."""
        have = self.tree_size()
        if have > size:
            raise TreeAhead(f"the stored Merkle tree holds {have} leaves but the chain ends at "
                            f"seq {size}: entries were removed")
        frontier = Frontier.of(have, self.tree_node)
        for (digest,) in self.db.query(
                "SELECT hash FROM entries WHERE seq > ? AND seq <= ? ORDER BY seq",
                (have, size)):
            nodes = tree_row(frontier.append(entry_leaf(digest)))
            self.db.execute(_APPEND[0], (frontier.size, nodes))

    # --- daily caps ------------------------------------------------------
    def points_on(self, volunteer: str, local_date: str) -> int:
        return int(self.db.scalar(
            "SELECT points FROM daily_points WHERE volunteer = ? AND local_date = ?",
            (volunteer, local_date)) or 0)

    def add_points_on(self, volunteer: str, local_date: str, points: int) -> None:
        self.db.execute(
            """INSERT INTO daily_points (volunteer, local_date, points) VALUES (?, ?, ?)
               ON CONFLICT (volunteer, local_date)
               DO UPDATE SET points = daily_points.points + excluded.points""",
            (volunteer, local_date, points))

    # --- signing keys ----------------------------------------------------
    def add_key(self, *, key_id: str, public_key: str, encrypted_private: bytes, at: str,
                endorsement: str | None = None) -> None:
        self.db.execute(
            "INSERT INTO signing_keys (key_id, public_key, encrypted_private, created_at, "
            "endorsement) VALUES (?, ?, ?, ?, ?)",
            (key_id, public_key, encrypted_private, at, endorsement))

    def set_endorsement(self, key_id: str, endorsement: str) -> None:
        self.db.execute("UPDATE signing_keys SET endorsement = ? WHERE key_id = ?",
                        (endorsement, key_id))

    def sealed_keys(self) -> list[dict]:
        """Every key with its encrypted private half, oldest first."""
        return [dict(r) for r in self.db.query(
            "SELECT key_id, public_key, encrypted_private, created_at, retired_at, endorsement "
            "FROM signing_keys ORDER BY created_at, key_id")]

    def retire_keys(self, at: str, except_key: str) -> None:
        self.db.execute(
            "UPDATE signing_keys SET retired_at = ? WHERE retired_at IS NULL AND key_id != ?",
            (at, except_key))

    def keys(self) -> list[dict]:
        return [dict(r) for r in self.db.query(
            "SELECT key_id, public_key, created_at, retired_at, endorsement FROM signing_keys "
            "ORDER BY created_at, key_id")]

    def active_key(self) -> dict | None:
        row = self.db.one(
            f"SELECT key_id, public_key, encrypted_private, created_at {_ACTIVE_KEY}")
        return dict(row) if row else None

    def sealed_key(self, key_id: str) -> bytes | None:
        """The encrypted private half of key ``key_id``."""
        found = self.db.scalar(
            "SELECT encrypted_private FROM signing_keys WHERE key_id = ?", (key_id,))
        return None if found is None else bytes(found)

    # --- idempotent requests (adjustments, reversals, redemptions) -------
    def request(self, kind: str, id: str) -> dict | None:
        row = self.db.one(
            "SELECT digest, actor, response FROM requests WHERE kind = ? AND id = ?", (kind, id))
        if row is None:
            return None
        return {"digest": row["digest"], "actor": row["actor"],
                "response": json.loads(row["response"])}

    def save_request(self, *, kind: str, id: str, digest: str, actor: str, response: dict,
                     at: str) -> None:
        self.db.execute(
            "INSERT INTO requests (id, kind, digest, actor, response, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (id, kind, digest, actor, json.dumps(response, ensure_ascii=False), at))

    # --- redemptions -----------------------------------------------------
    def add_redemption(self, r: dict, entry_seq: int) -> None:
        self.db.execute(
            "INSERT INTO redemptions (id, shop, volunteer, items, total, at, entry_seq) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (r["id"], r["shop"], r["volunteer"], json.dumps(r["items"], ensure_ascii=False),
             r["total"], r["at"], entry_seq))

    def redemption(self, id: str) -> tuple[dict, dict] | None:
        row = self.db.one("SELECT * FROM redemptions WHERE id = ?", (id,))
        if row is None:
            return None
        return _redemption(row), self.entry(int(row["entry_seq"]))  # type: ignore[return-value]

    def redemptions_between(self, *, shop: str | None = None, volunteer: str | None = None,
                            since: str = "", until: str = "\uffff",
                            limit: int = 1000) -> list[dict]:
        """Redemptions of a shop or a volunteer with ``since <= at < until``, newest
        first, each with ``entry_seq`` and ``reversed_by`` (the seq of its
        reversal, or None)."""
        column, value = ("shop", shop) if shop is not None else ("volunteer", volunteer)
        rows = self.db.query(
            f"SELECT r.*, rev.seq AS reversed_by FROM redemptions r "
            f"LEFT JOIN entries rev ON rev.kind = 'reverse' "
            f"AND rev.ref = ? || r.entry_seq "
            f"WHERE r.{column} = ? AND r.at >= ? AND r.at < ? ORDER BY r.at DESC LIMIT ?",
            (names.prefix(names.ENTRY), value, since, until, limit))
        return [{**_redemption(row), "entry_seq": int(row["entry_seq"]),
                 "reversed_by": row["reversed_by"]} for row in rows]


def tree_row(nodes: list[tuple[int, int, bytes]]) -> bytes:
    """A ``merkle_tree`` row's nodes: what ``Frontier.append`` made for one leaf (the
    leaf, then each perfect subtree it closes, one level up at a time), 32 bytes each."""
    return b"".join(digest for _, _, digest in nodes)


def move_tree(db: Any, batch: int = 10_000) -> None:
    """Migration 16: the tree kept one row per node (``merkle_nodes``: level, index,
    hash) rewritten one row per leaf (``merkle_tree``), ``batch`` leaves at a time.
    A row keeps its nodes up to the first that is missing (a row's hashes are by
    position: the ``level``-th is that level's node), so a damaged tree stays damaged
    (``tree_node`` says which node is missing) rather than misread, and a node present
    above a missing one is left behind. That loses nothing the audit needs: every node
    is a hash of entry hashes, which the entries keep, and ``gridsync ledger verify``
    checks every row against them (``check_stored_tree``). The tree's
    size is the last leaf any node covers, not the last leaf left: nodes a removed last
    leaf had closed leave an empty row at that size, so the tree stays ahead of the
    chain (``TreeAhead``) as it did, instead of the cut vanishing in the move."""
    top = db.scalar("SELECT max(((idx + 1) << CAST(level AS INTEGER)) - 1) FROM merkle_nodes")
    for lo in range(1, 0 if top is None else int(top) + 2, batch):
        hi = min(int(top) + 1, lo + batch - 1)
        found: dict[tuple[int, int], bytes] = {}
        level = 0
        while 1 << level <= hi:  # the nodes leaves lo..hi close, level by level
            first, last = -(-lo >> level), hi >> level  # sizes first<<level..last<<level
            found.update(((level, int(idx)), bytes(digest)) for idx, digest in db.query(
                "SELECT idx, hash FROM merkle_nodes WHERE level = ? AND idx >= ? AND idx <= ?",
                (level, first - 1, last - 1)))
            level += 1
        rows = []
        for size in range(lo, hi + 1):
            nodes, level = [], 0
            while size % (1 << level) == 0 and (level, (size >> level) - 1) in found:
                nodes.append(found[level, (size >> level) - 1])
                level += 1
            if nodes or size == int(top) + 1:
                rows.append((size, b"".join(nodes)))
        db.executemany(_APPEND[0], rows)


def _redemption(row: Any) -> dict:
    return {"id": row["id"], "volunteer": row["volunteer"], "shop": row["shop"],
            "items": json.loads(row["items"]), "total": row["total"], "at": row["at"]}
