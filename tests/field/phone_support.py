"""Driving the field app like a worker: enrol, go to a screen, sync, screenshot."""

from __future__ import annotations

from tests.field.conftest import ARTIFACTS, PHONE


def shot(page, name: str, lang: str = "zh_CN") -> None:
    """Screenshot the whole screen and check nothing is wider than the phone."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.evaluate("() => { const t = document.getElementById('toast');"
                  " t.style.transition = 'none'; t.className = 'toast'; }")
    page.screenshot(path=str(ARTIFACTS / f"{name}-{lang}.png"), full_page=True)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{name} ({lang}) is {width}px wide"


def wait_synced(page) -> dict:
    """Wait for the running (or just finished) sync; its summary, or {"error": ...}."""
    page.wait_for_function("() => window.fieldApp && !window.fieldApp.app.syncing"
                           " && window.fieldApp.app.lastOutcome", timeout=60_000)
    return page.evaluate("() => { const o = window.fieldApp.app.lastOutcome;"
                         " window.fieldApp.app.lastOutcome = null; return o; }")


def ready(page) -> None:
    page.wait_for_function("() => window.fieldReady === true")


def go(page, route: str) -> None:
    """Open ``route`` and return once its screen is drawn (the hash alone changes first)."""
    page.evaluate("(r) => window.fieldApp.go(r)", route)
    assert page.evaluate("() => location.hash") == "#" + route


def to_english(page) -> None:
    """Tap the language switch (Chinese is the default) and wait for the English screen."""
    page.click("#lang")
    page.wait_for_function("() => document.documentElement.lang === 'en'")


def sync(page) -> dict:
    go(page, "home")
    page.wait_for_selector("#sync:not([disabled])")
    page.click("#sync")
    return wait_synced(page)


def enrol(context, url: str, code: str, *, shots: bool = False):
    """A new page of ``context`` enrolled with ``code`` and synced once; the service
    worker is active (the shell is cached) when this returns."""
    page = context.new_page()
    page.goto(url)
    ready(page)
    page.fill("#code", code.lower())         # typed by hand: case does not matter
    if shots:
        shot(page, "enrol")
    page.click("form button[type=submit]")
    page.wait_for_selector("#start")
    if shots:
        shot(page, "enrolled")
    page.click("#start")
    out = wait_synced(page)
    assert "error" not in out, out
    page.evaluate("() => navigator.serviceWorker.ready.then(() => true)")
    return page


def add_household(page, *, address: str, head: str, members: int | None = None,
                  tags: str = "", shots: bool = False) -> str:
    go(page, "households")
    page.click("#add-household")
    page.wait_for_selector("#household-form")
    page.fill("#hh-address", address)
    page.fill("#hh-head_name", head)
    if members is not None:
        page.fill("#hh-members", str(members))
    if tags:
        page.fill("#hh-tags", tags)
    if shots:
        shot(page, "household-new")
    page.click("#save")
    page.wait_for_selector("#record-visit")
    return page.evaluate("() => location.hash.split('/')[1]")


def record_visit(page, household: str, outcome: str, *, needs=(), hazards=(),
                 other_hazard: str = "", notes: str = "", shots: bool = False) -> None:
    go(page, f"household/{household}")
    before = page.locator("#visits li").count()
    page.click("#record-visit")
    page.wait_for_selector("#visit-form")
    page.click(f"#outcome-{outcome}")
    for need in needs:
        page.locator(".chips").nth(0).get_by_role("button", name=need, exact=True).click()
    for hazard in hazards:
        page.locator(".chips").nth(1).get_by_role("button", name=hazard, exact=True).click()
    if other_hazard:
        page.locator(".chip-input").nth(1).fill(other_hazard)
        page.locator("#visit-form .row .small").nth(1).click()
    if notes:
        page.fill("#visit-notes", notes)
    if shots:
        shot(page, "visit")
    page.click("#save")
    page.wait_for_function("(n) => document.querySelectorAll('#visits li').length === n",
                           arg=before + 1)


def log_hours(page, volunteer: str, activity: str, date: str, time: str, minutes: int,
              notes: str = "", shots: bool = False) -> None:
    go(page, "hours")
    page.wait_for_selector("#hours-form")
    before = page.locator("li.log").count()
    page.select_option("#log-volunteer", volunteer)
    page.select_option("#log-activity", activity)
    page.fill("#log-date", date)
    page.fill("#log-time", time)
    page.fill("#log-minutes", str(minutes))
    if notes:
        page.fill("#log-notes", notes)
    if shots:
        shot(page, "hours")
    page.click("#save")
    page.wait_for_function("(n) => document.querySelectorAll('li.log').length === n",
                           arg=before + 1)
