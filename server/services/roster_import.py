"""Importing the office's roster (.xlsx): households and people.

Households enter through the same versioned record path as synced ones: each row
becomes a server-made change (``sync.parse.parse_change`` checks its fields exactly
as a pushed change's, ``sync.merge.merge`` makes the new version), stored with the
next seq so phones of the grid pull it. A household's record id is derived from
its community and roster number (户编号; the address when there is none), so
importing the same file again finds the same records and, when nothing differs,
writes nothing. Blank cells leave a field as it is. A value a phone typed that
the roster overwrites is kept as a conflict record, like any concurrent edit.

People go through the directory services (``create_person``, ``patch_person``),
the same as ``POST/PATCH /api/v1/people``.

``plan_*`` is the dry run: every row's problems, and what would be new, changed
or unchanged; ``apply_*`` writes the good rows in batches, reporting progress.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from sync.errors import ChangeRejected
from sync.hlc import HybridClock
from sync.merge import merge
from sync.parse import parse_change

from .. import clock
from ..errors import ApiError, Forbidden, IdReused, ValidationFailed
from ..storage import Storage
from ..storage.records import Placement, RecordWrite
from . import directory
from .admin_scope import AdminScope, admin_scope
from .moves import household_moved
from .xlsx_rows import Formula, NotXlsx, TooLarge, Workbook

NAMESPACE = uuid.UUID("5b0f5a2e-6a43-4c38-9d0c-2f1d1c9e7a11")
BATCH = 2000
MAX_ROWS = 200_000  # per sheet: a larger roster is split into several files
MAX_COLUMNS = 64    # a header is looked for in the first 64 columns

#: (field, Chinese header, English header); the template's columns, in order.
HOUSEHOLD_COLUMNS = [
    ("key", "户编号", "Household no."), ("grid", "网格", "Grid"), ("address", "地址", "Address"),
    ("head_name", "户主姓名", "Head of household"), ("members", "人数", "Members"),
    ("phone", "联系电话", "Phone"), ("tags", "标签", "Tags"), ("notes", "备注", "Notes")]
PEOPLE_COLUMNS = [
    ("id", "编号", "Id"), ("name", "姓名", "Name"), ("role", "角色", "Role"),
    ("grids", "网格", "Grids"), ("shop", "超市", "Shop")]
SHEETS = {"households": ("住户", "Households"), "people": ("人员", "People")}
ROLE_WORDS = {"网格员": "worker", "志愿者": "volunteer", "超市": "shop", "超市工作人员": "shop",
              "管理员": "admin", "审计": "auditor", "审计员": "auditor"}
_SPLIT = re.compile(r"[,，、;；\s]+")
HOUSEHOLD_FIELDS = ("grid", "address", "head_name", "members", "phone", "tags", "notes")


class RosterError(ValidationFailed):
    """The file as a whole cannot be read (not .xlsx, no known sheet or headers)."""


@dataclass
class RowProblem:
    sheet: str
    row: int
    column: str          # the field ("grid", "members", ...) or "" for the whole row
    code: str            # what is wrong (labels in server.web.labels.IMPORT_PROBLEMS)
    value: str = ""


@dataclass
class Plan:
    """A dry run's result; ``households``/``people`` hold the rows that would be written."""

    problems: list[RowProblem] = field(default_factory=list)
    households: list[dict] = field(default_factory=list)
    people: list[dict] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=lambda: {
        "rows": 0, "new": 0, "changed": 0, "unchanged": 0, "bad": 0})

    def bad_rows(self) -> int:
        return len({(p.sheet, p.row) for p in self.problems})


# --- reading -----------------------------------------------------------------


