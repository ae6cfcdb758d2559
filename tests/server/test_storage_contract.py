"""The storage contract: what every backend must do, whatever its SQL.

The ``store`` fixture is parametrized over both backends: SQLite (a file in
tmp_path) and PostgreSQL (a fresh database on the session's server, see
tests/pg_support.py). The tests use the ``Storage`` interface only (``directory``,
``access``, ``ledger``, ``transaction()``), never SQL, so they describe
behaviour, not a schema.
"""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from ledger import ZERO_HASH, SigningKey, entry_leaf, make_entry
from ledger.merkle import Frontier
from server.storage import BackendError, Conflict, Missing, open_storage
from server.storage.errors import NotNext

AT = "2026-11-26T12:00:00.000Z"
LATER = "2026-11-26T13:00:00.000Z"
BACKENDS = ["sqlite", "postgresql"]


@pytest.fixture(params=BACKENDS)
def backend(request, tmp_path):
    if request.param == "sqlite":
        path = str(tmp_path / "contract.db")
    else:
        path = request.getfixturevalue("pg_url")
    return SimpleNamespace(open=lambda: open_storage(path),
                           integrity_errors=(BackendError, Conflict))


@pytest.fixture
def store(backend):
    s = backend.open()
    yield s
    s.close()


@pytest.fixture
def other(backend, store):
    """A second connection to the same database (another worker process)."""
    s = backend.open()
    yield s
    s.close()


@pytest.fixture
def town(store):
    """Community c1 with g1 (and g1a under it), g2; community c2; shop s1; people."""
    with store.transaction():
        d = store.directory
        d.add_grid(id="c1", name="社区一", parent=None, at=AT)
        d.add_grid(id="g1", name="一网格", parent="c1", at=AT)
        d.add_grid(id="g1a", name="一网格甲", parent="g1", at=AT)
        d.add_grid(id="g2", name="二网格", parent="c1", at=AT)
        d.add_grid(id="c2", name="社区二", parent=None, at=AT)
        d.add_shop(id="s1", name="积分超市", community="c1", at=AT)
        d.add_person(id="w1", name="王", role="worker", grids=["g1"], shop=None,
                     community="c1", at=AT)
        d.add_person(id="v1", name="李", role="volunteer", grids=["g1a", "g2"], shop=None,
                     community="c1", at=AT)
        d.add_person(id="shop1", name="店员", role="shop", grids=[], shop="s1",
                     community="c1", at=AT)
    return store


# --- directory -----------------------------------------------------------------------------

def test_grids_add_get_list_and_communities(town):
    d = town.directory
    assert d.grid("g1a") == {"id": "g1a", "name": "一网格甲", "parent": "g1", "community": "c1"}
    assert d.grid("c2")["community"] == "c2"
    assert d.grid("nope") is None
    assert [g["id"] for g in d.grids()] == ["c1", "c2", "g1", "g1a", "g2"]


def test_grid_conflict_and_missing_parent_change_nothing(town):
    d = town.directory
    with pytest.raises(Conflict) as exc:
        with town.transaction():
            d.add_grid(id="g1", name="again", parent=None, at=AT)
    assert (exc.value.kind, exc.value.id) == ("grid", "g1")
    with pytest.raises(Missing) as missing:
        with town.transaction():
            d.add_grid(id="g9", name="orphan", parent="nowhere", at=AT)
    assert missing.value.id == "nowhere"
    assert d.grid("g9") is None and d.grid("g1")["name"] == "一网格"


def test_grid_tree_walks(town):
    d = town.directory
    assert d.descendants(["g1"]) == {"g1", "g1a"}
    assert d.descendants(["c1"]) == {"c1", "g1", "g1a", "g2"}
    assert d.descendants([]) == set()
    assert d.ancestors(["g1a"]) == {"g1a", "g1", "c1"}
    assert d.ancestors(["g2", "c2"]) == {"g2", "c1", "c2"}


def test_reach_is_the_tree_walks_of_a_persons_grids_in_one_read(town):
    d = town.directory
    with town.transaction():
        d.add_person(id="w2", name="赵", role="worker", grids=["g1a", "c2"], shop=None,
                     community="c1", at=AT)
    for person in ("w1", "v1", "w2", "shop1", "nobody"):
        own = d.person(person)["grids"] if d.person(person) else []
        reach = d.reach(person)
        assert reach.own == own, person
        assert reach.below == d.descendants(own), person
        assert reach.above == d.ancestors(own), person
        assert reach.people == d.people_in_grids(d.descendants(own) | d.ancestors(own)), person
    assert d.reach("w2").below == {"g1a", "c2"} and d.reach("w2").above == {"g1a", "g1", "c1",
                                                                               "c2"}
    assert d.reach("w2").people == {"w1", "v1", "w2"} and d.reach("shop1").people == set()


