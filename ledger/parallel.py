"""Chain verification on several cores.

Signature checks dominate verification (~100 µs each against ~1 µs for the
hash), and each entry's check is independent once its `prev_hash` is known;
the `hash` an entry claims is that prev_hash for the next one, and it is
itself checked by whoever verifies that entry. So the chain is cut into
chunks, each verified in a worker against the hash claimed by the entry just
before it, and the parent walks the results in order: the first failure it
meets is the one serial `verify_chain` would report.

Workers are forked, so they inherit the entries (or the fetch function and
whatever connection factory it closes over) instead of receiving them
pickled. Where fork is unavailable, or the input fits in one chunk, this
falls back to serial verification.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from itertools import chain, islice
from typing import Any

from .entry import ZERO_HASH
from .errors import LedgerError, VerificationError
from .verify import ChainSummary, Keyring, check_balances, verify_segment

Fetch = Callable[[int, int], Iterable[Mapping[str, Any]]]
"""`fetch(after_seq, limit)`: entries with seq > after_seq in seq order, at
most `limit` of them (the shape of `GET /ledger/entries?after=&limit=`)."""

_Slice = Callable[[int, int], Iterable[Mapping[str, Any]]]

CHUNKS_PER_WORKER = 8
"""Enough chunks that no worker idles long at the end while another finishes."""
CHUNK_LIMITS = (500, 10_000)
"""Chunk sizes used by default: below ~500 entries a worker costs more than it saves."""

_worker_state: tuple[_Slice, Keyring, int, str] | None = None


def verify_chain_parallel(
    entries: Sequence[Mapping[str, Any]] | Fetch,
    keys: Keyring,
    workers: int = 2,
    *,
    head_seq: int | None = None,
    start_seq: int = 1,
    prev_hash: str = ZERO_HASH,
    chunk_size: int | None = None,
) -> ChainSummary:
    """Same result and same first error as `verify_chain`, on `workers` processes.

    `entries` is a sequence (entries[0] has seq `start_seq`) or a `Fetch`
    function; with a function, `head_seq` (the last seq to verify) is
    required, and it runs in the forked workers: it must open its own
    database connection in each process (a SQLite connection must not cross
    a fork). A fetch that comes back short is reported as a missing seq.
    """
    if callable(entries):
        if head_seq is None:
            raise LedgerError("head_seq is required when entries is a fetch function")
        total = max(0, head_seq - start_seq + 1)
        piece = _fetch_slicer(entries, start_seq)
    else:
        total = len(entries)
        piece = _sequence_slicer(entries)
    if chunk_size is None:
        chunk_size = _default_chunk(total, workers)
    if chunk_size < 1:
        raise LedgerError("chunk_size must be at least 1")
    bounds = [(i, min(i + chunk_size, total)) for i in range(0, total, chunk_size)]
    if workers <= 1 or len(bounds) <= 1 or "fork" not in multiprocessing.get_all_start_methods():
        streamed = chain.from_iterable(islice(piece(i, j), j - i) for i, j in bounds)
        summary = verify_segment(streamed, keys, start_seq=start_seq, prev_hash=prev_hash)
        _check_complete(summary.count, total, start_seq)
        check_balances(summary.balances)
        return summary
    return _verify_forked(piece, keys, workers, bounds, start_seq, prev_hash)


def _verify_forked(
    piece: _Slice,
    keys: Keyring,
    workers: int,
    bounds: list[tuple[int, int]],
    start_seq: int,
    prev_hash: str,
) -> ChainSummary:
    """The chunks on a pool of forked workers, their results walked in order.

    On the first error the chunks not yet started are cancelled and the running
    ones finish before it is raised: a worker is never killed. (A
    ``multiprocessing.Pool`` left by an exception terminates its workers, and one
    killed while it held the result queue's lock hung the parent for good.)
    """
    balances: dict[str, int] = {}
    head_hash = prev_hash
    count = 0
    pool = ProcessPoolExecutor(
        workers,
        mp_context=multiprocessing.get_context("fork"),
        initializer=_init_worker,
        initargs=(piece, keys, start_seq, prev_hash),
    )
    try:
        futures = [pool.submit(_verify_chunk, b) for b in bounds]
        for (i, j), future in zip(bounds, futures, strict=True):
            summary = future.result()
            if isinstance(summary, VerificationError):
                raise summary
            _check_complete(summary.count, j - i, start_seq + i)
            count += summary.count
            head_hash = summary.head_hash
            for account, delta in summary.balances.items():
                balances[account] = balances.get(account, 0) + delta
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    check_balances(balances)
    return ChainSummary(
        count=count, head_seq=start_seq + count - 1, head_hash=head_hash, balances=balances
    )


def _default_chunk(total: int, workers: int) -> int:
    wanted = -(-total // (max(workers, 1) * CHUNKS_PER_WORKER))  # ceiling division
    low, high = CHUNK_LIMITS
    return min(max(wanted, low), high)


def _init_worker(piece: _Slice, keys: Keyring, start_seq: int, prev_hash: str) -> None:
    global _worker_state
    _worker_state = (piece, keys, start_seq, prev_hash)


def _verify_chunk(bounds: tuple[int, int]) -> ChainSummary | VerificationError:
    """Verify positions [i, j) against the hash claimed by position i - 1;
    the error is returned, not raised, so the parent can order them."""
    assert _worker_state is not None, "run only in a pool worker"
    piece, keys, start_seq, prev_hash = _worker_state
    i, j = bounds
    if i == 0:
        items = iter(piece(0, j))
    else:
        items = iter(piece(i - 1, j))
        before = next(items, None)
        # A malformed previous entry fails in its own chunk, which comes first.
        claimed = before.get("hash") if isinstance(before, Mapping) else None
        prev_hash = claimed if isinstance(claimed, str) else ""
    try:
        return verify_segment(
            islice(items, j - i), keys, start_seq=start_seq + i, prev_hash=prev_hash
        )
    except VerificationError as exc:
        return exc


def _check_complete(count: int, total: int, start_seq: int) -> None:
    """A fetch function that returns fewer entries than asked for leaves a gap."""
    if count < total:
        missing = start_seq + count
        raise VerificationError("seq", seq=missing, expected=missing, detail="entry missing")


def _sequence_slicer(entries: Sequence[Mapping[str, Any]]) -> _Slice:
    return lambda i, j: (entries[k] for k in range(i, j))


def _fetch_slicer(fetch: Fetch, start_seq: int) -> _Slice:
    return lambda i, j: fetch(start_seq - 1 + i, j - i)
