"""Excel exports for the office (openpyxl, write-only workbooks): visits, needs and
hazards, service hours, ledger entries, redemptions and cases for a date range.

Each export is a list of rows under translated headers; times are written in the
rules' time zone as Excel dates, codes as the names people read (activity display
names, outcome words, case statuses, people's and grids' names). ``case_rows`` is
also the cases sheet of the 办结率 workbook (``case_excel``).
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Callable, Iterable
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font

from sync.collections import CASE_STATUSES

from .. import clock
from ..errors import ValidationFailed
from ..storage import Storage
from . import fieldview, grid_tree
from .admin_scope import AdminScope
from .case_public import categories
from .community_time import community_zone
from .fieldview import Filters

MAX_ROWS = 200_000
"""Rows one sheet of an export holds; more is refused (a shorter range is asked for),
never cut without a word. Queries ask for one row more to know."""
TOO_MANY_ROWS = "More rows than one file holds: choose a shorter date range."
KINDS = ("visits", "needs", "hours", "ledger", "redemptions", "cases")

Label = Callable[[str], str]


def local_time(text: str | None, tz: str) -> dt.datetime | None:
    """An RFC 3339 UTC time as a naive local datetime (what Excel shows as typed)."""
    if not text:
        return None
    when = dt.datetime.fromtimestamp(clock.parse_iso(text) / 1000, tz=dt.UTC)
    return when.astimezone(fieldview.zone(tz)).replace(tzinfo=None)


def text_cells(sheet: object, row: list) -> list:
    """Text that starts with "=" stays text: openpyxl would write it as a formula, so a
    value typed on a phone (``=HYPERLINK(...)``) would run in the office's Excel. Control
    characters a worksheet cannot hold (NUL, BEL…: openpyxl refuses them, and a device's
    fields keep them) are taken out, so one such value does not fail the whole export.

    The one guard for every workbook the server writes; the cells it returns go to
    ``append`` of a write-only or an ordinary worksheet alike."""
    out = []
    for value in row:
        if isinstance(value, str):
            value = ILLEGAL_CHARACTERS_RE.sub("", value)
        if isinstance(value, str) and value.startswith("="):
            cell = WriteOnlyCell(sheet, value=value)
            cell.data_type = "s"
            out.append(cell)
        else:
            out.append(value)
    return out


def check(what: str, f: Filters) -> None:
    """What only one export filters on: a case status for cases (any status for the others
    is the service logs' own, checked by ``fieldview.hours``)."""
    if what == "cases" and f.status and f.status not in CASE_STATUSES:
        raise ValidationFailed(fields={"status": ["unknown case status"]})


def case_rows(store: Storage, ids: Iterable[str], labels: dict[str, Any], tz: str
              ) -> Iterable[list]:
    """One row per case under ``labels["case_columns"]``: names, not codes (grid, kind,
    category, status, difficulty, who opened it, the assignee), local times, the rating
    and its note as the resident left them."""
    people = {p["id"]: p["name"] for p in store.directory.people()}
    grids = {g["id"]: g["name"] for g in store.directory.grids()}
    names = categories(store)
    for case_id, f in _case_fields(store, ids):
        opener = f.get("created_by")
        yield [case_id, grids.get(f.get("grid"), f.get("grid")),
               labels["kinds"].get(f.get("kind"), f.get("kind")),
               names.get(f.get("category"), f.get("category")), f.get("title"),
               labels["statuses"].get(f.get("status"), f.get("status")),
               people.get(opener, opener) if opener else labels["resident"],
               people.get(f.get("assignee") or "", f.get("assignee")),
               labels["difficulties"].get(f.get("difficulty"), f.get("difficulty")),
               local_time(f.get("created_at"), tz), local_time(f.get("due_at"), tz),
               local_time(f.get("done_at"), tz), local_time(f.get("closed_at"), tz),
               f.get("rating"), f.get("rating_note"), f.get("points"), f.get("resolution")]


def _case_fields(store: Storage, ids: Iterable[str], batch: int = 1000
                 ) -> Iterable[tuple[str, Any]]:
    """(id, current fields) of the cases in the order of ``ids``, read a thousand at a
    time (one query each, not one a case)."""
    ids = list(ids)
    for start in range(0, len(ids), batch):
        chunk = ids[start:start + batch]
        found = store.records.get_many(("cases", i) for i in chunk)
        for case_id in chunk:
            record = found.get(("cases", case_id))
            if record is not None:
                yield case_id, record.state["fields"]


def _sheet(book: Workbook, title: str, headers: list[str], rows: Iterable[list]) -> int:
    sheet = book.create_sheet(title[:31])
    bold = Font(bold=True)
    head = []
    for text in headers:
        cell = WriteOnlyCell(sheet, value=text)
        cell.font = bold
        head.append(cell)
    sheet.append(head)
    count = 0
    for row in rows:
        count += 1
        if count > MAX_ROWS:
            raise ValidationFailed(fields={"from": [TOO_MANY_ROWS]})
        sheet.append(text_cells(sheet, row))
    return count


def _bytes(book: Workbook) -> bytes:
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


class Exporter:
    """One export: the store, the filters, and how codes read (``label`` functions)."""

    def __init__(self, store: Storage, f: Filters, scope: AdminScope, *, gettext: Label,
                 outcome: Label, activity: Label, case_labels: dict[str, Any]):
        """``f.grids`` is already within ``scope`` (``fieldview.filters``); the ledger
        and redemptions sheets keep to the scope's communities here."""
        self.store, self.f, self.scope = store, f, scope
        self._reach: dict[str, bool] = {}
        self._, self.outcome, self.activity = gettext, outcome, activity
        self.case_labels = case_labels
        self.tz = community_zone(store)
        self.grids = grid_tree.names(store)
        self.people = {p["id"]: p["name"] for p in store.directory.people()}

    def workbook(self, what: str) -> bytes:
        book = Workbook(write_only=True)
        try:
            getattr(self, what)(book)
        except ValidationFailed:  # too many rows: close the sheets' temporary files
            for sheet in book.worksheets:
                sheet.close()
                sheet._writer.cleanup()
            raise
        return _bytes(book)

    # --- sheets ------------------------------------------------------------
    def _visit_rows(self) -> Iterable[list]:
        offset = 0
        while offset <= MAX_ROWS:
            rows, _total = fieldview.visits(self.store, self.f, limit=2000, offset=offset)
            for v in rows:
                yield [local_time(v["visited_at"], self.tz), self.grids.get(v["grid"], v["grid"]),
                       v.get("address") or "", v.get("head_name") or "",
                       self.people.get(v["worker"], v["worker"]), self.outcome(v["outcome"]),
                       "、".join(v.get("needs") or []), "、".join(v.get("hazards") or []),
                       v.get("notes") or "", v["id"]]
            if len(rows) < 2000:
                return
            offset += 2000

    def _visit_headers(self) -> list[str]:
        _ = self._
        return [_("Visited at"), _("Grid"), _("Address"), _("Head of household"), _("Worker"),
                _("Outcome"), _("Needs"), _("Hazards"), _("Notes"), _("Record id")]

    def visits(self, book: Workbook) -> None:
        _sheet(book, self._("Visits"), self._visit_headers(), self._visit_rows())

    def needs(self, book: Workbook) -> None:
        hazard, need = self.f.hazard, self.f.need
        self.f.hazard, self.f.need = hazard or "*", ""
        _sheet(book, self._("Hazards"), self._visit_headers(), list(self._visit_rows()))
        self.f.hazard, self.f.need = "", need or "*"
        _sheet(book, self._("Needs"), self._visit_headers(), list(self._visit_rows()))
        self.f.hazard, self.f.need = hazard, need

    def hours(self, book: Workbook) -> None:
        _ = self._
        rows = fieldview.hours(self.store, self.f)
        _sheet(book, _("Service hours"),
               [_("Volunteer"), _("Person id"), _("Awaiting check (hours)"),
                _("Verified (hours)"), _("Rejected (hours)"), _("Logs"), _("Points")],
               ([r["person"]["name"], r["person"]["id"], r["recorded"] / 60, r["verified"] / 60,
                 r["rejected"] / 60, r["logs"], r["points"]] for r in rows))
        start, end = self.f.bounds(self.tz)
        logs = self.store.fielddata.service_logs(
            volunteers=[r["person"]["id"] for r in rows], start=start, end=end,
            status=self.f.status or None, limit=MAX_ROWS + 1)
        status = {"recorded": _("Awaiting check"), "verified": _("Verified"),
                  "rejected": _("Rejected")}
        _sheet(book, _("Service logs"),
               [_("Started at"), _("Volunteer"), _("Activity"), _("Minutes"), _("Status"),
                _("Points"), _("Recorded by"), _("Verified by"), _("Record id")],
               ([local_time(lg["started_at"], self.tz),
                 self.people.get(lg["volunteer"], lg["volunteer"]), self.activity(lg["activity"]),
                 lg["minutes"], status.get(lg.get("status", "recorded"), lg.get("status")),
                 lg.get("points"), self.people.get(lg.get("recorded_by") or "", ""),
                 self.people.get(lg.get("verified_by") or "", ""), lg["id"]] for lg in logs))

    def _range(self) -> tuple[str, str]:
        start, end = self.f.bounds(self.tz)
        return start or "", end or "9999"

    def ledger(self, book: Workbook) -> None:
        _ = self._
        start, end = self._range()
        entries = self.store.fielddata.entries_between(start, end, MAX_ROWS + 1)
        if not self.scope.district and len(entries) <= MAX_ROWS:  # past it: refused whole
            entries = [e for e in entries
                       if self._reached(e["debit"]) or self._reached(e["credit"])]
        _sheet(book, _("Ledger entries"),
               [_("Seq"), _("Time"), _("Kind"), _("From account"), _("To account"),
                _("Points"), _("Reference"), _("Hash")],
               ([e["seq"], local_time(e["at"], self.tz), e["kind"], self._account(e["debit"]),
                 self._account(e["credit"]), e["amount"], e["ref"], e["hash"]]
                for e in entries))

    def _reached(self, account: str) -> bool:
        """An account of the scope's communities (its volunteers, shops, issuance)."""
        if account not in self._reach:
            kind, _sep, ident = account.partition(":")
            if kind == "volunteer":
                found = self.scope.person(self.store.directory.person(ident))
            elif kind == "shop":
                found = self.scope.shop(self.store.directory.shop(ident))
            else:
                found = kind == "issuance" and self.scope.community(ident)
            self._reach[account] = found
        return self._reach[account]

    def _account(self, account: str) -> str:
        kind, _sep, ident = account.partition(":")
        if kind == "volunteer":
            return f"{self.people.get(ident, ident)} ({account})"
        if kind == "issuance":
            return f"{self.grids.get(ident, ident)} ({account})"
        return account

    def redemptions(self, book: Workbook) -> None:
        _ = self._
        start, end = self._range()
        shops = {s["id"]: s["name"] for s in self.store.directory.shops()}
        rows = self.store.fielddata.redemptions_between(start, end, MAX_ROWS + 1)
        if not self.scope.district and len(rows) <= MAX_ROWS:
            rows = [r for r in rows if self._reached(f"shop:{r['shop']}")]
        _sheet(book, _("Redemptions"),
               [_("Time"), _("Shop"), _("Volunteer"), _("Items"), _("Points"),
                _("Ledger seq"), _("Receipt id")],
               ([local_time(r["at"], self.tz), shops.get(r["shop"], r["shop"]),
                 self.people.get(r["volunteer"], r["volunteer"]),
                 "、".join(f"{i.get('name', i.get('sku'))} ×{i.get('qty')}" for i in r["items"]),
                 r["total"], r["seq"], r["id"]] for r in rows))

    def cases(self, book: Workbook) -> None:
        """The cases received in the range (by the local day received, as 办结率 counts
        them), of the grid and those under it, with the status asked for."""
        start, end = self._range()
        ids = self.store.cases.received(community=None, grids=self.f.grids, start=start,
                                        end=end, limit=MAX_ROWS + 1, status=self.f.status or None)
        labels = self.case_labels
        _sheet(book, labels["cases"], labels["case_columns"],
               case_rows(self.store, ids, labels, self.tz))