def test_shops(town):
    d = town.directory
    assert d.shop("s1") == {"id": "s1", "name": "积分超市", "community": "c1"}
    assert d.shop("nope") is None
    with pytest.raises(Conflict):
        d.add_shop(id="s1", name="x", community="c2", at=AT)
    assert [s["id"] for s in d.shops()] == ["s1"]


def test_people_add_get_update_and_grids(town):
    d = town.directory
    assert d.person("v1") == {"id": "v1", "name": "李", "role": "volunteer", "shop": None,
                              "community": "c1", "active": True, "grids": ["g1a", "g2"]}
    assert d.person("nope") is None
    with pytest.raises(Conflict):
        d.add_person(id="w1", name="x", role="admin", grids=[], shop=None, community=None,
                     at=AT)
    with town.transaction():
        d.update_person("w1", name="王二", active=False, role="admin")   # role is not updatable
        d.set_grids("w1", ["g1", "g2"])
    w1 = d.person("w1")
    assert (w1["name"], w1["active"], w1["role"], w1["grids"]) == ("王二", False, "worker",
                                                                   ["g1", "g2"])
    assert [p["id"] for p in d.people()] == ["shop1", "v1", "w1"]
    assert {p["id"]: p["grids"] for p in d.people()}["v1"] == ["g1a", "g2"]
    assert d.people_in_grids({"g2"}) == {"v1", "w1"}
    assert d.people_in_grids(set()) == set()


def test_card_hash(town):
    d = town.directory
    assert d.card_hash("v1") is None and d.card_sealed("v1") is None
    d.set_card("v1", "h1", "sealed1")
    d.set_card("v1", "h2", None)
    assert d.card_hash("v1") == "h2" and d.card_sealed("v1") is None
    d.set_card("v1", "h3", "sealed3")
    assert (d.card_hash("v1"), d.card_sealed("v1")) == ("h3", "sealed3")


def test_stock_received_and_items_removed(town):
    d = town.directory
    d.put_item(shop="s1", sku="rice", name="米", price=30, stock=5, at=AT)
    assert d.add_stock("s1", "rice", 7, LATER) and d.item("s1", "rice")["stock"] == 12
    assert not d.add_stock("s1", "nope", 1, LATER)
    assert d.remove_item("s1", "rice") and d.item("s1", "rice") is None
    assert not d.remove_item("s1", "rice")


def test_catalog_put_replaces_and_take_stock_never_goes_negative(town):
    d = town.directory
    assert d.put_item(shop="s1", sku="rice", name="米", price=30, stock=5, at=AT) == {
        "sku": "rice", "name": "米", "price": 30, "stock": 5}
    d.put_item(shop="s1", sku="rice", name="大米", price=31, stock=5, at=LATER)
    d.put_item(shop="s1", sku="oil", name="油", price=50, stock=0, at=AT)
    assert [i["sku"] for i in d.catalog("s1")] == ["oil", "rice"]
    assert d.item("s1", "rice")["name"] == "大米"
    assert d.item("s1", "nope") is None
    assert d.take_stock("s1", "rice", 3) is True
    assert d.take_stock("s1", "rice", 3) is False        # only 2 left: nothing taken
    assert d.item("s1", "rice")["stock"] == 2
    assert d.take_stock("s1", "rice", 2) is True
    assert d.take_stock("s1", "rice", 1) is False
    assert d.take_stock("s1", "oil", 1) is False
    assert d.take_stock("s1", "nope", 1) is False
    assert d.item("s1", "rice")["stock"] == 0 and d.item("s1", "oil")["stock"] == 0


def test_rules_latest_wins(town):
    d = town.directory
    assert d.rules() is None
    d.put_rules({"activities": {}, "daily_cap": None, "timezone": "UTC"}, "h1", AT)
    d.put_rules({"activities": {"a": {"points_per_hour": 1}}, "daily_cap": 3,
                 "timezone": "Asia/Shanghai"}, "h2", LATER)
    body, digest = d.rules()
    assert digest == "h2" and body["daily_cap"] == 3 and body["activities"]["a"] == {
        "points_per_hour": 1}


def test_rules_by_hash_finds_the_newest_body_put_with_it(town):
    d = town.directory
    assert d.rules_by_hash("h1") is None
    d.put_rules({"activities": {}, "daily_cap": None, "timezone": "UTC"}, "h1", AT)
    d.put_rules({"activities": {}, "daily_cap": 2, "timezone": "UTC"}, "h2", AT)
    d.put_rules({"activities": {}, "daily_cap": 1, "timezone": "UTC"}, "h1", LATER)
    assert d.rules_by_hash("h1")["daily_cap"] == 1
    assert d.rules_by_hash("h2")["daily_cap"] == 2
    assert d.rules_by_hash("nope") is None


