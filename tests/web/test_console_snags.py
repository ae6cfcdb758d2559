"""Small snags a new community office met (review U-7): the sign-in page points grid
workers to the field app, the 413 page says the limit and what to do, the dashboard's
visits card says when there are none, /favicon.ico is no error, and the roster
template's first instruction says one thing."""

from __future__ import annotations

import dataclasses
import io

from openpyxl import load_workbook

from server.services import roster_import
from tests.web.web_support import html_of


def test_sign_in_page_points_grid_workers_to_the_field_app(web):
    html = html_of(web.get("/login"))
    assert 'id="field-hint">网格员：手机请用网格员应用' in html and 'href="/field/"' in html


def test_too_much_data_says_the_limit_and_to_split_the_file(app, office_web):
    csrf = office_web.csrf("/admin/excel")
    app.extensions["gridsync.settings"] = dataclasses.replace(
        app.extensions["gridsync.settings"], max_body_bytes=2 << 20)
    app.config["MAX_CONTENT_LENGTH"] = 2 << 20
    resp = office_web.client.post("/admin/excel/import",
                                  data={"csrf": csrf, "file": "x" * (3 << 20)})
    assert resp.status_code == 413
    html = html_of(resp)
    assert "每次最多 2 MB" in html and "拆成几个小文件" in html


def test_dashboard_says_when_there_are_no_visits(office_web):
    html = html_of(office_web.get("/admin/dashboard"))
    assert 'id="visits-none">暂无记录。<' in html


def test_favicon_is_not_an_error(web):
    resp = web.get("/favicon.ico")
    assert resp.status_code == 204 and resp.get_data() == b""


def test_roster_template_first_instruction_says_one_thing():
    book = load_workbook(io.BytesIO(roster_import.template()))
    first = book["说明"]["A2"].value
    assert "必填其一" not in first
    assert "网格（填网格编号或名称）必填" in first and "户编号和地址至少填一个" in first
