"""`gridsync ledger verify --data-dir` against the signed field record behind every earn
(security finding S-2): each earn's evidence op must verify under its device's key, set
the status that earns, come from someone four eyes allow, and the log it paid for must
still name the volunteer credited and price at the amount paid."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from tests.helpers import RULES
from tests.server.ledger_support import db, entries, record_and_verify, verify_cli


@pytest.fixture
def earned(world, api, data_dir):
    """Earn seq 1 pays volunteer:v1 20 points for a 120-minute log recorded on w1's
    phone and verified on w1b's; v1 has a phone of their own."""
    w1, w1b, v1 = api.enroll("w1"), api.enroll("w1b"), api.enroll("v1")
    log, verify, _ = record_and_verify(w1, w1b, minutes=120)
    earn = entries(data_dir)[0]
    assert (earn["seq"], earn["credit"], earn["amount"], earn["evidence"]) == (
        1, "volunteer:v1", 20, verify["op"])
    assert verify_cli("--data-dir", str(data_dir)).exit_code == 0
    return SimpleNamespace(data_dir=data_dir, log=log, op=verify["op"], w1=w1, w1b=w1b, v1=v1,
                           rules=earn["rules"])


def tamper(data_dir, sql: str, params: tuple = ()) -> None:
    conn = db(data_dir)
    try:
        assert conn.execute(sql, params).rowcount == 1, sql
    finally:
        conn.close()


def broken(data_dir) -> str:
    result = verify_cli("--data-dir", str(data_dir))
    assert result.exit_code == 1, result.output
    assert result.stdout == ""
    return result.stderr.strip()


def test_rewritten_evidence_change(earned):
    """The stored change now says the log was rejected: not what the verifier signed."""
    tamper(earned.data_dir, "UPDATE ops SET change = replace(change, '\"verified\"', "
                            "'\"rejected\"') WHERE op = ?", (earned.op,))
    assert broken(earned.data_dir) == (
        f"ledger broken: seq 1: earn for service log {earned.log}: evidence op {earned.op}'s "
        f"signature does not verify against device {earned.w1b.id}'s public key (its stored "
        "change or its device was rewritten)")


def test_evidence_filed_under_the_volunteers_own_device(earned):
    """The op now claims v1's own phone sent it: v1 'verified' their own log."""
    tamper(earned.data_dir, "UPDATE ops SET device = ? WHERE op = ?", (earned.v1.id, earned.op))
    assert broken(earned.data_dir) == (
        f"ledger broken: seq 1: earn for service log {earned.log}: evidence op {earned.op}'s "
        f"signature does not verify against device {earned.v1.id}'s public key (its stored "
        "change or its device was rewritten)")


@pytest.mark.parametrize("signer", ["v1", "w1"])
def test_evidence_signed_by_someone_four_eyes_bars(earned, signer):
    """The volunteer (or the recorder) signed the verifying change with their own key, and
    it was filed as the evidence: the signature holds, four eyes does not."""
    device = getattr(earned, signer)
    forged = device.change("service_logs", {"status": "verified"}, id=earned.log, base=1,
                           op=earned.op)
    tamper(earned.data_dir, "UPDATE ops SET device = ?, change = ? WHERE op = ?",
           (device.id, json.dumps(forged), earned.op))
    assert broken(earned.data_dir) == (
        f"ledger broken: seq 1: earn for service log {earned.log}: evidence op {earned.op} was "
        f"sent by {signer} (device {device.id}), who may not verify this log (four eyes: its "
        "volunteer, its recorder or a writer of its priced fields)")


def test_evidence_signed_but_setting_another_status(earned):
    """The verifier's own key, but a change that rejects the log: it earns nothing."""
    rejecting = earned.w1b.change("service_logs", {"status": "rejected"}, id=earned.log,
                                  base=1, op=earned.op)
    tamper(earned.data_dir, "UPDATE ops SET change = ? WHERE op = ?",
           (json.dumps(rejecting), earned.op))
    assert broken(earned.data_dir) == (
        f"ledger broken: seq 1: earn for service log {earned.log}: evidence op {earned.op} "
        "sets status 'rejected', not 'verified'")


def test_evidence_signed_for_another_log(earned):
    """A genuine verification of another log, relabelled as this earn's evidence."""
    other, verify, _ = record_and_verify(earned.w1, earned.w1b, minutes=30)
    conn = db(earned.data_dir)
    conn.execute("DELETE FROM ops WHERE op = ?", (earned.op,))
    conn.execute("UPDATE ops SET op = ?, record = ? WHERE op = ?",
                 (earned.op, earned.log, verify["op"]))
    conn.close()
    assert broken(earned.data_dir) == (
        f"ledger broken: seq 1: earn for service log {earned.log}: evidence op {earned.op}'s "
        f"signed change is op '{verify['op']}' on 'service_logs' '{other}', not this op on it")


