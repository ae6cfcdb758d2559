"""Account and reference names: ``<kind>:<id>``."""

from __future__ import annotations

from primitives import names


def test_names_and_their_parts() -> None:
    assert names.volunteer("p1") == "volunteer:p1"
    assert names.shop("s1") == "shop:s1"
    assert names.issuance("c1") == "issuance:c1"
    assert names.service_log("l1") == "service_log:l1"
    assert names.redemption("r1") == "redemption:r1"
    assert names.entry(7) == "entry:7"
    assert names.split("volunteer:p:1") == ("volunteer", "p:1")
    assert names.split("volunteer") == names.split("volunteer:") == ("", "")
    assert names.kind_of("shop:s1") == "shop" and names.prefix(names.SHOP) == "shop:"
    assert set(names.FLOORED) == {"volunteer", "shop"}
