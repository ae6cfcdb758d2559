"""Words for cases on the pages (translated), and reading a due date typed on a page."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from primitives import times

from .. import clock
from ..services.community_time import community_zone
from ..storage import Storage

STATUS = {"open": _l("Waiting for dispatch"), "assigned": _l("Assigned"),
          "accepted": _l("Being handled"), "done": _l("Done, awaiting rating"),
          "closed": _l("Closed"), "cancelled": _l("Cancelled")}
KIND = {"report": _l("Resident's report"), "patrol": _l("Found on patrol"),
        "wish": _l("Micro-wish")}
DIFFICULTY = {1: _l("Easy"), 2: _l("Medium"), 3: _l("Hard")}


def status(value: str | None) -> str:
    return str(STATUS.get(value or "", value or ""))


def kind(value: str | None) -> str:
    return str(KIND.get(value or "", value or ""))


def category_names(names: dict[str, str]) -> dict[str, str]:
    return dict(names)


def due_at(text: str, store: Storage) -> str:
    """A date typed on a page (YYYY-MM-DD) as the end of that local day, in UTC."""
    from ledger.rules import zone

    day = dt.date.fromisoformat(text.strip()[:10])
    try:
        end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(),
                                  tzinfo=zone(community_zone(store)))
        out = clock.iso(int(end.timestamp() * 1000) - 1000).replace(".000Z", "Z")
    except (OverflowError, OSError):  # 9999-12-31 has no next day
        raise ValueError(f"{day} is outside the dates a due time can have") from None
    times.parse(out)  # ValueError for a time the wire cannot carry (year 1 → "1-01-01T...")
    return out


def excel_labels() -> dict[str, Any]:
    return {
        "summary": _("Closure rate"), "by_category": _("By category"), "cases": _("Cases"),
        "total": _("Total"),
        "columns": [_("Month"), _("Received"), _("Closed"), _("Cancelled"), _("Open"),
                    _("Overdue"), _("Closure rate"), _("Satisfaction"),
                    _("Median hours to close")],
        "category_columns": [_("Category"), _("Received"), _("Closed")],
        "case_columns": [_("Case"), _("Grid"), _("Kind"), _("Category"), _("Title"),
                         _("Status"), _("Opened by"), _("Assignee"), _("Difficulty"),
                         _("Received at"), _("Due by"), _("Done at"), _("Closed at"),
                         _("Rating (1 to 5 stars)"), _("Rating note"), _("Points"),
                         _("Resolution")],
        "statuses": {k: str(v) for k, v in STATUS.items()},
        "kinds": {k: str(v) for k, v in KIND.items()},
        "difficulties": {k: str(v) for k, v in DIFFICULTY.items()},
        "resident": _("A resident"),
    }


def init_app(app: Any) -> None:
    app.jinja_env.filters.update(case_status=status, case_kind=kind)
    app.jinja_env.globals.update(case_difficulty=lambda n: str(DIFFICULTY.get(n or 1, n)))
