"""Account balances from entries: a balance is credits minus debits.

So issuance accounts go negative by what they have issued, and in a
double-entry ledger all balances sum to zero.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any


def apply(balances: dict[str, int], entry: Mapping[str, Any]) -> None:
    """Add one entry's effect to `balances` in place (no verification)."""
    amount = entry["amount"]
    balances[entry["credit"]] = balances.get(entry["credit"], 0) + amount
    balances[entry["debit"]] = balances.get(entry["debit"], 0) - amount


def replay(entries: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    """Balances of every account touched by `entries` (no verification)."""
    balances: dict[str, int] = {}
    for entry in entries:
        apply(balances, entry)
    return balances