def test_log_now_names_another_volunteer(earned):
    """v1 keeps the points of a log that now says v2 did the work."""
    tamper(earned.data_dir, "UPDATE records SET state = replace(state, '\"volunteer\":\"v1\"', "
                            "'\"volunteer\":\"v2\"') WHERE id = ?", (earned.log,))
    assert broken(earned.data_dir) == (
        f"ledger broken: seq 1: earn for service log {earned.log}: it pays volunteer:v1, but "
        "the log's volunteer is 'v2'")


def test_minutes_no_longer_match_the_price(earned):
    tamper(earned.data_dir, "UPDATE records SET state = replace(state, '\"minutes\":120', "
                            "'\"minutes\":600') WHERE id = ?", (earned.log,))
    assert broken(earned.data_dir) == (
        f"ledger broken: seq 1: earn for service log {earned.log}: it pays 20, but the log "
        f"(600 minutes of 'elderly_care') is worth 100 under its rules {earned.rules[:12]}…")


@pytest.mark.parametrize("sql, what", [
    ("DELETE FROM rules WHERE hash = ?", "its rules {h}… are not stored, so its price cannot "
                                         "be checked"),
    ("UPDATE rules SET body = replace(body, '10', '50') WHERE hash = ?",
     "the rules stored as {h}… do not hash to it"),
])
def test_rules_the_earn_names_are_gone_or_rewritten(earned, sql, what):
    tamper(earned.data_dir, sql, (earned.rules,))
    assert broken(earned.data_dir) == (
        f"ledger broken: seq 1: earn for service log {earned.log}: "
        + what.format(h=earned.rules[:12]))


def test_daily_caps_and_new_rules_are_repriced_as_the_server_priced(world, api, data_dir):
    """Earns capped by the day's total, and earns under rules since replaced, verify;
    a capped earn's log edited to be worth less than it was paid is caught."""
    w1, w1b = api.enroll("w1"), api.enroll("w1b")
    api.ok(api.put("/rules", {**RULES, "daily_cap": 15}))
    day = "2026-11-26T0{}:00:00Z"
    first, _, _ = record_and_verify(w1, w1b, minutes=60, started_at=day.format(1))   # 10
    record_and_verify(w1, w1b, minutes=60, started_at=day.format(2))                # 5 (cap)
    record_and_verify(w1, w1b, minutes=60, started_at=day.format(3))                # 0: none
    api.ok(api.put("/rules", {**RULES, "activities": {"elderly_care": {"points_per_hour": 30}},
                              "daily_cap": None}))
    record_and_verify(w1, w1b, minutes=60, started_at=day.format(4))                # 30
    record_and_verify(w1, w1b, minutes=60, volunteer="v1",
                      started_at="2026-11-27T01:00:00Z")                             # 30
    assert [e["amount"] for e in entries(data_dir)] == [10, 5, 30, 30]
    result = verify_cli("--data-dir", str(data_dir))
    assert result.exit_code == 0, result.output

    # 30 minutes would have earned 5, leaving the second log 10 of the cap, not 5.
    tamper(data_dir, "UPDATE records SET state = replace(state, '\"minutes\":60', "
                     "'\"minutes\":30') WHERE id = ?", (first,))
    assert broken(data_dir) == (
        f"ledger broken: seq 1: earn for service log {first}: it pays 10, but the log "
        f"(30 minutes of 'elderly_care') is worth 5 under its rules "
        f"{entries(data_dir)[0]['rules'][:12]}…, 0 of its daily cap 15 already awarded "
        "that day")


@pytest.mark.parametrize("workers", ["1", "2"])
def test_any_page_size_and_workers_name_the_same_first_break(world, api, data_dir, monkeypatch,
                                                             workers):
    """Earns are read in pages in (credit, seq) order, their signatures verified on the
    workers: however paged and split, the break named is the lowest seq."""
    from server.services import evidence_audit

    monkeypatch.setattr(evidence_audit, "PAGE", 2)
    api.person("v3", "volunteer", ["g1"])
    w1, w1b = api.enroll("w1"), api.enroll("w1b")
    logs = [record_and_verify(w1, w1b, minutes=60 + i, volunteer="v1" if i % 2 else "v3")[0]
            for i in range(7)]
    assert verify_cli("--data-dir", str(data_dir), "--workers", workers).exit_code == 0
    conn = db(data_dir)
    # seq 6 (v1, read first) and seq 5 (v3, read later): 65 and 64 minutes become 165, 164
    for i in (5, 4):
        conn.execute("UPDATE records SET state = replace(state, ?, ?) WHERE id = ?",
                     (f'"minutes":{60 + i}', f'"minutes":{160 + i}', logs[i]))
    conn.close()
    result = verify_cli("--data-dir", str(data_dir), "--workers", workers)
    assert result.exit_code == 1
    assert result.stderr.startswith(f"ledger broken: seq 5: earn for service log {logs[4]}: "
                                    "it pays 10, but the log (164 minutes"), result.stderr


