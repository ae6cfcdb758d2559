"""Balances: credits minus debits, and double entry sums to zero."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from ledger import MAX_INT, apply, check_balances, replay

ACCOUNTS = st.sampled_from(
    ["issuance:c1", "issuance:c2", "shop:s1", "expiry", "volunteer:p1", "volunteer:p2"]
)
ENTRY = (
    st.tuples(ACCOUNTS, ACCOUNTS, st.integers(min_value=1, max_value=MAX_INT))
    .filter(lambda t: t[0] != t[1])
    .map(lambda t: {"debit": t[0], "credit": t[1], "amount": t[2]})
)


@given(st.lists(ENTRY, max_size=60))
def test_replay_always_sums_to_zero(entries: list[dict[str, Any]]) -> None:
    balances = replay(entries)
    assert sum(balances.values()) == 0
    check_balances(balances)


@given(st.lists(ENTRY, max_size=30))
def test_each_balance_is_credits_minus_debits(entries: list[dict[str, Any]]) -> None:
    balances = replay(entries)
    for account, balance in balances.items():
        credits = sum(e["amount"] for e in entries if e["credit"] == account)
        debits = sum(e["amount"] for e in entries if e["debit"] == account)
        assert balance == credits - debits


def test_apply_in_place() -> None:
    balances = {"volunteer:p1": 5}
    apply(balances, {"debit": "volunteer:p1", "credit": "shop:s1", "amount": 3})
    assert balances == {"volunteer:p1": 2, "shop:s1": 3}
