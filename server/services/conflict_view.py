"""Conflicts in plain words: which household (or log), which field, and who wrote
each value (person and device name) when, instead of record ids and stamps."""

from __future__ import annotations

from sync.hlc import parse_hlc

from .. import clock
from ..storage import Storage


def _side(store: Storage, side: dict, devices: dict[str, dict], names: dict[str, str]) -> dict:
    device_id = str(side.get("device") or "")
    out = {"value": side.get("value"), "device_name": "", "person_name": "", "office": False,
           "at": None}
    if device_id.startswith("server"):
        out["office"] = True
        out["person_name"] = names.get(device_id.partition(":")[2], "")
    else:
        device = devices.get(device_id)
        if device is None:
            device = store.access.device(device_id) or {}
            devices[device_id] = device
        out["device_name"] = device.get("name", device_id)
        out["person_name"] = names.get(device.get("person", ""), device.get("person", ""))
    try:
        out["at"] = clock.iso(parse_hlc(str(side.get("hlc")))[0])
    except ValueError:
        pass
    return out


def describe(store: Storage, conflicts: list[dict]) -> list[dict]:
    """Each conflict with ``subject`` (address / volunteer and activity), ``winner`` and
    ``loser`` sides with ``person_name``, ``device_name``, ``office`` and ``at``."""
    names = {p["id"]: p["name"] for p in store.directory.people()}
    devices: dict[str, dict] = {}
    out = []
    for c in conflicts:
        found = store.records.get(c["collection"], c["record"])
        fields = found.state["fields"] if found else {}
        subject: dict = {"kind": c["collection"]}
        if c["collection"] == "households":
            subject.update(address=fields.get("address"), head=fields.get("head_name"),
                           household=c["record"])
        elif c["collection"] == "visits":
            home = store.records.get("households", fields.get("household", ""))
            there = home.state["fields"] if home else {}
            subject.update(address=there.get("address"), head=there.get("head_name"),
                           household=fields.get("household"))
        elif c["collection"] == "cases":
            subject.update(title=fields.get("title"), case=c["record"])
        elif c["collection"] == "service_logs":
            subject.update(volunteer=names.get(fields.get("volunteer", ""), ""),
                           activity=fields.get("activity"), started_at=fields.get("started_at"))
        out.append({**c, "subject": subject, "winner": _side(store, c["winner"], devices, names),
                    "loser": _side(store, c["loser"], devices, names)})
    return out
