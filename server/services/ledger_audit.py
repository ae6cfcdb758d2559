"""Auditing a whole ledger (`gridsync ledger verify`): from a data dir or a running server.

From a data dir: every hash, link and signature (against the public halves
of the keys stored in the database), double entry summing to zero, each
row's body a JSON object naming no key twice (SQLite would read the first,
Python the last) and its indexed columns equal to that body, each service
log, redemption and reversal paid at most once, the stored ``balances``
table against a replay of the chain, and then the causes: every redemption
with its redeem entry, items adding up to its total and equal to what the
shop was answered, every redeem entry with its redemption, every earn's
evidence the signed change behind it (``evidence_audit``: signature, status,
four eyes, volunteer, price), every earned log still verified with the
points earned, every verified log with points earned, every case earn
against its closed case and the assignee's op that set ``done`` (and every
closed case with points against its earn), and every answer
remembered for an idempotent request (adjustment, reversal, redemption)
naming an entry the chain holds, byte for byte; and that no device's public
key is weak (``primitives.weak_keys``: with such a key any signature verifies, so
the ops it "signed", an earn's evidence among them, prove nothing).

From a server: the same chain checks over ``GET /ledger/entries`` pages with
the keys of ``GET /ledger/keys``, and the signed checkpoint, fetched before
the pages, consistent with the entries verified.

Either raises ``AuditFailure`` naming the first bad seq, or returns a
``ChainSummary``. Chains are verified in segments so that a caller can show
progress; each segment runs on ``workers`` processes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import requests

from ledger import (
    ZERO_HASH,
    ChainSummary,
    VerificationError,
    check_balances,
    check_checkpoint_against,
    entry_leaf,
    verify_chain_parallel,
    verify_checkpoint,
    verify_extends,
)
from ledger.merkle import Frontier
from sync.crypto import check_public_key

from ..storage import open_current
from ..storage.ledger_audit import EntryReader
from . import anchor_audit, evidence_audit
from .audit_errors import AuditFailure

SEGMENT = 50_000
"""Entries per progress step (each step forks its own worker pool)."""
PAGE = 1000
"""Entries per `GET /ledger/entries` request (the protocol's maximum)."""
ONCE_KINDS = ("earn", "redeem", "reverse")

Progress = Callable[[int], None]
"""Called with the number of entries just verified."""


def _noop(_: int) -> None:
    return None


def verify_segments(fetch: Callable[[int, int], Any], keys: Mapping, head_seq: int, *,
                    workers: int, progress: Progress = _noop, start_seq: int = 1,
                    prev_hash: str = ZERO_HASH) -> ChainSummary:
    """`verify_chain_parallel` over [start_seq, head_seq] in SEGMENT-sized steps."""
    balances: dict[str, int] = {}
    seq = start_seq
    while seq <= head_seq:
        end = min(head_seq, seq + SEGMENT - 1)
        part = verify_chain_parallel(fetch, keys, workers, head_seq=end, start_seq=seq,
                                     prev_hash=prev_hash)
        for account, delta in part.balances.items():
            balances[account] = balances.get(account, 0) + delta
        prev_hash = part.head_hash
        progress(end - seq + 1)
        seq = end + 1
    check_balances(balances)
    return ChainSummary(count=max(0, head_seq - start_seq + 1), head_seq=max(head_seq, 0),
                        head_hash=prev_hash, balances=balances)


# --- a data dir -------------------------------------------------------------
def verify_database(path: str, *, workers: int = 2,
                    start: Callable[[int], None] = _noop,
                    progress: Progress = _noop, secret: bytes | None = None,
                    pinned: Mapping[str, Any] | None = None,
                    saved: Mapping[str, Any] | None = None,
                    saved_where: str = "") -> ChainSummary:
    """Audit the database at `path`; `start(n)` is told how many steps to expect: the
    entries, then each earn's evidence (`progress` is told of both).

    The anchors (server/services/anchor_audit.py): keys form an endorsement
    chain from `pinned` (else from the first stored key); with the `secret`,
    each key's sealed private half opens and matches its public key; the
    stored Merkle tree matches the entries, which extend the `saved`
    checkpoint when one is given.
    """
    store = open_current(path)
    try:
        # One read snapshot for everything read here, so a server appending
        # meanwhile cannot make the stored balances look ahead of the chain;
        # entries up to the head read now never change, whoever reads them.
        with store.snapshot():
            anchors = _Anchors(secret, pinned, saved, saved_where)
            return _audit(store, path, workers, start, progress, anchors)
    finally:
        store.close()


@dataclass(frozen=True)
class _Anchors:
    secret: bytes | None
    pinned: Mapping[str, Any] | None
    saved: Mapping[str, Any] | None
    saved_where: str


def _audit(store: Any, path: str, workers: int, start: Callable[[int], None],
           progress: Progress, anchors: _Anchors) -> ChainSummary:
    keys = anchor_audit.trusted_keys(store.ledger.keys(), anchors.pinned, where="stored")
    if anchors.secret is not None:
        anchor_audit.check_sealed(store, anchors.secret)
    if anchors.saved is not None:
        anchor_audit.check_saved_checkpoint(anchors.saved, keys, where=anchors.saved_where)
    head_seq, _ = store.ledger.head()
    start(head_seq + store.audit.earn_count())  # each earn's evidence is a step too
    failure: AuditFailure | None = None
    summary = None
    reader = EntryReader(path)
    try:
        summary = verify_segments(reader, keys, head_seq, workers=workers, progress=progress)
    except VerificationError as exc:
        failure = AuditFailure.from_verification(exc)
    finally:
        reader.close()
    edited = store.audit.first_column_mismatch()
    if edited is not None and (failure is None or failure.seq is None or edited[0] < failure.seq):
        failure = AuditFailure(f"seq {edited[0]}: {edited[1]}", edited[0])
    if failure is not None:
        raise failure
    assert summary is not None
    if anchors.saved is not None:
        anchor_audit.check_extends_saved(store, head_seq, anchors.saved, anchors.saved_where)
    _check_once(store)
    _check_stored_balances(store, summary.balances)
    _check_causes(store, workers, progress)
    anchor_audit.check_stored_tree(store, head_seq)
    _check_device_keys(store)
    return summary


def _check_once(store: Any) -> None:
    repeated = store.audit.first_repeated_ref()
    if repeated is not None:
        seq, kind, ref = repeated
        raise AuditFailure(f"seq {seq}: a second {kind} entry for {ref}", seq)


def _check_stored_balances(store: Any, replayed: dict[str, int]) -> None:
    stored = store.ledger.balance_rows()
    try:
        check_balances(replayed, {a: b for a, (b, _) in stored.items()})
    except VerificationError as exc:
        account = (exc.detail or "").removeprefix("account ")
        seq = stored[account][1] if account in stored else None
        where = f"seq {seq}: " if seq is not None else ""
        raise AuditFailure(
            f"{where}stored balance of {account} is {exc.actual}, the entries give "
            f"{exc.expected}", seq) from None


def _check_causes(store: Any, workers: int, progress: Progress) -> None:
    """Every entry with its cause and every cause with its entry: redemptions,
    service logs and the answers remembered for idempotent requests (each earn's
    evidence signature verified on ``workers`` processes, a progress step each)."""
    audit = store.audit
    problem = _first(audit.redemption_problems())
    if problem is not None:
        seq, redemption, what = problem
        raise AuditFailure(f"seq {seq}: redemption {redemption}: {what}", seq)
    orphan = audit.first_redeem_without_redemption()
    if orphan is not None:
        seq, ref = orphan
        raise AuditFailure(f"seq {seq}: redeem entry for {ref} has no redemption row", seq)
    unsupported = _first(evidence_audit.earn_problems(store, workers, progress))
    if unsupported is not None:
        seq, what = unsupported
        raise AuditFailure(f"seq {seq}: {what}", seq)
    orphan = audit.first_earn_without_log()
    if orphan is not None:
        seq, ref = orphan
        raise AuditFailure(f"seq {seq}: earn for {ref}, which is not stored", seq)
    logs = _first(audit.service_log_problems())
    if logs is not None:
        seq, log, what = logs
        if seq is None:
            raise AuditFailure(f"service log {log}: {what}")
        raise AuditFailure(f"seq {seq}: earn for service log {log}, but {what}", seq)
    cases = _first(store.case_audit.problems())
    if cases is not None:
        seq, case, what = cases
        if seq is None:
            raise AuditFailure(f"case {case}: {what}")
        raise AuditFailure(f"seq {seq}: earn for case {case}, but {what}", seq)
    answered = _first(audit.request_problems())
    if answered is not None:
        seq, kind, id, what = answered
        where = f"seq {seq}: " if seq is not None else ""
        raise AuditFailure(f"{where}{kind} {id}: {what}", seq)


def _check_device_keys(store: Any) -> None:
    weak = []
    for device in store.access.devices():
        try:
            check_public_key(device["public_key"])
        except ValueError as exc:
            weak.append(f"{device['id']} of {device['person']} ({exc})")
    if weak:
        raise AuditFailure(f"{len(weak)} device(s) with a weak public key, whose signatures "
                           f"prove nothing (revoke them and enrol again): {'; '.join(weak)}")


def _first(problems: Iterable[tuple]) -> tuple | None:
    """The problem with the lowest seq (first field; None after any seq),
    keeping one at a time: memory stays flat however many there are."""
    best = None
    for problem in problems:
        if problem[0] is None:
            if best is None:
                best = problem
        elif best is None or best[0] is None or problem[0] < best[0]:
            best = problem
    return best


# --- a running server -------------------------------------------------------
class LedgerServer:
    """A running server's ledger, read with a token (entries need an auditor's
    or admin's; keys, checkpoints and proofs any token's)."""

    def __init__(self, url: str, token: str, timeout: float = 60.0):
        base = url.rstrip("/")
        self.base = base if base.endswith("/api/v1") else base + "/api/v1"
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {token}"
        self.timeout = timeout
        self.pinned: Mapping[str, Any] | None = None

    def get(self, path: str, **params: Any) -> Any:
        try:
            resp = self.session.get(self.base + path, params=params, timeout=self.timeout)
        except requests.RequestException as exc:
            raise AuditFailure(f"cannot reach {self.base}: {exc}") from None
        if resp.status_code != 200:
            try:
                message = resp.json()["error"]["message"]
            except (ValueError, KeyError, TypeError):
                message = resp.text[:200]
            raise AuditFailure(f"GET {path}: HTTP {resp.status_code}: {message}")
        return resp.json()

    def keys_list(self) -> list[dict]:
        answer = self.get("/ledger/keys")
        keys = answer.get("keys") if isinstance(answer, dict) else None
        if not isinstance(keys, list) or not all(isinstance(k, dict) for k in keys):
            raise AuditFailure("the published keys are unusable: not a list of keys")
        return keys

    def keys(self, pinned: Mapping[str, Any] | None = None) -> dict:
        """The published keys, trusted through endorsements from ``pinned``
        (else from the first published key)."""
        try:
            return anchor_audit.trusted_keys(self.keys_list(), pinned, where="published")
        except (KeyError, TypeError) as exc:
            raise AuditFailure(f"the published keys are unusable: {exc}") from None

    def checkpoint(self, keys: Mapping[str, Any]) -> dict:
        checkpoint = self.get("/ledger/checkpoint")
        try:
            verify_checkpoint(checkpoint, keys)
        except VerificationError as exc:
            raise AuditFailure.from_verification(exc) from None
        return checkpoint

    def check_extends(self, saved: Mapping[str, Any], checkpoint: Mapping[str, Any],
                      where: str) -> None:
        """AuditFailure unless the server's tree at ``checkpoint`` extends the
        ``saved`` checkpoint (a consistency proof from the server)."""
        old, new = saved["seq"], checkpoint["seq"]
        path: list[str] = []
        if 0 < old < new:
            path = self.get("/ledger/proof/consistency", **{"from": old, "to": new})["path"]
        try:
            verify_extends(saved, checkpoint, path)
        except VerificationError as exc:
            raise AuditFailure(f"the server's ledger does not extend the saved checkpoint "
                               f"({where}, seq {old}): {exc}", exc.seq) from None


def verify_server(url: str, token: str, *, workers: int = 2,
                  start: Callable[[int], None] = _noop,
                  progress: Progress = _noop, pinned: Mapping[str, Any] | None = None,
                  saved: Mapping[str, Any] | None = None,
                  saved_where: str = "") -> tuple[ChainSummary, dict]:
    """Audit a running server with public keys only and an auditor (or admin)
    token; returns the summary and the server's checkpoint it verified.

    Keys are trusted through endorsements from ``pinned``; with ``saved`` (a
    checkpoint kept from before) the server's tree must extend it.
    """
    server = LedgerServer(url, token)
    server.pinned = pinned
    keys = server.keys(pinned)
    checkpoint = server.checkpoint(keys)
    if saved is not None:
        anchor_audit.check_saved_checkpoint(saved, keys, where=saved_where)
        server.check_extends(saved, checkpoint, saved_where)
    start(checkpoint["seq"])
    frontier = Frontier()
    at_checkpoint = ZERO_HASH if checkpoint["seq"] == 0 else None
    seen_refs: set[tuple[str, str]] = set()
    balances: dict[str, int] = {}
    head_seq, head_hash, after = 0, ZERO_HASH, 0
    batch: list[dict] = []
    done = False
    while not done:
        page = server.get("/ledger/entries", after=after, limit=PAGE)
        batch.extend(page["entries"])
        done = page["next"] is None
        if batch and (done or len(batch) >= SEGMENT):
            keys, part = _verify_batch(server, keys, batch, head_seq + 1, head_hash, workers)
            for account, delta in part.balances.items():
                balances[account] = balances.get(account, 0) + delta
            for entry in batch:
                _once(entry, seen_refs)
                if entry["seq"] <= checkpoint["seq"]:
                    frontier.append(entry_leaf(entry["hash"]))
                if entry["seq"] == checkpoint["seq"]:
                    at_checkpoint = entry["hash"]
            head_seq, head_hash = part.head_seq, part.head_hash
            progress(len(batch))
            batch = []
        if not done:
            after = page["next"]
    try:
        check_balances(balances)
        check_checkpoint_against(
            checkpoint, lambda seq: at_checkpoint if seq == checkpoint["seq"] else None)
    except VerificationError as exc:
        raise AuditFailure.from_verification(exc) from None
    if "root" in checkpoint and frontier.root().hex() != checkpoint["root"]:
        raise AuditFailure(f"seq {checkpoint['seq']}: the checkpoint's root is not the root of "
                           "the entries served", checkpoint["seq"])
    return ChainSummary(count=head_seq, head_seq=head_seq, head_hash=head_hash,
                        balances=balances), checkpoint


def _verify_batch(server: LedgerServer, keys: dict, batch: list[dict], start_seq: int,
                  prev_hash: str, workers: int) -> tuple[dict, ChainSummary]:
    """Verify one batch; on an unknown key, fetch the keys once more (the server
    may have rotated its key while we paged) and try again."""
    try:
        return keys, verify_chain_parallel(batch, keys, workers, start_seq=start_seq,
                                           prev_hash=prev_hash)
    except VerificationError as exc:
        if exc.reason != "unknown_key":
            raise AuditFailure.from_verification(exc) from None
    keys = server.keys(server.pinned)
    try:
        return keys, verify_chain_parallel(batch, keys, workers, start_seq=start_seq,
                                           prev_hash=prev_hash)
    except VerificationError as exc:
        raise AuditFailure.from_verification(exc) from None


def _once(entry: dict, seen: set[tuple[str, str]]) -> None:
    if entry["kind"] not in ONCE_KINDS:
        return
    key = (entry["kind"], entry["ref"])
    if key in seen:
        raise AuditFailure(f"seq {entry['seq']}: a second {key[0]} entry for {key[1]}",
                           entry["seq"])
    seen.add(key)
