"""People (create, list, get, patch) and volunteer cards."""

from __future__ import annotations

import json
import re

import pytest

from server import secrets_
from server.state import storage
from tests.helpers import add_second_community, db_dump
from tests.helpers import api_error as error
from tests.helpers import api_validation as validation


def test_create_people_of_every_role(api, world):
    add_second_community(api)
    w = api.person("w9", "worker", ["g1a", "g2"])
    assert w == {"id": "w9", "name": "name of w9", "role": "worker", "grids": ["g1a", "g2"],
                 "shop": None, "community": "c1", "active": True}
    v = api.person("v9", "volunteer", ["h1"])
    assert (v["community"], v["shop"]) == ("c2", None)
    s = api.person("s9", "shop", [], shop="s2")
    assert (s["community"], s["shop"], s["grids"]) == ("c2", "s2", [])
    a = api.person("a9", "auditor", [])
    assert (a["community"], a["grids"]) == (None, [])
    ad = api.person("ad9", "admin", [])
    assert ad["role"] == "admin"


def test_duplicate_grids_are_stored_once_and_sorted(api, world):
    assert api.person("w9", "worker", ["g2", "g1", "g2"])["grids"] == ["g1", "g2"]


def test_shop_staff_may_hold_grids_of_their_shops_community(api, world):
    assert api.person("s9", "shop", ["g1"], shop="s1")["grids"] == ["g1"]


def test_list_and_get_people(api, world):
    people = api.ok(api.get("/people"))
    assert list(people) == ["people"]
    assert [p["id"] for p in people["people"]] == sorted(
        ["admin", "shop1", "v1", "v2", "w1", "w1b", "w2"])
    v1 = api.ok(api.get("/people/v1"))
    assert v1 == {"id": "v1", "name": "name of v1", "role": "volunteer", "grids": ["g1"],
                  "shop": None, "community": "c1", "active": True}
    assert "card_hash" not in json.dumps(people)
    error(api.get("/people/nobody"), 404, "not_found")


def body(**over):
    return {"id": "p9", "name": "新人", "role": "worker", "grids": ["g1"], **over}


BAD_PEOPLE = [
    (body(grids=[]), "grids"),                                  # a worker needs a grid
    (body(role="volunteer", grids=[]), "grids"),
    (body(grids=["g1", "h1"]), "grids"),                        # two communities
    (body(grids=["nowhere"]), "grids"),
    (body(grids=["bad id"]), "grids"),
    (body(grids="g1"), "grids"),
    (body(grids=[1]), "grids"),
    (body(role="shop", grids=[]), "shop"),                      # shop required for role shop
    (body(role="shop", grids=[], shop=None), "shop"),
    (body(shop="s1"), "shop"),                                  # only for role shop
    (body(role="volunteer", shop="s1"), "shop"),
    (body(role="admin", grids=[], shop="s1"), "shop"),
    (body(shop=None), "shop"),
    (body(role="shop", grids=[], shop="nope"), "shop"),
    (body(role="shop", grids=["h1"], shop="s1"), "grids"),      # grid outside the shop's community
    (body(role="boss"), "role"),
    (body(role=None), "role"),
    (body(name=""), "name"),
    (body(name=1.0), "name"),
    (body(id="p 9"), "id"),
    (body(active=False), "active"),                             # not a create key
    (body(community="c1"), "community"),
    ({"id": "p9", "name": "x", "role": "worker"}, "grids"),
    ({"id": "p9", "name": "x", "grids": ["g1"]}, "role"),
    ({"id": "p9", "role": "worker", "grids": ["g1"]}, "name"),
    ({"name": "x", "role": "worker", "grids": ["g1"]}, "id"),
]


@pytest.mark.parametrize(("payload", "field"), BAD_PEOPLE,
                         ids=[f"{f}-{i}" for i, (_, f) in enumerate(BAD_PEOPLE)])
def test_person_validation_names_the_field_and_changes_nothing(shared_world, payload, field):
    api, data_dir = shared_world.api, shared_world.data_dir
    before = db_dump(data_dir)
    validation(api.post("/people", payload), field)
    assert db_dump(data_dir) == before


def test_person_id_reused_is_409_whatever_the_role(shared_world):
    api, data_dir = shared_world.api, shared_world.data_dir
    before = db_dump(data_dir)
    error(api.post("/people", body(id="w1")), 409, "id_reused")
    error(api.post("/people", body(id="v1", role="auditor", grids=[])), 409, "id_reused")
    error(api.post("/people", body(id="admin", role="admin", grids=[])), 409, "id_reused")
    assert db_dump(data_dir) == before


# --- patch ---------------------------------------------------------------------------------

