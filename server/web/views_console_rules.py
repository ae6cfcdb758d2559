"""The office's 积分规则 page: activities and their points per hour, the daily cap and
time zone, the case categories residents choose from, and the points for closing a
case by difficulty.

The page posts the whole rule set to the service of ``PUT /api/v1/rules``, loaded with
its schema (``RulesIn``), so the page allows exactly what the API allows; each
schema message is shown beside the row or field it is about.
"""

from __future__ import annotations

from typing import Any

from flask import redirect, render_template, request, url_for
from flask_babel import gettext as _
from marshmallow import ValidationError

from ..api import schemas as s
from ..errors import ValidationFailed
from ..services import directory
from ..services.community_time import zone_of
from ..state import storage
from . import forms
from .blueprint import bp
from .session import my_scope, signed_in

BLANK_ROWS = 3
DIFFICULTIES = ("1", "2", "3")
#: The tables on the page: rules field → (form field prefix, error key prefix).
TABLES = {"activities": ("", "row-"), "case_categories": ("cat_", "cat-row-")}


def _rules_page(*, status: int = 200, errors: dict | None = None, rows: list | None = None,
                categories: list | None = None, head: dict | None = None,
                message: str | None = None) -> Any:
    current = directory.current_rules(storage()) or {}
    if rows is None:
        rows = [{"key": k, "name": v.get("name", ""), "points_per_hour": v["points_per_hour"]}
                for k, v in sorted(current.get("activities", {}).items())]
    if categories is None:
        categories = [{"key": k, "name": v}
                      for k, v in sorted((current.get("case_categories") or {}).items())]
    if head is None:
        points = current.get("case_points") or {}
        head = {"daily_cap": "" if current.get("daily_cap") is None else current["daily_cap"],
                "timezone": zone_of(current or None),
                **{f"case_points_{d}": points.get(d, "") for d in DIFFICULTIES}}
    district = my_scope().district  # a scoped admin reads the district's rules, no blanks
    blanks = BLANK_ROWS if district else 0
    rows = list(rows) + [{"key": "", "name": "", "points_per_hour": ""}] * blanks
    categories = list(categories) + [{"key": "", "name": ""}] * blanks
    return render_template("admin/rules.html", rows=rows, categories=categories, head=head,
                           errors=errors or {}, current=current or None, message=message,
                           district=district, difficulties=DIFFICULTIES), status


@bp.route("/admin/rules", methods=["GET"])
@signed_in("admin")
def admin_rules() -> Any:
    return _rules_page(message=_("Rules saved. New verified hours earn points by them.")
                       if request.args.get("saved") else None)


def _table(prefix: str, *, rate: bool, twice: str, new_key: str
           ) -> tuple[list[dict], dict[str, Any], dict[str, str]]:
    """One posted table: (rows as typed, key → entry, duplicate-row errors). Rows left
    empty and rows ticked for removal are left out; a row without a code gets one made
    up (``<new_key>-`` and 8 hex digits, as a grid or person without an id)."""
    keys = request.form.getlist(f"{prefix}key")[:200]
    names = request.form.getlist(f"{prefix}label")[:200]
    rates = request.form.getlist("points_per_hour")[:200] if rate else [""] * len(keys)
    removed = set(request.form.getlist(f"{prefix}remove"))
    rows: list[dict] = []
    entries: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for key, name, number in zip(keys, names, rates, strict=False):
        key, name, number = key.strip()[:64], name.strip()[:200], number.strip()[:16]
        if not (key or name or number) or key in removed:
            continue
        key = key or forms.new_id(new_key)
        if key in entries:
            errors[str(len(rows))] = twice
        if rate:
            rows.append({"key": key, "name": name, "points_per_hour": number})
            entries[key] = {"points_per_hour": int(number) if number.isdigit() else number,
                            **({"name": name} if name else {})}
        else:
            rows.append({"key": key, "name": name})
            entries[key] = name
    return rows, entries, errors


