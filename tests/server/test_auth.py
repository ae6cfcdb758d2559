"""Authentication and roles on every token-protected endpoint of Administration and Devices.

Each endpoint is listed once with a valid body and the roles allowed to call
it; the tests parametrize over that list: no token, bad tokens, a revoked
token, an inactive person, and every role that is not allowed.
"""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from server.cli import main
from tests.helpers import RULES, db_dump
from tests.helpers import api_error as assert_error

ALL = {"admin", "auditor", "worker", "volunteer", "shop"}
ADMIN = {"admin"}
TOKEN_OF_ROLE = {"admin": "admin", "auditor": "a1", "worker": "w1", "volunteer": "v1",
                 "shop": "shop1"}

# (method, path, body, roles allowed); "{device}" is filled with an enrolled device id.
ENDPOINTS = [
    ("POST", "/grids", {"id": "gx", "name": "新网格", "parent": "c1"}, ADMIN),
    ("GET", "/grids", None, ADMIN),
    ("PATCH", "/grids/g2", {"name": "二网格"}, ADMIN),
    ("POST", "/shops", {"id": "sx", "name": "新店", "community": "c1"}, ADMIN),
    ("GET", "/shops", None, ADMIN),
    ("PUT", "/shops/s1/catalog/tea", {"name": "茶", "price": 5, "stock": 3}, {"admin", "shop"}),
    ("GET", "/shops/s1/catalog", None, {"admin", "shop", "volunteer"}),
    ("PUT", "/rules", RULES, ADMIN),
    ("GET", "/rules", None, ALL),
    ("POST", "/people", {"id": "px", "name": "新人", "role": "volunteer", "grids": ["g1"]}, ADMIN),
    ("GET", "/people", None, ADMIN),
    ("GET", "/people/w2", None, ADMIN),
    ("PATCH", "/people/w2", {"name": "改名"}, ADMIN),
    ("POST", "/people/v2/card", None, ADMIN),
    ("POST", "/enrollments", {"person": "w2"}, ADMIN),
    ("GET", "/devices", None, ADMIN),
    ("POST", "/devices/{device}/revoke", None, ADMIN),
]
IDS = [f"{m} {p}" for m, p, _, _ in ENDPOINTS]
WRONG_ROLE = [(m, p, b, role) for m, p, b, allowed in ENDPOINTS for role in sorted(ALL - allowed)]


def call(api, method, path, body, token, device):
    path = path.replace("{device}", device)
    headers = {} if token is None else {"Authorization": f"Bearer {token}"}
    return api.client.open("/api/v1" + path, method=method, json=body, headers=headers)


@pytest.fixture
def spare_device(api, world):
    """A device of w2 for the revoke endpoint (so revoking it locks nobody else out)."""
    return api.enroll("w2", "spare").id


@pytest.fixture(scope="module")
def shared(shared_world):
    """The module's shared world (tests here change nothing) plus a spare device of w2."""
    shared_world.device = shared_world.api.enroll("w2", "spare").id
    return shared_world


@pytest.mark.parametrize(("method", "path", "body", "allowed"), ENDPOINTS, ids=IDS)
def test_allowed_role_succeeds(api, tokens, spare_device, method, path, body, allowed):
    for role in sorted(allowed):
        resp = call(api, method, path, body, tokens[TOKEN_OF_ROLE[role]], spare_device)
        assert resp.status_code in (200, 201, 409), (role, resp.get_data(as_text=True))
        if resp.status_code == 409:  # a second create with the same id by another role
            assert resp.get_json()["error"]["code"] == "id_reused"


BAD_HEADERS = [None, "", "Bearer", "Bearer ", "Basic YWRtaW46YWRtaW4=", "Bearer nodot",
               "Bearer tnothere.secret", "Bearer .x", "Bearer " + "t" * 300 + ".x"]


@pytest.mark.parametrize(("method", "path", "body", "allowed"), ENDPOINTS, ids=IDS)
def test_missing_or_unknown_token_is_401(shared, method, path, body, allowed):
    before = db_dump(shared.data_dir)
    for header in BAD_HEADERS:
        headers = {} if header is None else {"Authorization": header}
        resp = shared.api.client.open("/api/v1" + path.replace("{device}", shared.device),
                                      method=method, json=body, headers=headers)
        assert_error(resp, 401, "unauthenticated")
    assert db_dump(shared.data_dir) == before


@pytest.mark.parametrize(("method", "path", "body", "allowed"), ENDPOINTS, ids=IDS)
def test_right_token_id_with_wrong_secret_is_401(shared, method, path, body, allowed):
    for token in shared.tokens.values():
        token_id = token.split(".")[0]
        resp = call(shared.api, method, path, body, token_id + ".not-the-secret", shared.device)
        assert_error(resp, 401, "unauthenticated")


@pytest.mark.parametrize(("method", "path", "body", "role"), WRONG_ROLE,
                         ids=[f"{m} {p} as {r}" for m, p, _, r in WRONG_ROLE])
def test_wrong_role_is_403_and_changes_nothing(shared, method, path, body, role):
    before = db_dump(shared.data_dir)
    resp = call(shared.api, method, path, body, shared.tokens[TOKEN_OF_ROLE[role]], shared.device)
    assert_error(resp, 403, "forbidden")
    assert db_dump(shared.data_dir) == before


def test_token_revoked_with_the_cli_is_401_everywhere(api, world, data_dir, spare_device):
    from tests.helpers import issue_token

    token = issue_token(data_dir, "admin")
    assert api.get("/grids", token=token).status_code == 200
    result = CliRunner().invoke(main, ["token", "revoke", "--data-dir", str(data_dir),
                                       token.split(".")[0]])
    assert result.exit_code == 0, result.output
    for method, path, body, _ in ENDPOINTS:
        assert_error(call(api, method, path, body, token, spare_device), 401, "unauthenticated")
    # The admin's other token is untouched.
    assert api.get("/grids").status_code == 200


@pytest.mark.parametrize("person", ["w1", "v1", "shop1", "a1"])
def test_inactive_person_gets_401_until_reactivated(api, tokens, person):
    token = tokens[person]
    assert api.get("/rules", token=token).status_code == 200
    api.ok(api.patch(f"/people/{person}", {"active": False}))
    assert_error(api.get("/rules", token=token), 401, "unauthenticated")
    api.ok(api.patch(f"/people/{person}", {"active": True}))
    assert api.get("/rules", token=token).status_code == 200


def test_inactive_admin_token_is_401(api, world, data_dir):
    api.person("admin2", "admin", [])
    from tests.helpers import issue_token

    token2 = issue_token(data_dir, "admin2")
    api.ok(api.get("/grids", token=token2))
    api.ok(api.patch("/people/admin2", {"active": False}))
    for method, path, body, _ in ENDPOINTS:
        assert_error(call(api, method, path, body, token2, "x"), 401, "unauthenticated")


def test_scheme_is_case_insensitive(api, world):
    resp = api.client.get("/api/v1/grids", headers={"Authorization": f"bearer {api.token}"})
    assert resp.status_code == 200


def test_health_and_discovery_need_no_token(client):
    assert client.get("/api/v1/health").status_code == 200
    assert client.get("/api/v1/openapi.json").status_code == 200
    assert client.get("/api/v1/ledger/keys").status_code == 200