def cell_text(value: Any) -> str:
    """A cell as text: numbers without a trailing .0 (phone numbers come as numbers)."""
    if value is None:
        return ""
    if isinstance(value, Formula):
        return value  # kept apart from text: ``_values_only`` reports it
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def read_rows(book: Workbook, kind: str) -> Iterable[tuple[int, dict[str, str]]]:
    """(row number, {field: text}) of the sheet for ``kind``; the first row with any
    cell is the header, empty rows are skipped."""
    columns = HOUSEHOLD_COLUMNS if kind == "households" else PEOPLE_COLUMNS
    names = {h: f for f, zh, en in columns for h in (zh, en, en.lower(), f)}
    sheet = next((t for t in SHEETS[kind] if t in book.sheetnames), None)
    if sheet is None:
        return
    rows = book.rows(sheet, MAX_COLUMNS)
    try:
        _number, header = next(rows, (1, []))
        index = [(i, names[cell_text(h)]) for i, h in enumerate(header)
                 if cell_text(h) in names]
        if not index:
            raise RosterError(fields={"file": ["no known headers"]})
        for count, (number, values) in enumerate(rows, start=1):
            # Counted too: row numbers are the file's word (r="2" on every row).
            if number > MAX_ROWS + 1 or count > MAX_ROWS:
                raise RosterError(fields={"file": ["too many rows"]})
            row = {name: cell_text(values[i]) for i, name in index}
            if any(row.values()):
                yield number, row
    except TooLarge:
        raise RosterError(fields={"file": ["too large"]}) from None
    except NotXlsx:
        raise RosterError(fields={"file": ["not an xlsx file"]}) from None


def open_workbook(data: bytes) -> Workbook:
    try:
        book = Workbook(data)
    except TooLarge:
        raise RosterError(fields={"file": ["too large"]}) from None
    except NotXlsx:
        raise RosterError(fields={"file": ["not an xlsx file"]}) from None
    if not any(t in book.sheetnames for pair in SHEETS.values() for t in pair):
        raise RosterError(fields={"file": ["no roster sheet"]})
    return book


# --- households ----------------------------------------------------------------


def household_id(community: str, key: str, by_address: bool) -> str:
    return str(uuid.uuid5(NAMESPACE, f"{community}\x1f{'a' if by_address else 'n'}\x1f{key}"))


class _Grids:
    """Grid look-up by id or by (unique) name, among the grids within the importing
    admin's reach (another community's grid is an unknown one)."""

    def __init__(self, store: Storage, scope: AdminScope):
        self.by_id = {g["id"]: g for g in scope.grids(store.directory.grids())}
        names: dict[str, list[dict]] = {}
        for g in self.by_id.values():
            names.setdefault(g["name"], []).append(g)
        self.by_name = names

    def find(self, text: str) -> tuple[dict | None, str]:
        if text in self.by_id:
            return self.by_id[text], ""
        found = self.by_name.get(text, [])
        if len(found) == 1:
            return found[0], ""
        return None, "ambiguous_grid" if found else "unknown_grid"


def _household_fields(row: dict[str, str], number: int, grid: str, problems: list[RowProblem]
                      ) -> dict[str, Any]:
    fields: dict[str, Any] = {"grid": grid}
    for name in ("address", "head_name", "phone", "notes"):
        if row.get(name):
            fields[name] = row[name]
    if row.get("members"):
        text = row["members"]
        # isdecimal, not isdigit: "²" is a digit int() refuses; a count has few digits
        # (int() refuses over 4,300, and a cell may hold 32,767)
        if text.isdecimal() and len(text) <= 9:
            fields["members"] = int(text)
        else:
            problems.append(RowProblem("households", number, "members", "not_a_count", text))
    if row.get("tags"):
        fields["tags"] = [t for t in _SPLIT.split(row["tags"]) if t]
    return fields


