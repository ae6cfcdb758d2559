"""Pull cursors as handed to devices: the sync library's cursor plus a MAC.

The MAC (HMAC-SHA256 under a random key kept in the database) means the
server can trust what a cursor says about the scope it was issued under, so a
device cannot forge one to learn about other grids. The epoch inside it
changes when the database is restored from a backup: a cursor from another
history, or one pointing past the newest record, gets 410 and the device
re-syncs from scratch instead of silently skipping records.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass

from primitives.b64url import b64url_decode, b64url_encode
from sync.cursor import Cursor, decode_cursor, encode_cursor
from sync.errors import BadCursor

from ...errors import CursorExpired, ValidationFailed
from ...storage import Storage

MAC_BYTES = 16


def _tag(key: bytes, body: str) -> bytes:
    """The MAC of a cursor's body: HMAC-SHA256 (OpenSSL's one-shot ``hmac.digest``), cut
    to ``MAC_BYTES``; a cursor carries it as unpadded base64url after a dot."""
    return hmac.digest(key, body.encode(), "sha256")[:MAC_BYTES]


@dataclass(frozen=True)
class Keys:
    """What cursors are checked and issued with: the MAC key, the epoch and the purge
    mark. Read once a sync (``read_keys``, one query) for both its cursor's check and
    the one it hands out: an epoch renewed in between (a restore) only makes that new
    cursor get 410 next time, and the device sync again from null."""

    mac_key: bytes
    epoch: str | None
    purged_seq: int
    last_seq: int
    """The last seq handed out when the keys were read: a cursor past it is from another
    history (read with them, not in a statement of its own)."""


def read_keys(store: Storage) -> Keys:
    mac_key, epoch, last_seq, purged_seq = store.records.cursor_keys()
    if not mac_key:
        raise RuntimeError("no cursor key in the database: run the migrations")
    return Keys(bytes.fromhex(mac_key), epoch, purged_seq, last_seq)


def issue(store: Storage, cursor: Cursor, keys: Keys | None = None) -> str:
    keys = keys or read_keys(store)
    body = encode_cursor(Cursor(cursor.device, cursor.seq, cursor.scope, keys.epoch,
                                cursor.exits))
    return f"{body}.{b64url_encode(_tag(keys.mac_key, body))}"


def check(store: Storage, text: str | None, device: str, keys: Keys | None = None
          ) -> Cursor | None:
    """The cursor a device sent, or None; 400 if unreadable, forged or another
    device's; 410 if it is from another history or older than a purge."""
    if text is None:
        return None
    body, _, mac = text.rpartition(".")
    keys = keys or read_keys(store)
    try:
        if not body or not hmac.compare_digest(b64url_decode(mac), _tag(keys.mac_key, body)):
            raise BadCursor("cursor is not readable")
        cursor = decode_cursor(body, device)
    except (BadCursor, ValueError) as exc:
        message = str(exc) if isinstance(exc, BadCursor) else "cursor is not readable"
        raise ValidationFailed(message, fields={"cursor": [message]}) from None
    if cursor.epoch != keys.epoch:
        raise CursorExpired("cursor is from before a restore: sync again from null")
    if cursor.seq > keys.last_seq:
        raise CursorExpired("cursor is ahead of this server: sync again from null")
    require_unpurged(cursor, keys.purged_seq)
    return cursor


def require_unpurged(cursor: Cursor | None, purged_seq: int) -> None:
    """410 if a tombstone the cursor's device has not seen was purged (``purged_seq``:
    the purge mark). ``check`` asks it before a push, so that a 410 has changed nothing;
    the pull asks it again with the mark of its page's snapshot, which a purge may have
    passed since (docs/design.md, Storage)."""
    if cursor is not None and cursor.seq and cursor.seq < purged_seq:
        raise CursorExpired()
