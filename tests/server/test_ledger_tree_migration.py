"""Migration 16 moves the stored Merkle tree from one row per node (``merkle_nodes``)
to one row per leaf (``merkle_tree``): every node reads back the same on both
databases, in batches or not, and a tree damaged before the move stays damaged (and
found by `gridsync ledger verify`)."""

from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path

import pytest

from ledger import entry_leaf
from ledger.merkle import Frontier, MemoryTree, root
from server.config import database_target
from server.services.ledger_audit import verify_database
from server.storage import open_storage
from server.storage.errors import SchemaNotCurrent, StorageError, TreeAhead
from server.storage.ledger import move_tree
from server.storage.migrations import LATEST, MIGRATIONS, migrate, statement
from tests.conftest import BOTH_BACKENDS
from tests.helpers import gridsync_command, raw_db
from tests.server.ledger_support import give, verify_cli

BEFORE_TREE_ROWS = 15
LEAVES = [hashlib.sha256(str(i).encode()).digest() for i in range(37)]
MERKLE_NODES = MIGRATIONS[6][1]
"""Migration 7's table: the tree as migrations 7 to 15 kept it."""


def old_tree(db, leaves, *, missing=()):
    """The tree as migrations 7 to 15 kept it: every perfect subtree, one row each."""
    frontier, rows = Frontier(), []
    for leaf in leaves:
        rows += [node for node in frontier.append(leaf) if node[:2] not in missing]
    with db.transaction():
        db.executemany("INSERT INTO merkle_nodes (level, idx, hash) VALUES (?, ?, ?)", rows)
    return rows


def at_version_15(target):
    store = open_storage(target, migrate_schema=False)
    assert migrate(store.ledger.db, target=BEFORE_TREE_ROWS) == BEFORE_TREE_ROWS
    return store


@BOTH_BACKENDS
@pytest.mark.parametrize("batch", [None, 3])
def test_every_node_reads_back_the_same_after_the_move(empty_target, batch):
    store = at_version_15(empty_target)
    db = store.ledger.db
    try:
        nodes = old_tree(db, LEAVES)
        if batch is None:
            assert migrate(db) == LATEST
        else:  # the migration's steps, the fill in batches smaller than the tree
            with db.transaction():
                db.execute(statement(MIGRATIONS[BEFORE_TREE_ROWS][0], db.sql.name))
                move_tree(db, batch=batch)
        assert store.ledger.tree_size() == len(LEAVES)
        for level, idx, digest in nodes:
            assert store.ledger.tree_node(level, idx) == digest, (level, idx)
        assert root(len(LEAVES), store.ledger.tree_node) == MemoryTree(LEAVES).root()
    finally:
        store.close()


@BOTH_BACKENDS
def test_a_tree_damaged_before_the_move_stays_damaged(empty_target):
    store = at_version_15(empty_target)
    db = store.ledger.db
    try:
        old_tree(db, LEAVES[:16], missing={(1, 5)})  # closed by leaf 11, with (2, 2)
        assert migrate(db) == LATEST
        with pytest.raises(StorageError, match=r"node \(1, 5\) is missing"):
            store.ledger.tree_node(1, 5)
        with pytest.raises(StorageError, match=r"node \(2, 2\) is missing"):
            store.ledger.tree_node(2, 2)  # not read from the wrong place in the row
        assert store.ledger.tree_node(0, 11) == LEAVES[11]
        assert store.ledger.tree_node(4, 0) == MemoryTree(LEAVES[:16]).root()
    finally:
        store.close()