def plan_households(store: Storage, rows: Iterable[tuple[int, dict[str, str]]], plan: Plan,
                    scope: AdminScope) -> None:
    grids = _Grids(store, scope)
    seen: dict[str, int] = {}
    prepared = []
    for number, row in rows:
        plan.counts["rows"] += 1
        problems: list[RowProblem] = []
        grid, code = grids.find(row.get("grid", ""))
        if grid is None:
            problems.append(RowProblem("households", number, "grid", code or "unknown_grid",
                                       row.get("grid", "")))
        key, by_address = row.get("key", ""), not row.get("key")
        if by_address:
            key = row.get("address", "")
        if not key:
            problems.append(RowProblem("households", number, "address", "no_key"))
        fields = _household_fields(row, number, grid["id"] if grid else "", problems)
        record = household_id(grid["community"], key, by_address) if grid and key else ""
        if record and record in seen:
            problems.append(RowProblem("households", number, "key", "repeated",
                                       str(seen[record])))
        if not problems:
            try:
                parse_change(_change(record, fields, "000000000000000:00000:server", None,
                                     op=str(NAMESPACE)))  # only checked, never stored
            except ChangeRejected as exc:
                for name in (exc.fields or {}).get("fields", {}) or ["fields"]:
                    problems.append(RowProblem("households", number, name, "invalid",
                                               str(fields.get(name, ""))[:50]))
        if problems:
            plan.problems.extend(problems)
            continue
        seen[record] = number
        prepared.append({"row": number, "id": record, "fields": fields})
    states = store.fielddata.states("households", [p["id"] for p in prepared])  # type: ignore[misc]
    for item in prepared:
        state = states.get(item["id"])  # type: ignore[call-overload]
        changed = _changed(state, item["fields"])  # type: ignore[arg-type]
        if state is None:
            plan.counts["new"] += 1
        elif changed:
            plan.counts["changed"] += 1
        else:
            plan.counts["unchanged"] += 1
            continue
        plan.households.append(item)


def _changed(state: dict | None, fields: dict[str, Any]) -> dict[str, Any]:
    if state is None:
        return dict(fields)
    current = state["fields"]
    return {k: v for k, v in fields.items() if current.get(k) != v}


def _change(record: str, fields: dict, hlc: str, base: int | None, op: str | None = None
            ) -> dict:
    return {"op": op or str(uuid.uuid4()), "collection": "households", "id": record, "hlc": hlc,
            "base": base, "fields": fields, "deleted": False}


def apply_households(store: Storage, items: list[dict], by: str,
                     progress: Callable[[int], None] | None = None) -> dict[str, int]:
    """Write the planned rows in batches (one transaction each); counts what happened."""
    done = {"written": 0, "unchanged": 0, "conflicts": 0}
    hlc_clock = HybridClock("server")
    device = f"server:{by}"
    for start in range(0, len(items), BATCH):
        batch = items[start:start + BATCH]
        with store.transaction():
            states = store.fielddata.states("households", [i["id"] for i in batch])
            now_ms = clock.now_ms()
            now = clock.iso(now_ms)
            rows, conflicts, moves = [], [], []  # type: ignore[var-annotated]
            for item in batch:
                state = states.get(item["id"])
                changed = _changed(state, item["fields"])
                if not changed:
                    done["unchanged"] += 1
                    continue
                if state is not None:
                    hlc_clock.receive(max(m["hlc"] for m in state["meta"].values()), now_ms)
                    phone_typed = any(not state["meta"].get(k, {}).get("device", "server")
                                      .startswith("server") for k in changed)
                    base = None if phone_typed else state["version"]
                else:
                    base = None
                # The row's fields passed parse_change in the plan; the change is a subset.
                change = _change(item["id"], changed, hlc_clock.send(now_ms), base)
                result = merge(state, change, device_id=device)
                rows.append(result.state)
                conflicts.extend((c["field"], c["winner"], c["loser"], item["id"])
                                 for c in result.conflicts)
                old_grid = state["fields"].get("grid") if state else None
                if old_grid and old_grid != result.state["fields"]["grid"]:
                    moves.append((item["id"], old_grid, result.state["fields"]["grid"]))
            first = store.records.last_seq() + 1
            store.records.put_many([RecordWrite(s, seq, Placement(grid=s["fields"]["grid"]), now)
                                    for seq, s in enumerate(rows, first)])
            store.records.add_conflicts([("households", rec, f, w, lo, now)
                                         for f, w, lo, rec in conflicts])
            for record, old, new in moves:
                household_moved(store, record, old, new, now)
        done["written"] += len(rows)
        done["conflicts"] += len(conflicts)
        if progress:
            progress(min(start + BATCH, len(items)))
    return done


