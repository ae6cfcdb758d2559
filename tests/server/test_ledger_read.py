"""Reading the ledger: accounts per role, entry pages, signed checkpoints."""

from __future__ import annotations

import pytest

from ledger import (
    ZERO_HASH,
    VerificationError,
    check_checkpoint_against,
    keyring,
    tree_root,
    verify_chain,
    verify_checkpoint,
)
from tests.helpers import issue_token
from tests.server.ledger_support import entries, give, redemption_body


@pytest.fixture
def tokens(world, api, data_dir):
    """Tokens for every kind of caller, and a v1 balance of 100 - 4 = 96."""
    api.ok(api.post("/grids", {"id": "c2", "name": "社区二", "parent": None}), 201)
    api.ok(api.post("/shops", {"id": "s2", "name": "other", "community": "c2"}), 201)
    api.person("shop2", "shop", [], shop="s2")
    api.person("aud", "auditor", [])
    out = {"admin": api.token, "auditor": issue_token(data_dir, "aud")}
    for person in ("v1", "v2", "w1", "shop1", "shop2"):
        out[person] = api.enroll(person).token
    give(api, "volunteer:v1", 100)
    api.ok(api.post("/redemptions", redemption_body("v1", world.cards["v1"], [("soap", 1)]),
                    token=out["shop1"]), 201)
    return out


def test_account_visibility_per_role(api, tokens, data_dir):
    path = "/accounts/volunteer:v1"
    full = api.ok(api.get(path, token=tokens["v1"]))
    assert full["account"] == "volunteer:v1" and full["balance"] == 96
    assert full["as_of"] == 2
    assert full["entries"] == entries(data_dir)
    for who in ("admin", "auditor"):
        assert api.ok(api.get(path, token=tokens[who])) == full
    # A shop of the volunteer's community sees the balance only.
    assert api.ok(api.get(path, token=tokens["shop1"])) == {
        "account": "volunteer:v1", "balance": 96, "as_of": 2}
    for who in ("v2", "w1", "shop2"):
        resp = api.get(path, token=tokens[who])
        assert resp.status_code == 403, who
        assert resp.get_json()["error"]["code"] == "forbidden"
    assert api.client.get("/api/v1" + path).status_code == 401


def test_other_accounts_are_for_admins_and_auditors(api, tokens):
    shop = api.ok(api.get("/accounts/shop:s1", token=tokens["auditor"]))
    assert shop["balance"] == 4 and len(shop["entries"]) == 1
    issuance = api.ok(api.get("/accounts/issuance:c1"))
    assert issuance["balance"] == -100
    empty = api.ok(api.get("/accounts/volunteer:v2"))
    assert (empty["balance"], empty["entries"]) == (0, [])
    for who in ("shop1", "v1", "w1"):
        assert api.get("/accounts/shop:s1", token=tokens[who]).status_code == 403
        assert api.get("/accounts/issuance:c1", token=tokens[who]).status_code == 403


@pytest.mark.parametrize("account", ["volunteer:nobody", "volunteer:w1", "shop:nope",
                                     "issuance:g1", "issuance:nope", "expiry:c1", "v1",
                                     "volunteer:"])
def test_unknown_accounts_are_404(api, tokens, account):
    resp = api.get(f"/accounts/{account}", token=tokens["auditor"])
    assert resp.status_code == 404 and resp.get_json()["error"]["code"] == "not_found"
    # Callers who may not read any account learn nothing about it: 403.
    assert api.get(f"/accounts/{account}", token=tokens["shop1"]).status_code == 403


def test_entry_pages(world, api, data_dir):
    from tests.helpers import issue_token

    for i in range(7):
        give(api, "volunteer:v1", i + 1)
    seen, after, nexts = [], 0, []
    while True:
        page = api.ok(api.get(f"/ledger/entries?after={after}&limit=3"))
        seen += page["entries"]
        nexts.append(page["next"])
        if page["next"] is None:
            break
        after = page["next"]
    assert nexts == [3, 6, None]
    assert seen == entries(data_dir)
    assert [e["seq"] for e in seen] == list(range(1, 8))

    default = api.ok(api.get("/ledger/entries"))
    assert default == {"entries": seen, "next": None}
    assert api.ok(api.get("/ledger/entries?after=7")) == {"entries": [], "next": None}
    assert api.ok(api.get("/ledger/entries?after=6&limit=1"))["next"] is None
    assert api.ok(api.get("/ledger/entries?after=5&limit=1"))["next"] == 6
    assert len(api.ok(api.get("/ledger/entries?limit=1000"))["entries"]) == 7

    keys = keyring(api.ok(api.client.get("/api/v1/ledger/keys"))["keys"])
    summary = verify_chain(seen, keys)
    assert summary.head_seq == 7 and summary.balances["volunteer:v1"] == 28

    api.person("aud", "auditor", [])
    assert api.get("/ledger/entries", token=issue_token(data_dir, "aud")).status_code == 200


@pytest.mark.parametrize("query", ["limit=0", "limit=1001", "limit=-1", "limit=abc",
                                   "after=-1", "after=x", "after=1.0", "limit=2.5",
                                   "cursor=3", "after=1&limit=3&x=1"])
