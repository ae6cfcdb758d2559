"""JSON parsing that every reader reads the same way.

An object naming a key twice, and NaN or Infinity, are refused: parsers
disagree on which duplicate wins, so a signed body holding one could mean
two things.
"""

from __future__ import annotations

import json
from typing import Any

import orjson


class DuplicateKey(ValueError):
    """A JSON object names one key twice."""

    def __init__(self, key: str) -> None:
        super().__init__(f"duplicate key {key!r}")
        self.key = key


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise DuplicateKey(key)
            seen.add(key)
    return out


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not allowed")


_STRICT = json.JSONDecoder(object_pairs_hook=_unique_keys, parse_constant=_no_constant)


def loads(text: str | bytes) -> Any:
    """``json.loads`` refusing duplicate keys (``DuplicateKey``) and NaN or
    Infinity (``ValueError``); bad UTF-8 is a ``UnicodeDecodeError``."""
    if isinstance(text, bytes | bytearray):
        text = bytes(text).decode("utf-8")
    elif not isinstance(text, str):
        raise ValueError("not text")
    return _STRICT.decode(text)


def loads_stored(text: str | bytes) -> Any:
    """``loads`` for text the server wrote itself, fast in the common case.

    Compact text that orjson writes back byte for byte (as the server stores
    entries and records) cannot hold a repeated key, which the write-back
    would have dropped: that case skips the slower check.
    """
    if isinstance(text, bytes | bytearray):
        raw = bytes(text)
    elif isinstance(text, str):
        raw = text.encode("utf-8", "surrogatepass")
    else:
        raise ValueError("not text")
    try:
        value = orjson.loads(raw)
        if orjson.dumps(value) == raw:
            return value
    except (orjson.JSONDecodeError, orjson.JSONEncodeError):
        pass
    return loads(raw)
