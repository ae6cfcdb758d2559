"""Administration endpoints: grids, shops, catalog, rules and enrolment codes.

(People and cards are in test_people.py, devices in test_devices.py, roles and
tokens in test_auth.py.)
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import UTC, datetime, timedelta

import pytest

from server import secrets_
from tests.helpers import RULES, db_dump
from tests.helpers import api_error as error
from tests.helpers import api_validation as validation

MAX_SAFE = 2**53 - 1


# --- grids ---------------------------------------------------------------------------------

def test_create_grids_community_and_children(api):
    c1 = api.ok(api.post("/grids", {"id": "c1", "name": "社区一", "parent": None}), 201)
    assert c1 == {"id": "c1", "name": "社区一", "parent": None, "community": "c1"}
    g1 = api.ok(api.post("/grids", {"id": "g1", "name": "一网格", "parent": "c1"}), 201)
    assert g1 == {"id": "g1", "name": "一网格", "parent": "c1", "community": "c1"}
    g1a = api.ok(api.post("/grids", {"id": "g1a", "name": "一网格甲", "parent": "g1"}), 201)
    assert g1a["community"] == "c1"
    grids = api.ok(api.get("/grids"))
    assert list(grids) == ["grids"]
    assert [(g["id"], g["parent"], g["community"]) for g in grids["grids"]] == [
        ("c1", None, "c1"), ("g1", "c1", "c1"), ("g1a", "g1", "c1")]


def test_grid_ids_may_use_the_whole_id_alphabet(api):
    gid = "A-z_0-9" + "x" * 57
    assert len(gid) == 64
    api.ok(api.post("/grids", {"id": gid, "name": "n", "parent": None}), 201)


@pytest.mark.parametrize("name", ["买买提·艾力", "葛\U000E0100家", "\u0645\u200c\u0647",
                                  "\U0001f9d1\u200d\U0001f373厨房组"])
def test_names_of_people_and_scripts_that_look_invisible_but_are_not(api, name):
    """A middle dot, an ideographic variation selector, a zero-width non-joiner between
    Arabic-script letters (Uyghur, Kazakh) and an emoji sequence's joiner are parts of real
    names: the invisible-character rule lets them through."""
    assert api.ok(api.post("/grids", {"id": "named", "name": name, "parent": None}),
                  201)["name"] == name


BAD_GRIDS = [
    ({"name": "n", "parent": None}, "id"),
    ({"id": "c9", "parent": None}, "name"),
    ({"id": "c9", "name": "n"}, "parent"),
    ({"id": "c9", "name": "n", "parent": None, "extra": 1}, "extra"),
    ({"id": "c 9", "name": "n", "parent": None}, "id"),
    ({"id": "c/9", "name": "n", "parent": None}, "id"),
    ({"id": "社区", "name": "n", "parent": None}, "id"),
    ({"id": "", "name": "n", "parent": None}, "id"),
    ({"id": "x" * 65, "name": "n", "parent": None}, "id"),
    ({"id": "c9\n", "name": "n", "parent": None}, "id"),
    ({"id": 9, "name": "n", "parent": None}, "id"),
    ({"id": "c9", "name": "", "parent": None}, "name"),
    ({"id": "c9", "name": "n" * 201, "parent": None}, "name"),
    ({"id": "c9", "name": 1.0, "parent": None}, "name"),
    ({"id": "c9", "name": "a\x1b[31mb", "parent": None}, "name"),     # a terminal escape
    ({"id": "c9", "name": "\u202e网格", "parent": None}, "name"),      # bidi override
    ({"id": "c9", "name": "网\u200b格", "parent": None}, "name"),      # zero width
    ({"id": "c9", "name": "网格\n", "parent": None}, "name"),
    ({"id": "c9", "name": "\x85", "parent": None}, "name"),           # C1
    ({"id": "c9", "name": "网\xad格", "parent": None}, "name"),         # soft hyphen
    ({"id": "c9", "name": "网格\u2028", "parent": None}, "name"),       # line separator
    ({"id": "c9", "name": "\u3164", "parent": None}, "name"),           # Hangul filler
    ({"id": "c9", "name": "n", "parent": "nowhere"}, "parent"),
    ({"id": "c9", "name": "n", "parent": "bad id!"}, "parent"),
    ({"id": "c9", "name": "n", "parent": False}, "parent"),
]


@pytest.mark.parametrize(("body", "field"), BAD_GRIDS, ids=[f"{f}-{i}" for i, (_, f) in
                                                           enumerate(BAD_GRIDS)])
def test_grid_validation_names_the_field_and_changes_nothing(shared_world, body, field):
    api, data_dir = shared_world.api, shared_world.data_dir
    before = db_dump(data_dir)
    validation(api.post("/grids", body), field)
    assert db_dump(data_dir) == before


@pytest.mark.parametrize("body", [[], "grid", 5, True])
def test_grid_body_must_be_an_object(shared_world, body):
    api = shared_world.api
    validation(api.post("/grids", body))


def test_grid_id_reused_is_409_whatever_the_body(shared_world):
    api, data_dir = shared_world.api, shared_world.data_dir
    before = db_dump(data_dir)
    for body in ({"id": "g1", "name": "一网格", "parent": "c1"},
                 {"id": "g1", "name": "另一个", "parent": None},
                 {"id": "c1", "name": "社区", "parent": "g2"}):
        error(api.post("/grids", body), 409, "id_reused")
    assert db_dump(data_dir) == before


# --- shops ---------------------------------------------------------------------------------

def test_create_and_list_shops(api, world):
    shop = api.ok(api.post("/shops", {"id": "s9", "name": "九号店", "community": "c1"}), 201)
    assert shop == {"id": "s9", "name": "九号店", "community": "c1"}
    shops = api.ok(api.get("/shops"))["shops"]
    assert [s["id"] for s in shops] == ["s1", "s9"]


@pytest.mark.parametrize(("body", "field"), [
    ({"id": "s9", "name": "x", "community": "g1"}, "community"),      # a grid, not a community
    ({"id": "s9", "name": "x", "community": "nowhere"}, "community"),
    ({"id": "s9", "name": "x", "community": None}, "community"),
    ({"id": "s9", "name": "x"}, "community"),
    ({"id": "s 9", "name": "x", "community": "c1"}, "id"),
    ({"id": "s9", "community": "c1"}, "name"),
    ({"id": "s9", "name": "\u2066超市", "community": "c1"}, "name"),
    ({"id": "s9", "name": "x", "community": "c1", "account": "shop:s9"}, "account"),
])
def test_shop_validation(shared_world, body, field):
    api, data_dir = shared_world.api, shared_world.data_dir
    before = db_dump(data_dir)
    validation(api.post("/shops", body), field)
    assert db_dump(data_dir) == before


def test_shop_id_reused(shared_world):
    api, data_dir = shared_world.api, shared_world.data_dir
    before = db_dump(data_dir)
    error(api.post("/shops", {"id": "s1", "name": "again", "community": "c1"}), 409, "id_reused")
    assert db_dump(data_dir) == before


# --- catalog -------------------------------------------------------------------------------

def test_put_catalog_item_creates_then_replaces(api, world):
    item = api.ok(api.put("/shops/s1/catalog/tea", {"name": "茶", "price": 7, "stock": 2}))
    assert item == {"sku": "tea", "name": "茶", "price": 7, "stock": 2}
    again = api.ok(api.put("/shops/s1/catalog/tea", {"name": "好茶", "price": 9, "stock": 0}))
    assert again == {"sku": "tea", "name": "好茶", "price": 9, "stock": 0}
    items = api.ok(api.get("/shops/s1/catalog"))
    assert list(items) == ["items"]
    assert [(i["sku"], i["price"], i["stock"]) for i in items["items"]] == [
        ("rice", 30, 5), ("soap", 4, 100), ("tea", 9, 0)]


def test_catalog_accepts_the_largest_safe_integer(api, world):
    item = api.ok(api.put("/shops/s1/catalog/big", {"name": "x", "price": MAX_SAFE,
                                                     "stock": MAX_SAFE}))
    assert item["price"] == MAX_SAFE


@pytest.mark.parametrize(("body", "field"), [
    ({"name": "x", "price": 1.0, "stock": 1}, "price"),
    ({"name": "x", "price": 1, "stock": 1.5}, "stock"),
    ({"name": "x", "price": True, "stock": 1}, "price"),
    ({"name": "x", "price": 1, "stock": False}, "stock"),
    ({"name": "x", "price": "3", "stock": 1}, "price"),
    ({"name": "x", "price": 0, "stock": 1}, "price"),
    ({"name": "x", "price": 1, "stock": -1}, "stock"),
    ({"name": "x", "price": MAX_SAFE + 1, "stock": 1}, "price"),
    ({"name": "x", "price": 1, "stock": None}, "stock"),
    ({"price": 1, "stock": 1}, "name"),
    ({"name": "x", "stock": 1}, "price"),
    ({"name": "x", "price": 1}, "stock"),
    ({"name": "x", "price": 1, "stock": 1, "sku": "rice"}, "sku"),
])
def test_catalog_validation(shared_world, body, field):
    api, data_dir = shared_world.api, shared_world.data_dir
    before = db_dump(data_dir)
    validation(api.put("/shops/s1/catalog/rice", body), field)
    assert db_dump(data_dir) == before


def test_catalog_of_unknown_shop_is_404(shared_world):
    api, data_dir = shared_world.api, shared_world.data_dir
    before = db_dump(data_dir)
    error(api.put("/shops/nope/catalog/tea", {"name": "x", "price": 1, "stock": 1}), 404,
          "not_found")
    error(api.get("/shops/nope/catalog"), 404, "not_found")
    assert db_dump(data_dir) == before


def test_catalog_sku_with_bad_characters_is_404(shared_world):
    api, data_dir = shared_world.api, shared_world.data_dir
    before = db_dump(data_dir)
    error(api.put("/shops/s1/catalog/a%20b", {"name": "x", "price": 1, "stock": 1}), 404,
          "not_found")
    assert db_dump(data_dir) == before


@pytest.mark.parametrize(("who", "allowed"), [
    ("admin", True), ("shop1", True), ("v1", True), ("v2", True),    # v2: grid g2 of c1
    ("shop1b", False),    # staff of another shop of the same community
    ("shop2", False),     # staff of a shop of another community
    ("v3", False),        # volunteer of another community
    ("w1", False), ("a1", False),
])
def test_catalog_visibility(shared_world, who, allowed):
    api, tokens = shared_world.api, shared_world.tokens
    resp = api.get("/shops/s1/catalog", token=tokens[who])
    if allowed:
        assert [i["sku"] for i in api.ok(resp)["items"]] == ["rice", "soap"]
    else:
        error(resp, 403, "forbidden")


# --- rules ---------------------------------------------------------------------------------

def canonical_hash(obj):
    return hashlib.sha256(json.dumps(obj, sort_keys=True, separators=(",", ":"),
                                     ensure_ascii=False).encode()).hexdigest()


def test_rules_put_echoes_the_canonical_hash_and_get_returns_them(api, tokens):
    rules = {"activities": {"patrol": {"points_per_hour": 12}}, "daily_cap": 40,
             "timezone": "Asia/Shanghai"}
    out = api.ok(api.put("/rules", rules))
    assert out == {**rules, "hash": canonical_hash(rules)}
    for who in ("admin", "a1", "w1", "v1", "shop1"):
        assert api.ok(api.get("/rules", token=tokens[who])) == out


def test_rules_replace_the_previous_ones(api, world):
    first = api.ok(api.get("/rules"))
    assert first["hash"] == canonical_hash(RULES)
    new = {**RULES, "daily_cap": None, "activities": {"cleanup": {"points_per_hour": 0}}}
    api.ok(api.put("/rules", new))
    assert api.ok(api.get("/rules")) == {**new, "hash": canonical_hash(new)}


def test_rules_before_any_put_are_404(api):
    error(api.get("/rules"), 404, "not_found")


@pytest.mark.parametrize(("body", "field"), [
    ({**RULES, "activities": {"a": {"points_per_hour": 1.0}}}, "activities"),
    ({**RULES, "activities": {"a": {"points_per_hour": True}}}, "activities"),
    ({**RULES, "activities": {"a": {"points_per_hour": -1}}}, "activities"),
    ({**RULES, "activities": {"a": {"points_per_hour": 1, "bonus": 2}}}, "activities"),
    ({**RULES, "activities": {"a": {}}}, "activities"),
    ({**RULES, "activities": {"bad key": {"points_per_hour": 1}}}, "activities"),
    ({**RULES, "activities": []}, "activities"),
    ({**RULES, "daily_cap": 10.0}, "daily_cap"),
    ({**RULES, "daily_cap": False}, "daily_cap"),
    ({**RULES, "daily_cap": -1}, "daily_cap"),
    ({**RULES, "timezone": "Mars/Olympus"}, "timezone"),
    ({**RULES, "timezone": ""}, "timezone"),
    ({**RULES, "timezone": "localtime"}, "timezone"),   # the server's clock, not a place
    ({**RULES, "timezone": "Factory"}, "timezone"),
    ({**RULES, "timezone": "posix/Asia/Shanghai"}, "timezone"),
    ({**RULES, "version": 2}, "version"),
    ({"activities": {}, "timezone": "UTC"}, "daily_cap"),
    ({"daily_cap": None, "timezone": "UTC"}, "activities"),
    ({"activities": {}, "daily_cap": None}, "timezone"),
])
def test_rules_validation(shared_world, body, field):
    api, data_dir = shared_world.api, shared_world.data_dir
    before = db_dump(data_dir)
    validation(api.put("/rules", body), field)
    assert db_dump(data_dir) == before
    assert api.ok(api.get("/rules"))["hash"] == canonical_hash(RULES)


# --- enrolment codes -----------------------------------------------------------------------

CODE = re.compile(r"^ENR(-[0-9ABCDEFGHJKMNPQRSTVWXYZ]{4}){4}$")


@pytest.mark.parametrize("person", ["w1", "v1", "shop1"])
def test_enrolment_code_for_workers_volunteers_and_shop_staff(api, world, data_dir, person):
    out = api.ok(api.post("/enrollments", {"person": person}), 201)
    assert set(out) == {"code", "expires_at"}
    assert CODE.match(out["code"]), out["code"]
    expires = datetime.fromisoformat(out["expires_at"].replace("Z", "+00:00"))
    assert out["expires_at"].endswith("Z")
    assert abs(expires - (datetime.now(UTC) + timedelta(hours=24))) < timedelta(minutes=1)
    # Stored hashed, never as the code itself.
    dump = json.dumps(db_dump(data_dir))
    assert out["code"] not in dump
    assert secrets_.digest(out["code"]) in dump


def test_enrolment_codes_are_distinct(api, world):
    codes = {api.ok(api.post("/enrollments", {"person": "w1"}), 201)["code"] for _ in range(20)}
    assert len(codes) == 20


@pytest.mark.parametrize("person", ["admin", "a1"])
def test_admins_and_auditors_get_no_enrolment_code(shared_world, person):
    api, data_dir = shared_world.api, shared_world.data_dir
    before = db_dump(data_dir)
    err = validation(api.post("/enrollments", {"person": person}), "person")
    assert "gridsync token" in err["message"]
    assert db_dump(data_dir) == before


@pytest.mark.parametrize(("body", "field"), [
    ({"person": "nobody"}, "person"),
    ({"person": "bad id"}, "person"),
    ({"person": None}, "person"),
    ({}, "person"),
    ({"person": "w1", "ttl_hours": 1}, "ttl_hours"),
])
def test_enrolment_code_validation(shared_world, body, field):
    api, data_dir = shared_world.api, shared_world.data_dir
    before = db_dump(data_dir)
    validation(api.post("/enrollments", body), field)
    assert db_dump(data_dir) == before


def test_no_enrolment_code_for_an_inactive_person(api, world, data_dir):
    api.ok(api.patch("/people/w1", {"active": False}))
    before = db_dump(data_dir)
    validation(api.post("/enrollments", {"person": "w1"}), "person")
    assert db_dump(data_dir) == before
