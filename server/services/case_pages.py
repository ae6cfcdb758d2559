"""What the cases pages show: the dispatch board, a case page, the 办结率 page's
monthly series, a volunteer's wishes and cases, and the web claim of a wish.

Views stay thin: every query and rule lives here or in ``services.cases``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sync.cases import Actor, check_locked, check_step, sees, step_updates, without_reporter
from sync.errors import ChangeRejected

from .. import clock
from ..errors import InvalidState, NotFound
from ..storage import Storage
from .admin_scope import AdminScope
from .case_public import categories
from .case_report import case_report
from .cases import current, detail_of, write_server_version
from .community_time import community_zone

BOARD_LIMIT = 500


def grid_names(store: Storage) -> dict[str, str]:
    return {g["id"]: g["name"] for g in store.directory.grids()}


def assignable(store: Storage) -> dict[str, list[dict]]:
    """grid → active workers and volunteers holding it (directly or from above)."""
    out: dict[str, list[dict]] = {}
    for person in store.directory.people():
        if person["role"] in ("worker", "volunteer") and person["active"]:
            for grid in store.directory.descendants(person["grids"]):
                out.setdefault(grid, []).append(person)
    return out


def board(store: Storage, grid: str | None, scope: AdminScope) -> dict[str, Any]:
    """Open cases (not closed or cancelled) by grid, overdue ones marked, oldest first:
    of ``grid`` (and those under it) or of every grid within the admin's reach."""
    with store.snapshot():
        grids = scope.under(store, grid)
        rows = store.cases.board(grids=grids, limit=BOARD_LIMIT)
        now = clock.iso()
        names = grid_names(store)
        people = {p["id"]: p for p in store.directory.people()}
        cases = []
        for row in rows:
            state = current(store, row["id"])
            f = state["fields"]
            cases.append({"id": row["id"], "version": state["version"], **f,
                          "overdue": bool(f.get("due_at") and f["due_at"] < now),
                          "assignee_name": people.get(f.get("assignee") or "", {}).get("name")})
        by_grid: dict[str, list[dict]] = {}
        for case in cases:
            by_grid.setdefault(case["grid"], []).append(case)
        return {"groups": [(g, names.get(g, g), by_grid[g]) for g in sorted(by_grid)],
                "count": len(cases), "overdue": sum(c["overdue"] for c in cases),
                "truncated": len(rows) >= BOARD_LIMIT, "assignable": assignable(store),
                "categories": categories(store),
                "grids": scope.grids(store.directory.grids())}


def case_page(store: Storage, case_id: str, scope: AdminScope) -> dict[str, Any]:
    with store.snapshot():
        state = scope.visible_case(store, case_id)
        people = {p["id"]: p["name"] for p in store.directory.people()}
        return {"case": detail_of(store, state), "people": people,
                "grid_name": grid_names(store).get(state["fields"]["grid"], ""),
                "assignable": assignable(store).get(state["fields"]["grid"], []),
                "categories": categories(store)}


def months_back(today: dt.date, n: int) -> list[dt.date]:
    """The first days of the last ``n`` months up to and including today's."""
    firsts = []
    year, month = today.year, today.month
    for _ in range(n):
        firsts.append(dt.date(year, month, 1))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return firsts[::-1]


def next_month(day: dt.date) -> dt.date:
    return dt.date(day.year + day.month // 12, day.month % 12 + 1, 1)


def local_today(store: Storage) -> dt.date:
    from ledger.rules import zone

    return dt.datetime.now(zone(community_zone(store))).date()


def report_page(store: Storage, grid: str, months: int) -> dict[str, Any]:
    """The report over the last ``months`` months and one report per month."""
    firsts = months_back(local_today(store), months)
    end = next_month(firsts[-1])
    total = case_report(store, grid, firsts[0], end)
    series = [{"month": f.strftime("%Y-%m"),
               **case_report(store, grid, f, next_month(f))} for f in firsts]
    return {"report": total, "series": series, "categories": categories(store),
            "last_day": (end - dt.timedelta(days=1)).isoformat()}


# --- volunteers (/me) -------------------------------------------------------------


def my_cases(store: Storage, person: str) -> dict[str, Any]:
    """Open wishes of the volunteer's grids (reporter details left out) and the cases
    assigned to them, with the points each earned."""
    with store.snapshot():
        row = store.directory.person(person)
        grids = sorted(store.directory.descendants(row["grids"])) if row else []
        wishes = [_summary(current(store, r["id"]), redact=True)
                  for r in store.cases.open_wishes(grids)]
        mine = [_summary(current(store, r["id"])) for r in store.cases.of_assignee(person)]
        return {"wishes": wishes, "mine": mine, "categories": categories(store),
                "names": grid_names(store)}


def _summary(state: dict, *, redact: bool = False) -> dict:
    f = without_reporter(state["fields"]) if redact else state["fields"]
    return {"id": state["id"], "version": state["version"], **f}


def claim_on_web(store: Storage, person: str, role: str, case_id: str, version: int) -> dict:
    """A volunteer claims a wish from /me: the same rule as a device's claim, with the
    version the page showed as its base (someone faster → InvalidState)."""
    with store.transaction():
        state = current(store, case_id)
        row = store.directory.person(person)
        grids = store.directory.descendants(row["grids"]) if row else set()
        actor = Actor(person=person, role=role, in_grid=state["fields"]["grid"] in grids)
        values = {"status": "assigned", "assignee": person}
        if not sees(state["fields"], actor):
            raise NotFound("no such wish")
        try:
            check_locked(state["fields"])
            if state["version"] != version:
                raise ChangeRejected("stale", "the wish changed since the page was shown")
            check_step(state["fields"], values, actor)
        except ChangeRejected as exc:
            raise InvalidState(exc.message) from None
        at = clock.iso()
        return write_server_version(store, state, step_updates("assigned", values, at=at),
                                    case_id=case_id, by=person, step="assigned", at=at)
