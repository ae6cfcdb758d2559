"""Pull cursors: opaque to devices, readable by the server (PROTOCOL.md, Sync).

A cursor is unpadded base64url of compact JSON::

    {"v": 1, "device": str, "seq": int, "scope": [grid ids] | str, "epoch": str}

``seq`` is the server change sequence the device has pulled up to. ``scope``
is what the cursor was issued under: the grid ids, or a short digest of them
(``scope_digest``). ``epoch`` names the database's history: a server
restored from a backup starts a new epoch, so a cursor from before the
restore (whose seq may point past records written since) is refused rather
than silently skipping them. It is optional so that cursors stay readable
by servers that do not set it.

Nothing here is secret or signed: the server re-checks scope on every pull,
so a forged cursor can only ask for what its device may see anyway. Decoding
never raises anything but ``BadCursor``.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from .canonical import canonical
from .crypto import b64url_decode, b64url_encode
from .errors import BadCursor

VERSION = 1
MAX_CURSOR_LENGTH = 16_384
_KEYS = {"v", "device", "seq", "scope"}


@dataclass(frozen=True)
class Cursor:
    device: str
    seq: int
    scope: tuple[str, ...] | str
    epoch: str | None = None


def scope_digest(grids: list[str] | tuple[str, ...]) -> str:
    """A short, order-independent digest of a set of grid ids."""
    return hashlib.sha256(canonical(sorted(set(grids)))).hexdigest()[:16]


def encode_cursor(cursor: Cursor) -> str:
    body: dict[str, Any] = {
        "v": VERSION,
        "device": cursor.device,
        "seq": cursor.seq,
        "scope": cursor.scope if isinstance(cursor.scope, str) else list(cursor.scope),
    }
    if cursor.epoch is not None:
        body["epoch"] = cursor.epoch
    return b64url_encode(canonical(body))


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
        body = json.loads(b64url_decode(text))
    except (ValueError, RecursionError):  # bad base64, UTF-8 or JSON
        raise BadCursor("cursor is not readable") from None
    if type(body) is not dict or body.keys() - {"epoch"} != _KEYS:
        raise BadCursor("cursor is not readable")
    if type(body["v"]) is not int or body["v"] != VERSION or type(body["device"]) is not str:
        raise BadCursor("cursor is not readable")
    if body["device"] != device_id:
        raise BadCursor("cursor belongs to another device")
    epoch = body.get("epoch")
    if "epoch" in body and type(epoch) is not str:
        raise BadCursor("cursor is not readable")
    scope = body["scope"] if type(body["scope"]) is str else _grids(body["scope"])
    return Cursor(body["device"], _seq(body["seq"]), scope, epoch)
