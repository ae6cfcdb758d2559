"""`gridsync ledger verify` on real database files, tampered in every way we can think of,
and key rotation (old entries still verify, retired keys stay published)."""

from __future__ import annotations

import hashlib
import json
import subprocess
import uuid

import pytest
import requests
from click.testing import CliRunner

from ledger import SigningKey, canonical, keyring, verify_chain, verify_checkpoint
from server.cli import main
from server.config import database_target
from server.keystore import Signer
from server.services.ledger_append import append
from server.storage import open_storage
from tests.helpers import gridsync_command, issue_token
from tests.server.ledger_support import (
    db,
    entries,
    give,
    record_and_verify,
    redemption_body,
    verify_cli,
)


@pytest.fixture
def ledger(world, api, data_dir):
    """Six entries of every kind that the online path makes.

    1 adjust +100 v1, 2 earn 10 v1, 3 earn 20 v1, 4 redeem 30 v1 -> s1,
    5 adjust +5 s1, 6 reverse of 3.
    """
    w1, w1b, shop = api.enroll("w1"), api.enroll("w1b"), api.enroll("shop1")
    give(api, "volunteer:v1", 100)
    record_and_verify(w1, w1b, minutes=60)
    record_and_verify(w1, w1b, minutes=120)
    api.ok(api.post("/redemptions", redemption_body("v1", world.cards["v1"], [("rice", 1)]),
                    token=shop.token), 201)
    give(api, "shop:s1", 5)
    api.ok(api.post("/ledger/reversals", {"id": "rev-1", "entry": 3, "reason": "duplicate"}),
           201)
    return data_dir


def run_verify(data_dir, workers: int = 1):
    return verify_cli("--data-dir", str(data_dir), "--workers", str(workers))


def test_sound_ledger(ledger):
    result = run_verify(ledger)
    assert result.exit_code == 0, result.output
    head = entries(ledger)[-1]["hash"]
    assert result.stdout.strip() == f"ledger sound: 6 entries, head {head}"


def test_empty_ledger_is_sound(data_dir):
    result = run_verify(data_dir)
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "ledger sound: 0 entries, head " + "0" * 64


def set_body(conn, seq: int, entry: dict) -> None:
    conn.execute("UPDATE entries SET body = ?, amount = ?, hash = ? WHERE seq = ?",
                 (json.dumps(entry), entry["amount"], entry["hash"], seq))


def set_amount(conn, seq: int, amount: int) -> None:
    """The signed body's amount changed (its hash and signature, and the column, not)."""
    body = json.loads(conn.scalar("SELECT body FROM entries WHERE seq = ?", (seq,)))
    conn.execute("UPDATE entries SET body = ? WHERE seq = ?",
                 (json.dumps({**body, "amount": amount}), seq))


def resign(entry: dict, key: SigningKey, key_id: str) -> dict:
    body = {k: v for k, v in entry.items() if k not in ("hash", "sig")}
    body["key_id"] = key_id
    data = canonical(body)
    return {**body, "hash": hashlib.sha256(data).hexdigest(), "sig": key.sign(data)}


def tamper(conn, how: str) -> None:
    rows = {e["seq"]: e for e in (json.loads(r[0]) for r in
                                  conn.execute("SELECT body FROM entries ORDER BY seq"))}
    if how == "amount in the body":
        set_body(conn, 3, {**rows[3], "amount": 200})
    elif how == "amount column only":
        conn.execute("UPDATE entries SET amount = 200 WHERE seq = 3")
    elif how == "amount, hash recomputed":
        changed = {**rows[3], "amount": 200}
        changed["hash"] = hashlib.sha256(canonical(
            {k: v for k, v in changed.items() if k not in ("hash", "sig")})).hexdigest()
        set_body(conn, 3, changed)
    elif how == "delete an entry":
        conn.execute("DELETE FROM entries WHERE seq = 3")
    elif how == "reorder two":
        conn.execute("UPDATE entries SET seq = -3 WHERE seq = 3")
        conn.execute("UPDATE entries SET seq = 3 WHERE seq = 4")
        conn.execute("UPDATE entries SET seq = 4 WHERE seq = -3")
    elif how == "re-signed with an unknown key":
        set_body(conn, 3, resign({**rows[3], "amount": 200}, SigningKey.generate(), "k9"))
    elif how == "re-signed with another key under k1":
        set_body(conn, 3, resign({**rows[3], "amount": 200}, SigningKey.generate(), "k1"))
    elif how == "body not JSON":
        conn.execute("UPDATE entries SET body = 'not json' WHERE seq = 3")
    elif how == "credit moved to another volunteer":
        set_body(conn, 3, {**rows[3], "credit": "volunteer:v2"})
        conn.execute("UPDATE entries SET credit = 'volunteer:v2' WHERE seq = 3")
    else:
        raise AssertionError(how)


