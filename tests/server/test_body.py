"""Request bodies and error rendering: gzip, size limits, strict JSON, 404/405/415/500/503,
response compression, health and the OpenAPI document."""

from __future__ import annotations

import gzip
import json
import re
import sqlite3

import pytest

from server.state import storage
from server.storage import BackendError
from server.storage.errors import BUSY, UNAVAILABLE
from tests.helpers import api_error as error
from tests.helpers import api_validation as validation
from tests.helpers import db_dump, raw_db

GRID = {"id": "c9", "name": "社区九", "parent": None}


def post_raw(api, data, *, path="/grids", content_type="application/json", encoding=None,
             method="POST"):
    headers = api.headers()
    if content_type is not None:
        headers["Content-Type"] = content_type
    if encoding is not None:
        headers["Content-Encoding"] = encoding
    return api.client.open("/api/v1" + path, method=method, data=data, headers=headers)


def grid_ids(api):
    return [g["id"] for g in api.ok(api.get("/grids"))["grids"]]


# --- gzip ----------------------------------------------------------------------------------

def test_gzip_body_is_accepted(api):
    resp = post_raw(api, gzip.compress(json.dumps(GRID).encode()), encoding="gzip")
    assert api.ok(resp, 201)["id"] == "c9"


def test_gzip_bomb_is_413_without_inflating_it(api, data_dir):
    bomb = gzip.compress(b"0" * 50_000_000, compresslevel=9)
    assert len(bomb) < 100_000
    before = db_dump(data_dir)
    err = error(post_raw(api, bomb, encoding="gzip"), 413, "too_large")
    assert "decompression" in err["message"]
    assert db_dump(data_dir) == before


@pytest.mark.parametrize("name", ["truncated", "garbage", "trailing data", "not gzip at all"])
def test_broken_gzip_is_400_malformed_json(shared_world, name):
    api, data_dir = shared_world.api, shared_world.data_dir
    good = gzip.compress(json.dumps(GRID).encode())
    data = {"truncated": good[:-12], "garbage": b"\x1f\x8b\x08\x00garbage-garbage",
            "trailing data": good + b"more", "not gzip at all": json.dumps(GRID).encode()}[name]
    before = db_dump(data_dir)
    error(post_raw(api, data, encoding="gzip"), 400, "malformed_json")
    assert db_dump(data_dir) == before


def test_unknown_content_encoding_is_415(api):
    error(post_raw(api, json.dumps(GRID).encode(), encoding="br"), 415,
          "unsupported_media_type")


def test_a_number_past_a_double_is_malformed_json_and_changes_nothing(api, world, data_dir):
    """1e400 is Infinity spelled otherwise: refused as the literal is (it used to reach
    the push, whose canonical form of the change raised: a 500)."""
    device = api.enroll("w1")
    change = device.change("households", {"grid": "g1"})
    body = json.dumps({"cursor": None, "changes": [change]}).replace(
        '"fields": {', '"fields": {"members": 1e400, ', 1).encode()
    before = db_dump(data_dir)
    resp = api.client.post("/api/v1/sync", data=body, headers={
        **api.headers(device.token), "Content-Type": "application/json"})
    assert error(resp, 400, "malformed_json")["message"].endswith(
        "number 1e400 is out of range (Infinity)")
    assert db_dump(data_dir) == before
    assert device.sync([change])["results"][0]["status"] == "applied"  # the same, finite


# --- size limit ----------------------------------------------------------------------------

@pytest.fixture
def small_api(make_app, data_dir):
    from tests.helpers import ApiClient

    app = make_app(data_dir, MAX_BODY_BYTES=1000)
    return ApiClient(app.test_client(), data_dir.joinpath("admin-token").read_text())


def padded(size):
    """A valid grid body of exactly ``size`` bytes."""
    base = json.dumps({**GRID, "name": ""}).encode()
    body = json.dumps({**GRID, "name": "n" * (size - len(base))}).encode()
    assert len(body) == size
    return body


def test_body_at_the_limit_passes_and_one_byte_over_is_413(small_api, data_dir):
    # 1000 bytes is fine for the limit (the name is then too long: a 400, not a 413).
    validation(post_raw(small_api, padded(1000)), "name")
    before = db_dump(data_dir)
    error(post_raw(small_api, padded(1001)), 413, "too_large")
    assert db_dump(data_dir) == before


