"""The Anchors vectors inside the page (server/field/static/js/anchors.js): RFC 6962
consistency proofs of the reference tree and of the ledger's tree, a checkpoint with
its root signed by k1, and k2 trusted only through k1's endorsement. A rolled-back or
rewritten ledger, a forged proof and an unendorsed key are refused."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

ANCHORS = Path(__file__).resolve().parents[1] / "vectors" / "anchors-v1.json"

RUN = (Path(__file__).with_name("anchors_in_page.js")).read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def results(field_server, browser):
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(field_server.app_url)
        return page.evaluate(RUN, json.loads(ANCHORS.read_text(encoding="utf-8")))
    finally:
        context.close()


def test_every_consistency_proof_of_the_vectors_verifies(results):
    assert results["proofs"] and set(results["proofs"]) == {"ok"}
    assert results["ledger"] == "ok"
    assert results["from_empty"] == "ok"


def test_keys_are_trusted_through_endorsements_and_the_checkpoint_verifies(results):
    vectors = json.loads(ANCHORS.read_text(encoding="utf-8"))["key_endorsement"]
    assert results["trusted"] == {"k1": vectors["k1"]["public_key"],
                                  "k2": vectors["k2"]["public_key"]}
    assert results["checkpoint"] == "ok"


def test_rollbacks_rewrites_forgeries_and_unendorsed_keys_are_refused(results):
    refused = results["refused"]
    assert "shrank from 7 to 3" in refused["rollback"]
    assert "old root" in refused["rewritten"]
    assert refused["forged"] != "ok"
    assert "two different ledgers" in refused["same_size"]
    assert "not endorsed" in refused["unendorsed"]
    assert "not the one this phone was given" in refused["other_pin"]
    assert "not signed by a trusted key" in refused["checkpoint"]
