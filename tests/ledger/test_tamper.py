"""Tampered chains: each names the seq where the chain breaks and why."""

from __future__ import annotations

import copy
import pickle
from typing import Any

import pytest

from ledger import (
    SigningKey,
    VerificationError,
    check_balances,
    keyring,
    make_entry,
    verify_chain,
    verify_entry,
)
from ledger.crypto import b64url_encode

N = 12


@pytest.fixture
def chain(build_chain: Any) -> list[dict[str, Any]]:
    return copy.deepcopy(build_chain(N))


def fails(entries: list[dict[str, Any]], keys: Any) -> VerificationError:
    with pytest.raises(VerificationError) as info:
        verify_chain(entries, keys)
    return info.value


def test_untouched_chain_verifies(chain: list[dict[str, Any]], ring: Any) -> None:
    summary = verify_chain(chain, ring)
    assert (summary.count, summary.head_seq, summary.head_hash) == (N, N, chain[-1]["hash"])
    assert sum(summary.balances.values()) == 0


def test_changed_amount(chain: list[dict[str, Any]], ring: Any) -> None:
    chain[5]["amount"] += 1
    err = fails(chain, ring)
    assert (err.seq, err.reason) == (6, "hash")
    assert err.actual == chain[5]["hash"]


def test_changed_amount_rehashed_but_not_signed(
    chain: list[dict[str, Any]], ring: Any, reseal: Any
) -> None:
    chain[5]["amount"] += 1
    chain[5]["hash"] = reseal(chain[5])["hash"]
    assert (fails(chain, ring).seq, fails(chain, ring).reason) == (6, "signature")


def test_changed_entry_resealed_breaks_next_link(
    chain: list[dict[str, Any]], ring: Any, reseal: Any
) -> None:
    """Even the key holder cannot rewrite history without breaking the chain."""
    chain[5]["amount"] += 1
    chain[5] = reseal(chain[5])
    err = fails(chain, ring)
    assert (err.seq, err.reason) == (7, "link")
    assert err.expected == chain[5]["hash"]


def test_deleted_entry(chain: list[dict[str, Any]], ring: Any) -> None:
    del chain[4]
    err = fails(chain, ring)
    assert (err.seq, err.reason, err.expected, err.actual) == (5, "seq", 5, 6)


def test_reordered_entries(chain: list[dict[str, Any]], ring: Any) -> None:
    chain[3], chain[4] = chain[4], chain[3]
    err = fails(chain, ring)
    assert (err.seq, err.reason) == (4, "seq")


def test_reordered_and_renumbered(chain: list[dict[str, Any]], ring: Any, reseal: Any) -> None:
    chain[3], chain[4] = chain[4], chain[3]
    chain[3]["seq"], chain[4]["seq"] = 4, 5
    chain[3], chain[4] = reseal(chain[3]), reseal(chain[4])
    err = fails(chain, ring)
    assert (err.seq, err.reason) == (4, "link")


def test_resigned_with_unknown_key(chain: list[dict[str, Any]], ring: Any, reseal: Any) -> None:
    chain[7]["key_id"] = "k9"
    chain[7] = reseal(chain[7], key=SigningKey.generate())
    err = fails(chain, ring)
    assert (err.seq, err.reason, err.actual) == (8, "unknown_key", "k9")


def test_resigned_with_other_key_under_known_id(
    chain: list[dict[str, Any]], ring: Any, reseal: Any
) -> None:
    chain[0] = reseal(chain[0], key=SigningKey.generate())
    err = fails(chain, ring)
    assert (err.seq, err.reason) == (1, "signature")


def test_entry_after_key_retired(chain: list[dict[str, Any]], server_key: SigningKey) -> None:
    retired_at = chain[8]["at"]  # entries 1..9 are dated at or before it
    keys = keyring(
        [
            {
                "key_id": "k1",
                "public_key": server_key.public_key,
                "created_at": "2026-01-01T00:00:00Z",
                "retired_at": retired_at,
            }
        ]
    )
    verify_chain(chain[:9], keys)
    err = fails(chain, keys)
    assert (err.seq, err.reason, err.actual) == (10, "retired_key", chain[9]["at"])