def test_gzip_body_over_the_limit_after_decompression_is_413(small_api):
    data = gzip.compress(padded(1001))
    assert len(data) < 1000
    error(post_raw(small_api, data, encoding="gzip"), 413, "too_large")
    validation(post_raw(small_api, gzip.compress(padded(1000)), encoding="gzip"), "name")


def test_chunked_body_over_the_limit_is_413(small_api):
    """No Content-Length (chunked upload): the limit still holds while reading."""
    import io

    resp = small_api.client.post("/api/v1/grids", input_stream=io.BytesIO(padded(5000)),
                                 environ_base={"wsgi.input_terminated": True},
                                 headers={**small_api.headers(),
                                          "Content-Type": "application/json",
                                          "Transfer-Encoding": "chunked"})
    error(resp, 413, "too_large")


# --- content type --------------------------------------------------------------------------

@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded",
                                          "multipart/form-data", None])
def test_non_json_content_type_is_415(shared_world, content_type):
    api, data_dir = shared_world.api, shared_world.data_dir
    before = db_dump(data_dir)
    error(post_raw(api, json.dumps(GRID).encode(), content_type=content_type), 415,
          "unsupported_media_type")
    assert db_dump(data_dir) == before


def test_json_with_charset_is_fine(api):
    api.ok(post_raw(api, json.dumps(GRID).encode(),
                    content_type="application/json; charset=utf-8"), 201)


# --- malformed JSON ------------------------------------------------------------------------

MALFORMED = {
    "invalid utf-8": b'{"id": "c9", "name": "\xff\xfe", "parent": null}',
    "NaN": b'{"id": "c9", "name": "x", "parent": null, "n": NaN}',
    "Infinity": b'{"id": "c9", "name": "x", "parent": null, "n": Infinity}',
    "-Infinity": b'{"id": "c9", "name": "x", "parent": null, "n": -Infinity}',
    "duplicate keys": b'{"id": "c9", "id": "c8", "name": "x", "parent": null}',
    "nested duplicate keys": b'{"a": {"k": 1, "k": 2}}',
    "deep arrays": b"[" * 100_000 + b"]" * 100_000,
    "deep objects": b'{"a":' * 100_000 + b"1" + b"}" * 100_000,
    "not json": b"id=c9&name=x",
    "trailing garbage": json.dumps(GRID).encode() + b" x",
    "two documents": json.dumps(GRID).encode() * 2,
    "single quotes": b"{'id': 'c9'}",
    "unterminated": b'{"id": "c9"',
    "lone surrogate": b'{"id": "c9", "name": "\\ud800", "parent": null}',
    "lone low surrogate in a list": b'{"a": ["x\\udfffy"]}',
    "lone surrogate key": b'{"\\udc00": 1}',
}


@pytest.mark.parametrize("name", sorted(MALFORMED))
def test_malformed_json_is_400_and_changes_nothing(shared_world, name):
    api, data_dir = shared_world.api, shared_world.data_dir
    before = db_dump(data_dir)
    err = error(post_raw(api, MALFORMED[name]), 400, "malformed_json")
    assert "fields" not in err
    assert db_dump(data_dir) == before


def test_utf8_bom_is_malformed(shared_world):
    api = shared_world.api
    error(post_raw(api, b"\xef\xbb\xbf" + json.dumps(GRID).encode()), 400, "malformed_json")


def test_non_ascii_text_is_fine_and_answered_as_utf8(api):
    resp = post_raw(api, json.dumps(GRID, ensure_ascii=False).encode())
    assert api.ok(resp, 201)["name"] == "社区九"
    assert "社区九".encode() in resp.get_data()


def test_escaped_surrogate_pairs_are_fine(api):
    body = b'{"id": "c9", "name": "\\ud83c\\udfe0 \\u5bb6", "parent": null}'
    assert api.ok(post_raw(api, body), 201)["name"] == "🏠 家"


def test_floats_and_bools_are_validation_errors_with_fields(shared_world):
    api = shared_world.api
    for value in (1.0, 1.5, 1e3, True, "1"):
        body = {"name": "x", "price": value, "stock": 1}
        err = validation(api.put("/shops/s1/catalog/tea", body), "price")
        assert err["fields"]["price"]