@pytest.mark.parametrize("how, reason", [
    ("amount in the body", "hash mismatch"),
    ("amount column only", "columns differ from its signed body"),
    ("amount, hash recomputed", "bad signature"),
    ("delete an entry", "out of sequence"),
    ("reorder two", "out of sequence"),
    ("re-signed with an unknown key", "unknown key"),
    ("re-signed with another key under k1", "bad signature"),
    ("credit moved to another volunteer", "hash mismatch"),
    ("body not JSON", "malformed: entry is not an object"),
])
def test_tampered_entry_is_named_by_seq(ledger, how, reason):
    conn = db(ledger)
    tamper(conn, how)
    conn.close()
    result = run_verify(ledger)
    assert result.exit_code == 1, result.output
    assert result.stdout == ""
    assert result.stderr.startswith("ledger broken: seq 3: "), result.stderr
    assert reason in result.stderr


@pytest.mark.parametrize("sql, seq, what", [
    ("UPDATE balances SET balance = balance + 1 WHERE account = 'volunteer:v1'", 6,
     "stored balance of volunteer:v1 is 81, the entries give 80"),
    ("UPDATE balances SET balance = balance - 5 WHERE account = 'shop:s1'", 5,
     "stored balance of shop:s1 is 30, the entries give 35"),
    ("DELETE FROM balances WHERE account = 'issuance:c1'", None,
     "stored balance of issuance:c1 is 0, the entries give -115"),
])
def test_edited_stored_balance(ledger, sql, seq, what):
    conn = db(ledger)
    conn.execute(sql)
    conn.close()
    result = run_verify(ledger)
    assert result.exit_code == 1
    where = f"seq {seq}: " if seq else ""
    assert result.stderr.strip() == f"ledger broken: {where}{what}"


@pytest.mark.parametrize("seq, damage, what", [
    (3, lambda row: None, "node (0, 2) is missing"),
    (3, lambda row: bytes(32), "node (0, 2) is not the one the entries give"),
    (5, lambda row: row + bytes(32), "its row holds 2 nodes, the entries give 1"),
])
def test_damage_to_the_stored_tree_off_the_roots_path(ledger, seq, damage, what):
    """The root of six reads nodes (2, 0) and (1, 2) only; a row it does not read is
    still checked against the entries (the chain itself is untouched)."""
    conn = db(ledger)
    row = damage(bytes(conn.scalar("SELECT nodes FROM merkle_tree WHERE size = ?", (seq,))))
    if row is None:
        conn.execute("DELETE FROM merkle_tree WHERE size = ?", (seq,))
    else:
        conn.execute("UPDATE merkle_tree SET nodes = ? WHERE size = ?", (row, seq))
    conn.close()
    result = run_verify(ledger)
    assert result.exit_code == 1, result.output
    assert result.stderr.strip() == (f"ledger broken: seq {seq}: the stored Merkle tree is "
                                     f"damaged: {what}")


def test_deleted_last_entry_is_caught_by_its_cause(ledger):
    """Dropping the head leaves a shorter chain that verifies on its own; the
    balances and the records that caused entries still give it away."""
    conn = db(ledger)
    conn.execute("DELETE FROM entries WHERE seq = 6")
    conn.close()
    result = run_verify(ledger)
    assert result.exit_code == 1
    assert "ledger broken: seq 6: stored balance of" in result.stderr


