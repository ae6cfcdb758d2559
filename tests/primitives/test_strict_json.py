"""JSON every reader reads the same way: no duplicate keys, no NaN or Infinity."""

from __future__ import annotations

import pytest

from primitives import strict_json


@pytest.mark.parametrize("loads", [strict_json.loads, strict_json.loads_stored])
def test_duplicate_keys_are_refused_at_any_depth(loads) -> None:
    with pytest.raises(strict_json.DuplicateKey) as info:
        loads('{"a": {"k": 1, "k": 2}}')
    assert info.value.key == "k" and str(info.value) == "duplicate key 'k'"
    with pytest.raises(strict_json.DuplicateKey):
        loads(b'{"a":1,"a":1}')  # compact: what orjson would write back without the copy


@pytest.mark.parametrize("loads", [strict_json.loads, strict_json.loads_stored])
@pytest.mark.parametrize("text", ['{"a": NaN}', "[Infinity]", "-Infinity", "{", b"\xff", 5])
def test_not_json_is_refused(loads, text) -> None:
    with pytest.raises(ValueError):
        loads(text)


def test_values_come_back() -> None:
    assert strict_json.loads('{"a": [1, 2.5, "李", null, true]}') == {
        "a": [1, 2.5, "李", None, True]}
    assert strict_json.loads_stored('{"a":[1,"x"]}') == {"a": [1, "x"]}
