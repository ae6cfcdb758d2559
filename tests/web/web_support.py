"""Helpers for the web page tests: a world with logins and points, and a form-posting client."""

from __future__ import annotations

import re
from typing import Any

from tests.helpers import ApiClient, Device, raw_db

SHOP_LOGIN, SHOP_PASSWORD = "shop1", "counter-pass-1"
V1_PHONE, V1_PIN = "13800000001", "246810"
V2_PHONE, V2_PIN = "13800000002", "135790"
ADMIN_LOGIN, ADMIN_PASSWORD = "office", "office-pass-1"

CSRF_RE = re.compile(r'name="csrf" value="([^"]+)"')
ID_RE = re.compile(r'name="id" value="([^"]+)"')


def push(device: Device, change: dict) -> dict:
    result = device.sync([change])["results"][0]
    assert result["status"] in ("applied", "conflict"), result
    return result


def log_hours(recorder: Device, volunteer: str, minutes: int, activity: str = "elderly_care",
              started_at: str = "2026-11-20T01:00:00Z") -> dict:
    change = recorder.change("service_logs", {"volunteer": volunteer, "activity": activity,
                                              "started_at": started_at, "minutes": minutes})
    push(recorder, change)
    return change


def set_status(checker: Device, log: dict, status: str) -> None:
    push(checker, checker.change("service_logs", {"status": status}, id=log["id"], base=1))


def make_web_world(api: ApiClient) -> dict[str, Any]:
    """make_world, then: web logins for shop1, v1, v2 and admin; v1 has 40 points from
    a verified 4-hour log, a recorded 1-hour log and a rejected 30-minute one; v2 has 5
    points from an adjustment."""
    world = api.make_world()
    api.person("adm2", "admin", [])
    for person, login, secret in (("shop1", SHOP_LOGIN, SHOP_PASSWORD), ("v1", V1_PHONE, V1_PIN),
                                  ("v2", V2_PHONE, V2_PIN), ("adm2", ADMIN_LOGIN, ADMIN_PASSWORD)):
        api.ok(api.put(f"/people/{person}/login", {"login": login, "secret": secret}))
    w1, w1b = api.enroll("w1", "w1 phone"), api.enroll("w1b", "w1b phone")
    verified = log_hours(w1, "v1", 240)
    set_status(w1b, verified, "verified")
    log_hours(w1, "v1", 60, activity="cleanup", started_at="2026-11-21T01:00:00Z")
    rejected = log_hours(w1, "v1", 30, activity="cleanup", started_at="2026-11-22T01:00:00Z")
    set_status(w1b, rejected, "rejected")
    api.ok(api.post("/ledger/adjustments", {"id": "adj-v2", "account": "volunteer:v2",
                                             "amount": 5, "reason": "welcome"}), 201)
    return {"card": world.cards["v1"], "w1": w1, "w1b": w1b}


class WebClient:
    """A Flask test client that signs in through the forms and posts with CSRF tokens."""

    def __init__(self, client: Any):
        self.client = client
        self.last_html = ""

    def get(self, path: str, **kw: Any) -> Any:
        resp = self.client.get(path, **kw)
        self.last_html = resp.get_data(as_text=True)
        return resp

    def csrf(self, path: str | None = None) -> str:
        html = self.get(path).get_data(as_text=True) if path else self.last_html
        found = CSRF_RE.search(html)
        assert found, html[:2000]
        return found.group(1)

    def post(self, path: str, data: dict | None = None, *, csrf: str | None = "auto",
             page: str | None = None, **kw: Any) -> Any:
        """POST a form; ``csrf="auto"`` takes the token from ``page`` (or the last page)."""
        form = dict(data or {})
        if csrf == "auto":
            csrf = self.csrf(page)
        if csrf is not None:
            form["csrf"] = csrf
        resp = self.client.post(path, data=form, **kw)
        self.last_html = resp.get_data(as_text=True)
        return resp

    def sign_in(self, login: str, secret: str) -> Any:
        resp = self.post("/login", {"login": login, "secret": secret}, page="/login")
        assert resp.status_code == 303, (resp.status_code, self.last_html[-1500:])
        self.get(resp.headers["Location"])   # land on the home page, as a browser would
        return resp

    def session_cookie(self) -> str | None:
        cookie = self.client.get_cookie("gs_session")
        return cookie.value if cookie else None


# --- reading the data dir and pages back (page tests) -------------------------------
def scalar(data_dir, sql, *params):
    with raw_db(data_dir) as db:
        return db.scalar(sql, params)


def balance(data_dir, person="v1") -> int:
    return scalar(data_dir, "SELECT balance FROM balances WHERE account = ?",
                  f"volunteer:{person}")


def stock(data_dir, sku) -> int:
    return scalar(data_dir, "SELECT stock FROM catalog WHERE shop = 's1' AND sku = ?", sku)


def html_of(resp) -> str:
    text = resp.get_data(as_text=True)
    assert resp.mimetype == "text/html" and "Traceback" not in text
    return text
