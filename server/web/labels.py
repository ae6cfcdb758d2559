"""How records' codes read on the pages: activities by their display names (from the
earning rules), visit outcomes, the Chinese labels of household and visit fields."""

from __future__ import annotations

from flask import g
from flask_babel import lazy_gettext as _l

from ..state import storage

OUTCOMES = {"met": _l("Met"), "not_home": _l("Not at home"), "refused": _l("Refused")}

#: Field labels for conflicts and exports (collection → field → label).
FIELDS = {
    "households": {"grid": _l("Grid"), "address": _l("Address"),
                   "head_name": _l("Head of household"), "members": _l("Members"),
                   "tags": _l("Tags"), "phone": _l("Phone"),
                   "notes": _l("Notes"), "deleted": _l("Deleted")},
    "visits": {"household": _l("Household"), "visited_at": _l("Visited at"),
               "outcome": _l("Outcome"), "needs": _l("Needs"), "hazards": _l("Hazards"),
               "notes": _l("Notes"), "deleted": _l("Deleted")},
    "service_logs": {"volunteer": _l("Volunteer"), "activity": _l("Activity"),
                     "started_at": _l("Started at"), "minutes": _l("Minutes"),
                     "notes": _l("Notes"), "status": _l("Status"), "deleted": _l("Deleted")},
    "cases": {"grid": _l("Grid"), "kind": _l("Kind of case"), "category": _l("Category"),
              "title": _l("Title"), "detail": _l("Details"), "household": _l("Household"),
              "visit": _l("Visit"), "reporter_name": _l("Reporter's name"),
              "reporter_phone": _l("Reporter's phone"), "due_at": _l("Due"),
              "status": _l("Status"), "assignee": _l("Assignee"),
              "resolution": _l("Resolution"), "rating": _l("Rating"),
              "deleted": _l("Deleted")},
}


def activity_names() -> dict[str, str]:
    """activity code → display name, from the rules in force (once per request)."""
    if "activity_names" not in g:
        rules = storage().directory.rules()
        acts = rules[0]["activities"] if rules else {}
        g.activity_names = {k: v.get("name") or k for k, v in acts.items()}
    return g.activity_names


def activity(code: str | None) -> str:
    """Jinja filter: an activity's display name (its code when it has none)."""
    if not code:
        return ""
    return activity_names().get(code, code)


def outcome(code: str | None) -> str:
    return str(OUTCOMES.get(code or "", code or ""))


def field_label(collection: str, name: str) -> str:
    return str(FIELDS.get(collection, {}).get(name, name))

#: Roster import problems (server.services.roster_import.RowProblem.code).
IMPORT_PROBLEMS = {
    "unknown_grid": _l("No grid has this id or name: “{value}”."),
    "ambiguous_grid": _l("Several grids have this name: “{value}”; use the grid's id."),
    "not_a_count": _l("Members must be a whole number, not “{value}”."),
    "no_key": _l("Give the household number or the address."),
    "repeated": _l("The same household or person as row {value}."),
    "invalid": _l("This value is not allowed: “{value}”."),
    "role_fixed": _l("This person exists with another role ({value}); a role cannot change."),
    "id_taken": _l("Someone else already has the id “{value}”; choose another."),
    "refused": _l("Refused by the server (changed by someone else since the check?)."),
    "admin_only": _l("Only a district-wide administrator can add administrators and auditors "
                     "or change their grids."),
    "formula": _l("This cell holds a formula ({value}), not a value: type the value itself "
                  "(or copy and paste it as values)."),
}
#: Roster columns by field, for the problems table.
IMPORT_COLUMNS = {
    "key": "户编号", "grid": "网格", "address": "地址", "head_name": "户主姓名", "members": "人数",
    "phone": "联系电话", "tags": "标签", "notes": "备注", "id": "编号", "name": "姓名",
    "role": "角色", "grids": "网格", "shop": "超市"}
