"""A NUL character (U+0000) in any text an API takes: refused with a clear 400 or kept,
never a 500 (PostgreSQL's text refuses a NUL that SQLite stores), on both backends."""

from __future__ import annotations

from tests.conftest import BOTH_BACKENDS
from tests.helpers import db_dump

pytestmark = BOTH_BACKENDS

NUL = "a\x00b"


def calls() -> list[tuple[str, str, dict]]:
    return [
        ("post", "/grids", {"id": "g9", "name": NUL, "parent": "c1"}),
        ("post", "/grids", {"id": NUL, "name": "x", "parent": "c1"}),
        ("post", "/shops", {"id": "s9", "name": NUL, "community": "c1"}),
        ("put", "/shops/s1/catalog/tea", {"name": NUL, "price": 3, "stock": 1}),
        ("put", "/shops/s1/catalog/t%00a", {"name": "tea", "price": 3, "stock": 1}),
        ("post", "/people", {"id": "p9", "name": NUL, "role": "worker", "grids": ["g1"]}),
        ("post", "/people", {"id": NUL, "name": "x", "role": "worker", "grids": ["g1"]}),
        ("patch", "/people/w1", {"name": NUL}),
        ("put", "/people/w1/login", {"login": NUL, "secret": "long enough secret"}),
        ("post", "/ledger/adjustments", {"id": "adj-nul", "account": "volunteer:v1",
                                         "amount": 1, "reason": NUL}),
        ("post", "/ledger/adjustments", {"id": NUL, "account": "volunteer:v1",
                                         "amount": 1, "reason": "x"}),
        ("post", "/enrollments", {"person": NUL}),
        ("put", "/rules", {"activities": {"a": {"points_per_hour": 1, "x": [NUL]}},
                           "daily_cap": None, "timezone": "UTC"}),
        ("put", "/rules", {"activities": deep(800), "daily_cap": None, "timezone": "UTC"}),
    ]


def deep(levels: int) -> object:
    value: object = NUL
    for _ in range(levels):
        value = [value]
    return value


def test_a_nul_in_admin_text_is_refused_or_kept_never_a_500(api, world, data_dir):
    for method, path, body in calls():
        before = db_dump(data_dir)
        resp = getattr(api, method)(path, body)
        assert resp.status_code < 500, (path, body, resp.get_data(as_text=True))
        if resp.status_code >= 400:
            assert resp.get_json()["error"]["code"], (path, body)
            assert db_dump(data_dir) == before, (path, body)
