"""Fields the server sets on a record, whatever the device sent: who recorded
a service log, and who verified it, when, for how many points.

Verifying a log earns its points here, in the push's transaction: the entry
and the log's new state commit together or not at all.
"""

from __future__ import annotations

from ledger import LedgerError
from sync.errors import ChangeRejected
from sync.merge import status_change

from ...errors import ValidationFailed
from ...keystore import Signer
from ...storage import Storage
from ..ledger_append import earn_for_log


def set_server_fields(store: Storage, signer: Signer, change: dict, old: dict | None,
                      new: dict, *, person: str | None, at: str) -> None:
    """Set ``new``'s server fields in place (``person`` made the change at ``at``)."""
    if change["collection"] != "service_logs":
        return
    meta = new["meta"].get("status") or next(iter(new["meta"].values()))
    if old is None:
        new["fields"]["recorded_by"] = person
        new["meta"]["recorded_by"] = meta
    final = status_change(change)
    if final is None or old is None:
        return
    points = 0
    if final == "verified":
        points = _price(store, signer, change, new)
    new["fields"].update(verified_by=person, verified_at=at, points=points)
    for name in ("verified_by", "verified_at", "points"):
        new["meta"][name] = meta


def _price(store: Storage, signer: Signer, change: dict, new: dict) -> int:
    """Earn the verified log's points; a log the rules cannot price is refused."""
    volunteer = store.directory.person(new["fields"]["volunteer"])
    if volunteer is None:
        raise ChangeRejected("validation", "no such volunteer",
                             {"fields": {"volunteer": ["No such volunteer."]}})
    try:
        return earn_for_log(store, signer, new, op=change["op"], community=volunteer["community"])
    except (LedgerError, OverflowError, ValueError, ValidationFailed) as exc:
        raise ChangeRejected(
            "validation", f"this log cannot be priced: {exc}; reject it instead",
            {"fields": {"status": ["Cannot be priced under the current rules."]}}
        ) from None
