"""Server-made record versions: the read-only ``people`` collection devices pull.

A person's public view (name, role, grids) is a sync record like any other,
so a rename or a grid change reaches devices through the normal pull. Its
stamps use ``server`` as the device part (docs/protocol.md).
"""

from __future__ import annotations

from sync.hlc import HybridClock

from .. import clock
from ..storage import Storage
from ..storage.records import Placement, RecordWrite

PUBLIC_FIELDS = ("name", "role", "grids")


def server_hlc(after: str | None = None) -> str:
    """A server stamp at the current time, later than ``after`` if given."""
    server_clock = HybridClock("server")
    if after:
        server_clock.receive(after, clock.now_ms())
    return server_clock.send(clock.now_ms())


def person(store: Storage, person: dict) -> None:
    """Write a new version of the person's ``people`` record if their view changed."""
    if person["role"] not in ("worker", "volunteer"):
        return
    fields = {k: person[k] for k in PUBLIC_FIELDS}
    found = store.records.get("people", person["id"])
    old = found.state if found else None
    if old is not None and old["fields"] == fields and not old["deleted"]:
        return
    last = max((m["hlc"] for m in (old or {}).get("meta", {}).values()), default=None)
    hlc = server_hlc(last)
    version = (old["version"] + 1) if old else 1
    meta = {k: {"hlc": hlc, "version": version, "op": "server", "device": "server"}
            for k in (*PUBLIC_FIELDS, "deleted")}
    state = {"collection": "people", "id": person["id"], "version": version,
             "deleted": False, "fields": fields, "meta": meta}
    now = clock.iso()
    store.records.put_many([RecordWrite(state, store.records.last_seq() + 1,
                                        Placement(person=person["id"]), now)])
    old_grids = set(old["fields"]["grids"]) if old else set()
    if old and old_grids != set(person["grids"]):
        _moved(store, person["id"], old_grids - set(person["grids"]), now)


def _moved(store: Storage, person_id: str, left: set[str], now: str) -> None:
    """A person changed grids: re-send their person record (and a volunteer's
    logs) to their new scope and tell devices of the grids they left to evict them."""
    keys = store.records.restamp_person(person_id, now)
    for grid in sorted(left):
        for collection, id in keys:
            store.records.add_exit(seq=store.records.last_seq() + 1, collection=collection,
                                   id=id, grid=grid, at=now)
