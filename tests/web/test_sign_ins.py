"""Sign-ins for people imported from a roster (who have none): a batch of printable slips
from the print page, or one from a person's page. Each gets the login they have (else
their id) and a new PIN or password, shown once on the slip, stored only as a peppered
scrypt hash, never logged; it works on the sign-in page and ends older sessions."""

from __future__ import annotations

import dataclasses
import re

import pytest

from server.services import web_auth
from tests.helpers import db_dump, raw_db
from tests.web.test_console_data import in_request, roster, upload  # noqa: F401 - fixture
from tests.web.web_support import (
    ADMIN_LOGIN,
    ADMIN_PASSWORD,
    V1_PHONE,
    V1_PIN,
    WebClient,
)

SLIP = re.compile(r'id="slip-([^"]+)".*?class="slip-login">([^<]+)<.*?class="slip-secret">'
                  r'([^<]+)<', re.S)


@pytest.fixture
def office(app, web_world):
    client = WebClient(app.test_client())
    client.sign_in(ADMIN_LOGIN, ADMIN_PASSWORD)
    return client


def slips(html: str) -> dict[str, tuple[str, str]]:
    return {person: (login, secret) for person, login, secret in SLIP.findall(html)}


def signs_in(app, login: str, secret: str) -> str | None:
    """Where a fresh browser lands after signing in (None: refused)."""
    web = WebClient(app.test_client())
    resp = web.post("/login", {"login": login, "secret": secret}, page="/login")
    return resp.headers["Location"] if resp.status_code == 303 else None


def test_imported_people_get_slips_from_the_print_page_and_sign_in_with_them(
        app, office, in_request, data_dir, capfd):  # noqa: F811 - the fixture
    resp = upload(office, roster([], [["V-101", "赵六", "志愿者", "g1", None],
                                      ["v102", "钱七", "志愿者", "g1", None],
                                      ["cashier2", "孙八", "超市", None, "s1"],
                                      ["W-9", "李九", "网格员", "g1", None]]))
    job = resp.headers["Location"]
    office.get(job)
    office.post(job + "/apply", {}, page=job)
    office.get(job)
    assert 'id="import-sign-ins"' in office.last_html and "/admin/print#sign-ins" in (
        office.last_html)
    page = office.get("/admin/print")
    assert page.status_code == 200
    section = office.last_html.split('id="sign-ins"')[1].split("</section>")[0]
    for person in ("V-101", "v102", "cashier2"):
        assert f'value="{person}" checked' in section        # no sign-in yet: chosen
    assert 'value="v1" >' in section and "W-9" not in section   # v1 has one; workers none
    resp = office.post("/admin/print/sign-ins", {"person": ["V-101", "v102", "cashier2"]},
                       page="/admin/print")
    assert resp.status_code == 200 and 'id="slips-made"' in office.last_html
    got = slips(office.last_html)
    assert set(got) == {"V-101", "v102", "cashier2"}
    assert got["V-101"][0] == "v-101" and re.fullmatch(r"[0-9]{8}", got["V-101"][1])
    assert re.fullmatch(r"[a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4}", got["cashier2"][1])
    assert office.last_html.count("<svg") >= 3               # the sign-in page's QR
    assert signs_in(app, "V-101", got["V-101"][1]) == "/me"    # the id, as printed
    assert signs_in(app, "cashier2", got["cashier2"][1]) == "/shop"
    assert signs_in(app, "v102", got["V-101"][1]) is None
    with raw_db(data_dir) as db:
        stored = db.scalar("SELECT secret_hash FROM web_logins WHERE person = 'v102'")
    assert stored.startswith("scrypt-hmac$")
    dump = repr(db_dump(data_dir))
    out, err = capfd.readouterr()
    for _login, secret in got.values():                       # hashed at rest, never logged
        assert secret not in dump and secret not in out + err
    office.get("/admin/print")
    assert "登录名 v-101" in office.last_html


