"""GET /me: what a worker's or volunteer's device shows of its own person (name, grid
names, what the role may do), read from the server's own write rules."""

from __future__ import annotations

from tests.helpers import api_error as error


def test_a_worker_sees_their_name_the_grid_names_they_reach_and_all_a_worker_may_do(api, world):
    phone = api.enroll("w1")
    me = api.ok(api.get("/me", token=phone.token))
    assert me == {"person": "w1", "name": me["name"], "role": "worker", "grids": ["g1"],
                  "grid_names": {"c1": "社区一", "g1": "一网格", "g1a": "一网格甲"},
                  "may": ["cases", "confirm_cases", "households", "open_cases", "service_logs",
                          "verify_logs", "visits"]}
    assert me["name"] == api.ok(api.get("/people/w1"))["name"]


def test_a_volunteer_may_only_log_hours_and_take_cases_never_households_or_verifying(api, world):
    me = api.ok(api.get("/me", token=api.enroll("v1").token))
    assert (me["role"], me["grids"], me["may"]) == ("volunteer", ["g1"], ["cases", "service_logs"])
    assert me["grid_names"]["g1"] == "一网格" and "g2" not in me["grid_names"]


def test_may_is_what_the_push_rules_allow(api, world):
    """A volunteer's household is refused at sync, a worker's applied: ``may`` says so first."""
    for person, expected in (("v1", "rejected"), ("w1", "applied")):
        phone = api.enroll(person)
        change = phone.change("households", {"grid": "g1", "address": "幸福路 1 号"})
        assert phone.sync([change])["results"][0]["status"] == expected
        may = api.ok(api.get("/me", token=phone.token))["may"]
        assert ("households" in may) == (expected == "applied")


def test_only_worker_and_volunteer_devices_ask(api, world):
    error(api.get("/me"), 403, "forbidden")              # the admin
    error(api.get("/me", token="nope"), 401, "unauthenticated")
