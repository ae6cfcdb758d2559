"""RFC 3339 ``Z`` times: written with milliseconds, read strictly."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from primitives import times


def test_format_and_parse() -> None:
    assert times.format_ms(0) == "1970-01-01T00:00:00.000Z"
    assert times.format_ms(1_795_000_000_250) == "2026-11-18T11:06:40.250Z"
    assert times.parse("2026-11-26T09:30:00.25Z") == datetime(2026, 11, 26, 9, 30, 0, 250_000,
                                                              tzinfo=UTC)
    assert times.parse_ms("2026-11-26T09:30:00Z") == 1_795_685_400_000


@given(st.integers(min_value=0, max_value=253_402_300_799_999))
def test_round_trip(ms: int) -> None:
    assert times.parse_ms(times.format_ms(ms)) == ms


@pytest.mark.parametrize("text", ["2026-11-26T09:30:00", "2026-11-26T09:30:00+00:00",
                                  "2026-11-26 09:30:00Z", "2026-02-30T09:30:00Z",
                                  "2026-11-26T09:30:00.1234567Z", "", None, 5])
def test_refuses_anything_else(text) -> None:
    assert not times.is_time(text)
    with pytest.raises(ValueError):
        times.parse(text)
