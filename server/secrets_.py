"""Random tokens and enrolment codes, and their at-rest hashes (cards: server/cards.py).

Secrets are stored only as SHA-256 hashes. Tokens look like
``<token id>.<secret>``: the id finds the row, the secret's hash is compared
in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

CODE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32: 5 bits a char


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def same(secret: str, stored_hash: str) -> bool:
    return hmac.compare_digest(digest(secret), stored_hash)


def new_token() -> tuple[str, str, str]:
    """(token id, full token, hash of the secret part); 256 random bits."""
    token_id = "t" + secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    return token_id, f"{token_id}.{secret}", digest(secret)


def split_token(token: str) -> tuple[str, str] | None:
    token_id, sep, secret = token.partition(".")
    if not sep or not token_id or not secret or len(token) > 200:
        return None
    return token_id, secret


def new_enrollment_code() -> str:
    """ENR-XXXX-XXXX-XXXX-XXXX: 16 base32 characters, 80 random bits."""
    chars = "".join(secrets.choice(CODE_ALPHABET) for _ in range(16))
    return "ENR-" + "-".join(chars[i:i + 4] for i in range(0, 16, 4))


def new_id(prefix: str) -> str:
    return prefix + secrets.token_hex(8)
