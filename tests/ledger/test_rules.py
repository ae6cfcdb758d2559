"""Earning rules: pricing, daily caps and the local date of a log."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from ledger import LedgerError, RulesError, capped, local_date, points_for, price_log

RULES = {
    "activities": {"elderly_care": {"points_per_hour": 10}, "cleanup": {"points_per_hour": 7}},
    "daily_cap": 30,
    "timezone": "Asia/Shanghai",
}


@pytest.mark.parametrize(
    ("minutes", "pph", "points"),
    [(60, 10, 10), (59, 10, 9), (1, 10, 0), (6, 10, 1), (90, 7, 10), (720, 13, 156), (0, 10, 0)],
)
def test_points_floor(minutes: int, pph: int, points: int) -> None:
    assert points_for(minutes, pph) == points


@pytest.mark.parametrize("bad", [1.0, True, -1, "60", None])
def test_points_need_integers(bad: Any) -> None:
    with pytest.raises(LedgerError):
        points_for(bad, 10)
    with pytest.raises(LedgerError):
        points_for(60, bad)


@pytest.mark.parametrize(
    ("points", "already", "cap", "awarded"),
    [
        (10, 0, None, 10),
        (10, 15, 30, 10),
        (10, 25, 30, 5),
        (10, 30, 30, 0),
        (10, 45, 30, 0),
        (0, 0, 30, 0),
        (10, 0, 0, 0),
    ],
)
def test_capped(points: int, already: int, cap: int | None, awarded: int) -> None:
    assert capped(points, already, cap) == awarded


def test_price_log() -> None:
    assert price_log(RULES, activity="elderly_care", minutes=120, already_awarded_today=0) == 20
    assert price_log(RULES, activity="elderly_care", minutes=120, already_awarded_today=20) == 10
    assert price_log(RULES, activity="cleanup", minutes=45, already_awarded_today=30) == 0
    uncapped = {**RULES, "daily_cap": None}
    assert price_log(uncapped, activity="cleanup", minutes=600, already_awarded_today=500) == 70
    with pytest.raises(RulesError):
        price_log(RULES, activity="gardening", minutes=60, already_awarded_today=0)


def test_local_date_across_midnight_in_shanghai() -> None:
    assert local_date("2026-11-26T15:59:59Z", "Asia/Shanghai") == dt.date(2026, 11, 26)
    assert local_date("2026-11-26T16:00:00Z", "Asia/Shanghai") == dt.date(2026, 11, 27)
    assert local_date("2026-12-31T16:30:00Z", "Asia/Shanghai") == dt.date(2027, 1, 1)
    assert local_date("2026-11-26T16:00:00Z", "UTC") == dt.date(2026, 11, 26)


def test_local_date_rejects_bad_input() -> None:
    with pytest.raises(RulesError):
        local_date("2026-11-26T16:00:00Z", "Mars/Olympus_Mons")
    with pytest.raises(LedgerError):
        local_date("2026-11-26T16:00:00+08:00", "Asia/Shanghai")


def test_shanghai_without_a_time_zone_database(tmp_path: Path) -> None:
    """With no system zoneinfo and no tzdata package, Asia/Shanghai still
    works (fixed +08:00) and other zones fail clearly."""
    script = textwrap.dedent(
        """
        import sys, zoneinfo
        sys.modules["tzdata"] = None
        zoneinfo.reset_tzpath(to=[])
        from ledger import RulesError, local_date
        print(local_date("2026-11-26T16:00:00Z", "Asia/Shanghai"))
        try:
            local_date("2026-11-26T16:00:00Z", "Europe/Paris")
        except RulesError as exc:
            print("RulesError", exc)
        """
    )
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=root, capture_output=True, text=True, check=True
    )
    lines = done.stdout.splitlines()
    assert lines[0] == "2026-11-27"
    assert lines[1].startswith("RulesError") and "tzdata" in lines[1]
