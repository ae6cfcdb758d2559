"""JSON every reader reads the same way: no duplicate keys, no NaN or Infinity."""

from __future__ import annotations

import json

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from primitives import strict_json


@pytest.mark.parametrize("loads", [strict_json.loads, strict_json.loads_stored])
def test_duplicate_keys_are_refused_at_any_depth(loads) -> None:
    with pytest.raises(strict_json.DuplicateKey) as info:
        loads('{"a": {"k": 1, "k": 2}}')
    assert info.value.key == "k" and str(info.value) == "duplicate key 'k'"
    with pytest.raises(strict_json.DuplicateKey):
        loads(b'{"a":1,"a":1}')  # compact: what orjson would write back without the copy


@pytest.mark.parametrize("loads", [strict_json.loads, strict_json.loads_stored])
@pytest.mark.parametrize("text", ['{"a": NaN}', "[Infinity]", "-Infinity", "{", b"\xff", 5,
                                  '{"a": 1e400}', b"[-1e999]", "1E+400"])
def test_not_json_is_refused(loads, text) -> None:
    with pytest.raises(ValueError):
        loads(text)


def test_values_come_back() -> None:
    assert strict_json.loads('{"a": [1, 2.5, "李", null, true]}') == {
        "a": [1, 2.5, "李", None, True]}
    assert strict_json.loads_stored('{"a":[1,"x"]}') == {"a": [1, "x"]}



def _strictly(raw: bytes) -> str:
    """What the strict decoder alone makes of ``raw``: the value's repr or the error."""
    try:
        return repr(strict_json._STRICT.decode(raw.decode("utf-8")))
    except (ValueError, RecursionError) as exc:
        return type(exc).__name__


def _read(raw: bytes) -> str:
    try:
        return repr(strict_json.loads(raw))
    except (ValueError, RecursionError) as exc:
        return type(exc).__name__


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-2**70, max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner,
                                                                  max_size=4),
    max_leaves=20)


@given(_JSON, st.sampled_from(["orjson", "compact", "spaced", "ascii"]))
def test_bytes_read_as_the_strict_decoder_reads_them(value, spelling) -> None:
    """Bytes orjson writes back unchanged skip the strict decoder (``_written_back``):
    whatever the spelling, the value (its repr: 1 is not 1.0, key order kept) or the
    error is the strict decoder's."""
    if spelling == "orjson":
        try:
            raw = orjson.dumps(value)
        except orjson.JSONEncodeError:  # integers past 64 bits, lone surrogates
            return
    else:
        raw = json.dumps(value, ensure_ascii=spelling == "ascii",
                         separators=None if spelling == "spaced" else (",", ":")).encode(
                             "utf-8", "surrogatepass")
    assert _read(raw) == _strictly(raw)


@pytest.mark.parametrize("raw", [
    b'{"a":1,"b":{"c":[1,{"d":2,"d":2}]}}', b'[1,{"x":0,"x":0}]', b"[NaN]", b'{"a":Infinity}',
    b'"\\ud800"', b"[1e400]", b"[-0]", b"[1E5]", b"18446744073709551616", b'"\\u00e9"',
    b"\xef\xbb\xbf{}", b" {}", b"[" * 5000 + b"]" * 5000])
def test_what_orjson_would_read_otherwise_reads_as_before(raw) -> None:
    """Duplicates, NaN, lone surrogate escapes, other spellings of numbers and text,
    a BOM, deep nesting: the strict decoder's answer, not orjson's."""
    assert _read(raw) == _strictly(raw)
    if b'"d":2,"d"' in raw or b'"x":0,"x"' in raw:
        assert _read(raw) == "DuplicateKey"