# --- access --------------------------------------------------------------------------------

def test_tokens(town):
    a = town.access
    a.add_token(id="t1", person="w1", device=None, secret_hash="sh", at=AT)
    row = a.token_principal("t1")
    assert (row["person"], row["role"], row["secret_hash"], row["token_revoked"]) == (
        "w1", "worker", "sh", None)
    assert row["active"] and row["device"] is None and row["community"] == "c1"
    assert a.token_principal("nope") is None
    assert a.revoke_token("t1", LATER) is True
    assert a.revoke_token("t1", LATER) is False
    assert a.revoke_token("nope", LATER) is False
    assert a.token_principal("t1")["token_revoked"] == LATER


def test_devices(town):
    a = town.access
    a.add_device(id="d1", person="w1", name="phone", public_key="pk", at=AT)
    a.add_token(id="t1", person="w1", device="d1", secret_hash="sh", at=AT)
    assert a.token_principal("t1")["public_key"] == "pk"
    dev = a.device("d1")
    assert (dev["person"], dev["applied"], dev["rejected"], dev["revoked_at"]) == (
        "w1", 0, 0, None)
    a.record_sync("d1", at=LATER, applied=3, rejected=1)
    a.record_sync("d1", at=LATER, applied=2, rejected=0)
    dev = a.device("d1")
    assert (dev["applied"], dev["rejected"], dev["last_sync_at"]) == (5, 1, LATER)
    a.revoke_device("d1", AT)
    a.revoke_device("d1", LATER)                      # the first revocation time is kept
    assert a.device("d1")["revoked_at"] == AT
    assert a.token_principal("t1")["device_revoked"] == AT
    assert [d["id"] for d in a.devices()] == ["d1"]
    assert a.device("nope") is None


def test_enrolment_codes_are_claimed_once_and_expire(town):
    a = town.access
    a.add_enrollment(code_hash="c1", person="w1", at=AT, expires_at=LATER)
    a.add_enrollment(code_hash="c2", person="v1", at=AT, expires_at=LATER)
    assert a.claim_enrollment("c1", AT) == "w1"
    assert a.claim_enrollment("c1", AT) is None
    assert a.claim_enrollment("c2", LATER) is None            # expired at LATER
    assert a.claim_enrollment("nope", AT) is None
    assert a.claim_enrollment("c2", AT) == "v1"


def test_rate_limit_counters_reset_with_the_window(town):
    a = town.access
    assert a.hits("k", 100) == 0
    assert [a.hit("k", 100) for _ in range(3)] == [1, 2, 3]
    assert a.hits("k", 100) == 3 and a.hits("other", 100) == 0
    assert a.hits("k", 101) == 0
    assert a.hit("k", 101) == 1


# --- ledger --------------------------------------------------------------------------------

KEY = SigningKey.from_seed(bytes(range(32)))


def entries(n, kinds=None):
    out, prev = [], ZERO_HASH
    for seq in range(1, n + 1):
        kind = (kinds or {}).get(seq, "earn")
        debit, credit = ("issuance:c1", "volunteer:v1") if kind != "redeem" else (
            "volunteer:v1", "shop:s1")
        entry = make_entry(seq=seq, id=f"e{seq}", kind=kind, debit=debit, credit=credit,
                           amount=10 * seq, ref=f"service_log:l{seq}", evidence=None,
                           rules=None, at=AT, prev_hash=prev, key=KEY, key_id="k1")
        out.append(entry)
        prev = entry["hash"]
    return out


def test_ledger_append_head_and_balances(store):
    lg = store.ledger
    assert lg.head() == (0, None)
    chain = entries(3, {3: "redeem"})
    with store.transaction():
        for e in chain:
            lg.append(e)
    assert lg.head() == (3, chain[-1]["hash"])
    assert lg.entry(2) == chain[1]
    assert lg.entry(9) is None
    assert lg.entry_by_ref("earn", "service_log:l1") == chain[0]
    assert lg.entry_by_ref("redeem", "service_log:l1") is None
    assert lg.entries(1, 1) == [chain[1]]
    assert lg.entries(0, 10) == chain
    assert list(lg.iter_entries(batch=2)) == chain
    assert lg.account_entries("shop:s1") == [chain[2]]
    # volunteer:v1 is credited by 1 and 2, debited by 3: pages merge both sides by seq
    assert lg.account_entries("volunteer:v1") == chain
    assert lg.account_entries("volunteer:v1", 0, 2) == chain[:2]
    assert lg.account_entries("volunteer:v1", 1, 2) == chain[1:]
    assert lg.account_entries("volunteer:v1", 2, 5) == lg.account_entries("volunteer:v1", 2)
    assert lg.account_entries("volunteer:v1", 3, 5) == []
    assert lg.balance("volunteer:v1") == 10 + 20 - 30
    assert lg.balance("issuance:c1") == -30 and lg.balance("shop:s1") == 30
    assert lg.balance("nobody") == 0
    assert sum(lg.balances().values()) == 0
    assert lg.kind_counts() == {"earn": 2, "redeem": 1}


