"""The office's field data read back (server/storage/fielddata.py) and the roster import
(server/services/roster_import.py, import_jobs.py) on both databases: household search
through each one's trigram index, visits with their filters, needs and hazards, service
hours and the dashboard's sums, Excel exports' reads, and an import job end to end."""

from __future__ import annotations

import io

import pytest
from openpyxl import load_workbook

from primitives import names
from server.config import database_target
from server.services import dashboard, import_jobs, roster_import
from server.storage import fielddata, open_storage
from tests.conftest import BOTH_BACKENDS
from tests.web.web_support import push

pytestmark = BOTH_BACKENDS

HOMES = [  # (户编号, address, head, phone, members)
    ("H1", "幸福路12号3单元", "王芳", "13800000001", 2),
    ("H2", "幸福路14号", "李明", "13800000002", 3),
    ("H3", "和平街7号", "王小明", "13900000003", 1),
    ("H4", "Sunny Tower 5", "Anna Li", "02188887777", 4),
    ("H5", "100%_街", "张三", None, None),
]


def roster(rows: list[tuple]) -> bytes:
    book = load_workbook(io.BytesIO(roster_import.template()))
    for key, address, head, phone, members in rows:
        book["住户"].append([key, "g1", address, head, members, phone, None, None])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


@pytest.fixture
def store(world, data_dir):
    store = open_storage(database_target(str(data_dir)), migrate_schema=False)
    yield store
    store.close()


@pytest.fixture
def homes(store):
    """HOMES imported into g1 through the versioned path; id by 户编号."""
    result = roster_import.apply(store, roster_import.plan(store, roster(HOMES), "adm"), "adm")
    assert result["households"] == len(HOMES)
    ids = {}
    for key, *_ in HOMES:
        ids[key] = roster_import.household_id("c1", key, by_address=False)
    return ids


def found(store, q: str, grids: list[str] | None = None) -> list[str]:
    rows, total = store.fielddata.search_households(q, grids, limit=50)
    assert total == len(rows)
    return [r["address"] for r in rows]


def test_household_search(store, homes):
    assert found(store, "幸福路") == ["幸福路12号3单元", "幸福路14号"]   # trigram index
    assert found(store, "12号3") == ["幸福路12号3单元"]
    assert found(store, "王") == ["和平街7号", "幸福路12号3单元"]          # one character
    assert found(store, "小明") == ["和平街7号"]                           # two
    assert found(store, "王 明") == ["和平街7号"]                          # every word
    assert found(store, "1380000000") == ["幸福路12号3单元", "幸福路14号"]  # phone digits
    assert found(store, "sunny") == found(store, "TOWER") == ["Sunny Tower 5"]   # any case
    assert found(store, "li") == ["Sunny Tower 5"]
    assert found(store, "0%_") == ["100%_街"] and found(store, "%") == ["100%_街"]
    assert found(store, "0%x") == [] and found(store, "_") == ["100%_街"]   # no wildcards
    assert found(store, "号3单 明") == []                 # both words, not one or the other
    assert found(store, "幸福路", ["g2"]) == [] and found(store, "", ["g1"])[0] == "100%_街"
    assert found(store, '"OR*') == [] and found(store, "无此地址") == []
    # quotes are text to look for: these were FTS5 syntax errors (503 on the console)
    assert found(store, '"""') == found(store, '""""') == found(store, 'x"y"z') == []
    assert found(store, '幸福路 14号"') == [] and found(store, '"幸福路" 14号') == []
    assert store.fielddata.household_counts() == {"g1": len(HOMES)}


def test_a_changed_household_is_found_by_its_new_address_only(store, homes, backend):
    changed = [("H3", "和平街9号", None, None, None), ("H9", "和平街10号", None, None, None)]
    roster_import.apply(store, roster_import.plan(store, roster(changed), "adm"), "adm")
    assert found(store, "和平街7号") == [] and found(store, "和平街") == ["和平街10号",
                                                                        "和平街9号"]
    assert found(store, "小明") == ["和平街9号"]            # blank cells changed nothing
    if backend == "sqlite":
        store.db.execute("INSERT INTO household_index_fts (household_index_fts, rank) "
                         "VALUES ('integrity-check', 1)")


def test_household_search_past_its_first_pass_cap(store, homes, monkeypatch):
    monkeypatch.setattr(fielddata, "SEARCH_CAP", 1)
    rows, total = store.fielddata.search_households("号", None, limit=2, offset=1)
    assert [r["address"] for r in rows] == ["幸福路12号3单元", "幸福路14号"] and total == 3
    rows, total = store.fielddata.search_households("幸福路", None, limit=1, offset=5)
    assert rows == [] and total == 2