@bp.route("/admin/rules", methods=["POST"])
@signed_in("admin")
def admin_put_rules() -> Any:
    """Replace the rules with the page as posted: the service of ``PUT /api/v1/rules``
    (the district's rules: district-wide admins only)."""
    my_scope().require_district("changes the earning rules")
    rows, activities, twice = _table("", rate=True, twice=_("This activity is listed twice."),
                                     new_key="act")
    categories, case_categories, cat_twice = _table(
        "cat_", rate=False, twice=_("This category is listed twice."), new_key="cat")
    errors = {f"row-{i}": m for i, m in twice.items()}
    errors.update({f"cat-row-{i}": m for i, m in cat_twice.items()})
    cap = forms.text("daily_cap", 16)
    head: dict[str, Any] = {"daily_cap": cap, "timezone": forms.text("timezone", 64)}
    points: dict[str, int | str] = {}
    for d in DIFFICULTIES:
        head[f"case_points_{d}"] = forms.text(f"case_points_{d}", 30)
        if head[f"case_points_{d}"]:
            points[d] = forms.whole_number(f"case_points_{d}")
    edited = {"activities": activities, "timezone": head["timezone"],
              "daily_cap": None if cap == "" else (int(cap) if cap.isdigit() else cap)}
    if "cat_key" in request.form:  # a page from before the case tables keeps them as they are
        edited["case_categories"] = case_categories
    if any(f"case_points_{d}" in request.form for d in DIFFICULTIES):
        edited["case_points"] = points
    # The rules are replaced whole: anything the page did not post is carried over.
    current = directory.current_rules(storage()) or {}
    body = {**{k: v for k, v in current.items()
               if k in s.RulesIn().fields and k not in edited}, **edited}
    drawn = request.form.get("rules_hash")
    if drawn is not None and drawn != current.get("hash", ""):
        # Changed since this page was drawn (another admin, the API): saving would undo
        # that change unseen. The page comes back as typed, drawn on the rules as they are
        # now, so a second save is a choice made knowing it.
        errors["_form"] = _("Someone changed the rules after you opened this page. Your "
                            "changes are below, not saved yet; save again to replace the "
                            "rules with this page, or open the page afresh to see theirs.")
        return _rules_page(status=409, errors=errors, rows=rows, categories=categories,
                           head=head)
    data, schema_errors = forms.load(s.RulesIn(), body)
    if data is not None and not errors:
        try:
            directory.put_rules(storage(), data)
            return redirect(url_for("web.admin_rules", saved=1), 303)
        except ValidationFailed as exc:
            schema_errors = forms.service_errors(exc)
    errors.update(_placed(schema_errors, body, {"activities": rows,
                                                "case_categories": categories}))
    return _rules_page(status=400, errors=errors, rows=rows, categories=categories, head=head)


def _placed(errors: dict[str, str], body: dict, tables: dict[str, list[dict]]
            ) -> dict[str, str]:
    """Schema messages about one entry of a table (``activities.<key>``,
    ``case_categories.<key>``) go to that row; about ``case_points.<n>`` to its input."""
    nested_fields = (*TABLES, "case_points")
    out = {k: v for k, v in errors.items() if k not in nested_fields}
    if not any(k in errors for k in nested_fields):
        return out
    try:
        s.RulesIn().load(body)
        return out
    except ValidationError as exc:
        messages = exc.messages if isinstance(exc.messages, dict) else {}
    for field, (_prefix, error_prefix) in TABLES.items():
        nested = messages.get(field)
        if isinstance(nested, dict):
            for i, row in enumerate(tables[field]):
                if row["key"] in nested:
                    out[f"{error_prefix}{i}"] = forms.field_errors({"x": nested[row["key"]]})["x"]
        elif nested:
            out[field] = errors[field]
    nested = messages.get("case_points")
    if isinstance(nested, dict):
        for d, message in nested.items():
            out[f"case_points_{d}"] = forms.field_errors({"x": message})["x"]
    return out
