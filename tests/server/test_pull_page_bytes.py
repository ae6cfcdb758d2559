"""A pulled page is bounded in bytes as well as records (PULL_MAX_BYTES): exactly the
longest head of the page's views that fits, and never less than one record, so a pull
always moves forward."""

from __future__ import annotations

import pytest

from server.services.sync.pull import _fitting


@pytest.mark.parametrize(("sizes", "max_bytes", "fits"), [
    ([], 10, 0),
    ([3, 3, 3], 9, 3),  # exactly at the bound: all of it
    ([3, 3, 3], 8, 2),
    ([3, 3, 3], 6, 2),
    ([3, 3, 3], 5, 1),
    ([20, 1, 1], 10, 1),  # one record over the bound alone is still sent
    ([1, 20, 1], 10, 1),
])
def test_a_page_holds_the_longest_head_of_views_within_the_byte_bound(sizes, max_bytes, fits):
    assert _fitting([b"x" * n for n in sizes], max_bytes) == fits
