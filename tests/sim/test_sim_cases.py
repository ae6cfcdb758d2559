"""Cases in the simulation: the loop happens under faults, and the cases checker is
not vacuous (a step out of order and a lost history step are caught)."""

from __future__ import annotations

import json

from tests.helpers import raw_db
from tests.sim import cases as sim_cases
from tests.sim.driver import build, check_invariants, finish, step


def test_cases_close_and_pay_under_faults_and_the_checker_catches_tampering(tmp_path):
    sim = build(5, 6, tmp_path / "data")
    try:
        for _ in range(300):
            try:
                sim.steps.append(step(sim))
            except Exception as exc:  # local refusals, as run() records them
                if type(exc).__name__ not in ("InvalidInput", "UnknownRecord"):
                    raise
        finish(sim)
        stats = check_invariants(sim)
        assert stats["cases"] > 5 and stats["cases_closed"] >= 1, (stats, sim.steps)
        conn = raw_db(tmp_path / "data")
        records = {(r["collection"], r["id"]): json.loads(r["state"])
                   for r in conn.execute("SELECT collection, id, state FROM records")}
        entries = [dict(r) for r in conn.execute("SELECT * FROM entries ORDER BY seq")]
        order = "ctid" if conn.postgres else "rowid"   # insertion order, as the driver reads it
        ops = [dict(r) for r in conn.execute(
            f"SELECT row_number() OVER (ORDER BY {order}) AS n, * FROM ops ORDER BY {order}")]
        closed = next(id for (c, id), s in records.items()
                      if c == "cases" and s["fields"]["status"] == "closed")
        conn.execute("UPDATE case_steps SET status = 'done' WHERE case_id = ? AND n = 2",
                     (closed,))
        problems = sim_cases.check(conn, records, entries, ops)
        assert any("out of order" in p and closed in p for p in problems), problems
        conn.execute("DELETE FROM case_steps WHERE case_id = ? AND op IS NOT NULL", (closed,))
        problems = sim_cases.check(conn, records, entries, ops)
        assert any("missing from the history" in p for p in problems) or any(
            closed in p for p in problems), problems
        conn.close()
    finally:
        for dev in sim.devices:
            dev.client.close()