@BOTH_BACKENDS
def test_a_tree_damaged_in_the_middle_loses_nothing_and_verify_names_it(world, api,
                                                                        data_dir, database_url):
    """A real ledger of 16 entries whose old tree lost node (1, 5): the move keeps entry
    12's row only up to it, so (2, 2) above it, present before, is not moved. Nothing an
    auditor needs goes with it: every node is a hash of entry hashes, which the signed,
    chained entries keep (the entries give (2, 2) back exactly). The root of 16 reads
    neither node, yet `gridsync ledger verify` names the damage: it checks every row."""
    for amount in range(1, 17):
        give(api, "volunteer:v1", amount)
    with raw_db(data_dir) as conn:
        leaves = [entry_leaf(r[0]) for r in conn.execute("SELECT hash FROM entries ORDER BY seq")]
    store = open_storage(database_target(str(data_dir), database_url), migrate_schema=False)
    db = store.ledger.db
    try:
        assert "CREATE TABLE merkle_nodes" in MERKLE_NODES
        with db.transaction():  # the tree back in the layout before migration 16
            db.execute(statement(MERKLE_NODES, db.sql.name))
            db.execute("DELETE FROM merkle_tree")
        old = {(level, idx): digest for level, idx, digest
               in old_tree(db, leaves, missing={(1, 5)})}
        with db.transaction():  # migration 16's fill, then its drop
            move_tree(db)
            db.execute("DROP TABLE merkle_nodes")
        with pytest.raises(StorageError, match=r"node \(2, 2\) is missing"):
            store.ledger.tree_node(2, 2)
        assert MemoryTree(leaves).node(2, 2) == old[2, 2]  # the entries give it back
        assert root(16, store.ledger.tree_node) == MemoryTree(leaves).root()
    finally:
        store.close()
    result = verify_cli("--data-dir", str(data_dir))
    assert result.exit_code == 1, result.output
    assert result.stderr.strip() == ("ledger broken: seq 12: the stored Merkle tree is "
                                     "damaged: node (1, 5) is missing")


@BOTH_BACKENDS
def test_a_tree_cut_behind_the_servers_back_stays_ahead_of_its_chain(empty_target):
    """The last leaf of eight removed with its entry, the nodes it closed left behind: the
    old layout's next append failed on them; after the move the tree still says it
    holds eight leaves, so the chain of seven cannot grow over the cut."""
    store = at_version_15(empty_target)
    db = store.ledger.db
    try:
        old_tree(db, LEAVES[:8], missing={(0, 7)})  # (1, 3), (2, 1), (3, 0) stay
        assert migrate(db) == LATEST
        assert store.ledger.tree_size() == 8
        with pytest.raises(StorageError, match=r"node \(0, 7\) is missing"):
            store.ledger.tree_node(0, 7)
        with pytest.raises(TreeAhead):
            with store.transaction():
                store.ledger.catch_up_tree(7)
    finally:
        store.close()


@BOTH_BACKENDS
def test_an_empty_tree_moves_to_an_empty_tree(empty_target):
    store = at_version_15(empty_target)
    try:
        assert migrate(store.ledger.db) == LATEST
        assert store.ledger.tree_size() == 0
    finally:
        store.close()


@BOTH_BACKENDS
def test_verifying_a_database_not_yet_migrated_says_so_without_a_traceback(empty_target,
                                                                          tmp_path):
    """An audit reads without migrating: before the server has migrated a database to this
    release it is refused with what to do, not audited against tables that are not there."""
    at_version_15(empty_target).close()
    if empty_target.startswith("postgresql://"):
        where = ["--data-dir", str(tmp_path), "--database-url", empty_target]
    else:
        (tmp_path / "gridsync.db").write_bytes(Path(empty_target).read_bytes())
        where = ["--data-dir", str(tmp_path)]
    env = {k: v for k, v in os.environ.items() if k != "GRIDSYNC_DATABASE_URL"}
    done = subprocess.run([*gridsync_command(), "ledger", "verify", *where],
                          capture_output=True, text=True, timeout=60, env=env)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert f"schema {BEFORE_TREE_ROWS}, this gridsync at {LATEST}" in done.stderr
    assert "ledger broken" not in done.stderr and "ledger sound" not in done.stdout
    with pytest.raises(SchemaNotCurrent):
        verify_database(empty_target)
