"""Refusing weak Ed25519 public keys: non-canonical encodings and points of small order.

A public key that is a point of small order (the identity, or one of the
other seven points whose order divides the cofactor 8) makes a fixed
signature verify for every message under the usual cofactored or
cofactorless checks: ``R = identity, s = 0`` with ``A = identity`` passes
``[s]B = R + [k]A`` whatever ``k`` is. A non-canonical encoding (y ≥ p, or
x = 0 with the sign bit set) is a second spelling of a point that
implementations disagree about. Neither can come from a real key pair, so
enrolment refuses both (PROTOCOL, Devices) and the audit reports any stored.

The check decodes the point as RFC 8032 §5.1.3 does (and fails where that
decoding fails), then multiplies it by the cofactor 8 and refuses it if the
result is the identity, as libsodium's ``crypto_core_ed25519_is_valid_point``
and the "Taming the many EdDSAs" paper (Chalkias, Garillot, Nikolaenko, 2020,
§3 and its small-order test vectors) describe. It is computed, not looked up
in a list of the eight encodings, so a spelling missing from a list cannot
slip through. Pure integer arithmetic: no key material is involved, and
timing does not matter for public keys.
"""

from __future__ import annotations

_P = 2**255 - 19
_D = (-121665 * pow(121666, _P - 2, _P)) % _P
_SQRT_M1 = pow(2, (_P - 1) // 4, _P)

_Point = tuple[int, int, int, int]  # extended coordinates (X, Y, Z, T), x = X/Z, y = Y/Z


def _decode(raw: bytes) -> _Point:
    """RFC 8032 §5.1.3 point decoding; ``ValueError`` with the reason when it fails."""
    if len(raw) != 32:
        raise ValueError("an Ed25519 public key is 32 bytes")
    value = int.from_bytes(raw, "little")
    sign = value >> 255
    y = value & ((1 << 255) - 1)
    if y >= _P:
        raise ValueError("not the canonical encoding of a point (y is not below p)")
    u, v = (y * y - 1) % _P, (_D * y * y + 1) % _P
    x = (u * pow(v, 3, _P) * pow(u * pow(v, 7, _P), (_P - 5) // 8, _P)) % _P
    if (v * x * x - u) % _P == 0:
        pass
    elif (v * x * x + u) % _P == 0:
        x = (x * _SQRT_M1) % _P
    else:
        raise ValueError("not a point on the curve")
    if x == 0 and sign == 1:
        raise ValueError("not the canonical encoding of a point (x = 0 with the sign bit set)")
    if x & 1 != sign:
        x = _P - x
    return (x, y, 1, (x * y) % _P)


def _add(a: _Point, b: _Point) -> _Point:
    """Point addition (RFC 8032 §5.1.4; complete, so it also doubles)."""
    x1, y1, z1, t1 = a
    x2, y2, z2, t2 = b
    aa = (y1 - x1) * (y2 - x2) % _P
    bb = (y1 + x1) * (y2 + x2) % _P
    cc = 2 * t1 * t2 * _D % _P
    dd = 2 * z1 * z2 % _P
    e, f, g, h = bb - aa, dd - cc, dd + cc, bb + aa
    return (e * f % _P, g * h % _P, f * g % _P, e * h % _P)


def weakness(raw: bytes) -> str | None:
    """Why ``raw`` is not acceptable as an Ed25519 public key, or None if it is."""
    try:
        point = _decode(raw)
    except ValueError as exc:
        return str(exc)
    for _ in range(3):  # [8]P
        point = _add(point, point)
    x, y, z, _ = point
    if x % _P == 0 and (y - z) % _P == 0:
        return "a point of small order (any signature would verify)"
    return None


__all__ = ["weakness"]
