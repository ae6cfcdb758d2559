"""The canonical form is the protocol's json.dumps call, whatever the value."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from ledger import MAX_INT, canonical

SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-MAX_INT, max_value=MAX_INT)
    | st.text(st.characters(blacklist_categories=["Cs"]))
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.text(st.characters(max_codepoint=127), max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)


@given(VALUES)
def test_same_bytes_as_the_protocol_call(value: Any) -> None:
    expected = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert canonical(value) == expected.encode()


def test_non_ascii_is_raw_utf8() -> None:
    assert canonical({"b": "李大爷", "a": "\n"}) == '{"a":"\\n","b":"李大爷"}'.encode()
