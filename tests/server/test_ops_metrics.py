"""GET /metrics in-process: admin only, figures from the database, bounded labels."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from tests.server.ops_support import earn_and_redeem


def values(text: str) -> dict[tuple[str, tuple], float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return out


def test_metrics_for_admins_only(client, api, world):
    worker = api.enroll("w1")
    assert client.get("/metrics").status_code == 401
    resp = client.get("/metrics", headers={"Authorization": f"Bearer {worker.token}"})
    assert resp.status_code == 403 and resp.get_json()["error"]["code"] == "forbidden"
    assert resp.headers["X-Request-Id"]


def test_metrics_from_the_database(client, api, world):
    worker, verifier = api.enroll("w1"), api.enroll("w1b")
    shop = api.enroll("shop1").token
    earn_and_redeem(api, worker, verifier, shop_token=shop, card=world.cards["v1"], redeem=True)
    client.open("/api/v1/grids", method="BREW")  # an odd method: one bounded label
    resp = client.get("/metrics", headers=api.headers())
    assert resp.status_code == 200 and resp.headers["Cache-Control"] == "no-store"
    got = values(resp.get_data(as_text=True))
    assert got[("gridsync_ledger_entries_total", (("kind", "earn"),))] == 1
    assert got[("gridsync_ledger_entries_total", (("kind", "redeem"),))] == 1
    assert got[("gridsync_ledger_head_seq", ())] == 2
    assert got[("gridsync_points_outstanding", ())] == 10 - 4  # earned 10, soap costs 4
    assert got[("gridsync_sync_changes_total", (("code", ""), ("status", "applied")))] == 2
    assert got[("gridsync_devices", (("state", "active"),))] == 3
    assert got[("gridsync_devices_seen_last_day", ())] == 2  # the shop terminal never syncs
    assert got[("gridsync_records", (("collection", "service_logs"),))] == 1
    assert got[("gridsync_conflicts_open", ())] == 0
    methods = {dict(labels).get("method") for (name, labels) in got
               if name == "gridsync_http_requests_total"}
    assert "BREW" not in methods and "other" in methods