def test_unknown_keys_are_validation_errors_naming_them(shared_world):
    api = shared_world.api
    err = validation(api.post("/grids", {**GRID, "colour": "red", "size": 3}), "colour", "size")
    assert set(err["fields"]) == {"colour", "size"}


def test_empty_body_where_one_is_required_is_validation(shared_world):
    api = shared_world.api
    err = validation(post_raw(api, b""), "id", "name", "parent")
    assert err["message"]


# --- routing errors ------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/api/v1/nope", "/api/v2/grids", "/api/v1/",
                                  "/api/v1/grids/c1/x"])
def test_unknown_path_is_404_json(shared_world, path):
    error(shared_world.api.client.get(path), 404, "not_found")


@pytest.mark.parametrize(("method", "path"), [("DELETE", "/api/v1/grids"),
                                              ("PUT", "/api/v1/health"),
                                              ("GET", "/api/v1/devices/enroll"),
                                              ("POST", "/api/v1/people/w1")])
def test_wrong_method_is_405_json(shared_world, method, path):
    api = shared_world.api
    resp = api.client.open(path, method=method, headers=api.headers())
    error(resp, 405, "method_not_allowed")
    assert method not in resp.headers["Allow"] and "OPTIONS" in resp.headers["Allow"]


# --- unexpected errors ---------------------------------------------------------------------

@pytest.fixture
def boom_app(make_app, data_dir):
    """An app with test-only routes that fail in the middle of a transaction."""
    app = make_app(data_dir)

    def boom():
        with storage().transaction() as store:
            store.directory.add_grid(id="half", name="written then rolled back", parent=None,
                                     at="2026-01-01T00:00:00.000Z")
            raise KeyError("secret detail /srv/gridsync/server/services.py line 42")

    # What storage raises when the driver fails (server.storage.BackendError, classified
    # by the driver's error code where it is wrapped).
    def busy():
        raise BackendError(sqlite3.OperationalError("database is locked"), BUSY)

    def full():
        raise BackendError(sqlite3.OperationalError("database or disk is full"), UNAVAILABLE)

    def bug():
        storage().db.execute("SELECT secret_column FROM grids")

    app.add_url_rule("/api/v1/_test/boom", view_func=boom, methods=["POST"])
    app.add_url_rule("/api/v1/_test/busy", view_func=busy)
    app.add_url_rule("/api/v1/_test/full", view_func=full)
    app.add_url_rule("/api/v1/_test/bug", view_func=bug)
    return app


def test_unexpected_exception_is_500_internal_without_details(boom_app, data_dir):
    client = boom_app.test_client()
    before = db_dump(data_dir)
    resp = client.post("/api/v1/_test/boom", json={})
    err = error(resp, 500, "internal")
    text = resp.get_data(as_text=True)
    assert "Traceback" not in text and "secret detail" not in text and "KeyError" not in text
    assert db_dump(data_dir) == before                                # the transaction rolled back
    assert err == {"code": "internal", "message": "internal error"}


@pytest.mark.parametrize("what", ["busy", "full"])
def test_database_busy_or_full_is_503_with_retry_after(boom_app, what):
    resp = boom_app.test_client().get(f"/api/v1/_test/{what}")
    error(resp, 503, "unavailable")
    assert int(resp.headers["Retry-After"]) > 0


def test_other_database_errors_are_500_without_details(boom_app):
    resp = boom_app.test_client().get("/api/v1/_test/bug")
    error(resp, 500, "internal")
    assert "secret_column" not in resp.get_data(as_text=True)


# --- response compression ------------------------------------------------------------------