# --- people --------------------------------------------------------------------


def plan_people(store: Storage, rows: Iterable[tuple[int, dict[str, str]]], plan: Plan,
                scope: AdminScope) -> None:
    from ..api.schemas import PersonIn

    grids = _Grids(store, scope)
    shops = {s["id"]: s for s in scope.shops(store.directory.shops())}
    shops.update({s["name"]: s for s in scope.shops(store.directory.shops())})
    seen: dict[str, int] = {}
    for number, row in rows:
        plan.counts["rows"] += 1
        problems: list[RowProblem] = []
        role = ROLE_WORDS.get(row.get("role", ""), row.get("role", "").lower())
        grid_ids = []
        for text in (t for t in _SPLIT.split(row.get("grids", "")) if t):
            grid, code = grids.find(text)
            if grid is None:
                problems.append(RowProblem("people", number, "grids", code, text))
            else:
                grid_ids.append(grid["id"])
        data: dict[str, Any] = {"id": row.get("id", ""), "name": row.get("name", ""),
                                "role": role, "grids": grid_ids}
        if role == "shop":
            shop = shops.get(row.get("shop", ""))
            data["shop"] = shop["id"] if shop else row.get("shop", "")
        if data["id"] in seen:
            problems.append(RowProblem("people", number, "id", "repeated", str(seen[data["id"]])))
        if not problems:
            try:
                data = PersonIn().load(data)
            except Exception as exc:  # noqa: BLE001 - marshmallow's ValidationError
                for name in getattr(exc, "messages", {"id": None}):
                    problems.append(RowProblem("people", number, name, "invalid",
                                               str(row.get(name, ""))[:50]))
        if problems:
            plan.problems.extend(problems)
            continue
        seen[data["id"]] = number
        current = store.directory.person(data["id"])
        if current is not None and not scope.person(current):
            # ids are the district's: taken, as a create would answer, and nothing more
            # (not the role of another community's person, an admin or the auditor)
            plan.problems.append(RowProblem("people", number, "id", "id_taken", data["id"]))
            continue
        if current is not None and (current["role"] != data["role"]
                                    or current["shop"] != data.get("shop")):
            plan.problems.append(RowProblem("people", number, "role", "role_fixed",
                                            current["role"]))
            continue
        refused = _refused(store, number, data, current, scope)
        if refused:
            plan.problems.extend(refused)
            continue
        if current is None:
            plan.counts["new"] += 1
        elif current["name"] == data["name"] and current["grids"] == sorted(set(data["grids"])):
            plan.counts["unchanged"] += 1
            continue
        else:
            plan.counts["changed"] += 1
        plan.people.append({"row": number, "data": data, "exists": current is not None})


def _refused(store: Storage, number: int, data: dict, current: dict | None,
             scope: AdminScope) -> list[RowProblem]:
    """What the write would refuse in this row, by the directory's own checks (a scoped
    admin's new administrator, another community's shop or grids, grids of two
    communities): ``rule`` problems carry the service's message."""
    try:
        if current is None:
            directory.new_person_community(store, data, scope)
        elif sorted(set(data["grids"])) != current["grids"]:
            directory.new_grids_community(store, current, data["grids"], scope)
    except Forbidden:
        return [RowProblem("people", number, "role", "admin_only", data["role"])]
    except ValidationFailed as exc:
        return [RowProblem("people", number, name, "rule", str(messages[0]))
                for name, messages in (exc.fields or {"": [exc.message]}).items()]
    return []


