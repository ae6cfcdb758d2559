"""Unpadded base64url (RFC 4648 §5), strict: one byte string has one text form."""

from __future__ import annotations

import base64
import binascii


def b64url_encode(data: bytes) -> str:
    """Unpadded base64url of ``data``."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """Strict inverse of ``b64url_encode``; ``ValueError`` on anything else.

    Rejects padding, characters outside the url-safe alphabet and encodings
    with non-zero spare bits, so a signature cannot be re-spelled into a
    second valid-looking string.
    """
    if not isinstance(text, str) or not text.isascii() or len(text) % 4 == 1:
        raise ValueError("not unpadded base64url")
    try:
        raw = base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_", validate=True)
    except binascii.Error as exc:
        raise ValueError("not unpadded base64url") from exc
    if b64url_encode(raw) != text:
        raise ValueError("not canonical unpadded base64url")
    return raw
