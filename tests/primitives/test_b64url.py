"""Strict unpadded base64url: one byte string, one text form."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from primitives.b64url import b64url_decode, b64url_encode


@given(st.binary(max_size=100))
def test_round_trip(data: bytes) -> None:
    text = b64url_encode(data)
    assert "=" not in text and "+" not in text and "/" not in text
    assert b64url_decode(text) == data


@pytest.mark.parametrize(
    "text", ["A", "AA==", "AB", "AAB", "+/8", "AB+/", "__8=", "ab c", "ab\n", "é", "AQ=", None,
             b"AQ"])
def test_refuses_every_other_spelling(text) -> None:
    """Padding, other alphabets, whitespace, non-text and non-zero spare bits ("AB"
    decodes to 0x00 with stray bits set; its canonical spelling is "AA")."""
    with pytest.raises(ValueError):
        b64url_decode(text)