def test_a_person_page_issues_one_slip_and_the_old_pin_stops_working(app, office, v1_web):
    app.extensions["gridsync.settings"] = dataclasses.replace(
        app.extensions["gridsync.settings"], public_url="https://grid.example.org")
    office.get("/admin/people/v1")
    assert 'id="issue-login"' in office.last_html
    resp = office.post("/admin/people/v1/issue-login", {})
    assert resp.status_code == 200
    (login, pin), = slips(office.last_html).values()
    assert login == V1_PHONE and pin != V1_PIN               # keeps the phone as the login
    assert "https://grid.example.org/login" in office.last_html    # the printed address
    assert signs_in(app, V1_PHONE, V1_PIN) is None
    assert signs_in(app, V1_PHONE, pin) == "/me"
    assert v1_web.get("/me").status_code != 200               # their old session ended


def test_who_cannot_get_one_is_told_and_nothing_changes(app, api, office, data_dir):
    api.person("office", "volunteer", ["g1"])   # its id is adm2's sign-in name
    api.person("gone", "volunteer", ["g1"])
    api.ok(api.patch("/people/gone", {"active": False}))
    before = db_dump(data_dir, skip=("rate_limits", "web_sessions"))
    for person, status, says in (("w1", 400, "网格员和审计员不用网页登录"),
                                 ("office", 409, "已有其他人用这个编号登录")):
        resp = office.post(f"/admin/people/{person}/issue-login", {},
                           page=f"/admin/people/{person}")
        assert resp.status_code == status and says in office.last_html
    assert office.post("/admin/people/nobody/issue-login", {},
                       page="/admin/people/v1").status_code == 404
    resp = office.post("/admin/print/sign-ins", {"person": ["office", "gone", "w1"]},
                       page="/admin/print")
    assert resp.status_code == 200 and slips(office.last_html) == {}
    skipped = office.last_html.split('id="slips-skipped"')[1]
    assert "已停用" in skipped and "已有其他人" in skipped and "网格员" in skipped
    assert office.post("/admin/print/sign-ins", {}, page="/admin/print").status_code == 400
    many = [f"p{i}" for i in range(web_auth.MAX_ISSUED + 1)]
    assert office.post("/admin/print/sign-ins", {"person": many},
                       page="/admin/print").status_code == 400
    assert db_dump(data_dir, skip=("rate_limits", "web_sessions")) == before


def test_issued_secrets_are_fresh_and_of_the_documented_shapes():
    pins = {web_auth.new_secret("volunteer") for _ in range(50)}
    assert len(pins) == 50 and all(re.fullmatch(r"[0-9]{8}", p) for p in pins)
    assert web_auth.PIN_RE.match(next(iter(pins)))
    password = web_auth.new_secret("shop")
    assert len(password) == 14 and len(password) >= web_auth.MIN_PASSWORD


def test_an_issued_id_login_can_be_kept_when_the_pin_is_set_by_hand(app, api, office):
    api.person("V-7", "volunteer", ["g1"])
    office.post("/admin/people/V-7/issue-login", {}, page="/admin/people/V-7")
    office.get("/admin/people/V-7")
    resp = office.post("/admin/people/V-7/login", {"login": "v-7", "secret": "97531864"})
    assert resp.status_code == 200 and 'role="status"' in office.last_html
    assert signs_in(app, "v-7", "97531864") == "/me"
    resp = office.post("/admin/people/V-7/login", {"login": "v-8", "secret": "97531864"},
                       page="/admin/people/V-7")
    assert resp.status_code == 400                    # a new login must be a phone


def test_the_print_page_ticks_at_most_one_batch(app, api, office, monkeypatch):
    monkeypatch.setattr(web_auth, "MAX_ISSUED", 2)
    for n in range(3):
        api.person(f"new-{n}", "volunteer", ["g1"])
    office.get("/admin/print")
    section = office.last_html.split('id="sign-ins"')[1].split("</section>")[0]
    assert len(re.findall(r'name="person" value="[^"]+" checked', section)) == 2
    assert 'id="sign-ins-limit"' in section


def test_the_print_page_never_ticks_an_administrator(api, office):
    """An admin without a web sign-in may use their token only: printing a password for
    them (and ending their token's session) is done by hand, not in a batch's default."""
    api.person("adm9", "admin", [])
    api.person("new-9", "volunteer", ["g1"])
    office.get("/admin/print")
    section = office.last_html.split('id="sign-ins"')[1].split("</section>")[0]
    assert 'value="new-9" checked' in section
    assert 'value="adm9" >' in section and 'id="sign-ins-admins"' in section
