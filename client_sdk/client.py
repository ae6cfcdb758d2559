"""``FieldClient``: a grid worker's (or volunteer's) device, offline first.

Every edit is checked against the protocol's schema, stamped with the
device's hybrid logical clock, signed with the device key, applied to the
local copy at once (optimistic) and queued in the outbox, all in one local
transaction. ``sync()`` (see ``client_sdk.syncer``) pushes the outbox and
pulls the device's scope. See docs/client.md.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ledger import VerificationError, verify_entry
from primitives import names, times
from sync.collections import FIELD_NAMES, FINAL_STATUSES, REQUIRED_ON_CREATE
from sync.crypto import DeviceKey
from sync.errors import ChangeRejected
from sync.merge import status_change
from sync.schemas import parse_change
from sync.signing import enrolment_proof, sign_change, unsigned_form

from . import files
from .anchors import Anchors
from .device_clock import DeviceClock
from .errors import (
    AlreadyEnrolled,
    FieldClientError,
    InvalidInput,
    NotEnrolled,
    ProtocolError,
    Unauthorized,
    UnknownRecord,
    raise_for,
)
from .ids import uuid7
from .retry import RetryPolicy, call_with_retries
from .store import LocalStore, dumps
from .syncer import Syncer, SyncSummary
from .transport import Answer, HttpTransport, Transport
from .views import apply_change, view_of

#: Changes per push request: the server takes at most ``sync.wire.MAX_CHANGES`` (1,000)
#: and answers 413 to more; 500 keeps requests small (a 413 halves the batch again).
MAX_BATCH = 500


def public(row: dict[str, Any]) -> dict[str, Any]:
    """A stored record as callers see it (``pending``: local changes not yet acknowledged)."""
    return {"collection": row["collection"], "id": row["id"], "version": row["version"],
            "hlc": row["hlc"], "fields": row["fields"], "deleted": row["deleted"],
            "pending": row["pending"]}


class FieldClient:
    """The reference field client over a local data dir.

    ``transport``: how to reach the server (default ``HttpTransport`` of the
    enrolled server URL). ``retry``: the retry policy (its ``sleep`` is
    injectable). ``wall_clock_ms``: the device's physical clock, for tests.
    ``batch_size`` (≤ 500) changes and about ``batch_bytes`` of JSON per push
    request; ``page_limit`` records per pulled page.
    """

    def __init__(self, data_dir: str | Path, transport: Transport | None = None, *,
                 retry: RetryPolicy | None = None,
                 wall_clock_ms: Callable[[], int] | None = None,
                 batch_size: int = MAX_BATCH, batch_bytes: int = 2_000_000,
                 page_limit: int = 500):
        if not 1 <= batch_size <= MAX_BATCH:
            raise ValueError(f"batch_size must be 1..{MAX_BATCH}")
        self.dir = Path(data_dir)
        files.ensure_dir(self.dir)
        self.store = LocalStore(self.dir / files.DB_FILE)
        self.config = files.load_config(self.dir)
        self.key: DeviceKey | None = files.load_key(self.dir) if self.config else None
        if self.config is not None and self.key is None:
            raise FieldClientError(f"{self.dir / files.KEY_FILE} is missing: enrol again")
        self._transport = transport
        self.retry = retry or RetryPolicy()
        self._wall = wall_clock_ms or (lambda: time.time_ns() // 1_000_000)
        self.batch_size, self.batch_bytes, self.page_limit = batch_size, batch_bytes, page_limit
        self._clock: DeviceClock | None = None

    def close(self) -> None:
        self.store.close()
        close = getattr(self._transport, "close", None)
        if callable(close):
            close()

    def __enter__(self) -> FieldClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- identity ----------------------------------------------------------
    @property
    def enrolled(self) -> bool:
        return self.config is not None

    def _config(self) -> dict[str, Any]:
        if self.config is None:
            raise NotEnrolled()
        return self.config

    @property
    def device_id(self) -> str:
        return str(self._config()["device_id"])

    @property
    def person(self) -> str:
        return str(self._config()["person"])

    @property
    def role(self) -> str:
        return str(self._config()["role"])

    @property
    def grids(self) -> list[str]:
        return list(self._config()["grids"])

    @property
    def transport(self) -> Transport:
        if self._transport is None:
            self._transport = HttpTransport(self._config()["server_url"])
        return self._transport

    def enroll(self, server_url: str, code: str, name: str = "field device") -> dict[str, Any]:
        """Generate the device key, prove it against the one-time ``code``, store everything.

        Returns the server's answer (``device_id``, ``token``, ``person``,
        ``role``, ``grids``). Files are written only after the server said 201.
        """
        if self.config is not None:
            raise AlreadyEnrolled(f"{self.dir} already holds device {self.config['device_id']}; "
                                  "use another --dir")
        code = code.strip()
        key = DeviceKey.generate()
        body = {"code": code, "public_key": key.public_key, "name": name,
                "proof": enrolment_proof(code, key)}
        transport = self._transport or HttpTransport(server_url)
        status, _, data = call_with_retries(
            self.retry, "enrol", lambda: transport.post("/devices/enroll", body, None))
        if status != 201:
            if status == 401:
                raise Unauthorized(401, "unauthenticated", "the code is unknown, used or "
                                   "expired: ask an admin for a new one")
            raise_for(status, data)
        out = _expect_dict(data, "device_id", "token", "person", "role", "grids")
        config = {"server_url": server_url, "device_id": out["device_id"],
                  "token": out["token"], "person": out["person"], "role": out["role"],
                  "grids": list(out["grids"]), "name": name,
                  "enrolled_at": times.format_ms(self._wall())}
        files.save_key(self.dir, key)
        files.save_config(self.dir, config)
        self.config, self.key, self._transport = config, key, transport
        with self.store.transaction():
            self._clock = DeviceClock(self.store, str(out["device_id"]), self._wall, fresh=True)
        self.anchors.pin(data.get("ledger_key"))
        return dict(out)

    # --- clock ---------------------------------------------------------------
    @property
    def clock(self) -> DeviceClock:
        if self._clock is None:
            self._clock = DeviceClock(self.store, self.device_id, self._wall)
        return self._clock

    def physical_ms(self) -> int:
        """The device's wall clock corrected by the offset adopted after ``clock_skew``."""
        return self.clock.physical_ms()

    def now_iso(self) -> str:
        return self.clock.now_iso()

    def _stamp(self) -> str:
        return self.clock.stamp()

    # --- requests --------------------------------------------------------------
    def _token(self) -> str:
        return str(self._config()["token"])

    def call(self, method: str, path: str, body: Any = None, *, auth: bool = True,
             what: str | None = None) -> Answer:
        """One request with retries; returns the answer whatever its status."""
        token = self._token() if auth else None
        transport = self.transport
        if method == "POST":
            def fn() -> Answer:
                return transport.post(path, body, token)
        else:
            def fn() -> Answer:
                return transport.get(path, token, body)
        return call_with_retries(self.retry, what or f"{method} {path}", fn)

    # --- recording ---------------------------------------------------------------
    def _require_device(self) -> DeviceKey:
        self._config()
        assert self.key is not None
        return self.key

    def _record(self, collection: str, id: str, fields: dict[str, Any], *,
                base: int | None, deleted: bool = False, coalesce: bool = True
                ) -> dict[str, Any]:
        key = self._require_device()
        with self.store.transaction():
            row = self.store.record(collection, id)
            change = {"op": uuid7(self._wall()), "collection": collection, "id": id,
                      "hlc": self._stamp(), "base": base, "fields": fields, "deleted": deleted}
            _validate(change, creating=row is None)
            last = self.store.last_outbox_for(collection, id) if coalesce else None
            if (last is not None and not last["attempted"]
                    and status_change(last["change"]) is None):
                # Never sent: rewrite it with the union of fields, a new op and stamp, its
                # base (the oldest seen), so a device's own edits never conflict each other.
                merged = {**unsigned_form(last["change"]), "op": change["op"],
                          "hlc": change["hlc"], "deleted": deleted,
                          "fields": {**last["change"]["fields"], **fields}}
                _validate(merged, creating=False)
                self.store.replace_outbox(last["seq"], sign_change(merged, key))
                pending = row["pending"] if row else 1
            else:
                self.store.add_outbox(sign_change(change, key), at=times.format_ms(self._wall()))
                pending = (row["pending"] if row else 0) + 1
            current = None if row is None else view_of(row)
            if row is None:
                server_base = "null"
            elif row["pending"] > 0 and row["base"] is not None:
                server_base = row["base"]
            else:
                server_base = dumps(current)
            view = apply_change(current, change)
            self.store.put_record(view, pending=pending, base=server_base)
        return public({**view, "pending": pending})

    def _existing(self, collection: str, id: str) -> dict[str, Any]:
        row = self.store.record(collection, id)
        if row is None:
            raise UnknownRecord(f"no {collection[:-1].replace('_', ' ')} {id} on this device")
        return row

    def add_household(self, grid: str, **fields: Any) -> dict[str, Any]:
        """A new household in ``grid`` (``address``, ``head_name``, ``members``, ``tags``,
        ``phone``, ``notes``); returns the local record (its ``id`` made here)."""
        _known("households", fields)
        return self._record("households", uuid7(self._wall()), {"grid": grid, **fields},
                            base=None)

    def edit_household(self, id: str, **fields: Any) -> dict[str, Any]:
        """Set some fields (None clears one); based on the version last pulled."""
        _known("households", fields)
        if not fields:
            raise InvalidInput("nothing to change")
        row = self._existing("households", id)
        if row["deleted"]:
            raise InvalidInput(f"household {id} is deleted")
        return self._record("households", id, fields, base=row["version"] or None)

    def delete_household(self, id: str) -> dict[str, Any]:
        row = self._existing("households", id)
        if row["deleted"]:
            raise InvalidInput(f"household {id} is already deleted")
        return self._record("households", id, {}, base=row["version"] or None, deleted=True)

    def record_visit(self, household: str, outcome: str, visited_at: str | None = None,
                     needs: tuple[str, ...] | list[str] = (),
                     hazards: tuple[str, ...] | list[str] = (), notes: str | None = None,
                     lat_e6: int | None = None, lon_e6: int | None = None) -> dict[str, Any]:
        """A door-knock visit (written once) to a household this device holds."""
        row = self.store.record("households", household)
        if row is None or row["deleted"]:
            raise UnknownRecord(f"no household {household} on this device")
        fields: dict[str, Any] = {"household": household, "outcome": outcome,
                                  "visited_at": visited_at or self.now_iso()}
        optional = {"needs": list(needs) or None, "hazards": list(hazards) or None,
                    "notes": notes, "lat_e6": lat_e6, "lon_e6": lon_e6}
        fields.update({k: v for k, v in optional.items() if v is not None})
        return self._record("visits", uuid7(self._wall()), fields, base=None, coalesce=False)

    def log_hours(self, volunteer: str, activity: str, minutes: int,
                  started_at: str | None = None, notes: str | None = None) -> dict[str, Any]:
        """A volunteer's service log, status ``recorded`` (verified later by another worker)."""
        if self.role == "volunteer" and volunteer != self.person:
            raise InvalidInput("a volunteer records their own hours only")
        fields: dict[str, Any] = {"volunteer": volunteer, "activity": activity,
                                  "minutes": minutes, "started_at": started_at or self.now_iso()}
        if notes is not None:
            fields["notes"] = notes
        return self._record("service_logs", uuid7(self._wall()), fields, base=None)

    def _set_status(self, id: str, status: str) -> dict[str, Any]:
        row = self._existing("service_logs", id)
        if self.role != "worker":
            raise InvalidInput("only a worker verifies or rejects logs")
        if row["version"] == 0 or row["pending"]:
            raise InvalidInput(f"log {id} has changes the server has not confirmed: sync first")
        if row["deleted"]:
            raise InvalidInput(f"log {id} is deleted")
        if row["fields"].get("status") in FINAL_STATUSES:
            raise InvalidInput(f"log {id} is already {row['fields']['status']}")
        if self.person in (row["fields"].get("volunteer"), row["fields"].get("recorded_by")):
            raise InvalidInput("four eyes: the verifier is neither the volunteer nor the "
                               "worker who recorded the log")
        return self._record("service_logs", id, {"status": status}, base=row["version"],
                            coalesce=False)

    def verify_log(self, id: str) -> dict[str, Any]:
        return self._set_status(id, "verified")

    def reject_log(self, id: str) -> dict[str, Any]:
        return self._set_status(id, "rejected")

    # --- reads ---------------------------------------------------------------------
    def households(self, *, deleted: bool = False) -> list[dict[str, Any]]:
        return [public(r) for r in self.store.records("households", deleted=deleted)]

    def household(self, id: str) -> dict[str, Any] | None:
        row = self.store.record("households", id)
        return None if row is None else public(row)

    def visits(self, household: str | None = None) -> list[dict[str, Any]]:
        rows = self.store.records("visits")
        return [public(r) for r in rows
                if household is None or r["fields"].get("household") == household]

    def people(self) -> list[dict[str, Any]]:
        return [public(r) for r in self.store.records("people")]

    def service_logs(self, *, volunteer: str | None = None, status: str | None = None
                     ) -> list[dict[str, Any]]:
        return [public(r) for r in self.store.records("service_logs")
                if (volunteer is None or r["fields"].get("volunteer") == volunteer)
                and (status is None or r["fields"].get("status") == status)]

    def pending_count(self) -> int:
        return self.store.outbox_count()

    def outbox(self) -> list[dict[str, Any]]:
        """The unacknowledged signed changes, in the order they will be sent."""
        return [row["change"] for row in self.store.outbox_all()]

    def rejected(self) -> list[dict[str, Any]]:
        """Changes the server refused (``code``, ``message``, ``change``), until dismissed."""
        return self.store.rejected()

    def dismiss_rejected(self, op: str) -> None:
        with self.store.transaction():
            if not self.store.dismiss_rejected(op):
                raise UnknownRecord(f"no rejected change {op}")

    def conflicts(self) -> list[dict[str, Any]]:
        """Pushed changes the server reported as ``conflict`` (an admin reviews them)."""
        return self.store.conflicts()

    def status(self) -> dict[str, Any]:
        """What ``gridsync field status`` shows."""
        config = self.config or {}
        return {"enrolled": self.enrolled, "server": config.get("server_url"),
                "device": config.get("device_id"), "person": config.get("person"),
                "role": config.get("role"), "grids": config.get("grids"),
                "pending": self.pending_count(), "rejected": self.rejected(),
                "conflicts": len(self.store.conflicts()),
                "last_sync": self.store.get("last_sync"), "cursor": self.store.get("cursor"),
                "records": {c: self.store.count_records(c)
                            for c in ("households", "visits", "service_logs", "people")}}

    # --- sync ------------------------------------------------------------------------
    def sync(self, progress: Callable[[SyncSummary, int], None] | None = None) -> SyncSummary:
        """Push the outbox, pull the scope, then check the server's ledger
        checkpoint extends the one kept (``anchors``); returns a
        ``SyncSummary``. See ``syncer``."""
        syncer = Syncer(self.store, key=self._require_device(), clock=self.clock,
                        send=lambda body: self.call("POST", "/sync", body, what="sync"),
                        batch_size=self.batch_size, batch_bytes=self.batch_bytes,
                        page_limit=self.page_limit)
        summary = syncer.run(progress)
        self.anchors.check()
        return summary

    @property
    def anchors(self) -> Anchors:
        return Anchors(self)

    # --- rules -----------------------------------------------------------------------
    def rules(self, *, refresh: bool = False) -> dict[str, Any] | None:
        """The earning rules (``GET /rules``): activities, their names, the time zone.

        Kept in the local store so the phone can offer and check activities and
        read local times offline; ``refresh`` fetches them (the CLI does after a
        sync). None when this phone never fetched them.
        """
        if refresh:
            status, _, data = self.call("GET", "/rules", what="rules")
            if status == 200 and isinstance(data, dict):
                with self.store.transaction():
                    self.store.put("rules", data)
            elif status != 404:
                raise_for(status, data)
        cached = self.store.get("rules")
        return cached if isinstance(cached, dict) else None

    # --- ledger ----------------------------------------------------------------------
    def ledger_keys(self, *, refresh: bool = False) -> dict[str, dict[str, Any]]:
        """The server's ledger keys (``GET /ledger/keys``), cached in the local store,
        each trusted only through endorsements from the pinned first key."""
        cached = None if refresh else self.store.get("ledger_keys")
        if cached is None:
            status, _, data = self.call("GET", "/ledger/keys", auth=False, what="ledger keys")
            if status != 200:
                raise_for(status, data)
            cached = _expect_dict(data, "keys")["keys"]
            with self.store.transaction():
                self.store.put("ledger_keys", cached)
        return self.anchors.trusted(cached)

    def balance(self, volunteer: str) -> dict[str, Any]:
        """``GET /accounts/volunteer:<id>`` with every entry's hash and signature checked.

        Raises ``ledger.VerificationError`` when the server's checkpoint does not
        extend the one this device kept (a rolled-back or rewritten ledger), on
        an entry that does not verify against the server's endorsed keys, or a
        balance that is not the sum of the entries.
        """
        self.anchors.check()
        account = names.volunteer(volunteer)
        status, _, data = self.call("GET", f"/accounts/{account}", what="balance")
        if status != 200:
            raise_for(status, data)
        out = _expect_dict(data, "account", "balance", "entries")
        keys = self.ledger_keys()
        total = 0
        for entry in out["entries"]:
            if not isinstance(entry, dict):
                raise VerificationError("format", detail="an entry is not an object")
            if entry.get("key_id") not in keys:
                keys = self.ledger_keys(refresh=True)  # a key rotated since we cached
            verify_entry(entry, prev_hash=entry.get("prev_hash"),  # type: ignore[arg-type]
                         expected_seq=entry.get("seq"), keys=keys)  # type: ignore[arg-type]
            if account not in (entry["debit"], entry["credit"]):
                raise VerificationError("format", seq=entry["seq"],
                                        detail=f"entry does not touch {account}")
            total += entry["amount"] if entry["credit"] == account else -entry["amount"]
        if total != out["balance"]:
            raise VerificationError("balance", detail=f"account {account}", expected=total,
                                    actual=out["balance"])
        return out


