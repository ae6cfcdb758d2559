"""RFC 6962 (RFC 9162 §2.1) Merkle trees: hashing, roots, proofs, verification.

Leaves and nodes are hashed with domain separation (0x00 before a leaf's
data, 0x01 before two child hashes), so no leaf can pose as a node. Hashes
are raw 32-byte values here; callers speak hex at their edges.

Trees are read through a *node* function, ``node(level, index) -> bytes``,
giving the root of the perfect subtree over leaves
``[index * 2**level, (index + 1) * 2**level)``; level 0 is the leaf hashes.
A server keeps those nodes stored and reaches any root or proof in
O(log² n) lookups; ``MemoryTree`` computes them from a list of leaf hashes
and ``Frontier`` keeps only the O(log n) perfect subtrees a growing tree
needs to give its root.

``verify_inclusion`` and ``verify_consistency`` return None or raise
VerificationError with the expected and the actual root (after
sigstore-python's ``merkle.py``); their loops are RFC 9162 §2.1.3.2 and
§2.1.4.2.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence

from .errors import VerificationError

NodeReader = Callable[[int, int], bytes]
"""``node(level, index)``: root of the perfect subtree at that level and index."""

_LEAF, _NODE = b"\x00", b"\x01"

EMPTY_ROOT = hashlib.sha256(b"").digest()
"""The root of the tree with no leaves."""


def leaf_hash(data: bytes) -> bytes:
    """SHA-256(0x00 || data)."""
    return hashlib.sha256(_LEAF + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """SHA-256(0x01 || left || right)."""
    return hashlib.sha256(_NODE + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two smaller than n (n >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)


def subtree_root(lo: int, hi: int, node: NodeReader) -> bytes:
    """MTH of leaves [lo, hi), read as the perfect subtrees it decomposes into.

    ``lo`` must be a multiple of the largest power of two not above
    ``hi - lo`` (every subtree the RFC's recursion names is).
    """
    n = hi - lo
    if n <= 0:
        return EMPTY_ROOT
    if n & (n - 1) == 0:
        level = n.bit_length() - 1
        return node(level, lo >> level)
    k = _split(n)
    return node_hash(subtree_root(lo, lo + k, node), subtree_root(lo + k, hi, node))


def root(size: int, node: NodeReader) -> bytes:
    """The root of the first ``size`` leaves (EMPTY_ROOT for 0)."""
    return subtree_root(0, size, node)


def inclusion_path(index: int, size: int, node: NodeReader) -> list[bytes]:
    """PATH(index, D[0:size]) of RFC 6962 §2.1.1, leaf-side sibling first."""
    if not 0 <= index < size:
        raise ValueError(f"leaf index {index} is outside a tree of size {size}")
    path: list[bytes] = []
    lo, hi = 0, size
    while hi - lo > 1:
        k = _split(hi - lo)
        if index < lo + k:
            path.append(subtree_root(lo + k, hi, node))
            hi = lo + k
        else:
            path.append(subtree_root(lo, lo + k, node))
            lo += k
    path.reverse()
    return path


def consistency_path(old: int, new: int, node: NodeReader) -> list[bytes]:
    """PROOF(old, D[0:new]) of RFC 6962 §2.1.2 (empty when old == new)."""
    if not 0 < old <= new:
        raise ValueError(f"no consistency proof from size {old} to size {new}")
    path: list[bytes] = []
    lo, hi, m, complete = 0, new, old, True
    while m != hi - lo:
        k = _split(hi - lo)
        if m <= k:
            path.append(subtree_root(lo + k, hi, node))
            hi = lo + k
        else:
            path.append(subtree_root(lo, lo + k, node))
            lo, m, complete = lo + k, m - k, False
    if not complete:
        path.append(subtree_root(lo, hi, node))
    path.reverse()
    return path


def verify_inclusion(
    leaf: bytes, index: int, size: int, path: Sequence[bytes], expected_root: bytes
) -> None:
    """Raise VerificationError("inclusion") unless ``path`` proves that the
    leaf hash ``leaf`` is leaf ``index`` of the tree of ``size`` with root
    ``expected_root``."""
    if not 0 <= index < size:
        raise VerificationError(
            "inclusion", detail=f"leaf index {index} is outside a tree of size {size}"
        )
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if sn == 0:
            raise VerificationError("inclusion", detail="the path is too long")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise VerificationError("inclusion", detail="the path is too short")
    if r != expected_root:
        raise VerificationError("inclusion", expected=expected_root.hex(), actual=r.hex())


def verify_consistency(
    old_size: int, new_size: int, path: Sequence[bytes], old_root: bytes, new_root: bytes
) -> None:
    """Raise VerificationError("consistency") unless ``path`` proves that the
    tree of ``new_size`` with ``new_root`` extends (keeps as its first
    leaves) the tree of ``old_size`` with ``old_root``.

    A smaller new tree is a rollback and fails with that said. Any tree
    extends the empty one.
    """
    if new_size < old_size:
        raise VerificationError(
            "consistency",
            detail=f"the tree shrank from {old_size} to {new_size} leaves (rolled back)",
        )
    if old_size == 0:
        if path:
            raise VerificationError("consistency", detail="a proof from the empty tree is empty")
        return
    if old_size == new_size:
        if path:
            raise VerificationError("consistency", detail="a proof between equal sizes is empty")
        if old_root != new_root:
            raise VerificationError(
                "consistency",
                detail=f"two different trees of {old_size} leaves",
                expected=old_root.hex(),
                actual=new_root.hex(),
            )
        return
    if not path:
        raise VerificationError("consistency", detail="the path is empty")
    proof = list(path)
    if old_size & (old_size - 1) == 0:  # a power of two: the old root starts the path
        proof.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = proof[0]
    for c in proof[1:]:
        if sn == 0:
            raise VerificationError("consistency", detail="the path is too long")
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            while not fn & 1 and fn:
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise VerificationError("consistency", detail="the path is too short")
    if fr != old_root:
        raise VerificationError(
            "consistency",
            detail=f"the old root at size {old_size}",
            expected=old_root.hex(),
            actual=fr.hex(),
        )
    if sr != new_root:
        raise VerificationError(
            "consistency",
            detail=f"the new root at size {new_size}",
            expected=new_root.hex(),
            actual=sr.hex(),
        )


class Frontier:
    """The perfect subtrees (largest first) that a tree of ``size`` leaves
    decomposes into: enough to append a leaf or give the root, in O(log n)."""

    __slots__ = ("size", "_nodes")

    def __init__(self) -> None:
        self.size = 0
        self._nodes: list[bytes] = []

    @classmethod
    def of(cls, size: int, node: NodeReader) -> Frontier:
        """The frontier of the first ``size`` leaves of a stored tree: one
        ``node`` read per set bit of ``size`` (its perfect subtrees)."""
        frontier = cls()
        for level in range(size.bit_length() - 1, -1, -1):
            if size >> level & 1:
                frontier._nodes.append(node(level, (size >> level) - 1))
        frontier.size = size
        return frontier

    def append(self, leaf: bytes) -> list[tuple[int, int, bytes]]:
        """Add the next leaf hash; returns the (level, index, hash) nodes it
        completes (itself and each perfect subtree it closes): what a store
        that keeps every perfect subtree writes."""
        made = [(0, self.size, leaf)]
        h, n, level = leaf, self.size, 0
        while n & 1:
            h = node_hash(self._nodes.pop(), h)
            n, level = n >> 1, level + 1
            made.append((level, n, h))
        self._nodes.append(h)
        self.size += 1
        return made

    def extend(self, leaves: Iterable[bytes]) -> None:
        for leaf in leaves:
            self.append(leaf)

    def root(self) -> bytes:
        if not self._nodes:
            return EMPTY_ROOT
        r = self._nodes[-1]
        for left in reversed(self._nodes[:-1]):
            r = node_hash(left, r)
        return r


class MemoryTree:
    """A tree held as its list of leaf hashes, for tests and small trees;
    its ``node`` method is a NodeReader (perfect subtrees memoised)."""

    def __init__(self, leaves: Iterable[bytes] = ()) -> None:
        self.leaves = list(leaves)
        self._memo: dict[tuple[int, int], bytes] = {}

    def append(self, leaf: bytes) -> None:
        self.leaves.append(leaf)

    def node(self, level: int, index: int) -> bytes:
        if level == 0:
            return self.leaves[index]
        key = (level, index)
        found = self._memo.get(key)
        if found is None:
            found = node_hash(self.node(level - 1, 2 * index), self.node(level - 1, 2 * index + 1))
            self._memo[key] = found
        return found

    def root(self, size: int | None = None) -> bytes:
        return root(len(self.leaves) if size is None else size, self.node)
