"""Change signatures and enrolment proofs (docs/protocol.md, Sync → ``sig``; Devices).

A change's ``sig`` is Ed25519 over the canonical form of the change without
``sig``, exactly as the device sent it: verify the dict parsed from the
request, never a re-serialised copy.
"""

from __future__ import annotations

from typing import Any

from primitives.canonical import canonical

from .crypto import DeviceKey, verify
from .errors import ChangeRejected


def unsigned_form(change: dict[str, Any]) -> dict[str, Any]:
    """The change without its ``sig``: what the signature covers."""
    return {key: value for key, value in change.items() if key != "sig"}


def sign_change(unsigned: dict[str, Any], key: DeviceKey) -> dict[str, Any]:
    """A new dict: the change plus ``sig`` (any old ``sig`` is ignored and replaced)."""
    body = unsigned_form(unsigned)
    return {**body, "sig": key.sign(canonical(body))}


def verify_change(change: dict[str, Any], public_key_b64: str,
                  signed_bytes: bytes | None = None) -> None:
    """``ChangeRejected("bad_signature")`` unless ``sig`` is the device's signature.

    ``signed_bytes``: the canonical form of the change without ``sig``, when the
    caller already has it (the server hashes the same bytes for idempotency).
    """
    sig = change.get("sig")
    if not isinstance(sig, str):
        raise ChangeRejected("bad_signature", "missing signature")
    if signed_bytes is None:
        try:
            signed_bytes = canonical(unsigned_form(change))
        except (ValueError, TypeError, RecursionError) as exc:
            raise ChangeRejected("bad_signature", "change cannot be put in canonical form") from exc
    verify(public_key_b64, signed_bytes, sig)


def enrolment_proof(code: str, key: DeviceKey) -> str:
    """Proof of key possession for enrolment: a signature over the code's UTF-8 bytes."""
    return key.sign(code.encode())


def verify_enrolment_proof(code: str, public_key: str, proof: str) -> None:
    """Raises ``ChangeRejected("bad_signature")`` unless ``proof`` signs ``code``.

    The enrolment endpoint answers a bad proof with 400 ``validation``: map
    the exception there.
    """
    try:
        data = code.encode()
    except (AttributeError, UnicodeEncodeError) as exc:
        raise ChangeRejected("bad_signature", "code is not a UTF-8 string") from exc
    verify(public_key, data, proof)
