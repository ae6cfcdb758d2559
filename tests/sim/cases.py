"""Cases in the seeded simulation (tests/sim/driver.py): steps and invariants.

Steps: workers open cases offline (patrol, reports taken at a door, wishes),
residents report through a grid's code, the office assigns and reassigns,
two phones claim one wish at once, assignees accept, finish or give back
offline, a worker confirms a done case while the resident rates it through
the receipt (racing). Invariants: one earn per closed volunteer case paying
``case_points[difficulty]`` (none for anything else), no step out of order
in any case's history, and the history complete (every applied step op in
it, its last status the case's status).
"""

from __future__ import annotations

import json
from typing import Any

from client_sdk import cases as desk
from sync.cases import STEP_FROM

CASE_RULES = {"case_categories": {"road": "道路设施", "elderly": "助老服务"},
              "case_points": {"1": 5, "2": 10, "3": 0}}
#: Who may be assigned a case of each grid (the office's choice).
ASSIGNABLE = {"g1": ("w1", "w1b", "v1"), "g1a": ("w1", "w1b", "v1"), "g2": ("w2", "v2")}

STEPS = {"case_open": 4, "case_report": 2, "case_assign": 5, "case_claim_race": 2,
         "case_work": 10, "case_close_race": 6}


def setup(sim: Any) -> None:
    """Case rules on top of the world's rules, and a report code for g1."""
    rules = sim.admin.ok(sim.admin.get("/rules"))
    body = {k: rules[k] for k in ("activities", "daily_cap", "timezone")}
    sim.admin.ok(sim.admin.put("/rules", {**body, **CASE_RULES}))
    sim.cases["code"] = sim.admin.ok(sim.admin.post("/grids/g1/report-code"), 201)["code"]
    sim.cases["receipts"] = {}


def _devices(sim: Any, role: str | None = None) -> list[Any]:
    return [d for d in sim.devices if d.client.role in ((role,) if role else
                                                        ("worker", "volunteer"))]


def _local(dev: Any, **want: Any) -> list[dict]:
    return [c for c in desk.cases(dev.client) if c["version"] and not c.get("pending")
            and all(c["fields"].get(k) == v for k, v in want.items())]


def do_case_open(sim: Any) -> str:
    dev = sim.rng.choice(_devices(sim, "worker"))
    grids = sim.admin.ok(sim.admin.get(f"/people/{dev.person}"))["grids"]
    grid = sim.rng.choice(grids)
    kind = sim.rng.choice(("patrol", "wish", "wish", "report"))
    rec = desk.open_case(dev.client, grid=grid, kind=kind,
                         category=sim.rng.choice(("road", "elderly")),
                         title=sim.rng.choice(("井盖松动", "帮老人买菜", "楼道堆物")),
                         reporter_phone="13700000000" if kind != "patrol" else None)
    return f"{dev.name} case_open {kind} {grid} {rec['id'][-8:]}"


def do_case_report(sim: Any) -> str:
    resp = sim.admin.client.post("/api/v1/public/reports", json={
        "code": sim.cases["code"], "category": "road", "title": "路灯坏了"})
    if resp.status_code == 201:
        out = resp.get_json()
        sim.cases["receipts"][out["case"]] = out["receipt"]
        return f"resident report {out['case'][-8:]}"
    return f"resident report -> {resp.status_code}"


def do_case_assign(sim: Any) -> str:
    status = sim.rng.choice(("open", "open", "assigned", "accepted"))
    found = sim.admin.ok(sim.admin.get(f"/cases?status={status}"))["cases"]
    if not found:
        return f"assign (no {status} case)"
    case = sim.rng.choice(found)
    grid = case["fields"]["grid"]
    body = {"assignee": sim.rng.choice(ASSIGNABLE[grid]), "difficulty": sim.rng.randint(1, 3)}
    resp = sim.admin.post(f"/cases/{case['id']}/assign", body)
    if resp.status_code >= 500:
        sim.server_errors.append(f"assign {resp.status_code}")
    return f"admin assign {case['id'][-8:]} {body['assignee']} -> {resp.status_code}"


def do_case_claim_race(sim: Any) -> str:
    """Two phones claim the same open wish before either syncs (first to arrive wins)."""
    devices = _devices(sim)
    sim.rng.shuffle(devices)
    for a in devices:
        for b in devices:
            if a.person == b.person:
                continue
            theirs = {c["id"] for c in _local(b, kind="wish", status="open")}
            shared = [c for c in _local(a, kind="wish", status="open") if c["id"] in theirs]
            if shared:
                wish = sim.rng.choice(shared)
                desk.claim(a.client, wish["id"])
                desk.claim(b.client, wish["id"])
                return f"{a.name}+{b.name} claim race {wish['id'][-8:]}"
    return "claim race (no shared wish)"