def extend(chain, n, tag):
    """``n`` entries after ``chain`` (ids and refs marked with ``tag``)."""
    out, prev = list(chain), chain[-1]["hash"] if chain else ZERO_HASH
    for seq in range(len(chain) + 1, len(chain) + n + 1):
        entry = make_entry(seq=seq, id=f"{tag}{seq}", kind="earn", debit="issuance:c1",
                           credit="volunteer:v1", amount=seq, ref=f"service_log:{tag}{seq}",
                           evidence=None, rules=None, at=AT, prev_hash=prev, key=KEY,
                           key_id="k1")
        out.append(entry)
        prev = entry["hash"]
    return out


def assert_tree_is_the_chains(store):
    """The stored Merkle tree is the tree over the stored chain, node for node."""
    chain = store.ledger.entries(0, 1000)
    assert store.ledger.tree_size() == len(chain)
    frontier = Frontier()
    for entry in chain:
        for level, idx, digest in frontier.append(entry_leaf(entry["hash"])):
            assert store.ledger.tree_node(level, idx) == digest, (level, idx)


def test_ledger_store_refuses_an_entry_that_does_not_extend_the_head(store):
    chain = extend([], 3, "e")
    with store.transaction():
        store.ledger.append(chain[0])
    forked = extend([], 2, "f")[1]                        # seq 2 after another seq 1
    for bad in (chain[0], chain[2], forked, {**chain[1], "seq": 3}):
        with pytest.raises(NotNext):
            with store.transaction():
                store.ledger.append(bad)
    assert store.ledger.head() == (1, chain[0]["hash"])
    assert store.ledger.balance("volunteer:v1") == 1
    with store.transaction():
        store.ledger.append(chain[1])
    assert_tree_is_the_chains(store)


def test_ledger_append_state_is_one_read_of_what_an_append_checks(town):
    state = town.ledger.append_state("issuance:c1", "volunteer:v1")
    assert state == (0, None, None, 0, 0)
    town.ledger.add_key(key_id="k1", public_key=KEY.public_key, encrypted_private=b"x", at=AT)
    chain = extend([], 2, "e")
    with town.transaction():
        for entry in chain:
            town.ledger.append(entry)
    assert town.ledger.append_state("volunteer:v1", "issuance:c1") == (
        2, chain[1]["hash"], "k1", 3, -3)
    assert town.ledger.sealed_key("k1") == b"x" and town.ledger.sealed_key("k9") is None


def test_the_frontier_a_store_keeps_is_read_again_when_the_head_moved(store, other):
    """A store keeps the tree's frontier from its last append; another worker's
    appends, a rolled-back append and a head read in an earlier transaction all
    make it read the tree again, never write nodes from a stale frontier."""
    chain = extend([], 3, "e")
    with store.transaction():
        for entry in chain:
            store.ledger.append(entry)
    chain = extend(chain, 2, "o")                        # another worker appends 4, 5
    with other.transaction():
        other.ledger.append(chain[3])
        other.ledger.append(chain[4])
    chain = extend(chain, 1, "s")
    with store.transaction():
        assert store.ledger.append_state("issuance:c1", "volunteer:v1").seq == 5
        store.ledger.append(chain[5])
    with pytest.raises(RuntimeError):                    # 7 written, then rolled back
        with store.transaction():
            store.ledger.append(extend(chain, 1, "x")[6])
            raise RuntimeError("boom")
    assert store.ledger.head() == (6, chain[5]["hash"])
    chain = extend(chain, 2, "s")
    with store.transaction():
        store.ledger.append(chain[6])
        store.ledger.append(chain[7])
    with store.transaction():                            # the head as read here...
        store.ledger.append_state("issuance:c1", "volunteer:v1")
    chain = extend(chain, 1, "o")
    with other.transaction():
        other.ledger.append(chain[8])
    with pytest.raises(NotNext):                         # ...is not the head later
        with store.transaction():
            store.ledger.append(extend(chain[:8], 1, "late")[8])
    chain = extend(chain, 1, "s")
    with store.transaction():
        store.ledger.append(chain[9])
    assert store.ledger.head() == (10, chain[9]["hash"])
    assert_tree_is_the_chains(store)