def test_missing_redemption_entry_and_unpaid_log(ledger):
    conn = db(ledger)
    # Make the chain end at 3 with balances to match: only the causes remain.
    conn.execute("DELETE FROM entries WHERE seq > 3")
    conn.execute("DELETE FROM balances")
    conn.execute("INSERT INTO balances VALUES ('issuance:c1', -130, 3), "
                 "('volunteer:v1', 130, 3)")
    conn.close()
    result = run_verify(ledger)
    assert result.exit_code == 1
    assert result.stderr.startswith("ledger broken: seq 4: redemption ")
    assert "its redeem entry is missing" in result.stderr

    conn = db(ledger)
    conn.execute("DELETE FROM redemptions")
    conn.execute("DELETE FROM entries WHERE seq = 3")
    conn.execute("UPDATE balances SET balance = balance + 20 WHERE account = 'issuance:c1'")
    conn.execute("UPDATE balances SET balance = balance - 20 WHERE account = 'volunteer:v1'")
    conn.close()
    result = run_verify(ledger)
    assert result.exit_code == 1
    assert "is verified and has 20 points but no earn entry paying them" in result.stderr


def rebuild_balances(conn) -> None:
    """Make the balances table agree with whatever entries remain (a careful tamperer)."""
    balances: dict[str, list[int]] = {}
    for debit, credit, amount, seq in conn.execute(
            "SELECT debit, credit, amount, seq FROM entries ORDER BY seq"):
        for account, delta in ((debit, -amount), (credit, amount)):
            row = balances.setdefault(account, [0, seq])
            row[0] += delta
            row[1] = seq
    conn.execute("DELETE FROM balances")
    conn.executemany("INSERT INTO balances VALUES (?, ?, ?)",
                     [(a, b, s) for a, (b, s) in balances.items()])


def request_id(conn, kind: str) -> str:
    return conn.execute("SELECT id FROM requests WHERE kind = ? ORDER BY created_at DESC",
                        (kind,)).fetchone()[0]


@pytest.mark.parametrize("dropped, seq, kind", [(1, 6, "reversal"), (2, 5, "adjustment")])
def test_deleted_head_with_balances_to_match(ledger, dropped, seq, kind):
    """The chain left verifies, and the balances were made to agree with it:
    the answers remembered for the requests that made the entries still name them."""
    conn = db(ledger)
    gone = conn.execute("SELECT hash FROM entries WHERE seq = ?", (seq,)).fetchone()[0]
    conn.execute("DELETE FROM entries WHERE seq > ?", (6 - dropped,))
    rebuild_balances(conn)
    rid = request_id(conn, kind)
    conn.close()
    result = run_verify(ledger)
    assert result.exit_code == 1, result.output
    assert result.stderr.strip() == (
        f"ledger broken: seq {seq}: {kind} {rid}: it was answered with entry {seq} "
        f"(hash {gone[:12]}…), which the chain lacks")


def test_deleted_redemption_row(ledger):
    conn = db(ledger)
    ref = conn.execute("SELECT ref FROM entries WHERE seq = 4").fetchone()[0]
    conn.execute("DELETE FROM redemptions")
    conn.close()
    result = run_verify(ledger)
    assert result.exit_code == 1, result.output
    assert result.stderr.strip() == (
        f"ledger broken: seq 4: redeem entry for {ref} has no redemption row")


@pytest.mark.parametrize("items, what", [
    ('[{"sku": "rice", "name": "大米 5kg", "qty": 2, "price": 30}]',
     "its items add up to 60, not its total 30"),
    # Adds up, but is not what the shop was answered when it redeemed.
    ('[{"sku": "rice", "name": "大米 5kg", "qty": 2, "price": 15}]',
     "its items differ from the answer given when it was made"),
])
def test_edited_redemption_items(ledger, items, what):
    conn = db(ledger)
    rid = conn.execute("SELECT id FROM redemptions").fetchone()[0]
    conn.execute("UPDATE redemptions SET items = ?", (items,))
    conn.close()
    result = run_verify(ledger)
    assert result.exit_code == 1, result.output
    assert result.stderr.strip() == f"ledger broken: seq 4: redemption {rid}: {what}"


