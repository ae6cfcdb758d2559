"""The field app on a real `gridsync serve` in Debian's chromium at 360×740: a day
offline, two phones racing on one household, a network drop after the server
committed, the four-eyes check, and screenshots of every screen in both languages
(tests/artifacts/field/<screen>-<zh_CN|en>.png)."""

from __future__ import annotations

from tests.field.conftest import device_of
from tests.field.phone import (
    add_household,
    enrol,
    go,
    log_hours,
    ready,
    record_visit,
    sync,
    wait_synced,
)


def pulled(device) -> dict:
    """Everything in ``device``'s scope, from scratch: {(collection, id): record}."""
    return device.pull_all(fresh=True)


def test_a_day_offline_lands_each_record_exactly_once(field_server, new_phone, admin):
    context = new_phone()
    page = enrol(context, field_server.app_url, field_server.code("w1"))
    device_id = page.evaluate("() => window.fieldApp.app.device.device_id")

    context.set_offline(True)
    page.reload()
    ready(page)
    assert page.inner_text("#net") == "离线"
    hh = add_household(page, address="幸福路 8 号 302", head="李大爷", members=1, tags="独居老人")
    record_visit(page, hh, "met", needs=["送药"], hazards=["飞线充电"], notes="每周回访")
    record_visit(page, hh, "not_home")
    log_hours(page, "v1", "elderly_care", "2026-12-01", "09:30", 90, notes="陪老人就医")
    go(page, "home")
    assert page.inner_text("#pending") == "待同步 4 条"

    context.set_offline(False)         # the app syncs by itself when the network is back
    out = wait_synced(page)
    assert out["applied"] == 4 and out["rejected"] == 0, out
    assert page.locator("#pending").is_hidden()

    reader = pulled(admin.enroll("w9"))
    mine = [r for r in reader.values() if device_of(r) == device_id]
    households = [r for r in mine if r["collection"] == "households"]
    visits = [r for r in mine if r["collection"] == "visits"]
    logs = [r for r in mine if r["collection"] == "service_logs"]
    assert [h["fields"]["address"] for h in households] == ["幸福路 8 号 302"]
    assert households[0]["fields"] == {"grid": "g1", "address": "幸福路 8 号 302",
                                       "head_name": "李大爷", "members": 1, "tags": ["独居老人"]}
    assert sorted(v["fields"]["outcome"] for v in visits) == ["met", "not_home"]
    assert all(v["fields"]["household"] == hh for v in visits)
    met = next(v for v in visits if v["fields"]["outcome"] == "met")
    assert met["fields"]["needs"] == ["送药"] and met["fields"]["hazards"] == ["飞线充电"]
    assert len(logs) == 1
    assert logs[0]["fields"]["started_at"] == "2026-12-01T01:30:00.000Z"   # 09:30 in Shanghai
    assert (logs[0]["fields"]["minutes"], logs[0]["fields"]["status"]) == (90, "recorded")

    again = sync(page)                 # nothing left to send; nothing doubles
    assert again["applied"] == 0 and again["duplicate"] == 0
    assert len([r for r in pulled(admin.enroll("w9")).values()
                if device_of(r) == device_id]) == 4
