"""Applying pushed changes: checks, permission, merge, server fields, in that order.

``Push`` runs one request's changes. ``check`` does what needs no database
(schema, signature, stamp) before the write transaction, so several workers
verify signatures in parallel; ``apply`` then takes each change in order
inside the transaction: a replayed op returns its first result
(``idempotency``), the permission rules decide (``policy``, pure), the
change merges into the stored state (``sync.merge``; a case through its
step rules, ``cases``), the server sets its fields and prices verified logs
(``server_fields``), and the effects are buffered (``writes``) until
``flush``. Every change gets a result; a rejected change is remembered with
its reason and never blocks the next.

``run`` does all that in a deferred write transaction. On PostgreSQL a push
of households and visits only (whose rules and merges read nothing but
records and ops, and write nothing until ``flush``) first applies its
changes, indexes the households it creates for search and stores its ops
before it takes the write lock, so that work overlaps other hosts' writers;
under the lock it checks that every record it read still has the seq it read
and that none of its ops was stored by another push meanwhile, and only then
allocates seqs and writes the records.
If anything changed, that attempt is undone (a savepoint) and the push is
applied again under the lock, exactly as any other push is. A change nested deeper than 32 levels
or larger than 64 KiB is rejected before anything recursive touches it, and
only its id and reason are remembered.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from primitives.canonical import canonical, canonical_allowed
from sync.errors import ChangeRejected
from sync.hlc import check_stamp
from sync.merge import merge
from sync.schemas import parse_change
from sync.signing import unsigned_form, verify_change
from sync.wire import MAX_DEPTH, TOO_DEEP, deeper_than

from ... import clock
from ...auth import Principal
from ...keystore import Signer
from ...storage import Storage
from . import idempotency, policy
from .cases import CaseSync
from .scope import Scope
from .server_fields import set_server_fields
from .writes import WriteBuffer


def signed_bytes(raw: dict) -> bytes:
    """The canonical form of a change without ``sig``: what the device signed."""
    return canonical(unsigned_form(raw))


@dataclass
class Checked:
    """A pushed change after the database-free checks."""

    raw: dict
    digest: str
    change: dict | None = None
    error: ChangeRejected | None = None
    oversize: bool = False  # too deep or too large: only its id and reason are kept


class Push:
    def __init__(self, store: Storage, who: Principal, scope: Scope, *, signer: Signer,
                 max_skew_ms: int):
        self.store, self.who, self.scope, self.signer = store, who, scope, signer
        self.max_skew_ms = max_skew_ms
        self.now_ms = clock.now_ms()
        self.now = clock.iso(self.now_ms)
        self.writes = WriteBuffer(store, author=who.person, device=who.device, at=self.now)
        self.case_sync: CaseSync | None = None

    def _cases(self) -> CaseSync:
        if self.case_sync is None:
            self.case_sync = CaseSync(self.store, self.signer, person=self.who.person,
                                      role=self.scope.role,
                                      own_grids=self.scope.own_grids, now=self.now,
                                      state_of=self.writes.record)
        return self.case_sync

    def check(self, raw: dict) -> Checked:
        """Bounds, schema, signature and stamp: what needs no database (a change too
        large is refused as such, whatever else is wrong with it)."""
        too_deep = _too_deep(raw)
        if too_deep is not None:
            return too_deep
        try:
            change: dict | None = parse_change(raw, shallow=True)  # _too_deep walked it
            invalid = None
        except ChangeRejected as exc:
            change, invalid = None, exc
        # A valid change holds only what the protocol allows: canonical_allowed's bytes.
        signed = signed_bytes(raw) if change is None else canonical_allowed(unsigned_form(raw))
        if len(signed) > MAX_CHANGE_BYTES:
            return Checked(raw, hashlib.sha256(signed).hexdigest(), error=ChangeRejected(
                "validation", f"change is larger than {MAX_CHANGE_BYTES} bytes",
                {"_schema": [TOO_LARGE]}), oversize=True)
        checked = Checked(raw, hashlib.sha256(signed).hexdigest(), error=invalid)
        if change is None:
            return checked
        try:
            verify_change(change, self.who.public_key or "", signed)
            check_stamp(change["hlc"], self.who.device or "", self.now_ms, self.max_skew_ms)
            checked.change = change
        except ChangeRejected as exc:
            checked.error = exc
        return checked

    def run(self, checked: list[Checked]) -> list[dict]:
        """Apply ``checked`` in order and write their effects, inside
        ``store.transaction(deferred=True)``; each change's result."""
        if self.store.late_lock and all(c.change is None or c.change["collection"]
                                        in LOCK_FREE for c in checked):
            # before any op row is claimed: a retry waits for its original, never holds
            # rows the original needs again after it is sent back (it keeps this lock)
            self.store.lock_device(self.who.device or "")
            try:
                with self.store.savepoint():
                    return self._apply_all(checked, early=True)
            except _Stale:
                self.writes = WriteBuffer(self.store, author=self.who.person,
                                          device=self.who.device, at=self.now)
        self.store.lock_writes()
        return self._apply_all(checked, early=False)

    def _apply_all(self, checked: list[Checked], *, early: bool) -> list[dict]:
        """``early``: the write lock is not held yet; it is taken once the changes are
        applied and their new households indexed, and what they read checked under it."""
        self.writes.prefetch([c.raw["op"] for c in checked],
                             [c.change for c in checked if c.change is not None])
        results = [self.apply(c) for c in checked]
        indexed: list[str] = []
        if early:
            indexed = self.writes.index_new_households()
            self.writes.encode_records()
            self.writes.store_ops()
            self.store.lock_writes()
            if not self.writes.still_current():
                raise _Stale
        self.flush(indexed)
        return results

    def apply(self, checked: Checked) -> dict:
        """Apply one checked change; must run inside the write transaction."""
        raw, digest, writes = checked.raw, checked.digest, self.writes
        seen = writes.op(raw["op"])
        if seen is not None:
            return idempotency.replayed(seen, self.who.device, digest)
        try:
            if checked.error is not None:
                raise checked.error
            change = checked.change
            assert change is not None
            state = writes.record(change["collection"], change["id"])
            policy.authorize(change, state, self.scope, writes)
            if change["collection"] == "cases":  # each step is a merge: sync.cases
                result = self._cases().apply(change, state, device_id=self.who.device or "")
            else:
                result = merge(state, change, device_id=self.who.device or "")
                set_server_fields(self.store, self.signer, change, state, result.state,
                                  person=self.who.person, at=self.now)
        except ChangeRejected as exc:
            writes.rejected += 1
            self._remember(checked, "rejected", None, exc)
            return {"op": raw["op"], "status": "rejected", "error": exc.as_error()}
        new = result.state
        place = self._cases().placement(new) if change["collection"] == "cases" else None
        writes.put(change, state, new, place)
        for c in result.conflicts:
            writes.conflict(change["collection"], change["id"], c)
        status = "conflict" if result.conflicts else "applied"
        writes.applied += 1
        self._remember(checked, status, new["version"], None)
        return {"op": raw["op"], "status": status, "version": new["version"]}

    def flush(self, indexed: list[str] | None = None) -> None:
        """Write the buffered effects (inside the caller's transaction, under the write
        lock); ``indexed``: the households already indexed for search."""
        self.writes.flush_records(indexed or [])
        if self.case_sync is not None:
            self.case_sync.flush()  # after the records: index rows, steps, exits
        self.writes.flush_log()

    def _remember(self, checked: Checked, status: str, version: int | None,
                  error: ChangeRejected | None) -> None:
        stored = {"op": checked.raw["op"], "omitted": error.message} if (
            checked.oversize and error is not None) else None
        self.writes.remember(idempotency.op_row(
            checked.raw, checked.digest, device=self.who.device, status=status,
            version=version, error=error, at=self.now, stored=stored))


