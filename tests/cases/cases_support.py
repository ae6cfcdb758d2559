"""Helpers for the cases tests: a world with case rules, a report code, reports."""

from __future__ import annotations

from typing import Any

from tests.helpers import RULES, ApiClient

CASE_RULES = {**RULES, "case_categories": {"road": "道路设施", "elderly": "助老服务",
                                           "noise": "噪音扰民"},
              "case_points": {"1": 5, "2": 10, "3": 20}}


def case_rules(api: ApiClient) -> None:
    api.ok(api.put("/rules", CASE_RULES))


def report_code(api: ApiClient, grid: str = "g1") -> str:
    return str(api.ok(api.post(f"/grids/{grid}/report-code"), 201)["code"])


def public_report(api: ApiClient, code: str, **body: Any) -> Any:
    payload = {"code": code, "category": "road", "title": "路灯坏了", **body}
    return api.client.post("/api/v1/public/reports", json=payload)


def new_report(api: ApiClient, code: str, **body: Any) -> tuple[str, str]:
    """(case id, receipt) of a fresh resident report."""
    out = api.ok(public_report(api, code, **body), 201)
    return out["case"], out["receipt"]


def step(device: Any, case_id: str, base: int, **fields: Any) -> dict:
    """Push one status step (or field change) from a device; returns its result."""
    return device.sync([device.change("cases", fields, id=case_id, base=base)])["results"][0]


def open_case(device: Any, **fields: Any) -> tuple[str, dict]:
    """A worker's device opens a case; (id, result)."""
    body = {"grid": "g1", "kind": "patrol", "category": "road", "title": "井盖松动", **fields}
    change = device.change("cases", body)
    return change["id"], device.sync([change])["results"][0]


def case_state(api: ApiClient, case_id: str) -> dict:
    return api.ok(api.get(f"/cases/{case_id}"))


def balance(api: ApiClient, person: str) -> int:
    return int(api.ok(api.get(f"/accounts/volunteer:{person}"))["balance"])


def closed_by_volunteer(api: ApiClient, title: str, difficulty: int, resolution: str) -> str:
    """A patrol case opened on w1's phone, assigned to volunteer v1 who accepts and
    finishes it, confirmed with five stars on w1b's phone (the world's people; each gets
    a new device); its id."""
    w1, w1b, v1 = api.enroll("w1"), api.enroll("w1b"), api.enroll("v1")
    case_id, _ = open_case(w1, title=title)
    api.ok(api.post(f"/cases/{case_id}/assign", {"assignee": "v1", "difficulty": difficulty}))
    assert step(v1, case_id, 2, status="accepted")["status"] == "applied"
    assert step(v1, case_id, 3, status="done", resolution=resolution)["status"] == "applied"
    assert step(w1b, case_id, 4, status="closed", rating=5)["status"] == "applied"
    return case_id
