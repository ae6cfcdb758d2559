"""Canonical JSON for signatures and hashes (docs/protocol.md, Conventions).

For the values the protocol allows (ASCII keys, strings, integers up to
2^53-1, booleans, null, arrays, objects) RFC 8785 (JCS) is exactly Python's
sorted compact dump; the tests hold it against the ``rfc8785`` package.
Floats are never valid input, so their (non-JCS) rendering does not matter;
NaN and infinities are refused outright. A string holding a lone surrogate
cannot be encoded and raises ``UnicodeEncodeError`` (a ``ValueError``).
"""

from __future__ import annotations

import json
from typing import Any

import orjson

# json.dumps(obj, **these options) builds this same encoder on every call;
# building it once saves about a fifth of each call, which the verify path feels.
_ENCODER = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
)


def canonical(obj: Any) -> bytes:
    """The canonical UTF-8 bytes of ``obj``; NaN and infinities raise ValueError."""
    return _ENCODER.encode(obj).encode()


def canonical_allowed(obj: Any) -> bytes:
    """``canonical(obj)`` for a value known to hold only what the protocol allows (str
    without lone surrogates, int up to 2^53-1, bool, null, and lists and objects of
    those with str keys), as a change that passed ``sync.parse.parse_change`` does:
    orjson's sorted compact dump, byte for byte the same (tests hold the two together
    over every character and such values) for a seventh of the CPU. Anything else must
    go to ``canonical``: orjson spells some floats otherwise and writes NaN as null."""
    return orjson.dumps(obj, option=orjson.OPT_SORT_KEYS)
