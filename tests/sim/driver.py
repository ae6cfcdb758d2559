"""A seeded, deterministic simulation of field devices against the real app, in-process.

    python -m tests.sim.driver --seed 7 --steps 300 --devices 6

Devices are real ``FieldClient``s (their own SQLite store, key and clock)
talking to ``create_app`` on a fresh data dir through ``FlaskTransport``,
wrapped in ``FaultyTransport``: requests dropped before the server sees them,
answers dropped after the server committed, deliveries duplicated, old
requests replayed later (reordered), and devices offline for a while. Clocks
drift within and beyond the server's 5-minute bound. Steps are drawn from
``random.Random(seed)``: households added and edited from two devices of one
grid, visits, service logs, verifications racing from two workers,
redemptions (new, retried, replayed, racing from two terminals for the same
points), scope changes (PATCH /people grids), and cases (``tests.sim.cases``: claims racing
from two phones, offline accept and done, a resident's rating racing a worker's
confirmation).

After the last step every device comes back online and syncs, then
``check_invariants`` tests docs/design.md invariants 1-6 against the server
database and every device. A failure raises ``SimFailure`` carrying the seed
and the step list; ``shrink`` finds the shortest prefix of steps that still
fails ("retry with the first k steps" bisection).

Determinism: every choice comes from the seeded generator; ids of records
come from the client (time based) and so differ run to run, but the choices
(which device, which record by index, which fault) do not.
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(ROOT))

from client_sdk import (  # noqa: E402
    FieldClient,
    FieldClientError,
    FlaskTransport,
    RetryPolicy,
    TransportError,
)
from sync.collections import CASE_STEP_FIELDS  # noqa: E402
from tests.sim import cases as sim_cases  # noqa: E402

COLLECTIONS = ("households", "visits", "service_logs", "cases")
MINUTE = 60_000
#: Device clock offsets drawn for skew steps: inside and beyond the 5-minute bound.
SKEWS_MS = (0, 0, 90_000, -120_000, 4 * MINUTE, 7 * MINUTE, 30 * MINUTE, -10 * MINUTE)
ADDRESSES = ("幸福路 1 号", "和平街 2 号", "'; DROP TABLE records; --", "<script>alert(1)</script>",
             "长寿里 3 弄 4 号 502 室", "Robert'); --", "a\u0000b", "😀 路 8 号")


class SimFailure(AssertionError):
    def __init__(self, message: str, seed: int, steps: list[str]):
        self.seed, self.steps, self.message = seed, steps, message
        super().__init__(f"{message}\nseed={seed}, {len(steps)} steps")


# --- the network -------------------------------------------------------------------

@dataclass
class Faults:
    drop_request: float = 0.08
    drop_answer: float = 0.08
    duplicate: float = 0.05
    remember: float = 0.1  # chance a request is kept for a later replay (reorder)


class FaultyTransport:
    """A link that loses, duplicates and reorders; the server behind it is real.

    ``acked`` collects the results of every /sync answer that reached the
    device: op → status (what the device was told). ``redeemed`` collects
    redemption answers that reached the shop: id → (status, body).
    """

    def __init__(self, inner: Any, rng: random.Random, faults: Faults, log: list[str]):
        self.inner, self.rng, self.faults, self.log = inner, rng, faults, log
        self.offline = False
        self.enabled = True
        self.acked: dict[str, dict] = {}
        self.redeemed: dict[str, tuple[int, Any]] = {}
        self.kept: list[tuple[str, Any, str | None]] = []
        self.counts = {"dropped_requests": 0, "dropped_answers": 0, "duplicates": 0,
                       "replays": 0, "offline_refusals": 0}

    def _note(self, path: str, body: Any, answer: Any) -> None:
        status, _, data = answer
        if path == "/sync" and status == 200 and isinstance(data, dict):
            for result in data.get("results", []):
                self.acked[result["op"]] = result
        if path == "/redemptions" and isinstance(body, dict):
            self.redeemed[body["id"]] = (status, data)

    def post(self, path: str, body: Any, token: str | None = None) -> Any:
        if self.offline:
            self.counts["offline_refusals"] += 1
            raise TransportError("offline")
        faulty = self.enabled and path != "/devices/enroll"
        if faulty and self.rng.random() < self.faults.drop_request:
            self.counts["dropped_requests"] += 1
            raise TransportError("request lost (sim)")
        if faulty and self.rng.random() < self.faults.remember:
            self.kept.append((path, json.loads(json.dumps(body)), token))
        answer = self.inner.post(path, body, token)
        if faulty and self.rng.random() < self.faults.duplicate:
            self.counts["duplicates"] += 1
            answer = self.inner.post(path, body, token)  # the second delivery's answer
        if faulty and self.rng.random() < self.faults.drop_answer:
            self.counts["dropped_answers"] += 1
            raise TransportError("answer lost after commit (sim)")
        self._note(path, body, answer)
        return answer

    def get(self, path: str, token: str | None = None, params: Any = None) -> Any:
        if self.offline:
            raise TransportError("offline")
        return self.inner.get(path, token, params)

    def replay_one(self) -> int | None:
        """Deliver a request remembered earlier (late, out of order); answer discarded."""
        if not self.kept:
            return None
        path, body, token = self.kept.pop(self.rng.randrange(len(self.kept)))
        self.counts["replays"] += 1
        return int(self.inner.post(path, body, token)[0])


# --- the world -----------------------------------------------------------------------

@dataclass
class Dev:
    name: str
    person: str
    client: FieldClient
    net: FaultyTransport
    skew_ms: int = 0


@dataclass
class Sim:
    seed: int
    data_dir: Path
    app: Any
    admin: Any  # tests.helpers.ApiClient
    rng: random.Random
    devices: list[Dev]
    cards: dict[str, str]
    steps: list[str] = field(default_factory=list)
    redemption_bodies: list[tuple[Dev, dict]] = field(default_factory=list)
    stats: dict[str, int] = field(default_factory=dict)
    server_errors: list[str] = field(default_factory=list)
    cases: dict[str, Any] = field(default_factory=dict)  # tests/sim/cases.py's state

    def count(self, what: str) -> None:
        self.stats[what] = self.stats.get(what, 0) + 1


PEOPLE = ("w1", "w1b", "w2", "v1", "shop1", "shop1b", "w1", "v2", "w2", "shop1")


def build(seed: int, devices: int, data_dir: Path, faults: Faults | None = None) -> Sim:
    from server import create_app
    from server.bootstrap import initialise
    from tests.helpers import ApiClient, add_second_community

    logging.disable(logging.INFO)  # the request log would drown the step list
    info = initialise(str(data_dir))
    app = create_app({"DATA_DIR": str(data_dir), "TESTING": True})
    admin = ApiClient(app.test_client(), info["token"])
    world = admin.make_world()
    add_second_community(admin)
    cards = dict(world.cards)
    cards["v2"] = admin.ok(admin.post("/people/v2/card"), 201)["card"]
    rng = random.Random(seed)
    faults = faults or Faults()
    sim = Sim(seed, data_dir, app, admin, rng, [], cards)
    sim_cases.setup(sim)
    for i in range(max(4, devices)):
        person = PEOPLE[i % len(PEOPLE)]
        net = FaultyTransport(FlaskTransport(app), random.Random(rng.random()), faults,
                              sim.steps)
        dev = Dev(f"d{i}-{person}", person, None, net)  # type: ignore[arg-type]
        client = FieldClient(data_dir.parent / f"device-{i}", net,
                             retry=RetryPolicy(attempts=4, sleep=lambda s: None,
                                               random=random.Random(seed + i).random),
                             wall_clock_ms=lambda d=dev: time.time_ns() // 1_000_000 + d.skew_ms,
                             batch_size=rng.choice((5, 50, 500)), page_limit=rng.choice((7, 500)))
        code = admin.ok(admin.post("/enrollments", {"person": person}), 201)["code"]
        net.enabled = False
        client.enroll("http://sim", code, dev.name)
        net.enabled = True
        dev.client = client
        sim.devices.append(dev)
    return sim


# --- steps ---------------------------------------------------------------------------

def _workers(sim: Sim) -> list[Dev]:
    return [d for d in sim.devices if d.client.role == "worker"]


def _live(dev: Dev, collection: str) -> list[dict]:
    return [public for public in dev.client.store.records(collection)]


def _pick(sim: Sim, items: list) -> Any:
    return items[sim.rng.randrange(len(items))] if items else None


def _server_grids(sim: Sim, person: str) -> list[str]:
    return list(sim.admin.ok(sim.admin.get(f"/people/{person}"))["grids"])


def step(sim: Sim) -> str:
    rng = sim.rng
    kind = rng.choices(
        ["add_household", "edit_household", "edit_same_household", "visit", "log_hours",
         "verify_race", "verify", "sync", "offline", "online", "skew", "redeem",
         "redeem_race", "redeem_retry", "replay", "scope", *sim_cases.STEPS],
        [8, 8, 5, 6, 8, 4, 5, 18, 2, 4, 3, 5, 3, 2, 3, 1, *sim_cases.STEPS.values()])[0]
    if kind in sim_cases.STEPS:
        return getattr(sim_cases, "do_" + kind)(sim)  # type: ignore[no-any-return]
    return globals()["do_" + kind](sim)


def do_add_household(sim: Sim) -> str:
    dev = _pick(sim, _workers(sim))
    grids = _server_grids(sim, dev.person)
    grid = _pick(sim, grids + ["g1a"] if "g1" in grids else grids)
    rec = dev.client.add_household(grid, address=_pick(sim, list(ADDRESSES)),
                                   members=sim.rng.randint(1, 6))
    return f"{dev.name} add_household {grid} {rec['id'][-8:]}"


def _edit(sim: Sim, dev: Dev, household: dict) -> str:
    name = sim.rng.choice(("members", "phone", "notes", "tags", "head_name"))
    value: Any = {"members": sim.rng.randint(1, 9), "phone": f"138{sim.rng.randrange(10**8):08d}",
                  "notes": _pick(sim, list(ADDRESSES)) + f" #{sim.rng.randrange(1000)}",
                  "tags": sim.rng.sample(["独居老人", "低保", "残疾", "空巢"], 2),
                  "head_name": sim.rng.choice(("张三", "李四", "王五"))}[name]
    dev.client.edit_household(household["id"], **{name: value})
    return f"{dev.name} edit {household['id'][-8:]} {name}={value!r}"


def do_edit_household(sim: Sim) -> str:
    dev = _pick(sim, _workers(sim))
    households = _live(dev, "households")
    if not households:
        return f"{dev.name} edit (none held)"
    return _edit(sim, dev, _pick(sim, households))


def do_edit_same_household(sim: Sim) -> str:
    """Two devices of one grid edit the same household before either syncs."""
    workers = _workers(sim)
    sim.rng.shuffle(workers)
    for a in workers:
        for b in workers:
            if a is b:
                continue
            mine = {h["id"]: h for h in _live(a, "households")}
            shared = [h for h in _live(b, "households") if h["id"] in mine]
            if shared:
                h = _pick(sim, shared)
                return _edit(sim, a, h) + " || " + _edit(sim, b, h)
    return "edit_same (no shared household)"


def do_visit(sim: Sim) -> str:
    dev = _pick(sim, _workers(sim))
    households = _live(dev, "households")
    if not households:
        return f"{dev.name} visit (none held)"
    h = _pick(sim, households)
    dev.client.record_visit(h["id"], sim.rng.choice(("met", "not_home", "refused")),
                            needs=["送药"] if sim.rng.random() < 0.3 else (),
                            notes=_pick(sim, list(ADDRESSES)))
    return f"{dev.name} visit {h['id'][-8:]}"


def do_log_hours(sim: Sim) -> str:
    candidates = [d for d in sim.devices if d.client.role in ("worker", "volunteer")]
    dev = _pick(sim, candidates)
    if dev.client.role == "volunteer":
        volunteer = dev.person
    else:
        volunteer = "v1" if "g1" in _server_grids(sim, dev.person) else "v2"
    activity = sim.rng.choice(("elderly_care", "cleanup"))
    minutes = sim.rng.choice((15, 30, 60, 90, 180))
    rec = dev.client.log_hours(volunteer, activity, minutes)
    return f"{dev.name} log {volunteer} {activity} {minutes} {rec['id'][-8:]}"


def _verifiable(dev: Dev) -> list[dict]:
    return [r for r in dev.client.store.records("service_logs")
            if r["fields"].get("status") == "recorded" and r["version"] and not r["pending"]
            and dev.person not in (r["fields"].get("volunteer"), r["fields"].get("recorded_by"))]


def do_verify(sim: Sim) -> str:
    dev = _pick(sim, _workers(sim))
    logs = _verifiable(dev)
    if not logs:
        return f"{dev.name} verify (nothing)"
    log = _pick(sim, logs)
    verdict = "verify" if sim.rng.random() < 0.8 else "reject"
    getattr(dev.client, verdict + "_log")(log["id"])
    return f"{dev.name} {verdict} {log['id'][-8:]}"


def do_verify_race(sim: Sim) -> str:
    """Two workers verify (or one rejects) the same log offline; both then sync."""
    workers = _workers(sim)
    for a in workers:
        for b in workers:
            if a.person == b.person:
                continue
            theirs = {r["id"] for r in _verifiable(b)}
            shared = [r for r in _verifiable(a) if r["id"] in theirs]
            if shared:
                log = _pick(sim, shared)
                a.client.verify_log(log["id"])
                (b.client.verify_log if sim.rng.random() < 0.7 else b.client.reject_log)(log["id"])
                return f"{a.name}+{b.name} race verify {log['id'][-8:]}"
    return "verify_race (no shared log)"


def _syncing(sim: Sim) -> list[Dev]:
    return [d for d in sim.devices if d.client.role != "shop"]


def do_sync(sim: Sim) -> str:
    dev = _pick(sim, _syncing(sim))
    try:
        summary = dev.client.sync()
        return f"{dev.name} sync {summary.line()}"
    except FieldClientError as exc:
        sim.count("sync_failed")
        return f"{dev.name} sync failed: {type(exc).__name__}"


def do_offline(sim: Sim) -> str:
    dev = _pick(sim, sim.devices)
    dev.net.offline = True
    return f"{dev.name} offline"


def do_online(sim: Sim) -> str:
    offline = [d for d in sim.devices if d.net.offline]
    dev = _pick(sim, offline)
    if dev is None:
        return "online (none offline)"
    dev.net.offline = False
    return f"{dev.name} online"


def do_skew(sim: Sim) -> str:
    dev = _pick(sim, sim.devices)
    dev.skew_ms = sim.rng.choice(SKEWS_MS)
    return f"{dev.name} skew {dev.skew_ms // 1000}s"


def _shops(sim: Sim) -> list[Dev]:
    return [d for d in sim.devices if d.client.role == "shop"]


def _redeem(sim: Sim, dev: Dev, body: dict) -> str:
    try:
        status, _, data = dev.client.call("POST", "/redemptions", body, what="redeem")
    except FieldClientError as exc:
        return f"{dev.name} redeem {body['id'][-8:]} failed: {type(exc).__name__}"
    if status >= 500:
        sim.server_errors.append(f"redeem {status} {data}")
    code = data.get("error", {}).get("code") if isinstance(data, dict) else None
    return f"{dev.name} redeem {body['id'][-8:]} {body['volunteer']} -> {status} {code or ''}"


def _new_redemption(sim: Sim) -> dict:
    volunteer = sim.rng.choice(("v1", "v1", "v2"))
    sku = sim.rng.choice(("soap", "soap", "rice"))
    card = sim.cards[volunteer] if sim.rng.random() < 0.9 else "wrong-card"
    return {"id": str(uuid.UUID(int=sim.rng.getrandbits(128), version=4)),
            "volunteer": volunteer, "card": card,
            "items": [{"sku": sku, "qty": sim.rng.randint(1, 3)}]}


def do_redeem(sim: Sim) -> str:
    dev = _pick(sim, _shops(sim))
    if dev is None:
        return "redeem (no shop device)"
    body = _new_redemption(sim)
    sim.redemption_bodies.append((dev, body))
    return _redeem(sim, dev, body)


def do_redeem_race(sim: Sim) -> str:
    """Two terminals spend for the same volunteer back to back (one may lack points)."""
    shops = [d for d in _shops(sim) if d.person in ("shop1", "shop1b")]
    if len(shops) < 2:
        return do_redeem(sim)
    a, b = sim.rng.sample(shops, 2)
    first, second = _new_redemption(sim), _new_redemption(sim)
    second["volunteer"], second["card"] = first["volunteer"], first["card"]
    sim.redemption_bodies += [(a, first), (b, second)]
    return _redeem(sim, a, first) + " || " + _redeem(sim, b, second)


def do_redeem_retry(sim: Sim) -> str:
    """The same redemption sent again (same id, same body) from its terminal."""
    if not sim.redemption_bodies:
        return do_redeem(sim)
    dev, body = _pick(sim, sim.redemption_bodies)
    return _redeem(sim, dev, body) + " (retry)"


def do_replay(sim: Sim) -> str:
    dev = _pick(sim, [d for d in sim.devices if d.net.kept])
    if dev is None:
        return "replay (nothing kept)"
    status = dev.net.replay_one()
    if status is not None and status >= 500:
        sim.server_errors.append(f"replay {status}")
    return f"{dev.name} late delivery -> {status}"


def do_scope(sim: Sim) -> str:
    """w2 moves between g2 and g1+g2 (its devices gain or lose g1's records)."""
    grids = _server_grids(sim, "w2")
    new = ["g2"] if "g1" in grids else ["g1", "g2"]
    sim.admin.ok(sim.admin.patch("/people/w2", {"grids": new}))
    return f"admin w2 grids {grids} -> {new}"


def finish(sim: Sim) -> None:
    """Everyone back online with a good clock and a perfect link; sync until quiet."""
    for dev in sim.devices:
        dev.net.offline, dev.net.enabled = False, False
    for _ in range(3):
        for dev in _syncing(sim):
            dev.client.sync()
    for dev in _syncing(sim):
        if dev.client.pending_count():
            raise AssertionError(f"{dev.name} still has {dev.client.pending_count()} pending "
                                 "changes after the final syncs")


# --- invariants -----------------------------------------------------------------------

def _db(data_dir: Path) -> Any:
    """The server's database, SQLite or PostgreSQL (GRIDSYNC_DATABASE_URL)."""
    from tests.helpers import raw_db

    return raw_db(data_dir)


def check_invariants(sim: Sim) -> dict[str, int]:
    problems: list[str] = list(sim.server_errors)
    conn = _db(sim.data_dir)
    try:
        records = {(r["collection"], r["id"]): json.loads(r["state"])
                   for r in conn.execute("SELECT collection, id, state FROM records")}
        # Insertion order: SQLite's rowid; PostgreSQL's physical order (ops is append-only).
        order = "ctid" if conn.postgres else "rowid"
        ops = [dict(r) for r in conn.execute(
            f"SELECT row_number() OVER (ORDER BY {order}) AS n, * FROM ops ORDER BY {order}")]
        by_op = {o["op"]: o for o in ops}
        conflicts = [dict(r) for r in conn.execute("SELECT * FROM conflicts")]
        entries = [dict(r) for r in conn.execute("SELECT * FROM entries ORDER BY seq")]
        balances = {r["account"]: r["balance"] for r in conn.execute("SELECT * FROM balances")}
        redemptions = {r["id"]: dict(r) for r in conn.execute("SELECT * FROM redemptions")}
    finally:
        conn.close()

    # 1. Acknowledged changes are durable and applied once.
    acked = 0
    for dev in sim.devices:
        for op, result in dev.net.acked.items():
            if result["status"] in ("applied", "conflict") or (
                    result["status"] == "duplicate" and "error" not in result):
                acked += 1
                row = by_op.get(op)
                if row is None or row["status"] not in ("applied", "conflict"):
                    problems.append(f"inv1: acked op {op} of {dev.name} not durable: {row}")
                elif row["version"] != result.get("version"):
                    problems.append(f"inv1: op {op} acked version {result.get('version')} "
                                    f"but stored {row['version']}")
    versions: dict[tuple[str, str], list[int]] = {}
    for o in ops:
        if o["status"] in ("applied", "conflict"):
            versions.setdefault((o["collection"], o["record"]), []).append(o["version"])
    for key, vs in versions.items():
        if len(vs) != len(set(vs)):
            problems.append(f"inv1: two applied ops produced the same version of {key}: {vs}")

    # 3. Every typed value is current, overwritten by a change that saw it, or in a conflict.
    kept = {}
    for c in conflicts:
        for side in (json.loads(c["winner"]), json.loads(c["loser"])):
            kept[(c["collection"], c["record"], c["field"], side.get("op"))] = side
    for o in ops:
        if o["status"] not in ("applied", "conflict"):
            continue
        change = json.loads(o["change"])
        key = (o["collection"], o["record"])
        state = records.get(key)
        for name, value in change["fields"].items():
            if o["collection"] == "cases" and name in CASE_STEP_FIELDS:
                continue  # a step, not a typed value: checked by sim_cases.check
            current = None if state is None else state["fields"].get(name)
            if current == value or (o["collection"], o["record"], name, o["op"]) in kept:
                continue
            later = [p for p in ops if p["n"] > o["n"] and (p["collection"], p["record"]) == key
                     and p["status"] in ("applied", "conflict")
                     and name in json.loads(p["change"])["fields"]
                     and (json.loads(p["change"])["base"] or 0) >= o["version"]]
            if not later and not (state and state["deleted"]):
                problems.append(f"inv3: {key} field {name}={value!r} of op {o['op']} vanished "
                                f"(now {current!r}) without a conflict record")

    # 2. Devices converge to the server for their scope.
    for dev in sim.devices:
        if dev.client.role not in ("worker", "volunteer"):
            continue
        fresh = _fresh_pull(sim, dev)
        local = {}
        for collection in COLLECTIONS:
            for r in dev.client.store.records(collection):
                local[(collection, r["id"])] = (r["version"], r["fields"])
        if local != fresh:
            only_local = sorted(set(local) - set(fresh))[:5]
            only_server = sorted(set(fresh) - set(local))[:5]
            differ = [k for k in set(local) & set(fresh) if local[k] != fresh[k]][:5]
            problems.append(f"inv2: {dev.name} differs from its scope on the server: only on "
                            f"device {only_local}, only on server {only_server}, differ {differ}")

    # 4. Double entry, balances = replay, never negative.
    replay: dict[str, int] = {}
    for e in entries:
        replay[e["debit"]] = replay.get(e["debit"], 0) - e["amount"]
        replay[e["credit"]] = replay.get(e["credit"], 0) + e["amount"]
        for account in (e["debit"],):
            if account.startswith("volunteer:") and replay[account] < 0:
                problems.append(f"inv4: {account} below zero ({replay[account]}) at seq {e['seq']}")
    if sum(balances.values()) != 0:
        problems.append(f"inv4: balances sum to {sum(balances.values())}")
    nonzero = {a: b for a, b in replay.items() if b}
    if {a: b for a, b in balances.items() if b} != nonzero:
        problems.append(f"inv4: stored balances {balances} != replay {replay}")

    # 5. One earn per verified log with points > 0; one redeem per redemption.
    earns: dict[str, int] = {}
    redeems: dict[str, int] = {}
    reversed_: dict[str, int] = {}
    for e in entries:
        if e["kind"] == "earn" and e["ref"].startswith("service_log:"):
            ref = e["ref"].removeprefix("service_log:")
            earns[ref] = earns.get(ref, 0) + 1
        elif e["kind"] == "redeem":
            ref = e["ref"].removeprefix("redemption:")
            redeems[ref] = redeems.get(ref, 0) + 1
        elif e["kind"] == "reverse":
            reversed_[e["ref"]] = reversed_.get(e["ref"], 0) + 1
    verified = {id: s for (c, id), s in records.items() if c == "service_logs"
                and s["fields"].get("status") == "verified" and s["fields"].get("points", 0) > 0}
    for id, _s in verified.items():
        if earns.get(id, 0) != 1:
            problems.append(f"inv5: verified log {id} has {earns.get(id, 0)} earn entries")
    for ref in earns:
        if ref not in verified:
            problems.append(f"inv5: earn entry for {ref}, which is not a verified log")
    problems += [f"inv5: {ref} reversed {n} times" for ref, n in reversed_.items() if n > 1]
    for id in redemptions:
        if redeems.get(id, 0) != 1:
            problems.append(f"inv5: redemption {id} has {redeems.get(id, 0)} redeem entries")
    for ref in redeems:
        if ref not in redemptions:
            problems.append(f"inv5: redeem entry for unknown redemption {ref}")
    for dev in sim.devices:
        for rid, (status, _) in dev.net.redeemed.items():
            if status in (200, 201) and rid not in redemptions:
                problems.append(f"inv1: redemption {rid} acknowledged ({status}) but not stored")

    # 5 (cases). One earn per closed volunteer case, no step out of order, history complete.
    conn = _db(sim.data_dir)
    try:
        problems += sim_cases.check(conn, records, entries, ops)
    finally:
        conn.close()

    # 6. The chain verifies (hashes, links, signatures, balances) with the real CLI.
    from click.testing import CliRunner

    from server.cli import main
    out = CliRunner().invoke(main, ["ledger", "verify", "--data-dir", str(sim.data_dir),
                                    "--workers", "1"])
    if out.exit_code != 0:
        problems.append(f"inv6: gridsync ledger verify failed: {out.output[-2000:]}")
    check = sim.admin.get("/ledger/checkpoint")
    if check.status_code != 200 or check.get_json()["seq"] != (entries[-1]["seq"] if entries
                                                                else 0):
        problems.append(f"inv6: checkpoint {check.get_json()} does not match the head")

    if problems:
        raise AssertionError("\n".join(problems[:30]))
    return {"ops": len(ops), "acked": acked, "records": len(records), "conflicts": len(conflicts),
            "entries": len(entries), "redemptions": len(redemptions), "earns": len(earns),
            **sim_cases.stats(records, entries)}


def _fresh_pull(sim: Sim, dev: Dev) -> dict[tuple[str, str], tuple[int, dict]]:
    """What the server holds in this device's scope: a pull from a null cursor."""
    token = dev.client.config["token"]
    seen: dict[tuple[str, str], tuple[int, dict]] = {}
    cursor = None
    while True:
        resp = sim.admin.post("/sync", {"cursor": cursor, "changes": []}, token=token)
        out = sim.admin.ok(resp)
        for rec in out["changes"]:
            key = (rec["collection"], rec["id"])
            if rec["collection"] not in COLLECTIONS:
                continue
            if rec["deleted"]:
                seen.pop(key, None)
            else:
                seen[key] = (rec["version"], rec["fields"])
        for ev in out["evict"]:
            seen.pop((ev["collection"], ev["id"]), None)
        cursor = out["cursor"]
        if not out["has_more"]:
            return seen


# --- running --------------------------------------------------------------------------

def run(seed: int, steps: int, devices: int = 6, *, data_dir: Path | None = None,
        faults: Faults | None = None, limit_steps: int | None = None) -> dict[str, Any]:
    """One simulation; raises SimFailure (with the step list) on any violation."""
    tmp = None
    if data_dir is None:
        shm = "/dev/shm" if Path("/dev/shm").is_dir() else None  # fsync-free: logic, not disk
        tmp = tempfile.TemporaryDirectory(prefix=f"gridsync-sim-{seed}-", dir=shm)
        data_dir = Path(tmp.name) / "data"
    sim = build(seed, devices, data_dir, faults)
    try:
        for i in range(steps if limit_steps is None else min(steps, limit_steps)):
            try:
                sim.steps.append(f"{i}: {step(sim)}")
            except FieldClientError as exc:  # a local edit refused (e.g. record evicted)
                sim.steps.append(f"{i}: local refusal {type(exc).__name__}: {exc}")
        try:
            finish(sim)
            stats = check_invariants(sim)
        except AssertionError as exc:
            raise SimFailure(str(exc), seed, sim.steps) from None
        for dev in sim.devices:
            for k, v in dev.net.counts.items():
                stats[k] = stats.get(k, 0) + v
        stats["rejected_on_devices"] = sum(len(d.client.rejected()) for d in sim.devices)
        return stats
    finally:
        for dev in sim.devices:
            if dev.client is not None:
                dev.client.close()
        if tmp is not None:
            tmp.cleanup()


def shrink(seed: int, steps: int, devices: int) -> tuple[int, SimFailure] | None:
    """The shortest prefix k of the step list that still fails (bisection), or None."""
    try:
        run(seed, steps, devices)
        return None
    except SimFailure as failure:
        worst = (steps, failure)
    lo, hi = 0, steps
    while lo < hi:
        mid = (lo + hi) // 2
        try:
            run(seed, steps, devices, limit_steps=mid)
            lo = mid + 1
        except SimFailure as failure:
            hi, worst = mid, (mid, failure)
    return worst


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--seeds", type=int, default=1, help="run seeds seed..seed+n-1")
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--devices", type=int, default=6)
    args = parser.parse_args(argv)
    failed = 0
    for seed in range(args.seed, args.seed + args.seeds):
        started = time.monotonic()
        try:
            stats = run(seed, args.steps, args.devices)
            print(f"seed {seed}: ok in {time.monotonic() - started:.1f}s {stats}")
        except SimFailure as failure:
            failed += 1
            shrunk = shrink(seed, args.steps, args.devices)
            k, small = shrunk if shrunk else (args.steps, failure)
            print(f"seed {seed}: FAILED; shortest failing prefix: {k} steps\n{small.message}")
            print("\n".join(small.steps))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
