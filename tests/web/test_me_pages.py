"""我的积分 (/me) through the Flask test client: activities by their names, the daily cap
explained where it cut points, why a log was rejected, logs by date, what each
redemption bought, the month charts, and a verify page that says what it checked."""

from __future__ import annotations

import re

from tests.web.web_support import log_hours, push, set_status

RULES = {"activities": {"elderly_care": {"points_per_hour": 10, "name": "助老服务"},
                        "cleanup": {"points_per_hour": 6, "name": "环境清洁"}},
         "daily_cap": 40, "timezone": "Asia/Shanghai"}


def html_of(resp) -> str:
    text = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "Traceback" not in text
    return text


def test_logs_in_plain_words_sorted_by_date(api, v1_web, web_world):
    api.ok(api.put("/rules", RULES))
    w1, w1b = web_world["w1"], web_world["w1b"]
    capped = log_hours(w1, "v1", 300, started_at="2026-11-25T01:00:00Z")   # 5 h → 50 > 40
    set_status(w1b, capped, "verified")
    noted = log_hours(w1, "v1", 60, activity="cleanup", started_at="2026-11-23T01:00:00Z")
    push(w1b, w1b.change("service_logs", {"notes": "那天没有活动"}, id=noted["id"], base=1))
    push(w1b, w1b.change("service_logs", {"status": "rejected"}, id=noted["id"], base=2))
    html = html_of(v1_web.get("/me"))
    assert "elderly_care" not in html and "助老服务" in html and "环境清洁" in html
    cap = re.search(rf'id="log-{capped["id"]}".*?</li>', html, re.S).group(0)
    assert "本应得 50 分" in cap and "每天最多给 40 分" in cap and "得 40 分" in cap
    assert "网格员的说明：那天没有活动" in html
    assert "网格员没有确认这条记录" in html           # the rejected log without a note
    days = re.findall(r'class="log-what">([^<]+)<', html)
    assert days == sorted(days, reverse=True) and len(days) == 5
    assert html.count('<svg class="chart') == 2 and 'id="months-table"' in html


def test_redemptions_show_what_they_bought_and_refunds_why(api, shop_web, v1_web, web_world):
    resp = shop_web.post("/shop/lookup", {"card": web_world["card"]}, page="/shop")
    page = shop_web.get(resp.headers["Location"]).get_data(as_text=True)
    form = {k: re.search(rf'name="{k}" value="([^"]+)"', page).group(1) for k in ("id", "handle")}
    shop_web.post("/shop/redeem", {**form, "qty-soap": "2"})
    html = html_of(v1_web.get("/me"))
    assert "积分超市：肥皂 × 2" in html
    url = f"/shop/receipts/{form['id']}"
    shop_web.post(f"{url}/refund", {"reason": "多扫了一次"}, page=url)
    html = html_of(v1_web.get("/me"))
    assert "积分超市 的兑换已退回：多扫了一次" in html


def test_verify_says_what_it_checked(v1_web, data_dir):
    html = html_of(v1_web.get("/me/entries/1"))
    checks = re.search(r'id="checks">(.*?)</ul>', html, re.S).group(1)
    assert "内容没有被改动过" in checks and "密钥" in checks
    assert "整本账" in html
