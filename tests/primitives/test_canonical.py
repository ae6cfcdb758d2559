"""Canonical JSON is RFC 8785 (JCS) for every value the protocol allows, held
against an independent implementation (the ``rfc8785`` package)."""

from __future__ import annotations

from typing import Any

import pytest
import rfc8785
from hypothesis import given
from hypothesis import strategies as st

from primitives.canonical import canonical, canonical_allowed

MAX_INT = 2**53 - 1
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-MAX_INT, max_value=MAX_INT)
    | st.text(st.characters(blacklist_categories=["Cs"]))
)
# Keys are ASCII in the protocol: JCS sorts by UTF-16 code units, Python by code
# points, and the two orders agree on ASCII.
VALUES = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.text(st.characters(max_codepoint=127), max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)


@given(VALUES)
def test_same_bytes_as_rfc8785(value: Any) -> None:
    assert canonical(value) == rfc8785.dumps(value)


def test_non_ascii_is_raw_utf8() -> None:
    assert canonical({"b": "李大爷", "a": "\n"}) == '{"a":"\\n","b":"李大爷"}'.encode()


@pytest.mark.parametrize("value", [float("nan"), float("inf"), "\ud800"])
def test_refuses_what_has_no_canonical_form(value: Any) -> None:
    with pytest.raises(ValueError):  # a lone surrogate: UnicodeEncodeError
        canonical({"x": value})


# What a change that passed sync.parse.parse_change may hold: any text without lone
# surrogates, keys included (field names are ASCII; checked wider all the same).
ALLOWED = st.recursive(
    SCALARS,
    lambda inner: (st.lists(inner, max_size=4)
                   | st.dictionaries(st.text(st.characters(blacklist_categories=["Cs"]),
                                             max_size=8), inner, max_size=4)),
    max_leaves=20,
)


@given(ALLOWED)
def test_canonical_allowed_is_canonical_on_what_the_protocol_allows(value: Any) -> None:
    assert canonical_allowed(value) == canonical(value)


def test_canonical_allowed_writes_every_character_as_canonical_does() -> None:
    """Escapes (control characters, quote, backslash) and raw UTF-8, all of Unicode."""
    chars = [chr(c) for c in range(0x110000) if not 0xD800 <= c < 0xE000]
    for start in range(0, len(chars), 4096):
        text = "".join(chars[start:start + 4096])
        value = {"k" + text[:8]: [text, MAX_INT, -MAX_INT, True, None], "a": {"b": text}}
        assert canonical_allowed(value) == canonical(value), start


def test_floats_are_not_allowed_values() -> None:
    """Why push.check takes canonical_allowed only for a change that passed parse_change:
    orjson spells some floats otherwise, and writes NaN as null where canonical refuses."""
    assert canonical_allowed([1e-7]) == b"[1e-7]" and canonical([1e-7]) == b"[1e-07]"
    assert canonical_allowed([float("nan")]) == b"[null]"
