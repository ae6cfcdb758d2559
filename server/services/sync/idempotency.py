"""A replayed op returns its first result and changes nothing (docs/design.md, Sync model).

Ops are keyed by the device-made op id and remembered with the digest of
what was signed, so a resend of the same change is a ``duplicate`` and the
same id on another change (or from another device) is ``id_reused``.
"""

from __future__ import annotations

from typing import Any

from sync.errors import ChangeRejected


def replayed(seen: dict, device: str | None, digest: str) -> dict:
    """The result for an op already stored as ``seen``."""
    if seen["device"] != device or seen["digest"] != digest:
        return {"op": seen["op"], "status": "rejected", "error": {
            "code": "id_reused", "message": "this op id was used for another change"}}
    out: dict[str, Any] = {"op": seen["op"], "status": "duplicate"}
    if seen["status"] == "rejected":
        out["error"] = {"code": seen["error_code"], "message": seen["error_message"]}
    else:
        out["version"] = seen["version"]
    return out


def op_row(raw: dict, digest: str, *, device: str | None, status: str, version: int | None,
           error: ChangeRejected | None, at: str, stored: dict | None = None) -> dict:
    """The ``ops`` row that remembers a change's first result; ``stored`` replaces the
    change kept (for one too deep or too large to keep)."""
    collection = raw.get("collection") if isinstance(raw.get("collection"), str) else ""
    record = raw.get("id") if isinstance(raw.get("id"), str) else ""
    return {
        "op": raw["op"], "device": device, "collection": collection, "record": record,
        "digest": digest, "change": raw if stored is None else stored, "status": status,
        "version": version,
        "error_code": error.code if error else None,
        "error_message": error.message if error else None, "received_at": at}
