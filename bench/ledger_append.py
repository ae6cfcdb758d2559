"""Durable ledger appends per second, as a fraction of what the primitives allow.

Value: entries appended through the server's `append()` (services.ledger_append),
one `BEGIN IMMEDIATE` transaction and one commit per append, synchronous=FULL,
WAL, on a real initialised data dir: read the head, the active key's id and
both balances (one statement), check the floor, hash and sign the entry,
insert its Merkle row (the leaf and the perfect subtrees it closes, one
small row, from the frontier the last append left when the head read is
still its head), the entry, and both balances (one statement), commit.

Bound (the headline ratio), measured in the same run on the same bytes and
the same directory:

    1 / (1/sign_rate + 1/sha256_rate + 1/commit_rate)

sign_rate: Ed25519 signatures/s over the canonical bytes of a real entry;
sha256_rate: hashlib SHA-256 hexdigests/s of the same bytes; commit_rate:
one-row-per-commit inserts of a row the size of a stored entry, with the
server's own connection settings (WAL, synchronous=FULL), in the same dir.
What this bound leaves out, honestly: everything an append writes besides one
row, and on this machine a commit's cost grows with the WAL pages it writes
(the fsync of each dirty page costs the kernel about 20 µs of CPU here, on top
of the disk's time). Read from the WAL's frame headers, an adjust appended to
a data dir of 5,000 entries writes 7.1 pages where the one-row control writes
2.7: the entry's table 1.2, its id index 1.4 (random uuid4 keys), its debit
and credit indexes 1.15 each, the Merkle row 1.0, the balances 1.0 and page 1
0.2 (the file's size, each time it grows a page); an earn adds the
once-per-ref index and a second balances page (9.1). Before migration 16 the
tree was a row per node, about 2.5 pages (8.6 and 10.8 in all).
With one fsync per acknowledged append, those pages keep an append well
under 0.8 of this bound: more needs fewer B-trees per entry (nothing reads
entries by id, and the id index is 1.3 of the pages: it is a database
guarantee, kept) or several appends to a commit, which needs several appends
at once in one process: gunicorn's sync workers serve one request each, so
they never have two. Tried and not kept: balances WITHOUT ROWID (the same
pages), time-ordered entry ids (0.25 pages fewer, no CPU change measured).

So a second figure, ``ledger_append_writes``, sets the same value against a
bound that includes those rows: sign + SHA-256 + one commit of exactly the
rows an append writes (the entry with the server's indexes, its Merkle row,
two balance upserts), made with plain SQL and no reads. Its ratio is what the
append's own logic (one read of the head, key and balances; checks; Python)
costs beyond its writes.

A last line splits an append's CPU time (process CPU, steadier than rates on
a shared machine): its Ed25519 signature, the commit of its rows (the
control's CPU per append), and the rest (reads under the lock, checks,
hashing, Python).

Both files are warmed up first, then value and commit rate are timed in
alternating blocks, since this machine drifts run to run: each round's
ratio pairs an append rate with the commit rate measured beside it, and the
headline ratio is the median of those.

    .venv/bin/python bench/ledger_append.py
    .venv/bin/python bench/ledger_append.py --n 3000 --rounds 5 --dir /var/tmp
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from _common import print_figure

from ledger import canonical, entry_leaf, hashed_form
from ledger.merkle import Frontier
from server.bootstrap import initialise
from server.keystore import Signer
from server.services.ledger_append import append
from server.storage import Storage, open_storage
from server.storage.connection import Database
from server.storage.ledger import tree_row

BLOCKS = 10
"""Each round alternates this many blocks of appends and of control commits."""


def per_second(operation: Callable[[], object], items: int, min_seconds: float = 0.5) -> float:
    rounds, start = 0, time.perf_counter()
    while True:
        operation()
        rounds += 1
        elapsed = time.perf_counter() - start
        if elapsed >= min_seconds:
            return rounds * items / elapsed


def append_rate(store: Storage, signer: Signer, n: int, offset: int) -> float:
    started = time.perf_counter()
    for i in range(offset, offset + n):
        with store.transaction():
            append(store, signer, kind="adjust", debit="issuance:c1", credit="shop:s1",
                   amount=1 + i % 9, ref=f"adjustment:bench-{i}")
    return n / (time.perf_counter() - started)


def commit_rate(db: Database, n: int, row: str, offset: int) -> float:
    started = time.perf_counter()
    for i in range(offset, offset + n):
        with db.transaction():
            db.execute("INSERT INTO t (id, body) VALUES (?, ?)", (f"row-{i}", row))
    return n / (time.perf_counter() - started)


def wal_pages(db: Database, write: Callable[[int, int], object], n: int = 200) -> float:
    """WAL pages per commit of ``write(n, offset)``: the WAL's growth from empty, in
    frames (a page and its 24-byte header), with automatic checkpoints held off."""
    every = db.scalar("PRAGMA wal_autocheckpoint")
    frame = db.scalar("PRAGMA page_size") + 24
    db.execute("PRAGMA wal_autocheckpoint = 0")
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    write(n, 2 * 10**9)
    grown = os.path.getsize(db.path + "-wal") - 32  # the WAL's own header
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.execute(f"PRAGMA wal_autocheckpoint = {int(every)}")
    return grown / frame / n


class WritesControl:
    """The rows one append writes, with the server's own table and index definitions
    (copied from the data dir's schema), in a database of their own: no reads."""

    TABLES = ("entries", "merkle_tree", "balances")

    def __init__(self, path: str, schema_from: Database, row: dict):
        self.db = Database(path)
        for (sql,) in schema_from.query(
                "SELECT sql FROM sqlite_master WHERE tbl_name IN (?, ?, ?) AND sql IS NOT NULL "
                "ORDER BY type = 'index'", self.TABLES):
            self.db.execute(sql)
        self.row, self.tree = row, Frontier()

    def append(self, n: int, offset: int) -> float:
        r = self.row
        started = time.perf_counter()
        for i in range(offset, offset + n):
            nodes = tree_row(self.tree.append(
                entry_leaf(hashlib.sha256(str(i).encode()).hexdigest())))
            seq = self.tree.size
            with self.db.transaction():
                self.db.execute(
                    "INSERT INTO entries (seq, id, kind, debit, credit, amount, ref, at, hash, "
                    "body) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (seq, f"id-{seq}", r["kind"], r["debit"], r["credit"], r["amount"],
                     f"adjustment:control-{seq}", r["at"], r["hash"], r["body"]))
                self.db.execute("INSERT INTO merkle_tree (size, nodes) VALUES (?, ?)",
                                (seq, nodes))
                self.db.execute(
                    "INSERT INTO balances (account, balance, as_of) VALUES (?, ?, ?), (?, ?, ?) "
                    "ON CONFLICT (account) DO UPDATE SET balance = balances.balance + "
                    "excluded.balance, as_of = excluded.as_of",
                    (r["debit"], -1, seq, r["credit"], 1, seq))
        return n / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=2000, help="appends per round (default 2000)")
    parser.add_argument("--rounds", type=int, default=5, help="rounds (default 5; medians)")
    parser.add_argument("--dir", default=None, help="where the data dir goes (default: tmp)")
    args = parser.parse_args()

    root = Path(tempfile.mkdtemp(prefix="gridsync-bench-", dir=args.dir))
    try:
        data_dir = root / "data"
        initialise(str(data_dir))
        store = open_storage(str(data_dir / "gridsync.db"))
        signer = Signer(str(data_dir))
        with store.transaction():
            sample = append(store, signer, kind="adjust", debit="issuance:c1", credit="shop:s1",
                            amount=1, ref="adjustment:bench-sample")
        data = canonical(hashed_form(sample))
        stored_row = store.ledger.entry_bodies(0, 1)[0][1]
        _, key = signer.active(store)

        control = Database(str(root / "commit-control.db"))
        control.execute("CREATE TABLE t (seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, "
                        "body TEXT NOT NULL)")
        writes = WritesControl(str(root / "writes-control.db"), store.ledger.db,
                               {**sample, "body": stored_row})

        sign = per_second(lambda: [key.sign(data) for _ in range(200)], 200)
        sha = per_second(lambda: [hashlib.sha256(data).hexdigest() for _ in range(2000)], 2000)
        # Warm up both files (a WAL that is still growing costs more per commit),
        # then alternate blocks so that drift hits both sides alike.
        append_rate(store, signer, args.n, 10**9)
        commit_rate(control, args.n, stored_row, 10**9)
        writes.append(args.n, 0)
        values, commits, written = [], [], []
        cpu = [0.0, 0.0, 0.0]  # process CPU seconds: appends, one-row commits, rows commits
        block = max(1, args.n // BLOCKS)
        for r in range(args.rounds):
            spent_v = spent_c = spent_w = 0.0
            for b in range(BLOCKS):
                offset = (r * BLOCKS + b) * block
                started = time.process_time()
                spent_v += block / append_rate(store, signer, block, offset)
                cpu[0] += time.process_time() - started
                started = time.process_time()
                spent_c += block / commit_rate(control, block, stored_row, offset)
                cpu[1] += time.process_time() - started
                started = time.process_time()
                spent_w += block / writes.append(block, offset)
                cpu[2] += time.process_time() - started
            values.append(block * BLOCKS / spent_v)
            commits.append(block * BLOCKS / spent_c)
            written.append(block * BLOCKS / spent_w)
        sign = (sign + per_second(lambda: [key.sign(data) for _ in range(200)], 200)) / 2
        sha = (sha + per_second(
            lambda: [hashlib.sha256(data).hexdigest() for _ in range(2000)], 2000)) / 2

        bounds = [1 / (1 / sign + 1 / sha + 1 / c) for c in commits]
        ratios = [v / b for v, b in zip(values, bounds, strict=True)]
        value, commit = statistics.median(values), statistics.median(commits)
        bound = 1 / (1 / sign + 1 / sha + 1 / commit)
        writes_bounds = [1 / (1 / sign + 1 / sha + 1 / w) for w in written]
        writes_ratio = statistics.median(
            v / b for v, b in zip(values, writes_bounds, strict=True))
        pages = (wal_pages(store.ledger.db, lambda n, at: append_rate(store, signer, n, at)),
                 wal_pages(writes.db, writes.append),
                 wal_pages(control, lambda n, at: commit_rate(control, n, stored_row, at)))
        total = store.ledger.count()
        store.close()
        control.close()
        writes.db.close()
        print(f"entry: {len(data)} canonical bytes; stored row {len(stored_row)} bytes; "
              f"{total:,} entries appended")
        print(f"ed25519 sign {sign:,.0f}/s, sha256 {sha:,.0f}/s, "
              f"one-row commits (WAL, synchronous=FULL) {commit:,.0f}/s (median)")
        print(f"commits of an append's own rows, no reads (entry and its indexes, Merkle "
              f"row, two balances) {statistics.median(written):,.0f}/s (median)")
        print("WAL pages per commit: append {:.1f}, its rows {:.1f}, one-row control "
              "{:.1f}".format(*pages))
        for r, (v, c, w, ratio) in enumerate(zip(values, commits, written, ratios, strict=True),
                                             1):
            print(f"  round {r}: {v:,.0f} appends/s, {c:,.0f} one-row commits/s, "
                  f"{w:,.0f} append-rows commits/s, ratio {ratio:.2f}")
        print_figure("ledger_append_writes", value, 1 / (1 / sign + 1 / sha + 1 / statistics.median(
            written)), "appends/s (bound: sign + hash + its rows)")
        print(f"  (ratio of medians; median of each round's ratio {writes_ratio:.2f})")
        append_us, commit_us, rows_us = (1e6 * c / (block * BLOCKS * args.rounds) for c in cpu)
        started = time.process_time()
        for _ in range(2000):
            key.sign(data)
        sign_us = 1e6 * (time.process_time() - started) / 2000
        print(f"CPU per append {append_us:.0f} µs: Ed25519 sign {sign_us:.0f}, commit of its "
              f"rows {rows_us:.0f} (one-row commit {commit_us:.0f}), the rest "
              f"{append_us - rows_us - sign_us:.0f} (reads, checks, hashing, Python)")
        print(f"value: {value:,.0f} durable appends/s (append(), one transaction each)")
        print(f"bound: {bound:,.0f} appends/s")
        print(f"ratio: {statistics.median(ratios):.2f} (median of each round's value/bound; "
              f"value/bound of the medians: {value / bound:.2f})")
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    from _common import exit_on_signals

    exit_on_signals()
    main()