def test_ledger_earns_once_per_ref(backend, store):
    first, = entries(1)
    with store.transaction():
        store.ledger.append(first)
    twin = {**entries(2)[1], "ref": first["ref"]}
    with pytest.raises(backend.integrity_errors):
        with store.transaction():
            store.ledger.append(twin)
    assert store.ledger.head()[0] == 1
    assert store.ledger.balance("volunteer:v1") == 10
    assert_tree_is_the_chains(store)  # the refused entry's leaf went with it
    with store.transaction():
        store.ledger.append(entries(2)[1])
    assert_tree_is_the_chains(store)


def test_ledger_keys(store):
    lg = store.ledger
    assert lg.active_key() is None and lg.keys() == []
    lg.add_key(key_id="k1", public_key="pk1", encrypted_private=b"enc1", at=AT)
    lg.add_key(key_id="k2", public_key="pk2", encrypted_private=b"enc2", at=LATER)
    lg.retire_keys(LATER, except_key="k2")
    assert [(k["key_id"], k["retired_at"]) for k in lg.keys()] == [("k1", LATER), ("k2", None)]
    active = lg.active_key()
    assert (active["key_id"], bytes(active["encrypted_private"])) == ("k2", b"enc2")
    assert "encrypted_private" not in lg.keys()[0]


def test_ledger_idempotent_requests_and_daily_points(store):
    lg = store.ledger
    assert lg.request("adjustment", "a1") is None
    lg.save_request(kind="adjustment", id="a1", digest="d", actor="admin",
                    response={"ok": 1, "名": "值"}, at=AT)
    assert lg.request("adjustment", "a1") == {"digest": "d", "actor": "admin",
                                              "response": {"ok": 1, "名": "值"}}
    assert lg.request("reversal", "a1") is None
    assert lg.points_on("v1", "2026-11-26") == 0
    lg.add_points_on("v1", "2026-11-26", 5)
    lg.add_points_on("v1", "2026-11-26", 7)
    assert lg.points_on("v1", "2026-11-26") == 12 and lg.points_on("v1", "2026-11-27") == 0


def test_redemptions_between_a_shop_or_a_volunteer_newest_first(store, town):
    lg = store.ledger
    chain = entries(4, {2: "redeem", 3: "redeem", 4: "reverse"})
    chain[3] = make_entry(seq=4, id="e4", kind="reverse", debit="shop:s1",
                          credit="volunteer:v1", amount=20, ref="entry:2", evidence=None,
                          rules=None, at=LATER, prev_hash=chain[2]["hash"], key=KEY,
                          key_id="k1")
    with store.transaction():
        for e in chain:
            lg.append(e)
        lg.add_redemption({"id": "r1", "shop": "s1", "volunteer": "v1",
                           "items": [{"sku": "米", "qty": 1}], "total": 20, "at": AT}, 2)
        lg.add_redemption({"id": "r2", "shop": "s1", "volunteer": "v1", "items": [],
                           "total": 30, "at": LATER}, 3)
    both = lg.redemptions_between(shop="s1")
    assert [(r["id"], r["entry_seq"], r["reversed_by"]) for r in both] == [
        ("r2", 3, None), ("r1", 2, 4)]
    assert both[1]["items"] == [{"sku": "米", "qty": 1}] and both[1]["total"] == 20
    assert [r["id"] for r in lg.redemptions_between(volunteer="v1", since=LATER)] == ["r2"]
    assert [r["id"] for r in lg.redemptions_between(shop="s1", until=LATER)] == ["r1"]
    assert [r["id"] for r in lg.redemptions_between(shop="s1", limit=1)] == ["r2"]
    assert lg.redemptions_between(volunteer="w1") == []
    redemption, entry = lg.redemption("r1")
    assert redemption["total"] == 20 and entry == chain[1]


def test_purge_rejected_ops_keeps_recent_applied_and_evidence_ops(store):
    def op(name, status, at):
        return {"op": name, "device": "d1", "collection": "service_logs", "record": "l1",
                "digest": "x", "change": {"op": name, "fields": {"note": "\u0000"}},
                "status": status, "version": 1 if status == "applied" else None,
                "error_code": None if status == "applied" else "validation",
                "error_message": None, "received_at": at}

    evidence = make_entry(seq=1, id="e1", kind="earn", debit="issuance:c1",
                          credit="volunteer:v1", amount=10, ref="service_log:l1",
                          evidence="op-evidence", rules=None, at=AT, prev_hash=ZERO_HASH,
                          key=KEY, key_id="k1")
    with store.transaction():
        store.ledger.append(evidence)
        store.records.add_ops([op("op-old", "rejected", AT), op("op-new", "rejected", LATER),
                               op("op-applied", "applied", AT),
                               op("op-evidence", "rejected", AT)])
    assert store.records.purge_rejected_ops(LATER) == 1
    assert store.records.op("op-old") is None
    for kept in ("op-new", "op-applied", "op-evidence"):
        assert store.records.op(kept)["op"] == kept
    assert store.records.purge_rejected_ops(LATER) == 0
    assert json.loads(store.records.op("op-new")["change"])["fields"]["note"] == "\u0000"