@pytest.mark.parametrize("outer", ["on", "off"])
def test_a_word_past_the_cap_reads_its_matches_through_the_index(store, homes, backend,
                                                                  monkeypatch, outer):
    """Past the first pass's cap every match is read, through the trigram index: the
    planner would scan every household (a street in 50,000: 60 against 15 ms). The
    planner's setting is the search's own: an outer transaction keeps its own, whatever
    it was (a database or role may set enable_seqscan off)."""
    if backend == "sqlite":
        pytest.skip("SQLite's FTS5 table drives every search of three characters or more")
    monkeypatch.setattr(fielddata, "SEARCH_CAP", 1)
    plans: list[str] = []
    query = store.db.query

    def spy(sql, params=()):
        if "count(*) OVER ()" in sql and "LIMIT :cap" not in sql:
            # (a handful of households make any plan cheap: the setting says it all)
            assert store.db.scalar("SHOW enable_seqscan") == "off"
            plans.append(" ".join(r[0] for r in query("EXPLAIN " + sql, params)))
        return query(sql, params)

    store.db.query = spy
    with store.db.snapshot():
        store.db.execute(f"SET LOCAL enable_seqscan = {outer}")
        rows, total = store.fielddata.search_households("幸福路", None, limit=1)
        assert [r["address"] for r in rows] == ["幸福路12号3单元"] and total == 2
        assert store.db.scalar("SHOW enable_seqscan") == outer
    assert len(plans) == 1 and "household_index_search" in plans[0], plans


def test_search_words_of_three_characters_use_the_trigram_index(store, homes, backend):
    """The statement's plan reads the index; on PostgreSQL the expression searched is the
    one migration 9 indexed (a different one would scan), and the database's character
    classification makes trigrams of Chinese (docs/operations.md)."""
    captured: list[tuple[str, object]] = []
    query = store.db.query

    def spy(sql, params=()):
        captured.append((sql, params))
        return query(sql, params)

    store.db.query = spy
    store.fielddata.search_households("幸福路", None)
    sql, params = captured[0]
    if backend == "sqlite":
        plan = " ".join(str(tuple(r)) for r in store.db.query("EXPLAIN QUERY PLAN " + sql,
                                                               params))
        assert "SCAN f VIRTUAL TABLE" in plan, plan             # f: the FTS5 table
        return
    assert store.db.scalar("SELECT array_length(show_trgm('幸福路'), 1)") > 0
    with store.transaction():
        store.db.execute("SET LOCAL enable_seqscan = off")
        plan = " ".join(r[0] for r in store.db.query("EXPLAIN " + sql, params))
    assert "household_index_search" in plan, plan


def test_postgresql_plans_a_search_for_its_own_words_however_often_it_runs(store, homes,
                                                                         backend):
    """psycopg prepares a statement from its fifth run; PostgreSQL's generic plan for it
    would scan every household (3 -> 27 ms a search at 50,000). None is ever used."""
    if backend == "sqlite":
        pytest.skip("SQLite plans every statement for its arguments")
    with store.db.snapshot():
        for _ in range(12):
            store.fielddata.search_households("幸福路", None)
        used = store.db.query("SELECT generic_plans, custom_plans, statement "
                              "FROM pg_prepared_statements WHERE cardinality(parameter_types) > 0")
    assert used and all(r[0] == 0 for r in used), [tuple(r) for r in used]
    assert any(r[1] >= 7 for r in used), [tuple(r) for r in used]


@pytest.fixture
def field(api, store, homes):
    """w1's visits to H1 (a need and a hazard) and H3 (not home, needs null); v1's
    service logs recorded by w1: 4 h verified by w1b (40 points), 1 h recorded,
    30 min rejected."""
    w1, w1b = api.enroll("w1"), api.enroll("w1b")
    push(w1, w1.change("visits", {"household": homes["H1"], "outcome": "met",
                                  "visited_at": "2026-11-20T02:00:00.000Z",
                                  "needs": ["助餐", "助浴"], "hazards": ["燃气管老化"]}))
    push(w1, w1.change("visits", {"household": homes["H3"], "outcome": "not_home",
                                  "visited_at": "2026-11-21T02:00:00.000Z", "needs": None}))
    logs = []
    for minutes, started in ((240, "2026-11-20T01:00:00Z"), (60, "2026-11-21T01:00:00Z"),
                             (30, "2026-11-30T17:00:00Z")):
        change = w1.change("service_logs", {"volunteer": "v1", "activity": "elderly_care",
                                            "started_at": started, "minutes": minutes})
        push(w1, change)
        logs.append(change)
    push(w1b, w1b.change("service_logs", {"status": "verified"}, id=logs[0]["id"], base=1))
    push(w1b, w1b.change("service_logs", {"status": "rejected"}, id=logs[2]["id"], base=1))
    return homes


def addresses(visits: tuple[list[dict], int]) -> list[str]:
    rows, total = visits
    assert total == len(rows)
    return [v["address"] for v in rows]


