"""Pull cursors: round trips, ownership, and garbage that must only ever be BadCursor."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sync.crypto import b64url_encode
from sync.cursor import Cursor, decode_cursor, encode_cursor
from sync.errors import BadCursor


@pytest.mark.parametrize(
    "cursor",
    [
        Cursor("dev_1", 0, ()),
        Cursor("dev_1", 2**53, ("g1", "g2")),
        Cursor("dev_1", 41, ("g1", "g3"), "e0f1"),
    ],
)
def test_round_trip(cursor):
    text = encode_cursor(cursor)
    assert text.isascii() and "=" not in text
    assert decode_cursor(text, "dev_1") == cursor


def test_another_devices_cursor():
    text = encode_cursor(Cursor("dev_1", 5, ("g1",)))
    with pytest.raises(BadCursor, match="another device"):
        decode_cursor(text, "dev_2")


def body(**overrides):
    base = {"v": 1, "device": "dev_1", "seq": 5, "scope": ["g1"]}
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not ...}


@pytest.mark.parametrize(
    "content",
    [
        body(v=2), body(v=True), body(v=...), body(device=...), body(device=1), body(seq=-1),
        body(seq=1.0), body(seq=True), body(seq="5"), body(scope=None), body(scope=[1]),
        body(scope={"g": 1}), body(extra=1), body(epoch=None), body(epoch=[]), body(epoch=5),
        [], "x", 5, None,
    ],
)
def test_malformed_bodies(content):
    with pytest.raises(BadCursor):
        decode_cursor(b64url_encode(json.dumps(content).encode()), "dev_1")


@pytest.mark.parametrize(
    "text",
    ["", "x", "!!!!", "eyJ", "eyJ9", "e30=", "AAAA", b"e30", None, 5, ["e30"], "é", "\ud800",
     "W" * 20_000, b64url_encode(b"[" * 100_000), b64url_encode(b"\xff\xfe")],
)
def test_unreadable_text(text):
    with pytest.raises(BadCursor):
        decode_cursor(text, "dev_1")


@given(st.text(max_size=200) | st.binary(max_size=200).map(b64url_encode))
def test_garbage_is_only_ever_bad_cursor(text):
    try:
        decode_cursor(text, "dev_1")
    except BadCursor:
        pass


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=4),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
        st.sampled_from(["v", "device", "seq", "scope", "epoch", "grids", "x"]),
        inner, max_size=5),
    max_leaves=12,
)


@given(json_values)
def test_garbage_json_is_only_ever_bad_cursor(content):
    text = b64url_encode(json.dumps(content).encode())
    try:
        decode_cursor(text, "dev_1")
    except BadCursor:
        pass