def test_replace_secret_hash_keeps_the_login_and_its_failures(town):
    w = town.web
    w.set_login(person="w1", login="wang", secret_hash="old", at=AT)
    w.record_failure("w1", failed=2, locked_until=None)
    w.replace_secret_hash("w1", "new")
    row = w.login("wang")
    assert (row["secret_hash"], row["failed"]) == ("new", 2)
    w.replace_secret_hash("v1", "nobody")            # no login: nothing made
    assert w.login("nobody") is None and set(w.logins()) == {"w1"}


# --- transactions --------------------------------------------------------------------------

def test_a_transaction_rolls_back_everything_on_exception(town):
    with pytest.raises(RuntimeError):
        with town.transaction():
            town.directory.add_grid(id="g9", name="x", parent="c1", at=AT)
            town.directory.put_item(shop="s1", sku="tea", name="茶", price=1, stock=1, at=AT)
            town.access.add_token(id="t9", person="w1", device=None, secret_hash="h", at=AT)
            town.ledger.append(entries(1)[0])
            raise RuntimeError("boom")
    assert town.directory.grid("g9") is None
    assert town.directory.item("s1", "tea") is None
    assert town.access.token_principal("t9") is None
    assert town.ledger.head() == (0, None)


def test_nested_transactions_join_the_outer_one(town):
    with pytest.raises(RuntimeError):
        with town.transaction():
            with town.transaction():
                town.directory.add_grid(id="g9", name="x", parent="c1", at=AT)
            raise RuntimeError("after the inner block")
    assert town.directory.grid("g9") is None
    with town.transaction():
        with town.transaction():
            town.directory.add_grid(id="g9", name="x", parent="c1", at=AT)
    assert town.directory.grid("g9") is not None


def test_uncommitted_writes_are_invisible_to_other_connections(town, other):
    with town.transaction():
        town.directory.add_grid(id="g9", name="x", parent="c1", at=AT)
        assert other.directory.grid("g9") is None
    assert other.directory.grid("g9")["community"] == "c1"


def test_the_store_is_usable_after_a_failed_transaction(town):
    with pytest.raises(Conflict):
        with town.transaction():
            town.directory.add_grid(id="g1", name="dup", parent=None, at=AT)
    with town.transaction():
        town.directory.add_grid(id="g9", name="x", parent=None, at=AT)
    assert town.directory.grid("g9")["community"] == "g9"


def test_driver_errors_come_out_as_backend_error(store):
    """Nothing outside storage sees the driver's exceptions."""
    with pytest.raises(BackendError) as caught:
        store.db.execute("SELECT no_such_column FROM grids")
    assert "no_such_column" in str(caught.value) and caught.value.original is not None


def test_driver_errors_are_classified_by_code_not_text(store, other, town):
    """A constraint failure is ``integrity`` and a write lock held past the busy
    timeout is ``busy``, decided from the driver's error code where it is wrapped."""
    from server.storage.errors import BUSY, INTEGRITY

    with pytest.raises(BackendError) as caught, store.transaction():
        store.ledger.add_redemption({"id": "r1", "shop": "nope", "volunteer": "v1", "items": [],
                                     "total": 0, "at": AT}, 1)
    assert caught.value.kind == INTEGRITY
    with store.transaction():
        other.db.lock_timeout_ms(50)
        with pytest.raises(BackendError) as caught, other.transaction():
            other.directory.add_grid(id="g9", name="x", parent="c1", at=AT)
    assert caught.value.kind == BUSY


def test_a_nul_character_in_a_field_is_kept_and_pulled(store, town):
    """Devices may send U+0000 inside a string (JSON allows it); PostgreSQL's jsonb and
    text refuse it, so storage must keep it as JSON text and still pull it."""
    from server.storage.records import Placement, RecordWrite

    state = {"collection": "households", "id": "h-nul", "version": 1, "deleted": False,
             "fields": {"grid": "g1", "address": "1\u0000号"},
             "meta": {"address": {"hlc": "x", "version": 1, "op": "o", "device": "d"}}}
    with store.transaction():
        store.records.put_many([RecordWrite(state, 1, Placement(grid="g1"), AT)])
    assert store.records.get("households", "h-nul").state == state
    (row,) = store.records.pull(after=0, grids=["g1"], people=[], author="w", limit=10)
    assert json.loads(row[1])["fields"]["address"] == "1\u0000号"


