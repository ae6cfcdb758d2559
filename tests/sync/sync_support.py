"""Shared helpers for the sync tests (not a conftest: test dirs here have no __init__)."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

from sync.hlc import format_hlc

VECTORS_DIR = Path(__file__).resolve().parents[1] / "vectors"


def load_vectors(name: str) -> dict[str, Any]:
    return json.loads((VECTORS_DIR / name).read_text(encoding="utf-8"))


def stamp(wall_ms: int, counter: int = 0, device: str = "dev_a") -> str:
    return format_hlc(wall_ms, counter, device)


def change(
    collection: str = "households",
    *,
    record: str = "00000000-0000-7000-8000-000000000001",
    hlc: str | None = None,
    base: int | None = None,
    fields: dict[str, Any] | None = None,
    deleted: bool = False,
    op: str | None = None,
) -> dict[str, Any]:
    """An unsigned change, as merge sees it after parsing and verification."""
    return {
        "op": op or str(uuid.uuid4()),
        "collection": collection,
        "id": record,
        "hlc": hlc or stamp(1_000),
        "base": base,
        "fields": fields if fields is not None else {},
        "deleted": deleted,
    }