def test_large_responses_are_gzipped_when_asked(api, world):
    for i in range(40):
        api.ok(api.post("/grids", {"id": f"z{i:02d}", "name": f"网格{i:02d}" * 5,
                                   "parent": "c1"}), 201)
    plain = api.get("/grids")
    assert "Content-Encoding" not in plain.headers
    zipped = api.client.get("/api/v1/grids",
                            headers={**api.headers(), "Accept-Encoding": "gzip, deflate"})
    assert zipped.headers["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in zipped.headers["Vary"]
    assert gzip.decompress(zipped.get_data()) == plain.get_data()  # the same bytes, gzipped
    refused = api.client.get("/api/v1/grids",
                             headers={**api.headers(), "Accept-Encoding": "gzip;q=0"})
    assert "Content-Encoding" not in refused.headers


def test_vary_names_accept_encoding_beside_what_a_response_already_varies_on(app):
    from flask import Response

    from server.body import compress_response

    with app.test_request_context("/api/v1/grids", headers={"Accept-Encoding": "gzip"}):
        plain = compress_response(Response("{}", mimetype="application/json"))
        assert plain.headers.getlist("Vary") == ["Accept-Encoding"]
        cookie = Response("{}", mimetype="application/json", headers={"Vary": "Cookie"})
        assert compress_response(cookie).headers.getlist("Vary") == ["Cookie, Accept-Encoding"]
        both = Response("{}", mimetype="application/json",
                        headers={"Vary": "accept-encoding"})
        assert compress_response(both).headers.getlist("Vary") == ["accept-encoding"]


def test_small_responses_are_not_gzipped(client):
    resp = client.get("/api/v1/health", headers={"Accept-Encoding": "gzip"})
    assert "Content-Encoding" not in resp.headers
    assert resp.get_json()["status"] == "ok"


# --- health and discovery ------------------------------------------------------------------

def test_health(client):
    from server.version import __version__

    resp = client.get("/api/v1/health")
    assert resp.status_code == 200
    assert resp.get_json() == {"status": "ok", "version": __version__, "protocol": 1}


def test_health_is_503_when_the_database_cannot_be_read(make_app, tmp_path, monkeypatch):
    from server.bootstrap import initialise

    monkeypatch.delenv("GRIDSYNC_SECRET", raising=False)
    data = tmp_path / "broken"
    initialise(str(data))
    app = make_app(data)
    with raw_db(data) as db:
        if db.postgres:  # what the health check reads is gone
            db.execute("ALTER TABLE grids RENAME TO grids_gone")
    if not db.postgres:
        (data / "gridsync.db").write_bytes(b"this is not a database" * 1000)
    resp = app.test_client().get("/api/v1/health")
    assert resp.status_code == 503
    assert resp.get_json() == {"status": "unavailable"}


def test_ledger_keys_are_published(client, data_dir):
    keys = client.get("/api/v1/ledger/keys").get_json()["keys"]
    assert len(keys) == 1
    key = keys[0]
    assert set(key) == {"key_id", "public_key", "created_at", "retired_at", "endorsement"}
    assert key["key_id"] == "k1" and key["retired_at"] is None
    assert key["endorsement"] is None  # the first key: the one verifiers pin
    assert len(key["public_key"]) == 43 and "=" not in key["public_key"]   # 32 bytes, base64url


def test_openapi_lists_every_path_and_method_with_schemas(app, client):
    doc = client.get("/api/v1/openapi.json").get_json()
    assert doc["openapi"].startswith("3.")
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/") or rule.rule == "/api/v1/openapi.json":
            continue
        path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule)
        assert path in doc["paths"], path
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            assert method.lower() in doc["paths"][path], (method, path)
    schemas = doc["components"]["schemas"]
    for name in ("GridIn", "GridOut", "ShopIn", "PersonIn", "PersonPatch", "PersonOut",
                 "CatalogItemIn", "RulesIn", "EnrollmentIn", "EnrollIn", "EnrollOut",
                 "DeviceOut"):
        assert name in schemas, name
    # Every referenced schema exists.
    refs = {v.rsplit("/", 1)[-1] for v in _walk(doc["paths"]) if isinstance(v, str)
            and v.startswith("#/components/schemas/")}
    assert refs and refs <= set(schemas)
    assert schemas["GridIn"]["additionalProperties"] is False or "required" in schemas["GridIn"]


def _walk(node):
    if isinstance(node, dict):
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)
    else:
        yield node


@pytest.mark.parametrize(("path", "body", "who"), [
    ("/grids", {**GRID, "id": "c9\n"}, "admin"),
    ("/redemptions", {"id": "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b\n", "volunteer": "v1",
                      "card": "x", "items": [{"sku": "soap", "qty": 1}]}, "shop1"),
])
def test_a_trailing_newline_is_not_part_of_an_id(shared_world, path, body, who):
    api = shared_world.api
    before = db_dump(shared_world.data_dir)
    validation(api.post(path, body, token=shared_world.tokens[who]), "id")
    assert db_dump(shared_world.data_dir) == before