def test_progress_counts_the_evidence_checked(earned, monkeypatch):
    """The bar's steps are the entries and then each earn's evidence: it ends full."""
    import sys

    from server.config import database_target
    from server.services.ledger_audit import verify_database

    steps: list[tuple[str, int]] = []
    verify_database(database_target(str(earned.data_dir)), workers=1,
                    start=lambda n: steps.append(("start", n)),
                    progress=lambda n: steps.append(("step", n)))
    assert steps == [("start", 2), ("step", 1), ("step", 1)]
    monkeypatch.setattr(sys.modules["server.cli.ledger"], "PROGRESS_FROM", 1)
    result = verify_cli("--data-dir", str(earned.data_dir))
    assert result.exit_code == 0 and "verifying" in result.stderr


def test_each_page_of_earns_starts_where_the_last_ended(tmp_path):
    """A page goes on from (credit, seq) through entries_credit, on both columns: with a
    row value, `(credit, seq) > (?, ?)`, SQLite bounds the index by credit alone and would
    read a volunteer's earlier earns again on every page of theirs. The plan shows it."""
    from server.storage import open_storage

    store = open_storage(str(tmp_path / "plan.db"))
    statements: list[str] = []
    store.db.conn.set_trace_callback(statements.append)
    try:
        store.audit.earn_evidence(("volunteer:v1", 5), 10)
        plans = [[row[3] for row in store.db.conn.execute("EXPLAIN QUERY PLAN " + sql)]
                 for sql in statements if "FROM entries e" in sql]
    finally:
        store.close()
    assert [steps[0] for steps in plans] == [
        "SEARCH e USING INDEX entries_credit (credit=? AND seq>?)",
        "SEARCH e USING INDEX entries_credit (credit>?)"], plans


@pytest.mark.parametrize("sql, what", [
    ("UPDATE ops SET status = 'rejected' WHERE op = :op",
     "evidence op {op} was rejected, not applied"),
    ("UPDATE ops SET device = 'dev_gone' WHERE op = :op",
     "evidence op {op} was sent by device dev_gone, which is not registered"),
    ("UPDATE ops SET change = 'not json' WHERE op = :op",
     "evidence op {op}'s stored change is not JSON"),
    ("UPDATE records SET state = replace(state, '\"activity\":\"elderly_care\"', "
     "'\"activity\":\"chess\"') WHERE id = :log",
     "the log cannot be priced under its rules {rules}…: activity 'chess' is not in the rules"),
    ("UPDATE records SET state = replace(state, '\"minutes\":{', '\"minutes\":7,\"x\":{') "
     "WHERE id = :log", "the log's stored meta does not say who wrote its fields"),
], ids=["not applied", "unregistered device", "change not JSON", "unpriced activity",
        "meta unreadable"])
def test_each_way_evidence_or_its_log_cannot_stand(earned, sql, what):
    names = {"op": earned.op, "log": earned.log}
    tamper(earned.data_dir, sql.replace(":op", "?").replace(":log", "?"),
           (names["op"] if ":op" in sql else names["log"],))
    assert broken(earned.data_dir) == (
        f"ledger broken: seq 1: earn for service log {earned.log}: "
        + what.format(op=earned.op, rules=earned.rules[:12]))


def test_an_earn_naming_no_evidence(earned, app):
    """An earn the server signed without evidence (as a bug might): nothing backs it."""
    from server.config import database_target
    from server.keystore import Signer
    from server.services.ledger_append import append
    from server.storage import open_storage

    log = earned.w1.change("service_logs", {"volunteer": "v1", "activity": "elderly_care",
                                            "started_at": "2026-11-27T02:00:00Z",
                                            "minutes": 60})
    assert earned.w1.sync([log])["results"][0]["status"] == "applied"
    store = open_storage(database_target(str(earned.data_dir)))
    with store.transaction():
        append(store, Signer(str(earned.data_dir)), kind="earn", debit="issuance:c1",
               credit="volunteer:v1", amount=10, ref=f"service_log:{log['id']}")
    store.close()
    assert broken(earned.data_dir) == (
        f"ledger broken: seq 2: earn for service log {log['id']} names no evidence")
