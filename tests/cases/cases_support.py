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
