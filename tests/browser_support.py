"""Debian's chromium under Playwright, launched one way for every browser test.

``browser`` (a fixture, registered for the whole suite by tests/conftest.py) is one
chromium per module: Playwright's sync API allows one running instance per process at a
time, so a browser kept for the session would break the next browser module. Modules
that drive a browser mark themselves ``pytestmark = needs_chromium`` so they skip, saying
why, where chromium or Playwright is missing (`make browser` installs chromium as root).
"""

from __future__ import annotations

import importlib.util
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]

_missing: str | None = None
if importlib.util.find_spec("playwright") is None:
    _missing = "playwright is not installed (pip install -e '.[dev]')"
elif not Path(CHROMIUM).exists():
    _missing = "chromium is not installed: run `make browser` as root (apt-get install -y chromium)"
needs_chromium = pytest.mark.skipif(_missing is not None, reason=_missing or "")


def skip_unless_browser() -> None:
    """Skip the calling test or fixture, saying why, where no browser can be launched."""
    if _missing:
        pytest.skip(_missing)


@pytest.fixture(scope="module")
def browser() -> Iterator:
    skip_unless_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield chromium
        chromium.close()