def _with_fields(**changes):  # type: ignore[no-untyped-def]
    return lambda text: json.dumps({**(state := json.loads(text)),
                                    "fields": {**state["fields"], **changes}})


@pytest.mark.parametrize("edit, what", [
    (_with_fields(status="rejected"), "its status is 'rejected', not 'verified'"),
    (_with_fields(points=15), "it has 15 points, the earn pays 10"),
    (lambda text: json.dumps({**json.loads(text), "deleted": True}), "it is deleted"),
    # SQLite's json_extract reads the first "fields", Python the last: refused, not read.
    (lambda text: '{"fields":{"status":"rejected"},' + text[1:],
     "its stored state names the key 'fields' twice"),
], ids=["status", "points", "deleted", "fields twice"])
def test_earned_log_no_longer_verified(ledger, edit, what):
    """A log earned on (seq 2, 10 points) must stay verified with those points;
    seq 3's log was reversed, and stays verified too (the sound ledger passes)."""
    conn = db(ledger)
    log = conn.execute("SELECT ref FROM entries WHERE seq = 2").fetchone()[0]
    log = log.removeprefix("service_log:")
    where = "WHERE collection = 'service_logs' AND id = ?"
    text = conn.execute(f"SELECT state FROM records {where}", (log,)).fetchone()[0]
    conn.execute(f"UPDATE records SET state = ? {where}", (edit(text), log))
    conn.close()
    result = run_verify(ledger)
    assert result.exit_code == 1, result.output
    assert result.stderr.strip() == (
        f"ledger broken: seq 2: earn for service log {log}, but {what}")


def test_duplicate_key_in_an_entry_body(ledger):
    """SQLite's json_extract reads the first of two "debit" keys, Python (and the
    hash check) the last: the column may follow the first, the signature the last."""
    conn = db(ledger)
    conn.execute("UPDATE entries SET debit = 'volunteer:v2', "
                 "body = '{\"debit\":\"volunteer:v2\",' || substr(body, 2) WHERE seq = 3")
    if not conn.postgres:
        assert conn.execute("SELECT json_extract(body, '$.debit') IS debit FROM entries "
                            "WHERE seq = 3").fetchone()[0] == 1
    conn.close()
    result = run_verify(ledger)
    assert result.exit_code == 1, result.output
    assert result.stderr.strip() == "ledger broken: seq 3: its body names the key 'debit' twice"


def test_earn_without_its_evidence(ledger):
    conn = db(ledger)
    body = json.loads(conn.scalar("SELECT body FROM entries WHERE seq = 3"))
    op, log = body["evidence"], body["ref"].removeprefix("service_log:")
    conn.execute("DELETE FROM ops WHERE op = ?", (op,))
    conn.close()
    result = run_verify(ledger)
    assert result.exit_code == 1
    assert result.stderr.strip() == (
        f"ledger broken: seq 3: earn for service log {log}: evidence op {op} is not a stored "
        "change to its service log")


def test_second_earn_for_one_log(ledger, app):
    """With the unique index dropped, a second earn for a log is still caught."""
    conn = db(ledger)
    conn.execute("DROP INDEX entries_once")
    ref = conn.execute("SELECT ref FROM entries WHERE seq = 2").fetchone()[0]
    conn.close()
    store = open_storage(database_target(str(ledger)))
    with store.transaction():
        append(store, Signer(str(ledger)), kind="earn", debit="issuance:c1",
               credit="volunteer:v1", amount=10, ref=ref)
    store.close()
    result = run_verify(ledger)
    assert result.exit_code == 1
    assert result.stderr.strip() == f"ledger broken: seq 7: a second earn entry for {ref}"


