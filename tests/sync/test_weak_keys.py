"""Weak Ed25519 public keys (primitives.weak_keys): the eight points of small order and
non-canonical encodings are refused, real keys are not. The eight encodings are
the ones libsodium lists for ``has_small_order`` (ed25519_ref10.c) and the
"Taming the many EdDSAs" test vectors use; the check itself computes [8]P."""

from __future__ import annotations

import pytest

from primitives.weak_keys import weakness
from sync.crypto import DeviceKey, b64url_decode, b64url_encode, check_public_key, verify
from sync.errors import ChangeRejected

P = 2**255 - 19
ORDER_8_Y = ("26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
             "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a")


def enc(y: int, sign: int = 0) -> bytes:
    return (y | (sign << 255)).to_bytes(32, "little")


SMALL_ORDER = {
    "identity (order 1)": enc(1),
    "y = -1 (order 2)": enc(P - 1),
    "y = 0, x even (order 4)": enc(0),
    "y = 0, x odd (order 4)": enc(0, 1),
    **{f"order 8, y #{i}, sign {s}": bytes.fromhex(y)[:31] + bytes([bytes.fromhex(y)[31] | s << 7])
       for i, y in enumerate(ORDER_8_Y) for s in (0, 1)},
}
NON_CANONICAL = {
    "y = p (another spelling of y = 0)": enc(P),
    "y = p + 1 (another spelling of the identity)": enc(P + 1),
    "y = 2^255 - 1": enc(2**255 - 1),
    "identity with the sign bit set (x = 0)": enc(1, 1),
    "y = -1 with the sign bit set (x = 0)": enc(P - 1, 1),
}


def test_there_are_exactly_eight_distinct_small_order_points():
    assert len(set(SMALL_ORDER.values())) == 8


@pytest.mark.parametrize("name", sorted(SMALL_ORDER))
def test_small_order_points_are_refused(name):
    assert "small order" in weakness(SMALL_ORDER[name])
    with pytest.raises(ValueError, match="weak public key"):
        check_public_key(b64url_encode(SMALL_ORDER[name]))


@pytest.mark.parametrize("name", sorted(NON_CANONICAL))
def test_non_canonical_encodings_are_refused(name):
    assert "canonical" in weakness(NON_CANONICAL[name])


def test_a_y_with_no_point_is_refused():
    y = next(y for y in range(2, 100) if weakness(enc(y)) == "not a point on the curve")
    with pytest.raises(ValueError):
        check_public_key(b64url_encode(enc(y)))


def test_real_keys_pass():
    for _ in range(100):
        key = DeviceKey.generate()
        assert weakness(b64url_decode(key.public_key)) is None
        check_public_key(key.public_key)


def test_the_forgery_a_weak_key_allows_is_refused():
    """With A = identity, (R = identity, s = 0) satisfies [s]B = R + [k]A for any message."""
    identity = b64url_encode(enc(1))
    forged = b64url_encode(enc(1) + bytes(32))
    with pytest.raises(ChangeRejected) as err:
        verify(identity, b"any message at all", forged)
    assert err.value.code == "bad_signature"