LOCK_FREE = ("households", "visits")
"""Collections whose rules and merge read only records (by ``WriteBuffer``, which keeps
the seq each had) and ops, and write only to the buffer: a push of these alone is
applied before the write lock and checked under it (``Push.run``). A service log may
earn points and a case step may too: those need the ledger's head, under the lock."""


class _Stale(Exception):
    """Something a push applied before the write lock read changed before it got it."""


MAX_CHANGE_BYTES = 64 * 1024
"""A change's canonical form may be at most this long: a rejected one is remembered, so
this bounds what one junk change costs (a real visit or household is a few KB)."""
TOO_LARGE = f"Larger than {MAX_CHANGE_BYTES} bytes."


def _too_deep(raw: dict) -> Checked | None:
    """A change nested deeper than its fields may be (32 levels, so 33 with the change
    itself) is refused before anything recursive (canonical JSON, storage) sees it."""
    if not deeper_than(raw, MAX_DEPTH + 1):
        return None
    try:
        parse_change(raw)  # iterative: names the deep field when it is ``fields``
        error = ChangeRejected("validation", "change nested too deep", {"_schema": [TOO_DEEP]})
    except ChangeRejected as exc:
        error = exc
    # No canonical form to hash: the op id stands for the content (a resend is a duplicate).
    return Checked(raw, hashlib.sha256(f"too deep:{raw['op']}".encode()).hexdigest(),
                   error=error, oversize=True)


__all__ = ["MAX_CHANGE_BYTES", "Checked", "Push", "signed_bytes"]
