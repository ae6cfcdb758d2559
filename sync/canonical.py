"""Canonical JSON for signatures and hashes (PROTOCOL.md, Conventions).

For the values the protocol allows (ASCII keys, strings, integers, booleans,
null, arrays, objects) RFC 8785 (JCS) is exactly this ``json.dumps`` call.
Floats are never valid input, so their (non-JCS) rendering does not matter;
NaN and infinities are refused outright. A string holding a lone surrogate
cannot be encoded and raises ``UnicodeEncodeError`` (a ``ValueError``).
"""

from __future__ import annotations

import json
from typing import Any

_encoder = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
)


def canonical(obj: Any) -> bytes:
    """The canonical UTF-8 bytes of ``obj``."""
    return _encoder.encode(obj).encode()
