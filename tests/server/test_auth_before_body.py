"""The token (a header) is checked before the body is read or parsed, on every endpoint
that needs one: a caller without a valid token costs no JSON parsing (issue: 8 MB of
empty arrays cost up to a second of CPU per unauthenticated request)."""

from __future__ import annotations

import re

import pytest

import server.body
from tests.helpers import api_error

BIG = b'{"changes": [' + b"[]," * (8 * 1024 * 1024 // 3 - 20) + b"[]]}"


def _authenticated_rules(app):
    """(method, concrete path) of every /api endpoint whose view requires a token."""
    out = []
    for rule in app.url_map.iter_rules():
        view = app.view_functions[rule.endpoint]
        if not rule.rule.startswith("/api/") or not hasattr(view, "required_roles"):
            continue
        path = re.sub(r"<int:[^>]+>", "1", rule.rule)
        path = re.sub(r"<(?:[^:>]+:)?[^>]+>", "x1", path)
        for method in sorted(rule.methods & {"POST", "PUT", "PATCH"}):
            out.append((method, path))
    return out


@pytest.fixture
def parses(monkeypatch):
    """Counts how many bodies the server parsed."""
    calls = []
    real = server.body.parse_json

    def counting(raw):
        calls.append(len(raw))
        return real(raw)

    monkeypatch.setattr(server.body, "parse_json", counting)
    return calls


def test_every_authenticated_endpoint_refuses_a_missing_or_bad_token_before_the_body(
        app, client, parses):
    rules = _authenticated_rules(app)
    assert len(rules) >= 15 and ("POST", "/api/v1/sync") in rules
    for method, path in rules:
        for headers in ({}, {"Authorization": "Bearer tnope.wrong"}):
            resp = client.open(path, method=method, data=b'{"not json',
                               headers={**headers, "Content-Type": "application/json"})
            assert resp.status_code == 401, (method, path, resp.get_data(as_text=True)[:200])
            assert resp.get_json()["error"]["code"] == "unauthenticated"
    assert parses == []


def test_an_unauthenticated_8mb_body_is_refused_unparsed(app, client, parses):
    assert len(BIG) <= app.config["MAX_BODY_BYTES"]
    resp = client.post("/api/v1/sync", data=BIG, headers={"Content-Type": "application/json"})
    api_error(resp, 401, "unauthenticated")
    assert parses == []


def test_with_a_token_the_body_is_parsed_once_and_malformed_json_still_refused(
        api, world, parses):
    w1 = api.enroll("w1")
    parses.clear()
    resp = api.client.post("/api/v1/sync", data=b'{"cursor": null, "changes": [}',
                           headers={**api.headers(w1.token), "Content-Type": "application/json"})
    api_error(resp, 400, "malformed_json")
    assert len(parses) == 1
    # A view that takes no body still refuses a malformed one once the token is good.
    resp = api.client.post("/api/v1/people/v1/card", data=b"{nope",
                           headers={**api.headers(), "Content-Type": "application/json"})
    api_error(resp, 400, "malformed_json")
