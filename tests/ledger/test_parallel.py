"""Parallel verification agrees with serial verification, errors included."""

from __future__ import annotations

import copy
import time
from collections.abc import Iterable
from typing import Any

import pytest

from ledger import LedgerError, VerificationError, verify_chain, verify_chain_parallel

N = 40
CHUNK = 6  # several chunks per worker, so boundaries are exercised


@pytest.fixture
def chain(build_chain: Any) -> list[dict[str, Any]]:
    return copy.deepcopy(build_chain(N))


def first_error(run: Any) -> VerificationError:
    with pytest.raises(VerificationError) as info:
        run()
    return info.value


def test_same_summary_as_serial(chain: list[dict[str, Any]], ring: Any) -> None:
    assert verify_chain_parallel(chain, ring, workers=2, chunk_size=CHUNK) == verify_chain(
        chain, ring
    )


def test_serial_fallbacks_agree(chain: list[dict[str, Any]], ring: Any) -> None:
    serial = verify_chain(chain, ring)
    assert verify_chain_parallel(chain, ring, workers=1, chunk_size=CHUNK) == serial
    assert verify_chain_parallel(chain, ring, workers=2) == serial  # fits in one chunk


def test_empty(ring: Any) -> None:
    summary = verify_chain_parallel([], ring, chunk_size=CHUNK)
    assert (summary.count, summary.head_seq) == (0, 0)


@pytest.mark.parametrize(
    "breaks",
    [
        {13: ("amount", 99)},  # inside a chunk
        {7: ("prev_hash", "1" * 64)},  # first entry of a chunk: link
        {6: ("hash", "2" * 64)},  # last entry of a chunk
        {31: ("sig", "AAAA"), 9: ("amount", 5)},  # the earlier one wins
        {25: ("kind", "gift"), 38: ("seq", 1)},
    ],
)
def test_first_bad_seq_same_as_serial(
    chain: list[dict[str, Any]], ring: Any, breaks: dict[int, tuple[str, Any]]
) -> None:
    for seq, (field, value) in breaks.items():
        chain[seq - 1][field] = value
    serial = first_error(lambda: verify_chain(chain, ring))
    parallel = first_error(lambda: verify_chain_parallel(chain, ring, chunk_size=CHUNK))
    assert parallel.seq == min(breaks)
    assert (parallel.seq, parallel.reason, parallel.expected, parallel.actual) == (
        serial.seq,
        serial.reason,
        serial.expected,
        serial.actual,
    )


def test_deleted_entry(chain: list[dict[str, Any]], ring: Any) -> None:
    del chain[20]
    err = first_error(lambda: verify_chain_parallel(chain, ring, chunk_size=CHUNK))
    assert (err.seq, err.reason) == (21, "seq")


def test_fetch_function(chain: list[dict[str, Any]], ring: Any) -> None:
    def fetch(after: int, limit: int) -> Iterable[dict[str, Any]]:
        return [e for e in chain if e["seq"] > after][:limit]

    summary = verify_chain_parallel(fetch, ring, head_seq=N, chunk_size=CHUNK)
    assert summary == verify_chain(chain, ring)
    # Verify only the tail after a trusted point, as a client after a checkpoint would.
    tail = verify_chain_parallel(
        fetch, ring, head_seq=N, start_seq=11, prev_hash=chain[9]["hash"], chunk_size=CHUNK
    )
    assert (tail.count, tail.head_hash) == (N - 10, chain[-1]["hash"])


def test_short_fetch_is_a_missing_seq(chain: list[dict[str, Any]], ring: Any) -> None:
    def fetch(after: int, limit: int) -> Iterable[dict[str, Any]]:
        return [e for e in chain if after < e["seq"] <= 33][:limit]

    for workers in (1, 2):
        err = first_error(
            lambda w=workers: verify_chain_parallel(fetch, ring, w, head_seq=N, chunk_size=CHUNK)
        )
        assert (err.seq, err.reason) == (34, "seq")


def test_an_early_error_lets_running_chunks_finish(
    chain: list[dict[str, Any]], ring: Any, tmp_path: Any
) -> None:
    """The first chunk fails at once while the other worker is inside a slow fetch: the
    error is raised only once that fetch has returned (a worker killed mid-write could
    hang the parent for good), and no chunk starts after it."""
    chain[2]["amount"] = 99
    log = tmp_path / "fetches"

    def fetch(after: int, limit: int) -> Iterable[dict[str, Any]]:
        with log.open("a") as f:
            f.write(f"start {after}\n")
        if after > 0:
            time.sleep(0.5)
        with log.open("a") as f:
            f.write(f"end {after}\n")
        return [e for e in chain if after < e["seq"]][:limit]

    err = first_error(lambda: verify_chain_parallel(fetch, ring, 2, head_seq=N, chunk_size=CHUNK))
    assert err.seq == 3
    lines = log.read_text().split()
    started = {a for verb, a in zip(lines[::2], lines[1::2], strict=True) if verb == "start"}
    ended = {a for verb, a in zip(lines[::2], lines[1::2], strict=True) if verb == "end"}
    assert "5" in started  # the second chunk's fetch was running
    assert started == ended
    assert len(started) < N // CHUNK + 1  # the chunks not yet started were cancelled


def test_fetch_needs_head_seq(ring: Any) -> None:
    with pytest.raises(LedgerError):
        verify_chain_parallel(lambda after, limit: [], ring)
