"""Key endorsements: each ledger key after the first is signed by the one before.

A verifier pins the first key (`gridsync init` prints it; a device gets it
at enrolment as `ledger_key`) and trusts a later key only through an
unbroken chain of endorsements from it, so whoever can write the database
but does not hold a private key cannot add a key of their own, old or new.
The endorsement is the previous key's Ed25519 signature over the canonical
form of `{"key_id", "public_key", "created_at"}` (docs/protocol.md, Anchors).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from primitives.canonical import canonical

from .crypto import SigningKey, verify_signature
from .errors import LedgerError, VerificationError
from .verify import keyring

ENDORSED_FIELDS = ("key_id", "public_key", "created_at")


def endorsement_form(key: Mapping[str, Any]) -> bytes:
    """The bytes an endorsement signs: canonical `{"key_id", "public_key", "created_at"}`."""
    try:
        return canonical({name: key[name] for name in ENDORSED_FIELDS})
    except KeyError as exc:
        raise LedgerError(f"a key to endorse needs {exc.args[0]!r}") from None


def endorse(key: Mapping[str, Any], by: SigningKey) -> str:
    """`by`'s endorsement (base64url signature) of `key`."""
    return by.sign(endorsement_form(key))


def verify_key_chain(
    keys_list: Iterable[Mapping[str, Any]], pinned: Mapping[str, Any]
) -> dict[str, dict[str, Any]]:
    """Check a `GET /ledger/keys` list against the pinned first key; return its keyring.

    The list is oldest first. Its first key must be the pinned one (same
    `key_id` and `public_key`) with a null endorsement; every later key must
    carry the previous key's endorsement. Raises VerificationError
    ("endorsement") naming the first key that breaks the chain, or
    LedgerError for a list that is not a keyring at all.
    """
    keys = list(keys_list)
    ring = keyring(keys)
    if not keys:
        raise VerificationError("endorsement", detail="the server lists no keys")
    first = keys[0]
    if (first["key_id"], first["public_key"]) != (pinned.get("key_id"), pinned.get("public_key")):
        raise VerificationError(
            "endorsement",
            detail="the first key is not the pinned key",
            expected=f"{pinned.get('key_id')} {pinned.get('public_key')}",
            actual=f"{first['key_id']} {first['public_key']}",
        )
    if first.get("endorsement") is not None:
        raise VerificationError(
            "endorsement", detail=f"the first key {first['key_id']} carries an endorsement"
        )
    for previous, key in zip(keys, keys[1:], strict=False):
        endorsement = key.get("endorsement")
        if not isinstance(endorsement, str):
            raise VerificationError(
                "endorsement", detail=f"key {key['key_id']} has no endorsement"
            )
        try:
            verify_signature(previous["public_key"], endorsement_form(key), endorsement)
        except (VerificationError, LedgerError):
            raise VerificationError(
                "endorsement",
                detail=f"key {key['key_id']} is not endorsed by {previous['key_id']}",
            ) from None
    return ring
