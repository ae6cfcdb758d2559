"""The JSON text stored for record states and ops: orjson writes what has no float
(``_dumps_allowed``), byte for byte the text ``json.dumps`` wrote before."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from server.storage.records import _dumps, _dumps_allowed

NO_FLOATS = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-2**80, max_value=2**80) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                  max_size=4),
    max_leaves=20)


@given(NO_FLOATS)
def test_orjson_writes_what_json_dumps_wrote(value: Any) -> None:
    """Integers past 64 bits and lone surrogates, which orjson refuses, too."""
    assert _dumps_allowed(value) == _dumps(value)


def test_every_character_is_written_alike() -> None:
    chars = [chr(c) for c in range(0x110000) if not 0xD800 <= c < 0xE000]
    for start in range(0, len(chars), 4096):
        text = "".join(chars[start:start + 4096])
        value = {text[:8]: [text, 2**53 - 1, True, None, {}], "fields": {"notes": text}}
        assert _dumps_allowed(value) == _dumps(value), start