def test_patch_name_grids_and_active(api, world):
    out = api.ok(api.patch("/people/w1", {"name": "王网格员", "grids": ["g1", "g2"]}))
    assert (out["name"], out["grids"], out["community"]) == ("王网格员", ["g1", "g2"], "c1")
    assert api.ok(api.get("/people/w1")) == out
    assert api.ok(api.patch("/people/w1", {"active": False}))["active"] is False
    assert api.ok(api.patch("/people/w1", {}))["active"] is False
    assert api.ok(api.patch("/people/w1", {"active": True}))["active"] is True


def test_moving_a_person_to_another_community_moves_their_community(api, world):
    add_second_community(api)
    assert api.ok(api.patch("/people/v1", {"grids": ["h1"]}))["community"] == "c2"


BAD_PATCHES = [
    ({"grids": []}, "grids"),
    ({"grids": ["g1", "h1"]}, "grids"),
    ({"grids": ["nowhere"]}, "grids"),
    ({"active": 0}, "active"),
    ({"active": "false"}, "active"),
    ({"active": None}, "active"),
    ({"name": ""}, "name"),
    ({"role": "admin"}, "role"),
    ({"shop": "s1"}, "shop"),
    ({"id": "w9"}, "id"),
]


@pytest.mark.parametrize(("payload", "field"), BAD_PATCHES,
                         ids=[f"{f}-{i}" for i, (_, f) in enumerate(BAD_PATCHES)])
def test_patch_validation_changes_nothing(shared_world, payload, field):
    api, data_dir = shared_world.api, shared_world.data_dir
    before = db_dump(data_dir)
    validation(api.patch("/people/w1", payload), field)
    assert db_dump(data_dir) == before


def test_patch_shop_staff_grids_must_stay_in_the_shops_community(api, world, data_dir):
    add_second_community(api)
    before = db_dump(data_dir)
    validation(api.patch("/people/shop1", {"grids": ["h1"]}), "grids")
    assert db_dump(data_dir) == before
    out = api.ok(api.patch("/people/shop1", {"grids": ["g2"]}))
    assert (out["grids"], out["community"], out["shop"]) == (["g2"], "c1", "s1")


def test_patch_unknown_person_is_404(shared_world):
    api, data_dir = shared_world.api, shared_world.data_dir
    before = db_dump(data_dir)
    error(api.patch("/people/nobody", {"name": "x"}), 404, "not_found")
    assert db_dump(data_dir) == before


def test_the_last_active_admin_cannot_be_deactivated(api, world, data_dir):
    before = db_dump(data_dir)
    validation(api.patch("/people/admin", {"active": False}), "active")
    assert db_dump(data_dir) == before
    api.person("admin2", "admin", [])
    assert api.ok(api.patch("/people/admin", {"active": False}))["active"] is False


# --- the people records devices pull -------------------------------------------------------

def test_workers_and_volunteers_are_published_as_people_records(app, api, world):
    with app.app_context():
        rec = storage().records.get("people", "w1").state
        assert rec["fields"] == {"name": "name of w1", "role": "worker", "grids": ["g1"]}
        assert rec["version"] == 1
        assert storage().records.get("people", "shop1") is None   # shops do not sync
        assert storage().records.get("people", "admin") is None
    api.ok(api.patch("/people/w1", {"name": "王"}))
    api.ok(api.patch("/people/w1", {"name": "王"}))                # same view: no new version
    api.ok(api.patch("/people/w1", {"active": False}))             # not part of the view
    with app.app_context():
        rec = storage().records.get("people", "w1").state
        assert (rec["version"], rec["fields"]["name"]) == (2, "王")
        assert rec["meta"]["name"]["hlc"].endswith(":server")


# --- cards ---------------------------------------------------------------------------------

def test_card_for_a_volunteer_replaces_the_old_one(app, api, world, data_dir):
    old = world.cards["v1"]
    new = api.ok(api.post("/people/v1/card"), 201)
    assert list(new) == ["card"] and new["card"] != old
    assert re.fullmatch(r"([0-9A-HJKMNP-TV-Z]{4}-){3}[0-9A-HJKMNP-TV-Z]{4}", new["card"])  # 80 bits
    plain = new["card"].replace("-", "")
    with app.app_context():
        assert storage().directory.card_hash("v1") == secrets_.digest(plain)
        assert storage().directory.card_hash("v1") != secrets_.digest(old.replace("-", ""))
    dump = json.dumps(db_dump(data_dir))
    for code in (new["card"], plain, old, old.replace("-", "")):
        assert code not in dump                     # stored hashed, and sealed (encrypted)


@pytest.mark.parametrize("person", ["w1", "shop1", "admin", "a1"])
def test_cards_are_for_volunteers_only(shared_world, person):
    api, data_dir = shared_world.api, shared_world.data_dir
    before = db_dump(data_dir)
    error(api.post(f"/people/{person}/card"), 400, "validation")
    assert db_dump(data_dir) == before


def test_card_for_unknown_person_is_404(shared_world):
    api = shared_world.api
    error(api.post("/people/nobody/card"), 404, "not_found")
