"""Canonical JSON is RFC 8785 (JCS) for every value the protocol allows, held
against an independent implementation (the ``rfc8785`` package)."""

from __future__ import annotations

from typing import Any

import pytest
import rfc8785
from hypothesis import given
from hypothesis import strategies as st

from primitives.canonical import canonical

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