@pytest.mark.parametrize("limit", [1, 2, 5, 50])
def test_pull_pages_hold_exactly_the_scope_in_seq_order(store, town, limit):
    """Pages are looked for in a window of seqs first, then beyond it: a sparse scope
    (every seventh record, the others another grid's) and a dense one page alike."""
    from server.storage.records import Placement, RecordWrite

    def state(i: int, grid: str) -> dict:
        return {"collection": "households", "id": f"h{i}", "version": 1, "deleted": False,
                "fields": {"grid": grid},
                "meta": {"grid": {"hlc": f"{i:015d}:00000:d", "version": 1, "op": f"o{i}",
                                  "device": "d"}}}

    grids = {i: "g1" if i % 7 == 0 else "g2" for i in range(1, 121)}
    with store.transaction():
        store.records.put_many([RecordWrite(state(i, g), i, Placement(grid=g), AT)
                                for i, g in grids.items()])
    for grid in ("g1", "g2"):
        got, after = [], 0
        while page := store.records.pull(after=after, grids=[grid], people=[], author="w",
                                         limit=limit):
            assert len(page) <= limit
            got += [seq for seq, *_ in page]
            after = page[-1][0]
        assert got == [i for i, g in grids.items() if g == grid]


@pytest.mark.parametrize("title", ["a\u0000b", "C:\\u0000 and \\\u0000", "\\"],
                         ids=["nul", "backslash-u0000 text", "backslash"])
def test_lookups_in_a_state_read_past_nuls_and_backslashes(store, town, title):
    """The scope's lookups read a wish's kind from its stored JSON; a NUL elsewhere in it
    (which PostgreSQL's JSON functions refuse), or the text \\u0000 that only looks like
    one, must neither hide the record nor fail the pull."""
    from server.storage.records import Placement, RecordWrite

    state = {"collection": "cases", "id": "c-wish", "version": 1, "deleted": False,
             "fields": {"grid": "g2", "kind": "wish", "title": title},
             "meta": {"title": {"hlc": "x", "version": 1, "op": "o", "device": "d"}}}
    with store.transaction():
        store.records.put_many([RecordWrite(state, 1, Placement(grid="g2"), AT)])
    (row,) = store.records.pull(after=0, grids=["g1"], people=[], author="w", limit=10,
                                wish_grids=["g2"])
    assert json.loads(row[1])["fields"]["title"] == title


def test_records_and_ops_read_many_at_once_as_one_at_a_time(store, town):
    """A push reads its records and ops in one statement each (get_many, ops):
    the same answers as get and op, nothing for ids not stored or of another collection."""
    from server.storage.records import Placement, RecordWrite

    def state(id, grid):
        return {"collection": "households", "id": id, "version": 1, "deleted": False,
                "fields": {"grid": grid},
                "meta": {"grid": {"hlc": "x", "version": 1, "op": "o", "device": "d"}}}

    op_row = {"device": "d1", "collection": "households", "record": "h1", "digest": "d",
              "change": {"k": "v"}, "status": "applied", "version": 1, "error_code": None,
              "error_message": None, "received_at": AT}
    with store.transaction():
        town.access.add_device(id="d1", person="w1", name="phone", public_key="pk", at=AT)
        store.records.put_many([RecordWrite(state("h1", "g1"), 1, Placement(grid="g1"), AT),
                                RecordWrite(state("h2", "g2"), 2, Placement(grid="g2"), AT)])
        store.records.add_ops([{**op_row, "op": "op-1"}, {**op_row, "op": "op-2"}])
    many = store.records.get_many({("households", "h1"), ("households", "h2"),
                                   ("households", "h3"), ("visits", "h1")})
    assert set(many) == {("households", "h1"), ("households", "h2")}
    assert many[("households", "h2")] == store.records.get("households", "h2")
    assert store.records.get_many(set()) == {}
    ops = store.records.ops(["op-2", "op-3", "op-1"])
    assert ops == {"op-1": store.records.op("op-1"), "op-2": store.records.op("op-2")}
    assert store.records.ops([]) == {}