def test_unreadable_stored_key(ledger):
    conn = db(ledger)
    conn.execute("UPDATE signing_keys SET public_key = 'not-a-key'")
    conn.close()
    result = run_verify(ledger)
    assert result.exit_code == 1 and "stored keys are unusable" in result.stderr


def test_missing_data_dir(tmp_path, monkeypatch):
    monkeypatch.delenv("GRIDSYNC_DATABASE_URL", raising=False)  # the data dir's own file
    result = verify_cli("--data-dir", str(tmp_path / "nowhere"))
    assert result.exit_code == 1 and "no ledger database" in result.stderr


@pytest.fixture
def long_ledger(data_dir, app):
    """1,500 entries appended through the server's append(), for the forked path."""
    store = open_storage(database_target(str(data_dir)))
    signer = Signer(str(data_dir))
    with app.app_context():
        for block in range(15):
            with store.transaction():
                for _ in range(100):
                    append(store, signer, kind="adjust", debit="issuance:c1", credit="volunteer:v1",
                           amount=1 + block, ref=f"adjustment:{uuid.uuid4().hex}")
    store.close()
    return data_dir


@pytest.mark.parametrize("seq", [1, 777, 1500])
def test_parallel_verify_reports_the_first_break(long_ledger, seq):
    result = run_verify(long_ledger, workers=2)
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("ledger sound: 1500 entries")
    conn = db(long_ledger)
    for changed in {seq, 1499}:
        set_amount(conn, changed, 999)
        conn.execute("UPDATE entries SET amount = 999 WHERE seq = ?", (changed,))
    conn.close()
    result = run_verify(long_ledger, workers=2)
    assert result.exit_code == 1
    assert result.stderr.startswith(f"ledger broken: seq {min(seq, 1499)}: hash mismatch")


def test_progress_bar_on_long_runs(long_ledger, monkeypatch):
    import sys

    monkeypatch.setattr(sys.modules["server.cli.ledger"], "PROGRESS_FROM", 1000)
    result = run_verify(long_ledger, workers=2)
    assert result.exit_code == 0
    assert "verifying" in result.stderr and "verifying" not in result.stdout


def test_verify_as_a_subprocess(ledger):
    cmd = [*gridsync_command(), "ledger", "verify", "--data-dir", str(ledger)]
    ok = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert ok.returncode == 0 and ok.stdout.startswith("ledger sound: 6 entries")
    conn = db(ledger)
    tamper(conn, "reorder two")
    conn.close()
    bad = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert bad.returncode == 1 and "seq 3" in bad.stderr and "Traceback" not in bad.stderr