def test_bad_entry_page_parameters(world, api, query):
    resp = api.get(f"/ledger/entries?{query}")
    assert resp.status_code == 400, query
    assert resp.get_json()["error"]["code"] == "validation"


def test_entries_are_for_admins_and_auditors(api, tokens):
    for who in ("v1", "w1", "shop1"):
        assert api.get("/ledger/entries", token=tokens[who]).status_code == 403


def test_checkpoint_of_an_empty_ledger(world, api):
    cp = api.ok(api.get("/ledger/checkpoint"))
    assert cp["seq"] == 0 and cp["head"] == ZERO_HASH
    keys = keyring(api.ok(api.client.get("/api/v1/ledger/keys"))["keys"])
    verify_checkpoint(cp, keys)
    check_checkpoint_against(cp, lambda seq: None)


def test_checkpoint_is_signed_and_consistent(api, tokens, data_dir):
    keys = keyring(api.ok(api.client.get("/api/v1/ledger/keys"))["keys"])
    chain = entries(data_dir)
    hashes = {e["seq"]: e["hash"] for e in chain}
    for who in ("v1", "w1", "shop1", "auditor", "admin"):  # any token
        cp = api.ok(api.get("/ledger/checkpoint", token=tokens[who]))
        assert set(cp) == {"seq", "head", "root", "at", "key_id", "sig"}
        assert (cp["seq"], cp["head"]) == (2, chain[-1]["hash"])
        assert cp["root"] == tree_root(e["hash"] for e in chain)
        verify_checkpoint(cp, keys)
        check_checkpoint_against(cp, hashes.get)
    # A later checkpoint still vouches for the earlier prefix.
    early = api.ok(api.get("/ledger/checkpoint"))
    give(api, "volunteer:v2", 5)
    later = api.ok(api.get("/ledger/checkpoint"))
    assert later["seq"] == 3
    rest = verify_chain(entries(data_dir)[early["seq"]:], keys,
                        start_seq=early["seq"] + 1, prev_hash=early["head"])
    check_checkpoint_against(later, rest)
    # A forged one does not verify.
    with pytest.raises(VerificationError):
        verify_checkpoint({**later, "seq": 1}, keys)
    assert api.client.get("/api/v1/ledger/checkpoint").status_code == 401


def test_account_entries_a_page_at_a_time(world, api, tokens, data_dir):
    """`after` and `limit` (an extension of the v1 contract) page an account's entries
    oldest first with `next`, as /ledger/entries does; without them the answer is as
    it always was. The issuance account (every earn of its community) pages the same."""
    for i in range(6):
        give(api, "volunteer:v1", i + 1)
    path = "/accounts/volunteer:v1"
    whole = api.ok(api.get(path, token=tokens["v1"]))
    assert "next" not in whole and len(whole["entries"]) == 8  # 2 before, 6 given here
    seen, after, nexts = [], 0, []
    while True:
        page = api.ok(api.get(f"{path}?after={after}&limit=3", token=tokens["v1"]))
        assert (page["balance"], page["as_of"]) == (whole["balance"], whole["as_of"])
        seen += page["entries"]
        nexts.append(page["next"])
        if page["next"] is None:
            break
        after = page["next"]
    assert seen == whole["entries"] and nexts == [seen[2]["seq"], seen[5]["seq"], None]
    assert api.ok(api.get(f"{path}?limit=8"))["next"] is None
    assert api.ok(api.get(f"{path}?limit=7"))["next"] == seen[6]["seq"]
    assert api.ok(api.get(f"{path}?after={seen[-1]['seq']}")) == {
        **{k: whole[k] for k in ("account", "balance", "as_of")}, "entries": [], "next": None}
    assert api.ok(api.get(f"{path}?after=0"))["entries"] == seen  # limit 100 by default
    assert api.ok(api.get(f"{path}?_=123")) == whole  # other parameters ignored, as before
    issuance = api.ok(api.get("/accounts/issuance:c1?limit=2"))
    assert [e["seq"] for e in issuance["entries"]] == [1, 3] and issuance["next"] == 3
    # A shop still sees the balance only, whatever it asks.
    assert api.ok(api.get(f"{path}?limit=2", token=tokens["shop1"])) == {
        "account": "volunteer:v1", "balance": whole["balance"], "as_of": whole["as_of"]}


@pytest.mark.parametrize("query", ["limit=0", "limit=1001", "limit=-1", "limit=abc",
                                   "after=-1", "after=x", "after=1.0", "limit=2.5", "limit=",
                                   f"after={2**53}"])
def test_bad_account_page_parameters(api, tokens, query):
    before = api.ok(api.get("/accounts/volunteer:v1"))
    resp = api.get(f"/accounts/volunteer:v1?{query}", token=tokens["v1"])
    assert resp.status_code == 400, query
    error = resp.get_json()["error"]
    assert error["code"] == "validation", error
    assert set(error["fields"]) in ({"after"}, {"limit"}), error
    assert api.ok(api.get("/accounts/volunteer:v1")) == before
