"""The anchors part of an audit: keys, the stored Merkle tree, saved checkpoints.

What the chain's own hashes and signatures cannot catch when whoever wrote
the database also chose the keys: a key of their own listed as an old one
(caught by the endorsement chain from the pinned first key, and, given the
secret, by each key's sealed private half having to open and match), and
the newest entries cut off (caught by a checkpoint saved earlier, by a
witness or a device, that the tree must extend; and, against a careless
cut, by the stored tree holding more leaves than the chain).

Checkpoint and key files are JSON: a checkpoint as `GET /ledger/checkpoint`
answers it, keys as `GET /ledger/keys` does (`{"keys": [...]}`).
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ledger import (
    LedgerError,
    VerificationError,
    entry_leaf,
    verify_checkpoint,
    verify_key_chain,
)
from ledger.merkle import Frontier

from ..keystore import SealedKeyMismatch, check_sealed_keys
from .audit_errors import AuditFailure


def read_json_file(path: str, what: str) -> Any:
    """The JSON in ``path``; AuditFailure naming ``what`` if it cannot be read."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise AuditFailure(f"cannot read the {what} file {path}: {exc}") from None


def write_json_file(path: str, value: Any) -> None:
    """Write ``value`` to ``path`` atomically (a temporary file renamed into place)."""
    target = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent or ".")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(value, fh, ensure_ascii=False, indent=1, sort_keys=True)
            fh.write("\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def pinned_from(keys_answer: Any, path: str = "keys") -> dict[str, str]:
    """The first key of a saved `/ledger/keys` answer: the one to pin."""
    keys = keys_answer.get("keys") if isinstance(keys_answer, dict) else None
    if not isinstance(keys, list) or not keys or not isinstance(keys[0], dict):
        raise AuditFailure(f"{path} does not hold a /ledger/keys answer with at least one key")
    first = keys[0]
    return {"key_id": str(first.get("key_id")), "public_key": str(first.get("public_key"))}


def trusted_keys(keys_list: list[dict], pinned: Mapping[str, Any] | None, *,
                 where: str) -> dict[str, dict[str, Any]]:
    """The keyring of ``keys_list`` if it is an unbroken endorsement chain from
    ``pinned`` (by default its own first key); AuditFailure otherwise."""
    if not keys_list:
        raise AuditFailure(f"there are no {where} keys")
    pin = pinned or {"key_id": keys_list[0]["key_id"], "public_key": keys_list[0]["public_key"]}
    try:
        return verify_key_chain(keys_list, pin)
    except VerificationError as exc:
        hint = ""
        if exc.detail and "has no endorsement" in exc.detail:
            hint = (" (keys made before endorsements are endorsed when the server starts: "
                    "start it once after upgrading)")
        raise AuditFailure(f"the {where} keys: {exc}{hint}") from None
    except LedgerError as exc:
        raise AuditFailure(f"the {where} keys are unusable: {exc}") from None


def check_sealed(store: Any, secret: bytes) -> None:
    """Every stored key's public half must be its sealed private half's."""
    try:
        check_sealed_keys(store, secret)
    except SealedKeyMismatch as exc:
        raise AuditFailure(f"the stored keys: {exc}") from None


def check_saved_checkpoint(saved: Mapping[str, Any], keys: Mapping[str, Any], *,
                           where: str) -> None:
    """A saved checkpoint must carry a valid signature of a trusted key."""
    try:
        verify_checkpoint(saved, keys)
    except VerificationError as exc:
        raise AuditFailure(f"the saved checkpoint ({where}) does not verify: {exc}") from None
    if "root" not in saved:
        raise AuditFailure(f"the saved checkpoint ({where}) has no root: save a new one")


def _root_at(store: Any, size: int | None) -> tuple[str, str | None, int]:
    """(root of the first ``size`` entries, hash of entry ``size``, entries
    seen), over the stored entries' hashes; size None: all of them."""
    frontier = Frontier()
    last = None
    for digest in store.audit.entry_hashes():
        if size is not None and frontier.size >= size:
            break
        try:
            frontier.append(entry_leaf(digest))
        except LedgerError:
            raise AuditFailure(f"seq {frontier.size + 1}: its hash column is not a hash",
                               frontier.size + 1) from None
        last = digest
    return frontier.root().hex(), last, frontier.size


def checkpoint_of(store: Any) -> dict:
    """The ledger's checkpoint as stored: head seq, head hash and the Merkle root
    over every entry's hash (what a backup, a restore or a copy must keep)."""
    seq, head = store.ledger.head()
    root, _, size = _root_at(store, None)
    return {"seq": seq, "head": head, "root": root, "size": size}


def check_extends_saved(store: Any, head_seq: int, saved: Mapping[str, Any],
                        where: str) -> None:
    """The stored entries must extend the saved checkpoint: as many entries
    at least, and the same root and head at its seq."""
    want = saved["seq"]
    if want > head_seq:
        raise AuditFailure(
            f"the ledger was rolled back: it ends at seq {head_seq}, but the saved checkpoint "
            f"({where}, signed by {saved['key_id']} at {saved['at']}) vouches for seq {want}",
            head_seq)
    if want == 0:
        return
    found, head, _ = _root_at(store, want)
    if (found, head) != (saved["root"], saved["head"]):
        raise AuditFailure(
            f"seq {want}: the entries up to seq {want} are not those the saved checkpoint "
            f"({where}) vouches for (its root {saved['root'][:12]}…, these give "
            f"{found[:12]}…): history was rewritten", want)


def check_stored_tree(store: Any, head_seq: int) -> None:
    """The stored Merkle tree must be the entries' tree, row for row: every node in it,
    not only those a root reads (a node missing under a present one, as migration 16
    leaves a tree damaged before it, is found here and not only by the proof that
    needs it). Every node is a hash of entry hashes: the entries decide what it is."""
    stored = store.ledger.tree_size()
    if stored != head_seq:
        cut = (f": entries after seq {head_seq} were removed" if stored > head_seq else
               " (a data dir from before the tree existed: start the server once to build it)")
        raise AuditFailure(f"the stored Merkle tree has {stored} leaves but the chain "
                           f"{head_seq} entries{cut}", min(stored, head_seq) or None)
    frontier = Frontier()
    for seq, digest, kept in store.audit.tree_rows():
        try:
            nodes = frontier.append(entry_leaf(digest))
        except LedgerError:
            raise AuditFailure(f"seq {seq}: its hash column is not a hash", seq) from None
        problem = _row_problem(nodes, kept)
        if problem:
            raise AuditFailure(f"seq {seq}: the stored Merkle tree is damaged: {problem}", seq)


def _row_problem(nodes: list[tuple[int, int, bytes]], kept: list[bytes]) -> str | None:
    """What is wrong with a stored row ``kept`` whose nodes the entries give as ``nodes``
    ((level, index, hash), level by level); None when it holds exactly those."""
    for level, idx, digest in nodes:  # the level-th node of a row is at that level
        if level >= len(kept):
            return f"node ({level}, {idx}) is missing"
        if kept[level] != digest:
            return f"node ({level}, {idx}) is not the one the entries give"
    if len(kept) > len(nodes):
        return f"its row holds {len(kept)} nodes, the entries give {len(nodes)}"
    return None
