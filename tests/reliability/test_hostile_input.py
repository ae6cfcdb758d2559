"""Hostile input the other suites do not already cover (tests/server/test_body.py has the
generic gzip / size / malformed-JSON cases on /grids; test_sync.py every rejection code;
test_auth.py every role on every endpoint; test_devices.py replayed enrolment codes).

Here: the same attacks aimed at the sync, redemption and enrolment endpoints, text that
looks like SQL, HTML or carries NUL bytes travelling through sync literally, deep and huge
values inside a signed change, and redemptions with forged or foreign cards. Each answer is
a JSON error and the database is unchanged (db_dump, rate limits aside).
"""

from __future__ import annotations

import gzip
import json

import pytest

from tests.helpers import db_dump, raw_db

LITERALS = ["'; DROP TABLE records; --", "Robert'); DELETE FROM entries WHERE 1=1; --",
            "<script>alert('x')</script>", "<img src=x onerror=alert(1)>", "a\u0000b\u0000",
            "%s %d {0} ${x} \\u0000", "😀 社区 \u202e reversed", "\\\"quoted\\\"", " "]


def raw(api, path, data, *, token=None, encoding=None, content_type="application/json"):
    headers = api.headers(token)
    headers["Content-Type"] = content_type
    if encoding:
        headers["Content-Encoding"] = encoding
    return api.client.post("/api/v1" + path, data=data, headers=headers)


def json_error(resp, status):
    assert resp.status_code == status, (resp.status_code, resp.get_data(as_text=True)[:300])
    assert resp.mimetype == "application/json"
    err = resp.get_json()["error"]
    assert isinstance(err["code"], str) and isinstance(err["message"], str) and err["message"]
    return err


@pytest.fixture
def devices(api, world):
    return {p: api.enroll(p) for p in ("w1", "w1b", "w2", "v1", "shop1")}


@pytest.mark.parametrize("text", LITERALS)
def test_sql_html_and_nul_text_travels_through_sync_literally(api, devices, data_dir, text):
    w1, w1b = devices["w1"], devices["w1b"]
    change = w1.change("households", {"grid": "g1", "address": text, "head_name": text,
                                      "tags": [text], "notes": text})
    assert w1.sync([change])["results"][0]["status"] == "applied"
    got = w1b.pull_all(fresh=True)[("households", change["id"])]
    assert got["fields"]["address"] == text and got["fields"]["tags"] == [text]
    assert got["fields"]["notes"] == text and got["fields"]["head_name"] == text
    # Every table is still there and nothing else was touched by the "SQL".
    assert {"records", "entries", "ops"} <= set(db_dump(data_dir))


@pytest.mark.parametrize("path", ["/sync", "/redemptions", "/devices/enroll", "/enrollments"])
@pytest.mark.parametrize("name,data,encoding", [
    ("invalid utf-8", b'{"cursor": null, "changes": [], "x": "\xc3\x28\xff"}', None),
    ("nul byte outside a string", b'{"cursor": null,\x00 "changes": []}', None),
    ("truncated gzip", gzip.compress(b'{"cursor": null, "changes": []}')[:-6], "gzip"),
    ("gzip of garbage", gzip.compress(b"\x00\x01 not json"), "gzip"),
    ("not gzip at all", b'{"cursor": null}', "gzip"),
    ("deep nesting", b'{"changes": ' + b"[" * 50_000 + b"]" * 50_000 + b"}", None),
])
def test_broken_bodies_on_write_endpoints_are_json_errors_changing_nothing(
        api, devices, data_dir, path, name, data, encoding):
    token = {"/sync": devices["w1"].token, "/redemptions": devices["shop1"].token}.get(path)
    before = db_dump(data_dir)
    err = json_error(raw(api, path, data, token=token, encoding=encoding), 400)
    assert err["code"] in ("malformed_json", "validation"), err
    assert db_dump(data_dir) == before


def test_gzip_bomb_on_sync_is_413_and_changes_nothing(api, devices, data_dir):
    bomb = gzip.compress(b'{"cursor": null, "changes": [], "pad": "' + b"A" * (64 << 20) + b'"}')
    before = db_dump(data_dir)
    json_error(raw(api, "/sync", bomb, token=devices["w1"].token, encoding="gzip"), 413)
    assert db_dump(data_dir) == before


@pytest.mark.parametrize("case", ["huge string", "deep value", "many tags", "huge number",
                                  "object as field"])
def test_hostile_values_inside_a_signed_change_are_rejected_alone(api, devices, data_dir, case):
    w1 = devices["w1"]
    deep: object = "x"
    for _ in range(500):
        deep = [deep]
    fields = {"huge string": {"notes": "长" * 200_000},
              "deep value": {"notes": deep},
              "many tags": {"tags": ["t"] * 100_000},
              "huge number": {"members": 10**40},
              "object as field": {"address": {"$ne": None}}}[case]
    good = w1.change("households", {"grid": "g1", "address": "ok"})
    bad = w1.change("households", {"grid": "g1", **fields})
    before = db_dump(data_dir)
    resp = api.post("/sync", {"cursor": None, "changes": [bad, good]}, token=w1.token)
    if resp.status_code == 200:  # rejected per change; the good one still applies
        results = resp.get_json()["results"]
        assert results[0]["status"] == "rejected" and results[0]["error"]["code"] == "validation"
        assert results[1]["status"] == "applied"
        rows = json.dumps(db_dump(data_dir)["records"], ensure_ascii=False)
        assert bad["id"] not in rows and good["id"] in rows
    else:  # the whole body refused (too large): nothing at all changed
        json_error(resp, 413)
        assert db_dump(data_dir) == before