def test_a_nul_in_a_text_column_is_kept_or_refused_as_unstorable(backend, store, town):
    """SQLite keeps a NUL in a text column; PostgreSQL's text cannot hold one: a clear
    UNSTORABLE error (answered 400, never 500), the transaction rolled back."""
    from server.storage.errors import UNSTORABLE

    try:
        with store.transaction():
            store.directory.put_item(shop="s1", sku="tea", name="茶", price=3, stock=1, at=AT)
            store.directory.put_item(shop="s1", sku="nul", name="a\x00b", price=3, stock=1,
                                     at=AT)
    except BackendError as exc:
        assert exc.kind == UNSTORABLE
        assert store.directory.catalog("s1") == []            # nothing of it was kept
    else:
        assert store.directory.item("s1", "nul")["name"] == "a\x00b"
    store.directory.put_item(shop="s1", sku="ok", name="ok", price=1, stock=1, at=AT)
    assert store.directory.item("s1", "ok")["name"] == "ok"   # usable afterwards


def test_a_deferred_transaction_holds_the_write_lock_from_lock_writes(store, other, town):
    """``transaction(deferred=True)`` writes like any transaction; where the lock comes
    late (PostgreSQL) another writer commits before ``lock_writes()`` and waits after."""
    from server.storage.errors import BUSY

    with store.transaction(deferred=True):
        if store.late_lock:
            with other.transaction():                      # not blocked: no lock yet
                other.directory.add_grid(id="g8", name="x", parent="c1", at=AT)
        store.lock_writes()
        store.lock_writes()                                # taking it again: no harm
        store.directory.add_grid(id="g9", name="x", parent="c1", at=AT)
        other.db.lock_timeout_ms(50)
        with pytest.raises(BackendError) as caught, other.transaction():
            other.directory.add_grid(id="g7", name="x", parent="c1", at=AT)
        assert caught.value.kind == BUSY
    assert store.directory.grid("g9") is not None and store.directory.grid("g7") is None


def test_a_savepoint_undoes_only_its_own_block(town):
    with town.transaction(deferred=True):
        town.directory.add_grid(id="g8", name="x", parent="c1", at=AT)
        with pytest.raises(RuntimeError), town.savepoint():
            town.lock_writes()
            town.directory.add_grid(id="g9", name="x", parent="c1", at=AT)
            raise RuntimeError("undo")
        town.lock_writes()
        with town.savepoint():
            town.directory.add_grid(id="g7", name="x", parent="c1", at=AT)
    assert [town.directory.grid(g) is not None for g in ("g8", "g9", "g7")] == [
        True, False, True]


def test_households_indexed_ahead_of_their_records_are_searched_as_the_trigger_indexes(
        store, town):
    """``index_households`` then ``put_many(indexed=...)``: the index rows are those
    ``put_many`` alone writes (and other households of the same write are indexed too)."""
    from server.storage.records import Placement, RecordWrite

    def home(id, address, members):
        return {"collection": "households", "id": id, "version": 1, "deleted": False,
                "fields": {"grid": "g1", "address": address, "head_name": "王芳",
                           "phone": "13800000001", "members": members},
                "meta": {"grid": {"hlc": "x", "version": 1, "op": "o", "device": "d"}}}

    def rows(prefix):
        return [RecordWrite(home(f"{prefix}1", f"{prefix}幸福路1号", 2), 0, Placement("g1"), AT),
                RecordWrite(home(f"{prefix}2", f"{prefix}幸福路2号", "3"), 0, Placement("g1"),
                            AT)]

    def search(q):
        return [(r["address"], r["members"], r["phone"])
                for r in store.fielddata.search_households(q, None)[0]]

    def numbered(writes, first):
        return [RecordWrite(w.state, first + i, w.place, w.at) for i, w in enumerate(writes)]

    with store.transaction():
        store.records.put_many(numbered(rows("a"), 1))
    early = rows("b")
    with store.transaction():
        store.records.index_households([(early[0].state, early[0].place)])
        store.records.put_many(numbered(early, 3), indexed=[early[0].state["id"]])
    by_trigger = search("a幸福路")
    assert [r[0] for r in by_trigger] == ["a幸福路1号", "a幸福路2号"]
    assert search("b幸福路") == [("b" + a[1:], *rest) for a, *rest in by_trigger]


def test_ops_stored_unless_stored_already(store, town):
    op_row = {"device": "d1", "collection": "households", "record": "h1", "digest": "d",
              "change": {"k": "v"}, "status": "applied", "version": 1, "error_code": None,
              "error_message": None, "received_at": AT}
    with store.transaction():
        town.access.add_device(id="d1", person="w1", name="phone", public_key="pk", at=AT)
        assert store.records.add_ops([{**op_row, "op": "op-1"}]) == 1
    with store.transaction():
        assert store.records.add_ops([{**op_row, "op": "op-1", "digest": "other"},
                                      {**op_row, "op": "op-2"}], unless_stored=True) == 1
        assert store.records.add_ops([], unless_stored=True) == 0
    assert store.records.op("op-1")["digest"] == "d" and store.records.op("op-2") is not None
    assert store.records.seqs({("households", "h1")}) == {}
