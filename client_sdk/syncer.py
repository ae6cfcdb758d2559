"""One ``sync()``: push the outbox in batches, pull the scope page by page.

Each ``POST /sync`` carries up to ``batch_size`` outbox changes and the saved
cursor, and brings back their results and one page of records. Everything an
answer says lands in ONE local transaction: acknowledged changes leave the
outbox, rejected ones move to ``rejected`` with their reason (and their
optimistic effect is taken out of the local copy), the page's records are
written, evictions applied, and the new cursor saved. A sync interrupted
anywhere resumes from the last answer it stored: the outbox still holds
every unacknowledged change (the server deduplicates by op id) and the
cursor every page already stored.

Requests repeat while the outbox has changes to send or the server says
``has_more``. Answers handled here beyond the 200:

- 410 ``cursor_expired`` (and 400 naming the cursor): drop the cursor and
  every local record without pending changes, then pull again from null.
  The outbox is kept.
- 413 ``too_large``: halve the batch and send again.
- ``clock_skew`` rejections: the device clock is ahead of the server's. The
  client adopts the server's offset (``server_time`` minus its own clock),
  rewinds its HLC to the corrected time (merged with the newest stamp pulled
  from the server, so it never goes below anything the server holds), and
  re-stamps and re-signs the rejected changes, and any never-sent ones that
  are also too far ahead, with NEW op ids, in place in the outbox (same
  order). They go out in the same ``sync()``. A change rejected for skew
  ``MAX_RESTAMPS`` times is moved to ``rejected``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from primitives import times
from sync.crypto import DeviceKey
from sync.hlc import too_far_ahead
from sync.signing import sign_change, unsigned_form

from .device_clock import DeviceClock
from .errors import ProtocolError, error_code, error_object, raise_for
from .ids import uuid7
from .store import LocalStore, dumps, loads
from .transport import Answer
from .views import VIEW_KEYS, fold, view_of

MAX_RESTAMPS = 3
MAX_RESTARTS = 3
ACKED = ("applied", "conflict", "duplicate")


@dataclass
class SyncSummary:
    """What one ``sync()`` did. ``restamped``: changes re-signed after ``clock_skew``;
    ``restarts``: pulls started again from a null cursor (410)."""

    applied: int = 0
    duplicate: int = 0
    conflict: int = 0
    rejected: int = 0
    pulled: int = 0
    evicted: int = 0
    pages: int = 0
    restamped: int = 0
    restarts: int = 0

    def line(self) -> str:
        return (f"applied {self.applied}, duplicate {self.duplicate}, conflict {self.conflict}, "
                f"rejected {self.rejected}, pulled {self.pulled}")

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def _names_cursor(data: Any) -> bool:
    """A 400 whose field messages name the cursor (unreadable, or another device's)."""
    error = error_object(data)
    fields = None if error is None else error.get("fields")
    return isinstance(fields, dict) and "cursor" in fields


def _check_answer(data: Any, sent: int) -> None:
    ok = (isinstance(data, dict) and isinstance(data.get("results"), list)
          and isinstance(data.get("changes"), list) and isinstance(data.get("evict"), list)
          and isinstance(data.get("cursor"), str) and isinstance(data.get("has_more"), bool)
          and isinstance(data.get("server_time"), str))
    if not ok:
        raise ProtocolError("sync answer is missing results, changes, evict, cursor, "
                            "has_more or server_time")
    if len(data["results"]) != sent:
        raise ProtocolError(f"sent {sent} changes, got {len(data['results'])} results")


Send = Callable[[dict[str, Any]], Answer]
"""Posts one sync request body (authenticated, with retries) and returns the answer."""


class Syncer:
    """One ``sync()`` over explicit collaborators: the local ``store``, the device
    ``key`` that re-signs changes, its ``clock`` and ``send`` (the transport)."""

    def __init__(self, store: LocalStore, *, key: DeviceKey, clock: DeviceClock, send: Send,
                 batch_size: int, batch_bytes: int, page_limit: int):
        self.store, self.key, self.clock, self.send = store, key, clock, send
        self.batch_size, self.batch_bytes, self.page_limit = batch_size, batch_bytes, page_limit
        self.summary = SyncSummary()

    def run(self, progress: Callable[[SyncSummary, int], None] | None = None) -> SyncSummary:
        store = self.store
        while True:
            batch = store.outbox_batch(limit=self.batch_size, max_bytes=self.batch_bytes)
            if batch:
                with store.transaction():  # committed before sending: never coalesce these
                    store.mark_attempted([row["seq"] for row in batch])
            cursor = store.get("cursor")
            body = {"cursor": cursor, "changes": [row["change"] for row in batch],
                    "limit": self.page_limit}
            status, _, data = self.send(body)
            if status == 410 or (status == 400 and _names_cursor(data)):
                self._restart(cursor, error_code(data))
                continue
            if status == 413 and len(batch) > 1:
                self.batch_size = max(1, len(batch) // 2)
                continue
            if status != 200:
                raise_for(status, data)
            _check_answer(data, len(batch))
            self._apply(batch, data)
            self.summary.pages += 1
            if progress is not None:
                progress(self.summary, store.outbox_count())
            if not data["has_more"] and store.outbox_count() == 0:
                break
        with store.transaction():
            store.put("last_sync", {"at": self.clock.now_iso(), **self.summary.as_dict()})
        return self.summary

    # --- 410 -------------------------------------------------------------------
    def _restart(self, cursor: str | None, code: str | None) -> None:
        if cursor is None:
            raise ProtocolError(f"server refused a pull from a null cursor ({code})")
        if self.summary.restarts >= MAX_RESTARTS:
            raise ProtocolError(f"cursor refused {MAX_RESTARTS} times in one sync ({code})")
        self.summary.restarts += 1
        store = self.store
        with store.transaction():
            store.delete_setting("cursor")
            store.drop_synced_records()

    # --- one answer ------------------------------------------------------------
    def _apply(self, batch: list[dict[str, Any]], data: dict[str, Any]) -> None:
        store, summary = self.store, self.summary
        now = self.clock.now_iso()
        with store.transaction():
            rebuild: dict[tuple[str, str], None] = {}
            skewed: list[dict[str, Any]] = []
            for row, result in zip(batch, data["results"], strict=True):
                if not isinstance(result, dict) or result.get("op") != row["op"]:
                    raise ProtocolError(f"result for another op than {row['op']}")
                status, error = result.get("status"), result.get("error")
                change = row["change"]
                if status in ACKED and not (status == "duplicate" and error):
                    setattr(summary, status, getattr(summary, status) + 1)
                    if status == "conflict":
                        store.add_conflict(change, result.get("version"), at=now)
                    store.remove_outbox(row["seq"])
                    self._acknowledged(change, status, result.get("version"))
                elif status in ("rejected", "duplicate") and isinstance(error, dict):
                    if error.get("code") == "clock_skew" and row["restamps"] < MAX_RESTAMPS:
                        skewed.append(row)
                        continue
                    summary.rejected += 1
                    store.add_rejected(change, error, at=now)
                    store.remove_outbox(row["seq"])
                    rebuild[(change["collection"], change["id"])] = None
                else:
                    raise ProtocolError(f"unreadable result {result!r}")
            self._page(data["changes"], data["evict"], data["server_time"])
            for key in rebuild:
                self._rebuild(key)
            if skewed:
                self._restamp(skewed, data["server_time"])
            store.put("cursor", data["cursor"])
            store.put("last_contact", now)

    def _acknowledged(self, change: dict[str, Any], status: str, version: Any) -> None:
        """The server took ``change``: fold it into the known server state of the record.

        When it was ``applied`` as exactly the next version after its ``base`` (no one
        else wrote the record in between, no field lost), the server's state is known
        exactly: the record's version moves to it, and never-sent changes to the same
        record are rebased on it, so the device's own edits never conflict each other.
        """
        store = self.store
        row = store.record(change["collection"], change["id"])
        if row is None:
            return
        pending = max(0, row["pending"] - 1)
        view = view_of(row)
        server = loads(row["base"]) if row["base"] is not None else dict(view)
        base = change["base"] or 0
        known = fold(server, [change])
        assert known is not None
        if (status == "applied" and type(version) is int and version == base + 1
                and (server is None or server["version"] == base)):
            known["version"] = view["version"] = version
            self._rebase(change, version)
        store.put_record(view, pending=pending, base=dumps(known) if pending else None)

    def _rebase(self, acked: dict[str, Any], version: int) -> None:
        store = self.store
        for row in store.outbox_for(acked["collection"], acked["id"]):
            change = row["change"]
            if row["attempted"] or change["base"] != acked["base"]:
                continue
            rebased = {**unsigned_form(change), "op": uuid7(self.clock.wall_ms()), "base": version}
            store.replace_outbox(row["seq"], sign_change(rebased, self.key))

    def _page(self, changes: list[dict[str, Any]], evict: list[dict[str, Any]],
              server_time: str) -> None:
        store = self.store
        keys = []
        top = ""
        for rec in changes:
            if not isinstance(rec, dict) or not set(VIEW_KEYS) <= rec.keys():
                raise ProtocolError("a pulled record lacks collection, id, version, hlc, "
                                    "fields or deleted")
            keys.append((rec["collection"], rec["id"]))
            top = max(top, rec["hlc"])
        pending = store.pending_keys(keys)
        rows = []
        for rec in changes:
            view = view_of(rec)
            key = (rec["collection"], rec["id"])
            if key in pending:
                outs = [o["change"] for o in store.outbox_for(*key)]
                rows.append((fold(view, outs), len(outs), dumps(view)))
            else:
                rows.append((view, 0, None))  # type: ignore[arg-type]
        store.put_records(rows)  # type: ignore[arg-type]
        for item in evict:
            store.delete_record(item["collection"], item["id"])
        self.summary.pulled += len(changes)
        self.summary.evicted += len(evict)
        if top:
            self._receive(top, server_time)

    def _receive(self, top: str, server_time: str) -> None:
        """Feed the newest pulled stamp to the HLC (one call: the clock keeps only the max),
        unless it is further ahead of the server's time than the server itself allows."""
        try:
            skewed = too_far_ahead(top, times.parse_ms(server_time))
        except ValueError:
            raise ProtocolError(f"unreadable stamp {top!r} or time {server_time!r}") from None
        if skewed:
            return
        store = self.store
        self.clock.receive(top)
        if top > (store.get("server_hlc") or ""):
            store.put("server_hlc", top)

    def _rebuild(self, key: tuple[str, str]) -> None:
        """The record's view again from its server state and the outbox (after a rejection)."""
        store = self.store
        row = store.record(*key)
        outs = [o["change"] for o in store.outbox_for(*key)]
        if row is None:
            server = None
        elif row["base"] is None:
            server = view_of(row)
        else:
            server = loads(row["base"])
        view = fold(server, outs)
        if view is None:
            store.delete_record(*key)
        else:
            store.put_record(view, pending=len(outs), base=dumps(server) if outs else None)

    def _restamp(self, skewed: list[dict[str, Any]], server_time: str) -> None:
        store, clock = self.store, self.clock
        server_ms = times.parse_ms(server_time)
        clock.adopt_server_time(server_ms)
        newest = store.get("server_hlc")
        if newest:
            clock.receive(newest)
        todo = {row["seq"]: row for row in skewed}
        for row in store.outbox_all():  # never-sent changes stamped by the same fast clock
            if not row["attempted"] and too_far_ahead(row["change"]["hlc"], server_ms):
                todo.setdefault(row["seq"], row)
        for seq in sorted(todo):
            row = todo[seq]
            change = {**unsigned_form(row["change"]), "op": uuid7(clock.wall_ms()),
                      "hlc": clock.stamp()}
            store.replace_outbox(seq, sign_change(change, self.key), restamped=True)
            self._rebuild((change["collection"], change["id"]))
            self.summary.restamped += 1
        clock.save()
        store.put("clock_offset_at", times.format_ms(server_ms))
