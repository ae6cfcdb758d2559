"""Ids and times made on the device."""

from __future__ import annotations

import os
import time


def uuid7(now_ms: int | None = None) -> str:
    """A lowercase UUIDv7 (RFC 9562): 48-bit Unix ms, version 7, 74 random bits.

    Time-ordered ids insert faster into the server's indexes (docs/design.md, Storage).
    """
    ms = time.time_ns() // 1_000_000 if now_ms is None else now_ms
    rand = int.from_bytes(os.urandom(10), "big")
    rand_a = rand >> 68  # 12 bits
    rand_b = rand & ((1 << 62) - 1)
    value = (ms & ((1 << 48) - 1)) << 80 | 0x7 << 76 | rand_a << 64 | 0b10 << 62 | rand_b
    text = f"{value:032x}"
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