# --- key rotation --------------------------------------------------------------
def rotate(data_dir):
    result = CliRunner().invoke(main, ["ledger", "rotate-key", "--data-dir", str(data_dir)],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.stdout


def test_rotation_in_a_running_app(ledger, api):
    """The app keeps running across a rotation done by the CLI: its next
    append and checkpoint use the new key, and every entry still verifies."""
    before = api.ok(api.get("/ledger/checkpoint"))
    assert before["key_id"] == "k1"
    assert rotate(ledger).strip() == "ledger key k2 is now active; retired: k1"

    entry = give(api, "volunteer:v2", 7)["entry"]
    assert entry["key_id"] == "k2"
    after = api.ok(api.get("/ledger/checkpoint"))
    assert after["key_id"] == "k2" and after["seq"] == entry["seq"]

    published = api.ok(api.client.get("/api/v1/ledger/keys"))["keys"]
    by_id = {k["key_id"]: k for k in published}
    assert set(by_id) == {"k1", "k2"}
    assert by_id["k1"]["retired_at"] is not None and by_id["k2"]["retired_at"] is None
    assert all(set(k) == {"key_id", "public_key", "created_at", "retired_at", "endorsement"}
               for k in published)
    assert by_id["k1"]["endorsement"] is None and by_id["k2"]["endorsement"]
    keys = keyring(published)
    chain = entries(ledger)
    assert [e["key_id"] for e in chain] == ["k1"] * 6 + ["k2"]
    verify_chain(chain, keys)
    verify_checkpoint(before, keys)  # signed before k1 retired: still valid
    verify_checkpoint(after, keys)
    result = run_verify(ledger)
    assert result.exit_code == 0, result.output

    assert rotate(ledger).strip() == "ledger key k3 is now active; retired: k2"
    assert give(api, "volunteer:v2", 1)["entry"]["key_id"] == "k3"
    assert run_verify(ledger).exit_code == 0


def test_entry_signed_with_a_retired_key_after_retirement(ledger, api, app):
    """An old key that signs after its retired_at is caught (reason retired_key)."""
    rotate(ledger)
    conn = db(ledger)
    row = conn.execute("SELECT encrypted_private FROM signing_keys WHERE key_id = 'k1'").fetchone()
    conn.close()
    from server.keystore import load_secret

    old = SigningKey.from_encrypted_pem(bytes(row[0]), load_secret(str(ledger)))
    entry = give(api, "volunteer:v2", 7)["entry"]
    forged = resign(entry, old, "k1")
    conn = db(ledger)
    set_body(conn, entry["seq"], forged)
    conn.close()
    result = run_verify(ledger)
    assert result.exit_code == 1
    assert f"seq {entry['seq']}: dated after its key was retired" in result.stderr


def test_rotate_key_help_and_errors(tmp_path):
    result = CliRunner().invoke(main, ["ledger", "rotate-key", "--data-dir",
                                       str(tmp_path / "none")])
    assert result.exit_code == 1 and "not initialised" in result.output
    for command in (["ledger"], ["ledger", "verify"], ["ledger", "rotate-key"]):
        text = CliRunner().invoke(main, [*command, "--help"]).output
        assert "Example" in text


# --- a running server, public keys only ---------------------------------------
def test_verify_a_running_server(ledger, api, make_live_server):
    api.person("aud", "auditor", [])
    auditor = issue_token(ledger, "aud")
    server = make_live_server()
    result = verify_cli("--url", server.url, "--token", auditor)
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("ledger sound: 6 entries, head ")

    # A rotation by the CLI while gunicorn runs: its workers sign with k2 next.
    rotate(ledger)
    resp = requests.post(server.api_url + "/ledger/adjustments", headers=server.headers(),
                         json={"id": "late", "account": "volunteer:v1", "amount": 3,
                               "reason": "after rotation"}, timeout=10)
    assert resp.status_code == 201 and resp.json()["entry"]["key_id"] == "k2"
    result = verify_cli("--url", server.url + "/api/v1/", "--token", auditor, "--workers", "1")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("ledger sound: 7 entries")

    # The server now serves a tampered entry: caught with public keys only.
    conn = db(ledger)
    set_amount(conn, 4, 1)
    conn.close()
    result = verify_cli("--url", server.url, "--token", auditor)
    assert result.exit_code == 1
    assert result.stderr.startswith("ledger broken: seq 4: hash mismatch")

    # Tokens that may not read the ledger are told so, not a traceback.
    result = verify_cli("--url", server.url, "--token", "t0.nope")
    assert result.exit_code == 1 and "HTTP 401" in result.stderr
    assert verify_cli("--url", server.url).exit_code == 2  # no token: usage error


def test_verify_while_a_server_appends(ledger, api):
    """Verify reads one snapshot: entries appended meanwhile (and the
    balances they move) are neither half-seen nor reported as breaks."""
    import multiprocessing
    import time

    from tests.server.ledger_support import keep_appending

    ctx = multiprocessing.get_context("spawn")
    stop, count = ctx.Event(), ctx.Value("i", 0)
    writer = ctx.Process(target=keep_appending, args=(str(ledger), api.token, stop, count))
    writer.start()
    try:
        deadline = time.monotonic() + 60
        while count.value < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        for workers in (1, 2, 1, 2):
            result = run_verify(ledger, workers=workers)
            assert result.exit_code == 0, result.output
    finally:
        stop.set()
        writer.join(30)
    assert writer.exitcode == 0 and count.value > 3
    final = run_verify(ledger)
    assert final.stdout.startswith(f"ledger sound: {6 + count.value} entries")
