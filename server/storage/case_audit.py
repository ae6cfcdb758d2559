"""Audit queries for the points cases pay (``gridsync ledger verify``).

Every ``case:<id>`` earn must stand on its case and its evidence: the case
is stored, ``closed``, assigned to the credited volunteer, with ``points``
equal to the amount; the evidence is a stored op from a device of that
volunteer, applied to that case, that set ``done``. And every closed case
with points > 0 has an earn paying them.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from primitives import names

from .connection import Database
from .ledger_audit import parse_object


class CaseAuditStore:
    def __init__(self, db: Database):
        self.db = db

    def problems(self) -> Iterator[tuple[int | None, str, str]]:
        """(earn seq or None, case id, problem), streamed in case order."""
        # The redundant IN repeats entries_once's WHERE so its partial index is used.
        evidence = self.db.sql.json_text("e.body", "evidence")
        rows = self.db.execute(
            f"""SELECT e.seq, substr(e.ref, length(:case) + 1) AS case_id, e.credit, e.amount,
                      {evidence} AS evidence,
                      r.state, o.collection AS op_collection, o.record AS op_record,
                      o.status AS op_status, o.change AS op_change, d.person AS op_person
               FROM entries e
               LEFT JOIN records r
                 ON r.collection = 'cases' AND r.id = substr(e.ref, length(:case) + 1)
               LEFT JOIN ops o ON o.op = {evidence}
               LEFT JOIN devices d ON d.id = o.device
               WHERE e.kind IN ('earn', 'redeem', 'reverse') AND e.kind = 'earn'
                 AND e.ref LIKE :case || '%'
               ORDER BY e.seq""", {"case": names.prefix(names.CASE)})
        paid: set[str] = set()
        for row in rows:
            seq, case = int(row["seq"]), row["case_id"]
            paid.add(case)
            problem = _earn_problem(row)
            if problem is not None:
                yield seq, case, problem
        for row in self.db.execute(
                "SELECT id, points FROM cases WHERE status = 'closed' AND points > 0 "
                "ORDER BY id"):
            if row["id"] not in paid:
                yield None, row["id"], (f"it is closed with {row['points']} points but no earn "
                                        "entry pays them")


def _earn_problem(row: Any) -> str | None:
    if row["state"] is None:
        return "the case is not stored"
    state, problem = parse_object(row["state"])
    if state is None:
        return f"its stored state {problem}"
    fields = state.get("fields") if isinstance(state.get("fields"), dict) else {}
    assignee = fields.get("assignee")  # type: ignore[union-attr]
    if fields.get("status") != "closed":  # type: ignore[union-attr]
        return f"its status is {fields.get('status')!r}, not 'closed'"  # type: ignore[union-attr]
    if row["credit"] != names.volunteer(assignee):
        return f"it pays {row['credit']}, but the case's assignee is {assignee!r}"
    if fields.get("points") != row["amount"] or type(fields.get("points")) is not int:  # type: ignore[union-attr]
        return f"the case has {fields.get('points')!r} points, the earn pays {row['amount']}"  # type: ignore[union-attr]
    if row["op_collection"] != "cases" or row["op_record"] != row["case_id"]:
        return f"its evidence {row['evidence']} is not a stored change to the case"
    change, _ = parse_object(row["op_change"])
    values = (change or {}).get("fields")
    if row["op_status"] not in ("applied", "conflict") or not isinstance(values, dict) \
            or values.get("status") != "done":
        return f"its evidence {row['evidence']} is not the applied step that set 'done'"
    if row["op_person"] != assignee:
        return f"its evidence {row['evidence']} was sent by {row['op_person']!r}, not the " \
               "assignee"
    return None
