"""A device keeps the newest ledger checkpoint it verified and refuses a server
whose tree does not extend it (issue 14 item 2), with keys pinned at enrolment."""

from __future__ import annotations

import pytest

from client_sdk import VerificationError
from tests.client.conftest import server_db
from tests.server.ledger_support import give


def roll_back(data_dir) -> None:  # type: ignore[no-untyped-def]
    """The newest entry cut off with its leaf and the tree nodes it closed, its
    remembered answer and the balances fixed: a database sound on its own."""
    conn = server_db(data_dir)
    head = conn.execute("SELECT max(seq) FROM entries").fetchone()[0]
    ref = conn.execute("SELECT ref FROM entries WHERE seq = ?", (head,)).fetchone()[0]
    conn.execute("DELETE FROM entries WHERE seq = ?", (head,))
    conn.execute("DELETE FROM requests WHERE id = ?", (ref.removeprefix("adjustment:"),))
    conn.execute("DELETE FROM merkle_tree WHERE size >= ?", (head,))
    conn.execute("DELETE FROM balances")
    conn.execute("INSERT INTO balances SELECT account, sum(delta), max(seq) FROM ("
                 "SELECT debit AS account, -amount AS delta, seq FROM entries UNION ALL "
                 "SELECT credit, amount, seq FROM entries) AS moves GROUP BY account")
    conn.close()


def test_enrolment_pins_the_first_key(make_field, api):
    device = make_field("v1")
    first = api.ok(api.client.get("/api/v1/ledger/keys"))["keys"][0]
    assert device.store.get("ledger_key") == {"key_id": "k1", "public_key": first["public_key"]}


def test_a_device_that_saw_n_refuses_a_server_rolled_back_to_n_minus_1(make_field, api,
                                                                       data_dir):
    device = make_field("v1")
    give(api, "volunteer:v1", 40)
    device.sync()
    give(api, "volunteer:v1", 2)
    device.sync()
    assert device.balance("v1")["balance"] == 42
    kept = device.store.get("ledger_checkpoint")
    assert kept["seq"] == 2

    roll_back(data_dir)
    assert api.ok(api.get("/ledger/checkpoint"))["seq"] == 1  # the server now says 1
    with pytest.raises(VerificationError) as caught:
        device.sync()
    message = str(caught.value)
    assert caught.value.reason == "consistency"
    assert "rolled back" in message and "seq 1" in message and "seq 2" in message
    with pytest.raises(VerificationError, match="rolled back"):
        device.balance("v1")  # no balance is believed from it
    assert device.store.get("ledger_checkpoint") == kept  # the longer history is kept


def test_a_rewritten_history_of_the_same_length_is_refused(make_field, api, data_dir):
    device = make_field("v1")
    give(api, "volunteer:v1", 40)
    give(api, "volunteer:v1", 2)
    device.sync()
    roll_back(data_dir)
    give(api, "volunteer:v1", 2000)  # a different second entry, same seq
    with pytest.raises(VerificationError) as caught:
        device.sync()
    assert caught.value.reason == "consistency"


def test_the_checkpoint_moves_on_as_the_ledger_grows(make_field, api):
    device = make_field("v1")
    device.sync()
    assert device.store.get("ledger_checkpoint")["seq"] == 0
    for amount in (1, 2, 3):
        give(api, "volunteer:v1", amount)
        device.sync()
    assert device.store.get("ledger_checkpoint")["seq"] == 3
    assert device.balance("v1")["balance"] == 6
