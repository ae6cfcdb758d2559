"""Hybrid logical clock: stamp format, order vector, send/receive, persistence, overflow."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sync import hlc as hlc_module
from sync.errors import ChangeRejected
from sync.hlc import (
    HLC_PATTERN,
    MAX_COUNTER,
    HybridClock,
    check_stamp,
    format_hlc,
    parse_hlc,
    too_far_ahead,
)
from tests.sync.sync_support import load_vectors

ORDER = load_vectors("protocol-v1.json")["hlc_order"]


def test_order_vector_is_string_order_and_clock_order():
    assert sorted(ORDER) == ORDER
    parsed = [parse_hlc(stamp) for stamp in ORDER]
    assert sorted(parsed) == parsed
    assert [format_hlc(*parts) for parts in parsed] == ORDER


def test_format_and_parse():
    assert format_hlc(1_795_694_400_000, 3, "dev_7Kq2") == "001795694400000:00003:dev_7Kq2"
    assert parse_hlc("001795694400000:00003:dev_7Kq2") == (1_795_694_400_000, 3, "dev_7Kq2")
    assert parse_hlc(format_hlc(0, 0, "server")) == (0, 0, "server")


@pytest.mark.parametrize(
    "args",
    [(-1, 0, "d"), (10**15, 0, "d"), (0, -1, "d"), (0, 100_000, "d"), (0, 0, ""),
     (0, 0, "a:b"), (0, 0, "x" * 65), (0, 0, None)],
)
def test_format_refuses_out_of_range(args):
    with pytest.raises(ValueError):
        format_hlc(*args)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "1795694400000:00003:dev",  # 13 digits
        "0001795694400000:00003:dev",  # 16 digits
        "001795694400000:0003:dev",
        "001795694400000:00003:",
        "001795694400000:00003:dev\n",  # $ would let this through
        "001795694400000:00003:dev:x",
        "00179569440000٠:00003:dev",  # an Arabic-Indic digit: \d would match it
        "001795694400000:00003:dév",
        "001795694400000:00003:" + "d" * 65,
        None,
        17,
    ],
)
def test_parse_refuses_malformed(text):
    with pytest.raises(ValueError):
        parse_hlc(text)
    assert not isinstance(text, str) or HLC_PATTERN.match(text) is None


def test_send_follows_physical_time_and_never_goes_back():
    clock = HybridClock("dev_a")
    first = clock.send(physical_ms=1_000)
    assert first == format_hlc(1_000, 0, "dev_a")
    assert clock.now(physical_ms=1_000) == format_hlc(1_000, 1, "dev_a")
    assert clock.send(physical_ms=500) == format_hlc(1_000, 2, "dev_a")  # clock went back
    assert clock.send(physical_ms=2_000) == format_hlc(2_000, 0, "dev_a")


def test_receive_takes_the_greatest_of_local_remote_and_physical():
    clock = HybridClock("dev_a", wall_ms=1_000, counter=4)
    # remote ahead: its wall, its counter + 1
    assert clock.receive(format_hlc(5_000, 7, "dev_b"), physical_ms=2_000) == format_hlc(
        5_000, 8, "dev_a")
    # same wall on both sides: max counter + 1
    assert clock.receive(format_hlc(5_000, 20, "dev_b"), physical_ms=2_000) == format_hlc(
        5_000, 21, "dev_a")
    # local ahead of remote and physical: local counter + 1
    assert clock.receive(format_hlc(10, 99, "dev_b"), physical_ms=2_000) == format_hlc(
        5_000, 22, "dev_a")
    # physical ahead of both: counter resets
    assert clock.receive(format_hlc(10, 99, "dev_b"), physical_ms=9_000) == format_hlc(
        9_000, 0, "dev_a")
    with pytest.raises(ValueError):
        clock.receive("garbage", physical_ms=9_000)
    assert clock.send(physical_ms=9_000) == format_hlc(9_000, 1, "dev_a")


def test_counter_overflow_moves_the_wall_instead():
    clock = HybridClock("dev_a", wall_ms=1_000, counter=MAX_COUNTER - 1)
    assert clock.send(physical_ms=1_000) == format_hlc(1_000, MAX_COUNTER, "dev_a")
    after = clock.send(physical_ms=1_000)
    assert after == format_hlc(1_001, 0, "dev_a")
    assert HLC_PATTERN.match(after)
    remote = format_hlc(7_000, MAX_COUNTER, "dev_b")
    assert clock.receive(remote, physical_ms=1_000) == format_hlc(7_001, 0, "dev_a")


def test_state_round_trip_keeps_stamps_increasing_across_restarts():
    clock = HybridClock("dev_a", offset_ms=-250)
    for _ in range(3):
        last = clock.send(physical_ms=50_000)
    state = clock.state()
    assert state == {"device": "dev_a", "wall_ms": 50_000, "counter": 2, "offset_ms": -250}
    restored = HybridClock.from_state(state)
    assert restored.send(physical_ms=10) > last  # the device clock was reset meanwhile
    assert restored.offset_ms == -250


def test_default_physical_time_uses_offset(monkeypatch):
    monkeypatch.setattr(hlc_module.time, "time_ns", lambda: 1_000_000 * 1_000_000)
    clock = HybridClock("dev_a")
    assert parse_hlc(clock.send())[0] == 1_000_000
    clock.set_offset(-400_000)  # server said our clock is 400 s fast
    assert parse_hlc(clock.send())[0] == 1_000_000  # never backwards...
    monkeypatch.setattr(hlc_module.time, "time_ns", lambda: 2_000_000 * 1_000_000)
    assert parse_hlc(clock.send())[0] == 1_600_000  # ...but follows the corrected time


def test_clock_refuses_a_bad_device_id():
    with pytest.raises(ValueError):
        HybridClock("not a device")


def test_too_far_ahead_boundary():
    now = 1_000_000
    assert not too_far_ahead(format_hlc(now + 300_000, 0, "d"), now)
    assert too_far_ahead(format_hlc(now + 300_001, 0, "d"), now)
    assert not too_far_ahead(format_hlc(now + 10, 0, "d"), now, max_skew_ms=10)
    with pytest.raises(ValueError):
        too_far_ahead("nope", now)


def test_check_stamp_codes():
    now = 1_000_000
    check_stamp(format_hlc(now, 0, "dev_a"), "dev_a", now)
    for stamp, device, code in [
        (format_hlc(now, 0, "dev_b"), "dev_a", "validation"),
        ("nope", "dev_a", "validation"),
        (format_hlc(now + 300_001, 0, "dev_a"), "dev_a", "clock_skew"),
    ]:
        with pytest.raises(ChangeRejected) as info:
            check_stamp(stamp, device, now)
        assert info.value.code == code


events = st.lists(
    st.tuples(
        st.sampled_from(["send", "receive"]),
        st.integers(0, 10**7),  # physical time, jumping back and forth
        st.integers(0, 10**7),  # remote wall
        st.integers(0, MAX_COUNTER),  # remote counter
    ),
    max_size=60,
)


@given(events)
def test_stamps_strictly_increase_and_stay_well_formed(events):
    clock = HybridClock("dev_a")
    previous = ""
    for kind, physical, remote_wall, remote_counter in events:
        if kind == "send":
            stamp = clock.send(physical_ms=physical)
        else:
            remote = format_hlc(remote_wall, remote_counter, "dev_b")
            stamp = clock.receive(remote, physical_ms=physical)
            assert parse_hlc(stamp)[:2] > parse_hlc(remote)[:2]
        assert HLC_PATTERN.match(stamp)
        assert stamp > previous
        assert parse_hlc(stamp)[0] >= physical
        previous = stamp
        clock = HybridClock.from_state(clock.state())
