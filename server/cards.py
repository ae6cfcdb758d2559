"""Volunteer card codes: made to be read aloud, typed and scanned.

A card code is 16 Crockford base32 characters (80 random bits) printed in
four groups of four: ``7KQM-3XTA-9PRD-W2HB``. Nobody has to get the case,
the dashes or the look-alike letters right: :func:`normalise` upper-cases,
drops spaces and dashes, and reads ``I``/``L`` as ``1`` and ``O`` as ``0``
(the alphabet has no I, L, O or U); full-width characters from a Chinese
input method count as their ASCII selves. The server stores only the SHA-256 of
the normalised code, so any way of typing a code finds the same hash.

Cards issued before this format (``C`` + 22 base64url characters, case
matters) were stored as the hash of the code exactly as printed; they keep
working when typed or scanned exactly (:func:`lookup_hashes` tries both).

So that a volunteer can see their current card again without replacing it,
the code is also kept sealed (AES-GCM under a key derived from the server
secret): a copy of the database alone does not reveal any card.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import unicodedata

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from primitives.b64url import b64url_decode, b64url_encode

from .secrets_ import CODE_ALPHABET, digest

GROUPS, GROUP_LEN = 4, 4
LENGTH = GROUPS * GROUP_LEN
MAX_TYPED = 200  # longer input is not a card, whatever it holds
_LOOKALIKES = str.maketrans({"I": "1", "L": "1", "O": "0"})
_SEPARATORS = re.compile(r"[\s\-‐‑‒–—－_.·]+")
_NEW_FORM = re.compile(f"[{CODE_ALPHABET}]{{{LENGTH}}}")
_LEGACY_FORM = re.compile(r"C[A-Za-z0-9_-]{22}")


def new_code() -> str:
    """A fresh card code in its printed form, ``XXXX-XXXX-XXXX-XXXX``."""
    return display("".join(secrets.choice(CODE_ALPHABET) for _ in range(LENGTH)))


def display(code: str) -> str:
    """The printed form of a normalised code: groups of four joined by dashes."""
    return "-".join(code[i:i + GROUP_LEN] for i in range(0, len(code), GROUP_LEN))


def normalise(typed: str) -> str | None:
    """The 16 canonical characters of a typed or scanned code, or None when the
    text is not a card code of the current format."""
    if len(typed) > MAX_TYPED:
        return None
    # NFKC: a Chinese input method in full-width mode types ＡＢ１２ for AB12.
    text = _SEPARATORS.sub("", unicodedata.normalize("NFKC", typed)).upper()
    text = text.translate(_LOOKALIKES)
    return text if _NEW_FORM.fullmatch(text) else None


def stored_hash(code: str) -> str:
    """What the database keeps for a newly issued code."""
    canonical = normalise(code)
    if canonical is None:
        raise ValueError("not a card code")
    return digest(canonical)


def lookup_hashes(typed: str) -> list[str]:
    """Every stored hash ``typed`` may stand for: the current format however it
    was typed, or an older card exactly as printed. Empty for junk."""
    canonical = normalise(typed)
    if canonical is not None:
        return [digest(canonical)]
    exact = typed.strip()
    return [digest(exact)] if _LEGACY_FORM.fullmatch(exact) else []


def matches(typed: str, card_hash: str | None) -> bool:
    """Whether ``typed`` is the card whose stored hash is ``card_hash`` (constant time)."""
    if not card_hash:
        return False
    return any(hmac.compare_digest(h, card_hash) for h in lookup_hashes(typed))


# --- sealed copies, so a volunteer can see their card again ----------------
def seal_key(server_secret: bytes) -> bytes:
    """The AES-256 key for sealed cards, derived from the server secret."""
    return hashlib.sha256(b"gridsync card seal v1\0" + server_secret).digest()


def seal(code: str, key: bytes, person: str) -> str:
    """``v1.<nonce>.<ciphertext>`` (base64url); bound to the person it belongs to."""
    nonce = secrets.token_bytes(12)
    box = AESGCM(key).encrypt(nonce, code.encode(), person.encode())
    return "v1." + b64url_encode(nonce) + "." + b64url_encode(box)


def unseal(sealed: str | None, key: bytes, person: str) -> str | None:
    """The code inside ``sealed``; None when there is none or it cannot be opened
    (another server secret, or a card from before cards were sealed)."""
    if not sealed:
        return None
    version, _, rest = sealed.partition(".")
    nonce_text, _, box_text = rest.partition(".")
    if version != "v1" or not nonce_text or not box_text:
        return None
    try:
        return AESGCM(key).decrypt(b64url_decode(nonce_text), b64url_decode(box_text),
                                   person.encode()).decode()
    except (InvalidTag, ValueError):
        return None