def _known(collection: str, fields: dict[str, Any]) -> None:
    unknown = sorted(set(fields) - FIELD_NAMES[collection])
    if unknown:
        raise InvalidInput(f"unknown {collection} field(s): {', '.join(unknown)}",
                           {name: ["Unknown field."] for name in unknown})


def _validate(change: dict[str, Any], *, creating: bool) -> None:
    try:
        parse_change(change)
    except ChangeRejected as exc:
        raise InvalidInput(_describe(exc), exc.fields) from None
    if creating and not change["deleted"]:
        missing = sorted(n for n in REQUIRED_ON_CREATE[change["collection"]]
                         if change["fields"].get(n) is None)
        if missing:
            raise InvalidInput(f"missing required field(s): {', '.join(missing)}",
                               {"fields": {n: ["Missing data for required field."]
                                           for n in missing}})


def _describe(exc: ChangeRejected) -> str:
    fields = (exc.fields or {}).get("fields")
    if isinstance(fields, dict) and fields:
        parts = [f"{name}: {' '.join(map(str, msgs)) if isinstance(msgs, list) else msgs}"
                 for name, msgs in fields.items()]
        return "invalid " + "; ".join(parts)
    return exc.message


def _expect_dict(data: Any, *keys: str) -> dict[str, Any]:
    if not isinstance(data, dict) or any(k not in data for k in keys):
        raise ProtocolError(f"unexpected answer from the server (wanted {', '.join(keys)})")
    return data


__all__ = ["FieldClient", "public", "raise_for"]
