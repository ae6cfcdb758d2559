"""Local record views: the server's state with this device's pending changes on top.

A view is ``{"collection", "id", "version", "hlc", "fields", "deleted"}``,
the shape of a pulled record. ``version`` is always the last version pulled
from the server (0 when the server has not sent the record yet): it is what
the next change's ``base`` says this device has seen, so optimistic local
edits never raise it.
"""

from __future__ import annotations

from typing import Any

from sync.collections import DEFAULT_STATUS

VIEW_KEYS = ("collection", "id", "version", "hlc", "fields", "deleted")


def view_of(row: dict[str, Any]) -> dict[str, Any]:
    """The view part of a stored row or a pulled record (a new dict of ``VIEW_KEYS``)."""
    return {k: row[k] for k in VIEW_KEYS}


def empty_view(collection: str, id: str) -> dict[str, Any]:
    return {"collection": collection, "id": id, "version": 0, "hlc": "", "fields": {},
            "deleted": False}


def apply_change(view: dict[str, Any] | None, change: dict[str, Any]) -> dict[str, Any]:
    """The view after a local change (a new dict): its fields set, ``deleted`` as it says."""
    created = view is None
    base = view if view is not None else empty_view(change["collection"], change["id"])
    fields = {**base["fields"], **change["fields"]}
    if created and change["collection"] == "service_logs":
        fields.setdefault("status", DEFAULT_STATUS)
    return {"collection": base["collection"], "id": base["id"], "version": base["version"],
            "hlc": max(base["hlc"], change["hlc"]), "fields": fields,
            "deleted": change["deleted"]}


def fold(server: dict[str, Any] | None, changes: list[dict[str, Any]]) -> dict[str, Any] | None:
    """``server`` (or nothing) with ``changes`` applied in order; None if both are empty."""
    view = server
    for change in changes:
        view = apply_change(view, change)
    return view