def test_rotated_key_keeps_old_entries_valid(
    build_chain: Any, server_key: SigningKey, reseal: Any
) -> None:
    chain = copy.deepcopy(build_chain(4))
    new_key = SigningKey.generate()
    for i in (2, 3):
        chain[i]["key_id"] = "k2"
        if i == 3:
            chain[i]["prev_hash"] = chain[2]["hash"]
        chain[i] = reseal(chain[i], key=new_key)
    keys = keyring(
        [
            {
                "key_id": "k1",
                "public_key": server_key.public_key,
                "created_at": "2026-01-01T00:00:00Z",
                "retired_at": chain[1]["at"],
            },
            {
                "key_id": "k2",
                "public_key": new_key.public_key,
                "created_at": chain[1]["at"],
                "retired_at": None,
            },
        ]
    )
    assert verify_chain(chain, keys).head_hash == chain[3]["hash"]


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (10.0, "amount"),
        (True, "amount"),
        (0, "amount"),
        (-5, "amount"),
        (2**53, "amount"),
        ("10", "amount"),
    ],
)
def test_bad_amount(
    chain: list[dict[str, Any]], ring: Any, reseal: Any, value: Any, reason: str
) -> None:
    """Rejected on shape even when hashed and signed by the key holder."""
    chain[2]["amount"] = value
    chain[2] = reseal(chain[2])
    err = fails(chain, ring)
    assert (err.seq, err.reason, err.actual) == (3, reason, value)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("seq", True),
        ("seq", 3.0),
        ("kind", "gift"),
        ("credit", "issuance:c1"),
        ("prev_hash", "ABC"),
        ("at", "2026-11-26 12:00:03"),
        ("at", "2026-13-26T12:00:03Z"),
        ("evidence", 5),
        ("rules", "not-a-hash"),
        ("id", ""),
        ("sig", None),
    ],
)
def test_bad_shape(chain: list[dict[str, Any]], ring: Any, field: str, value: Any) -> None:
    chain[2][field] = value
    err = fails(chain, ring)
    assert (err.seq, err.reason) == (3, "format")


def test_missing_field(chain: list[dict[str, Any]], ring: Any) -> None:
    del chain[2]["evidence"]
    assert (fails(chain, ring).seq, fails(chain, ring).reason) == (3, "format")


def test_not_an_object(chain: list[dict[str, Any]], ring: Any) -> None:
    chain[2] = ["seq", 3]  # type: ignore[call-overload]
    assert (fails(chain, ring).seq, fails(chain, ring).reason) == (3, "format")


def test_malformed_signature_encodings(chain: list[dict[str, Any]], ring: Any) -> None:
    sig = chain[0]["sig"]
    for bad in (sig + "==", sig[:-1], sig[:-1] + ("B" if sig[-1] == "A" else "A"), "!" + sig[1:]):
        chain[0]["sig"] = bad
        assert (fails(chain, ring).seq, fails(chain, ring).reason) == (1, "signature")


def test_unknown_fields_are_hashed(chain: list[dict[str, Any]], ring: Any, reseal: Any) -> None:
    """A field a verifier does not know stays inside the hashed form."""
    chain[-1]["memo"] = "added later"
    assert (fails(chain, ring).seq, fails(chain, ring).reason) == (N, "hash")
    chain[-1] = reseal(chain[-1])
    assert verify_chain(chain, ring).head_hash == chain[-1]["hash"]


def test_verify_entry_alone(chain: list[dict[str, Any]], ring: Any) -> None:
    verify_entry(chain[3], prev_hash=chain[2]["hash"], expected_seq=4, keys=ring)
    with pytest.raises(VerificationError) as info:
        verify_entry(chain[3], prev_hash=chain[1]["hash"], expected_seq=4, keys=ring)
    assert info.value.reason == "link"


def test_balances_must_sum_to_zero() -> None:
    check_balances({"issuance:c1": -10, "volunteer:p1": 10})
    with pytest.raises(VerificationError) as info:
        check_balances({"issuance:c1": -10, "volunteer:p1": 11})
    assert (info.value.seq, info.value.reason, info.value.actual) == (None, "balance", 1)


def test_claimed_balances_must_match_replay(vectors: dict[str, Any], ring: Any) -> None:
    summary = verify_chain(vectors["ledger"], ring)
    check_balances(summary.balances, vectors["balances_after"])
    claimed = {**vectors["balances_after"], "volunteer:p_8f3k": 3, "shop:s1": 7}
    with pytest.raises(VerificationError) as info:
        check_balances(summary.balances, claimed)
    assert (info.value.reason, info.value.expected, info.value.actual) == ("balance", 8, 7)
    assert "account shop:s1" in str(info.value)


def test_make_entry_refuses_what_could_never_verify(server_key: SigningKey) -> None:
    with pytest.raises(VerificationError) as info:
        make_entry(
            seq=1,
            id="e1",
            kind="earn",
            debit="issuance:c1",
            credit="volunteer:p1",
            amount=1.5,  # type: ignore[arg-type]
            ref="r",
            evidence=None,
            rules=None,
            at="2026-11-26T12:00:00Z",
            prev_hash="0" * 64,
            key=server_key,
            key_id="k1",
        )
    assert info.value.reason == "amount"


def test_error_message_and_pickling() -> None:
    err = VerificationError("hash", seq=12, expected="ab12" + "0" * 60, actual="cd34" + "f" * 60)
    assert str(err) == "seq 12: hash mismatch (expected ab1200000000…, got cd34ffffffff…)"
    again = pickle.loads(pickle.dumps(err))
    assert (again.seq, again.reason, again.expected, again.actual, str(again)) == (
        err.seq,
        err.reason,
        err.expected,
        err.actual,
        str(err),
    )
    with pytest.raises(ValueError):
        VerificationError("bogus")


def test_errors_never_show_key_material(server_key: SigningKey, vectors: dict[str, Any]) -> None:
    seed_hex = vectors["server_key"]["private_seed_hex"]
    seed_b64 = b64url_encode(bytes.fromhex(seed_hex))
    assert seed_hex not in repr(server_key) and seed_b64 not in repr(server_key)
    assert server_key.public_key in repr(server_key)