def apply_people(store: Storage, items: list[dict], scope: AdminScope
                 ) -> tuple[int, list[RowProblem]]:
    """Create or update each person through the directory services; a row the service
    refuses (another admin's change since the dry run) is reported, not half-written."""
    written, problems = 0, []
    for item in items:
        data = item["data"]
        try:
            if item["exists"]:
                directory.patch_person(store, data["id"],
                                       {"name": data["name"], "grids": data["grids"]}, scope)
            else:
                directory.create_person(store, data, scope)
            written += 1
        except (IdReused, ApiError) as exc:
            for name in (exc.fields or {"": None}):
                problems.append(RowProblem("people", item["row"], name, "refused"))
    return written, problems


# --- the whole file ------------------------------------------------------------


def _values_only(sheet: str, rows: Iterable[tuple[int, dict[str, str]]], plan: Plan
                 ) -> Iterator[tuple[int, dict[str, str]]]:
    """The rows without a formula saved without its value; those are counted and
    reported here (read as empty, they gave "not allowed: “”")."""
    for number, row in rows:
        formulas = [RowProblem(sheet, number, name, "formula", value[:50])
                    for name, value in row.items() if isinstance(value, Formula)]
        if formulas:
            plan.counts["rows"] += 1
            plan.problems.extend(formulas)
        else:
            yield number, row


def plan(store: Storage, data: bytes, by: str) -> Plan:
    """The dry run over both sheets (people first: households may name their grids), as
    the admin ``by`` may import it (their grids, shops and people only)."""
    scope = admin_scope(store, by)
    book = open_workbook(data)
    out = Plan()
    try:
        with store.snapshot():
            plan_people(store, _values_only("people", read_rows(book, "people"), out), out,
                        scope)
            plan_households(store, _values_only("households", read_rows(book, "households"),
                                                out), out, scope)
    finally:
        book.close()
    out.counts["bad"] = out.bad_rows()
    return out


def apply(store: Storage, planned: Plan, by: str,
          progress: Callable[[int, int], None] | None = None) -> dict[str, Any]:
    """Write a plan's good rows; ``progress(done, total)`` after each batch."""
    total = len(planned.people) + len(planned.households)
    people, problems = apply_people(store, planned.people, admin_scope(store, by))
    if progress:
        progress(len(planned.people), total)
    done = apply_households(
        store, planned.households, by,
        (lambda n: progress(len(planned.people) + n, total)) if progress else None)
    return {"people": people, "households": done["written"],
            "unchanged": done["unchanged"], "conflicts": done["conflicts"],
            "problems": problems}


# --- the template -------------------------------------------------------------

TEMPLATE_HELP = [
    "住户导入说明 / How to fill in this roster",
    "“住户”表：每行一户。网格（填网格编号或名称）必填；户编号和地址至少填一个（户编号空着时，按地址识别同一户）。",
    "Households: one per row. 网格 (grid id or name) is required, and 户编号 or 地址.",
    "人数填整数；标签用逗号或顿号分隔，例如：独居老人、低保。空格子不会清除已有内容。",
    "Members is a whole number; tags are separated by commas. Blank cells change nothing.",
    "“人员”表：编号、姓名、角色（网格员、志愿者、超市、管理员、审计）、网格（多个用逗号分隔）、超市（超市工作人员填）。",
    "People: id, name, role (worker, volunteer, shop, admin, auditor), grids, shop.",
    "同一文件重复导入不会重复写入。先“检查”，确认无误后再“导入”。",
    "Importing the same file again changes nothing. Check first, then import.",
]


def template() -> bytes:
    """The roster template: a help sheet, then 住户 and 人员 with Chinese headers."""
    import io

    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    notes = book.active
    notes.title = "说明"
    for line in TEMPLATE_HELP:
        notes.append([line])
    notes.column_dimensions["A"].width = 120
    for kind, columns in (("households", HOUSEHOLD_COLUMNS), ("people", PEOPLE_COLUMNS)):
        sheet = book.create_sheet(SHEETS[kind][0])
        sheet.append([zh for _f, zh, _en in columns])
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        for letter, (name, _zh, _en) in zip("ABCDEFGH", columns, strict=False):
            sheet.column_dimensions[letter].width = 36 if name in ("address", "notes") else 16
        sheet.freeze_panes = "A2"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