def test_visits_needs_and_hazards(store, field):
    data = store.fielddata
    assert addresses(data.visits()) == ["和平街7号", "幸福路12号3单元"]      # newest first
    (visit,), _ = data.visits(household=field["H1"])
    assert (visit["worker"], visit["head_name"], visit["needs"]) == ("w1", "王芳",
                                                                      ["助餐", "助浴"])
    assert addresses(data.visits(start="2026-11-21T00:00:00Z")) == ["和平街7号"]
    assert addresses(data.visits(end="2026-11-21T00:00:00Z")) == ["幸福路12号3单元"]
    assert addresses(data.visits(outcome="not_home", worker="w1")) == ["和平街7号"]
    assert addresses(data.visits(worker="w2", grids=["g1"])) == []
    assert addresses(data.visits(need="浴")) == addresses(data.visits(hazard="*")) == [
        "幸福路12号3单元"]
    assert addresses(data.visits(need="*", grids=["g2"])) == []
    assert addresses(data.visits(limit=1, offset=1)[0:1] + (1,)) == ["幸福路12号3单元"]
    assert data.visit_counts(["g1", "g2"]) == {"g1": 2}
    assert data.items_found("needs", ["g1"]) == [("助浴", 1), ("助餐", 1)]
    assert data.items_found("hazards", ["g1"], start="2026-11-21T00:00:00Z") == []


def test_hours_logs_and_dashboard_sums(store, field):
    data = store.fielddata
    assert data.hours(volunteers=["v1"]) == [
        {"volunteer": "v1", "status": "recorded", "logs": 1, "minutes": 60, "points": 0},
        {"volunteer": "v1", "status": "rejected", "logs": 1, "minutes": 30, "points": 0},
        {"volunteer": "v1", "status": "verified", "logs": 1, "minutes": 240, "points": 40}]
    assert [r["status"] for r in data.hours(start="2026-11-21T00:00:00Z",
                                            end="2026-11-30T00:00:00Z")] == ["recorded"]
    assert [log["minutes"] for log in data.service_logs(volunteers=["v1"])] == [30, 60, 240]
    assert [log["minutes"] for log in data.service_logs(volunteers=["v1"],
                                                        status="recorded")] == [60]
    # Local months (UTC+8): 2026-11-30T17:00Z is already December there.
    assert data.minutes_by_month(["v1"], 480, "2026-01-01T00:00:00Z") == [
        ("2026-11", "recorded", 60), ("2026-11", "verified", 240), ("2026-12", "rejected", 30)]
    ((month, kind, points),) = data.points_by_month(
        {"issuance": [names.issuance("c1")], "shops": []}, 480, "2020-01-01T00:00:00Z")
    assert (kind, points) == ("earn", 40) and len(month) == 7
    assert data.active_people("visits", "author", ["g1"], "2020-01-01T00:00:00Z") == 1
    assert data.active_people("service_logs", "person", ["v1", "v2"], "2020-01-01") == 1
    figures = dashboard.figures(store, "c1")
    assert figures["visits_total"] == 2 and figures["people"]["active_workers"] == 1
    assert [e["kind"] for e in data.entries_between("2020-01-01", "9999", 10)] == ["earn"]
    assert data.redemptions_between("2020-01-01", "9999", 10) == []


def test_an_import_job_writes_once_and_keeps_no_file(store, homes):
    changed = roster([("H1", "幸福路12号3单元", "王芳", "13800000001", 5),
                      ("H9", "新街1号", None, None, None), ("H9", "again", None, None, None)])
    job = import_jobs.upload(store, changed, "r.xlsx", "adm")
    plan = store.imports.get(job)["plan"]
    assert plan["counts"] == {"rows": 3, "new": 1, "changed": 1, "unchanged": 0, "bad": 1}
    assert import_jobs.claim(store, job) and not import_jobs.claim(store, job)
    before = store.records.last_seq()
    result = import_jobs.run(store, job, "adm")
    assert (result["households"], result["skipped"]) == (2, 1)
    assert store.records.last_seq() == before + 2                 # new seqs: phones pull them
    done = store.imports.get(job)
    assert (done["status"], done["done"], done["total"]) == ("done", 2, 2)
    assert store.imports.file(job) == b""
    assert found(store, "新街") == ["新街1号"]
    again = roster_import.plan(store, changed, "adm")
    assert again.households == [] and again.counts["unchanged"] == 2
    assert [j["id"] for j in store.imports.recent()] == [job]


def test_addresses_with_escapes_and_nuls_are_indexed(api, store, world):
    """A backslash before "u0000" is text, not an escaped NUL: the index keeps it (a plain
    replace of \\u0000 in the JSON broke the JSON on PostgreSQL, and with it the write: an
    internal error); a real NUL, which PostgreSQL text cannot hold, is left out there."""
    w1 = api.enroll("w1")
    for address in ("C:\\u0000x 路", "零\x00号"):
        push(w1, w1.change("households", {"grid": "g1", "address": address, "members": 2}))
    assert found(store, "u0000x") == ["C:\\u0000x 路"]
    assert found(store, "零")[0].startswith("零")        # (SQLite's index keeps text to the NUL)
    assert [r["members"] for r in store.fielddata.search_households("x 路", None)[0]] == [2]
