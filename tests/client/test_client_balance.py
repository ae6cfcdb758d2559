"""A volunteer's balance: every entry's hash and signature checked against the published keys."""

from __future__ import annotations

import pytest

from client_sdk import FlaskTransport, RequestFailed, VerificationError
from tests.client.client_support import Rewrite


@pytest.fixture
def earned(make_field):
    """w1 records two logs for v1 (one from v1's own phone), w1b verifies them: 6 + 15 points."""
    worker, verifier = make_field("w1"), make_field("w1b")
    volunteer = make_field("v1")
    first = worker.log_hours("v1", "cleanup", 60)
    own = volunteer.log_hours("v1", "elderly_care", 90)
    worker.sync()
    volunteer.sync()
    verifier.sync()
    verifier.verify_log(first["id"])
    verifier.verify_log(own["id"])
    assert verifier.sync().applied == 2
    return volunteer


def test_balance_verifies_every_entry(earned):
    out = earned.balance("v1")
    assert out["balance"] == 21 and len(out["entries"]) == 2
    assert {e["kind"] for e in out["entries"]} == {"earn"}
    earned.sync()
    assert {log["fields"]["points"] for log in earned.service_logs()} == {6, 15}


def test_ledger_keys_are_cached(earned, app):
    link = Rewrite(FlaskTransport(app), lambda path, body: body)
    earned._transport = link
    earned.balance("v1")
    earned.balance("v1")
    # Fetched and cached by the last sync's checkpoint check: not fetched again.
    assert link.gets.count("/ledger/keys") == 0 and link.gets.count("/accounts/volunteer:v1") == 2
    assert earned.store.get("ledger_keys")


@pytest.mark.parametrize("tamper, reason", [
    (lambda e: e.update(amount=e["amount"] + 100), "hash"),
    (lambda e: e.update(sig=e["sig"][:-2] + ("AA" if e["sig"][-2:] != "AA" else "BA")),
     "signature"),
    (lambda e: e.pop("prev_hash"), "format"),
])
def test_a_tampered_entry_raises_verification_error(earned, app, tamper, reason):
    def rewrite(path, body):
        if path.startswith("/accounts/"):
            tamper(body["entries"][0])
        return body

    earned._transport = Rewrite(FlaskTransport(app), rewrite)
    with pytest.raises(VerificationError) as info:
        earned.balance("v1")
    assert info.value.reason == reason


def test_an_entry_signed_by_a_key_the_server_does_not_publish_is_refused(earned, app):
    def rewrite(path, body):
        if path == "/ledger/keys":
            body["keys"] = []
        return body

    earned._transport = link = Rewrite(FlaskTransport(app), rewrite)
    with earned.store.transaction():
        earned.store.delete_setting("ledger_keys")  # cached by the last sync
    with pytest.raises(VerificationError) as info:
        earned.balance("v1")
    # Keys must chain from the key pinned at enrolment: a list without it is refused.
    assert info.value.reason == "endorsement"
    assert link.gets.count("/ledger/keys") == 1


def test_a_balance_that_is_not_the_sum_of_its_entries_is_refused(earned, app):
    def rewrite(path, body):
        if path.startswith("/accounts/"):
            body["balance"] += 1
        return body

    earned._transport = Rewrite(FlaskTransport(app), rewrite)
    with pytest.raises(VerificationError, match="balances do not add up.*volunteer:v1"):
        earned.balance("v1")


def test_a_worker_may_not_read_a_volunteer_balance(make_field):
    with pytest.raises(RequestFailed, match="403 forbidden"):
        make_field("w1").balance("v1")