def do_case_work(sim: Any) -> str:
    """An assignee takes the next step offline: accept, finish, or give it back."""
    work = [(d, c) for d in _devices(sim) for c in desk.cases(d.client, mine=True)
            if c["version"] and c["fields"].get("status") in ("assigned", "accepted")]
    if not work:
        return "case_work (nothing)"
    dev, case = sim.rng.choice(work)
    status = case["fields"]["status"]
    if sim.rng.random() < 0.1:
        desk.give_back(dev.client, case["id"])
        return f"{dev.name} give back {case['id'][-8:]}"
    if status == "assigned":
        desk.accept(dev.client, case["id"])
        if sim.rng.random() < 0.5:  # and finish it in the same offline stretch
            desk.done(dev.client, case["id"], "办好了")
            return f"{dev.name} accept+done {case['id'][-8:]}"
        return f"{dev.name} accept {case['id'][-8:]}"
    desk.done(dev.client, case["id"], "办好了")
    return f"{dev.name} done {case['id'][-8:]}"


def do_case_close_race(sim: Any) -> str:
    """A worker confirms a done case while its resident rates it (one of them wins)."""
    workers = _devices(sim, "worker")
    sim.rng.shuffle(workers)
    for dev in workers:
        done = [c for c in _local(dev, status="done") if c["fields"].get("assignee") != dev.person]
        if done:
            case = sim.rng.choice(done)
            desk.close(dev.client, case["id"], sim.rng.randint(1, 5))
            note = f"{dev.name} confirm {case['id'][-8:]}"
            receipt = sim.cases["receipts"].get(case["id"])
            if receipt and sim.rng.random() < 0.7:
                resp = sim.admin.client.post(f"/api/v1/public/reports/{receipt}/rating",
                                             json={"rating": sim.rng.randint(1, 5)})
                note += f" || resident rates -> {resp.status_code}"
            return note
    receipts = list(sim.cases["receipts"].items())
    if receipts:
        case_id, receipt = sim.rng.choice(receipts)
        resp = sim.admin.client.post(f"/api/v1/public/reports/{receipt}/rating",
                                     json={"rating": sim.rng.randint(1, 5)})
        if resp.status_code >= 500:
            sim.server_errors.append(f"rating {resp.status_code}")
        return f"resident rates {case_id[-8:]} -> {resp.status_code}"
    return "close race (nothing done)"


# --- invariants -------------------------------------------------------------------


def check(conn: Any, records: dict, entries: list[dict], ops: list[dict]) -> list[str]:
    """Problems with cases: earns, step order, history (empty when all is well)."""
    problems: list[str] = []
    people = {r["id"]: r["role"] for r in conn.execute("SELECT id, role FROM people")}
    history: dict[str, list[dict]] = {}
    for row in conn.execute("SELECT case_id, status, op FROM case_steps ORDER BY case_id, n"):
        history.setdefault(row["case_id"], []).append(dict(row))
    earns: dict[str, list[dict]] = {}
    for e in entries:
        if e["kind"] == "earn" and e["ref"].startswith("case:"):
            earns.setdefault(e["ref"].removeprefix("case:"), []).append(e)
    cases = {id: s for (c, id), s in records.items() if c == "cases"}
    for id, state in cases.items():
        f = state["fields"]
        steps = history.get(id, [])
        statuses = [s["status"] for s in steps]
        if not statuses or statuses[0] != "open":
            problems.append(f"cases: {id} history does not start with open: {statuses}")
        for before, after in zip(statuses, statuses[1:], strict=False):
            allowed = STEP_FROM[after] | ({"assigned", "accepted"} if after == "assigned"
                                          else set())
            if before not in allowed:
                problems.append(f"cases: {id} stepped {before} -> {after} out of order")
        if statuses and statuses[-1] != f["status"]:
            problems.append(f"cases: {id} is {f['status']} but its history ends {statuses[-1]}")
        paid = earns.get(id, [])
        due = (f["status"] == "closed" and people.get(f.get("assignee")) == "volunteer"
               and CASE_RULES["case_points"].get(str(f.get("difficulty"))))
        if due:
            if len(paid) != 1 or paid[0]["amount"] != due or f.get("points") != due:
                problems.append(f"cases: closed volunteer case {id} (points {f.get('points')}, "
                                f"due {due}) has earns {[e['amount'] for e in paid]}")
        elif paid:
            problems.append(f"cases: {id} ({f['status']}, assignee {f.get('assignee')}) earned "
                            f"{[e['amount'] for e in paid]}")
    in_history = {s["op"] for steps in history.values() for s in steps if s["op"]}
    for o in ops:
        if o["collection"] == "cases" and o["status"] in ("applied", "conflict"):
            change = json.loads(o["change"])
            if ("status" in change["fields"] or change["base"] is None) \
                    and o["op"] not in in_history:
                problems.append(f"cases: applied step {o['op']} on {o['record']} is missing "
                                "from the history")
    for id in earns:
        if id not in cases:
            problems.append(f"cases: earn for unknown case {id}")
    return problems


def stats(records: dict, entries: list[dict]) -> dict[str, int]:
    cases = [s for (c, _), s in records.items() if c == "cases"]
    return {"cases": len(cases),
            "cases_closed": sum(s["fields"]["status"] == "closed" for s in cases),
            "case_earns": sum(e["kind"] == "earn" and e["ref"].startswith("case:")
                              for e in entries)}