def test_changes_naming_another_grids_records_change_nothing(api, devices, data_dir):
    w1, w2 = devices["w1"], devices["w2"]
    theirs = w2.change("households", {"grid": "g2", "address": "二网格 1 号"})
    assert w2.sync([theirs])["results"][0]["status"] == "applied"
    log = w2.change("service_logs", {"volunteer": "v2", "activity": "cleanup",
                                     "started_at": "2026-11-26T01:00:00Z", "minutes": 60})
    assert w2.sync([log])["results"][0]["status"] == "applied"
    attacks = [
        w1.change("households", {"address": "taken over"}, id=theirs["id"], base=1),
        w1.change("households", {"grid": "g1"}, id=theirs["id"], base=1),  # pull it over
        w1.change("households", {"grid": "g2"}, id=theirs["id"], base=None),  # create-as
        w1.change("households", {}, id=theirs["id"], base=1, deleted=True),
        w1.change("visits", {"household": theirs["id"], "visited_at": "2026-11-26T12:00:00Z",
                             "outcome": "met"}),
        w1.change("service_logs", {"status": "verified"}, id=log["id"], base=1),
        w1.change("service_logs", {"volunteer": "v2", "activity": "cleanup",
                                   "started_at": "2026-11-26T01:00:00Z", "minutes": 60}),
    ]
    for change in attacks:
        before = db_dump(data_dir, skip=("rate_limits", "ops", "devices"))
        result = w1.sync([change])["results"][0]
        assert result["status"] == "rejected", (change["fields"], result)
        assert result["error"]["code"] in ("forbidden", "validation", "unknown_record"), result
        assert db_dump(data_dir, skip=("rate_limits", "ops", "devices")) == before
    assert ("households", theirs["id"]) not in w1.pull_all(fresh=True)


def test_forged_and_foreign_redemptions_are_refused_and_change_nothing(
        api, world, devices, tokens, data_dir):
    shop1 = devices["shop1"]
    api.ok(api.post("/ledger/adjustments", {"id": "0190f0c0-0000-4000-8000-000000000001",
                                            "account": "volunteer:v1", "amount": 50,
                                            "reason": "seed"}), 201)
    v3_card = api.ok(api.post("/people/v3/card"), 201)["card"]
    base = {"volunteer": "v1", "card": world.cards["v1"], "items": [{"sku": "soap", "qty": 1}]}
    card = world.cards["v1"]  # its last character changed (codes are read case-blind)
    wrong = card[:-1] + ("Y" if card[-1].upper() != "Y" else "Z")
    cases = [
        ({**base, "card": wrong}, shop1.token, 403),
        ({**base, "card": "' OR 1=1 --"}, shop1.token, 403),
        ({**base, "volunteer": "v2", "card": world.cards["v1"]}, shop1.token, 403),
        ({**base, "volunteer": "v3", "card": v3_card}, shop1.token, 403),  # other community
        ({**base, "items": [{"sku": "soap", "qty": 10**12}]}, shop1.token, None),
        ({**base, "items": [{"sku": "<script>", "qty": 1}]}, shop1.token, 400),
        (base, devices["w1"].token, 403),  # a worker's token
        (base, devices["v1"].token, 403),  # the volunteer themself
        (base, tokens["shop2"], 403),  # another community's shop
    ]
    for i, (body, token, status) in enumerate(cases):
        body = {"id": f"0190f0c0-0000-4000-8000-0000000001{i:02d}", **body}
        before = db_dump(data_dir)
        resp = api.post("/redemptions", body, token=token)
        err = json_error(resp, status or resp.status_code)
        assert 400 <= resp.status_code < 500, (i, err)
        assert db_dump(data_dir) == before, (i, err)


@pytest.mark.parametrize("case", ["330,000 junk ops", "1,000 junk ops"])
def test_one_big_junk_sync_request_stores_nothing_and_never_takes_the_write_lock(
        api, devices, data_dir, case):
    """The attack from the review: one enrolled phone sends a body of junk changes
    (330,000 of them held a worker 58 s, answered 144 MB and grew the database by
    147 MB). Now the request is refused whole, with a short answer, before any write:
    it is answered even while another connection holds the database's write lock."""
    from server.storage.postgres import WRITE_LOCK

    count = 330_000 if case.startswith("330") else 1_000
    body = ('{"cursor":null,"changes":['
            + ",".join(f'{{"op":"{i}"}}' for i in range(count)) + "]}").encode()
    before = db_dump(data_dir)
    file = data_dir.joinpath("gridsync.db")
    size = file.stat().st_size if file.exists() else None
    with raw_db(data_dir) as lock:  # every writer waits for this one
        take, release = (("SELECT pg_advisory_lock(?)", "SELECT pg_advisory_unlock(?)")
                         if lock.postgres else ("BEGIN IMMEDIATE", "ROLLBACK"))
        params = (WRITE_LOCK,) if lock.postgres else ()
        lock.execute(take, params)
        try:
            resp = raw(api, "/sync", body, token=devices["w1"].token)
        finally:
            lock.execute(release, params)
    json_error(resp, 413 if count > 1000 else 400)
    assert len(resp.get_data()) < 64 * 1024  # at most one short message per change
    assert db_dump(data_dir) == before
    if size is not None:
        assert file.stat().st_size == size
