"""Test helpers: an API client with tokens, a standard small world, signed devices."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from sync.crypto import DeviceKey
from sync.hlc import HybridClock
from sync.signing import enrolment_proof, sign_change

RULES = {"activities": {"elderly_care": {"points_per_hour": 10},
                        "cleanup": {"points_per_hour": 6}},
         "daily_cap": None, "timezone": "Asia/Shanghai"}


def uuid7() -> str:
    """A time-ordered lowercase UUID (v7 layout is enough for tests)."""
    return str(uuid.uuid4())


class ApiClient:
    """Flask test client (or anything with the same methods) plus a bearer token."""

    def __init__(self, client: Any, token: str):
        self.client, self.token = client, token

    def headers(self, token: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {token or self.token}"}

    def get(self, path: str, token: str | None = None, **kw: Any) -> Any:
        return self.client.get("/api/v1" + path, headers=self.headers(token), **kw)

    def post(self, path: str, body: Any = None, token: str | None = None, **kw: Any) -> Any:
        return self.client.post("/api/v1" + path, json=body, headers=self.headers(token), **kw)

    def put(self, path: str, body: Any = None, token: str | None = None) -> Any:
        return self.client.put("/api/v1" + path, json=body, headers=self.headers(token))

    def patch(self, path: str, body: Any = None, token: str | None = None) -> Any:
        return self.client.patch("/api/v1" + path, json=body, headers=self.headers(token))

    def ok(self, resp: Any, status: int = 200) -> Any:
        assert resp.status_code == status, (resp.status_code, resp.get_data(as_text=True))
        return resp.get_json()

    def person(self, id: str, role: str, grids: list[str], **extra: Any) -> dict:
        body = {"id": id, "name": f"name of {id}", "role": role, "grids": grids, **extra}
        return self.ok(self.post("/people", body), 201)

    def enroll(self, person: str, name: str = "phone") -> Device:
        code = self.ok(self.post("/enrollments", {"person": person}), 201)["code"]
        key = DeviceKey.generate()
        body = {"code": code, "public_key": key.public_key, "name": name,
                "proof": enrolment_proof(code, key)}
        out = self.ok(self.client.post("/api/v1/devices/enroll", json=body), 201)
        return Device(api=self, key=key, id=out["device_id"], token=out["token"],
                      person=person, clock=HybridClock(out["device_id"]))

    def make_world(self) -> World:
        for grid in ({"id": "c1", "name": "社区一", "parent": None},
                     {"id": "g1", "name": "一网格", "parent": "c1"},
                     {"id": "g1a", "name": "一网格甲", "parent": "g1"},
                     {"id": "g2", "name": "二网格", "parent": "c1"}):
            self.ok(self.post("/grids", grid), 201)
        self.ok(self.post("/shops", {"id": "s1", "name": "积分超市", "community": "c1"}), 201)
        self.ok(self.put("/rules", RULES))
        self.person("w1", "worker", ["g1"])
        self.person("w1b", "worker", ["g1"])
        self.person("w2", "worker", ["g2"])
        self.person("v1", "volunteer", ["g1"])
        self.person("v2", "volunteer", ["g2"])
        self.person("shop1", "shop", [], shop="s1")
        card = self.ok(self.post("/people/v1/card"), 201)["card"]
        self.ok(self.put("/shops/s1/catalog/rice", {"name": "大米 5kg", "price": 30, "stock": 5}))
        self.ok(self.put("/shops/s1/catalog/soap", {"name": "肥皂", "price": 4, "stock": 100}))
        return World(api=self, cards={"v1": card})


@dataclass
class Device:
    """An enrolled device that signs changes with its own key and clock."""

    api: ApiClient
    key: DeviceKey
    id: str
    token: str
    person: str
    clock: HybridClock
    cursor: str | None = None

    def change(self, collection: str, fields: dict, *, id: str | None = None,
               base: int | None = None, deleted: bool = False, op: str | None = None,
               hlc: str | None = None) -> dict:
        unsigned = {"op": op or uuid7(), "collection": collection, "id": id or uuid7(),
                    "hlc": hlc or self.clock.send(), "base": base, "fields": fields,
                    "deleted": deleted}
        return sign_change(unsigned, self.key)

    def sync(self, changes: list[dict] | None = None, *, cursor: Any = "keep",
             limit: int | None = None, status: int = 200) -> dict:
        body: dict[str, Any] = {"cursor": self.cursor if cursor == "keep" else cursor,
                                "changes": changes or []}
        if limit is not None:
            body["limit"] = limit
        resp = self.api.post("/sync", body, token=self.token)
        out = self.api.ok(resp, status)
        if status == 200:
            self.cursor = out["cursor"]
        return out

    def pull_all(self) -> dict[tuple[str, str], dict]:
        """Sync until has_more is false; returns the records seen, evictions applied."""
        seen: dict[tuple[str, str], dict] = {}
        while True:
            out = self.sync()
            for rec in out["changes"]:
                seen[(rec["collection"], rec["id"])] = rec
            for ev in out["evict"]:
                seen.pop((ev["collection"], ev["id"]), None)
            if not out["has_more"]:
                return seen


@dataclass
class World:
    api: ApiClient
    cards: dict[str, str] = field(default_factory=dict)
