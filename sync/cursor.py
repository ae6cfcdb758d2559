"""Pull cursors: opaque to devices, readable by the server (docs/protocol.md, Sync).

A cursor is unpadded base64url of compact JSON::

    {"v": 1, "device": str, "seq": int, "scope": [grid ids], "epoch": str, "exits": int}

``seq`` is the server change sequence the device has pulled up to. ``scope``
is the grid ids the cursor was issued under. ``epoch`` names the database's history: a server
restored from a backup starts a new epoch, so a cursor from before the
restore (whose seq may point past records written since) is refused rather
than silently skipping them. It is optional so that cursors stay readable
by servers that do not set it. ``exits`` (optional) is set while a device
is pulling its scope from scratch: it names the seq the first page started
at, before which no record left the device's hands because the device held
none (evictions older than it are not the device's business).

Nothing here is secret or signed: the server must authenticate the text it
hands out (gridsync's server appends an HMAC tag), because it trusts the
``scope`` inside to compute evictions. Decoding never raises anything but
``BadCursor``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from primitives.b64url import b64url_decode, b64url_encode
from primitives.canonical import canonical_allowed

from .errors import BadCursor

VERSION = 1
MAX_CURSOR_LENGTH = 16_384
_KEYS = {"v", "device", "seq", "scope"}


@dataclass(frozen=True)
class Cursor:
    device: str
    seq: int
    scope: tuple[str, ...]
    epoch: str | None = None
    exits: int | None = None


def encode_cursor(cursor: Cursor) -> str:
    body: dict[str, Any] = {
        "v": VERSION,
        "device": cursor.device,
        "seq": cursor.seq,
        "scope": list(cursor.scope),
    }
    if cursor.epoch is not None:
        body["epoch"] = cursor.epoch
    if cursor.exits is not None:
        body["exits"] = cursor.exits
    return b64url_encode(canonical_allowed(body))  # str, int and lists of str: allowed values


def _seq(value: Any) -> int:
    if type(value) is not int or value < 0:
        raise BadCursor("cursor is not readable")
    return value


def _grids(value: Any) -> tuple[str, ...]:
    if type(value) is not list or any(type(grid) is not str for grid in value):
        raise BadCursor("cursor is not readable")
    return tuple(value)


def decode_cursor(text: Any, device_id: str) -> Cursor:
    """Read a cursor sent by ``device_id``; ``BadCursor`` if unreadable or another device's."""
    if not isinstance(text, str) or len(text) > MAX_CURSOR_LENGTH:
        raise BadCursor("cursor is not readable")
    try:
        body = orjson.loads(b64url_decode(text))
    except ValueError:  # bad base64, UTF-8 or JSON (orjson's errors are ValueErrors)
        raise BadCursor("cursor is not readable") from None
    if type(body) is not dict or body.keys() - {"epoch", "exits"} != _KEYS:
        raise BadCursor("cursor is not readable")
    if type(body["v"]) is not int or body["v"] != VERSION or type(body["device"]) is not str:
        raise BadCursor("cursor is not readable")
    if body["device"] != device_id:
        raise BadCursor("cursor belongs to another device")
    epoch = body.get("epoch")
    if "epoch" in body and type(epoch) is not str:
        raise BadCursor("cursor is not readable")
    scope = _grids(body["scope"])
    exits = _seq(body["exits"]) if "exits" in body else None
    return Cursor(body["device"], _seq(body["seq"]), scope, epoch, exits)
