"""Anchors on the wire: endorsed keys, checkpoint roots, proofs, receipts, ledger_key."""

from __future__ import annotations

from click.testing import CliRunner

from ledger import (
    tree_root,
    verify_checkpoint,
    verify_entry,
    verify_extends,
    verify_key_chain,
    verify_receipt,
)
from ledger.anchors import entry_leaf
from ledger.merkle import MemoryTree, consistency_path, inclusion_path
from server.cli import main
from tests.helpers import DeviceKey, enrolment_proof, raw_db
from tests.server.ledger_support import entries, give, redemption_body


def keys(api):
    return api.ok(api.client.get("/api/v1/ledger/keys"))["keys"]


def pinned(api):
    first = keys(api)[0]
    return {"key_id": first["key_id"], "public_key": first["public_key"]}


def test_enrolment_hands_out_the_first_key_and_init_prints_it(world, api, tmp_path,
                                                               other_database):
    first = keys(api)[0]
    assert first["endorsement"] is None
    code = api.ok(api.post("/enrollments", {"person": "v2"}), 201)["code"]
    key = DeviceKey.generate()
    answer = api.ok(api.client.post("/api/v1/devices/enroll", json={
        "code": code, "public_key": key.public_key, "name": "p",
        "proof": enrolment_proof(code, key)}), 201)
    assert answer["ledger_key"] == {"key_id": "k1", "public_key": first["public_key"]}

    done = CliRunner().invoke(main, ["init", "--data-dir", str(tmp_path / "fresh")],
                              env=other_database)
    assert done.exit_code == 0, done.output
    assert "Ledger first key" in done.output
    db = raw_db(tmp_path / "fresh", other_database)
    public = db.scalar("SELECT public_key FROM signing_keys")
    db.close()
    assert f"k1 {public}" in done.output


def test_rotated_keys_are_endorsed_in_a_chain(api, data_dir):
    runner = CliRunner()
    for _ in range(2):
        done = runner.invoke(main, ["ledger", "rotate-key", "--data-dir", str(data_dir)])
        assert done.exit_code == 0, done.output
    listed = keys(api)
    assert [k["key_id"] for k in listed] == ["k1", "k2", "k3"]
    ring = verify_key_chain(listed, pinned(api))
    cp = api.ok(api.get("/ledger/checkpoint"))
    assert cp["key_id"] == "k3"
    verify_checkpoint(cp, ring)


def test_existing_keys_are_endorsed_at_start_up(data_dir, make_app, api):
    """A data dir from before endorsements: k2 made without one gets it from k1."""
    runner = CliRunner()
    assert runner.invoke(main, ["ledger", "rotate-key", "--data-dir", str(data_dir)]).exit_code == 0
    db = raw_db(data_dir)
    db.execute("UPDATE signing_keys SET endorsement = NULL")
    db.close()
    fresh = make_app(data_dir).test_client()
    listed = fresh.get("/api/v1/ledger/keys").get_json()["keys"]
    assert listed[1]["endorsement"]
    verify_key_chain(listed, pinned(api))


def test_proofs_match_the_library_and_refuse_outside_the_tree(world, api, data_dir):
    for i in range(6):
        give(api, "volunteer:v1", 10 + i)
    chain = entries(data_dir)
    mem = MemoryTree(entry_leaf(e["hash"]) for e in chain)
    cp = api.ok(api.get("/ledger/checkpoint"))
    assert cp["seq"] == 6 and cp["root"] == mem.root().hex() == tree_root(e["hash"] for e in chain)
    for seq in range(1, 7):
        for size in range(seq, 7):
            proof = api.ok(api.get(f"/ledger/proof/inclusion?seq={seq}&size={size}"))
            assert proof == {"seq": seq, "size": size,
                             "path": [p.hex() for p in inclusion_path(seq - 1, size, mem.node)]}
    for old in range(1, 7):
        proof = api.ok(api.get(f"/ledger/proof/consistency?from={old}&to=6"))
        assert proof["path"] == [p.hex() for p in consistency_path(old, 6, mem.node)]
        older = {**cp, "seq": old, "head": chain[old - 1]["hash"], "root": mem.root(old).hex()}
        verify_extends(older, cp, proof["path"])
    for query in ("inclusion?seq=0&size=3", "inclusion?seq=4&size=3", "inclusion?seq=1&size=7",
                  "consistency?from=0&to=3", "consistency?from=4&to=3",
                  "consistency?from=1&to=7", "inclusion?seq=x&size=3", "inclusion?seq=1"):
        resp = api.get(f"/ledger/proof/{query}")
        assert resp.status_code == 400, query
        assert resp.get_json()["error"]["code"] == "validation"
    assert api.client.get("/api/v1/ledger/proof/inclusion?seq=1&size=1").status_code == 401


def test_tree_is_filled_in_for_entries_stored_before_it(world, api, data_dir, make_app):
    for i in range(5):
        give(api, "volunteer:v1", 10 + i)
    db = raw_db(data_dir)
    db.execute("DELETE FROM merkle_tree")
    db.close()
    fresh = make_app(data_dir).test_client()
    headers = {"Authorization": f"Bearer {api.token}"}
    cp = fresh.get("/api/v1/ledger/checkpoint", headers=headers).get_json()
    assert cp["root"] == tree_root(e["hash"] for e in entries(data_dir))


def test_a_redemption_answer_is_a_receipt_checkable_offline(world, api):
    shop = api.enroll("shop1").token
    give(api, "volunteer:v1", 100)
    body = redemption_body("v1", world.cards["v1"], [("soap", 1)])
    first = api.ok(api.post("/redemptions", body, token=shop), 201)
    ring = verify_key_chain(keys(api), pinned(api))
    for answer in (first,
                   api.ok(api.post("/redemptions", body, token=shop), 200),
                   api.ok(api.get(f"/redemptions/{body['id']}", token=shop))):
        entry, cp, proof = answer["entry"], answer["checkpoint"], answer["proof"]
        verify_checkpoint(cp, ring)
        verify_entry(entry, prev_hash=entry["prev_hash"], expected_seq=entry["seq"], keys=ring)
        verify_receipt(entry, cp, proof)
        assert proof["seq"] == entry["seq"] == 2
    assert first["checkpoint"]["seq"] == 2  # taken with the entry, in its transaction
    give(api, "volunteer:v1", 1)
    later = api.ok(api.get(f"/redemptions/{body['id']}", token=shop))
    assert later == first  # the receipt given at the counter, unchanged


def test_a_server_whose_entries_were_cut_off_refuses_to_append(world, api, data_dir):
    for amount in (10, 20):
        give(api, "volunteer:v1", amount)
    db = raw_db(data_dir)
    db.execute("DELETE FROM entries WHERE seq = 2")
    db.close()
    cp = api.ok(api.get("/ledger/checkpoint"))  # still answers for the chain it has
    assert cp["seq"] == 1 and cp["root"] == tree_root(e["hash"] for e in entries(data_dir))
    resp = api.post("/ledger/adjustments", {"id": "a" * 32, "account": "volunteer:v1",
                                            "amount": 5, "reason": "after the cut"})
    assert resp.status_code == 503
    error = resp.get_json()["error"]
    assert error["code"] == "unavailable" and "entries were removed" in error["message"]
    assert len(entries(data_dir)) == 1
