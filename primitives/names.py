"""Names of ledger accounts and of what an entry refers to: ``<kind>:<id>``.

Accounts: ``volunteer:<person>``, ``shop:<shop>``, ``issuance:<community>``.
References (an entry's ``ref``, unique per entry kind): ``service_log:<log>``
or ``case:<case>`` for an earn, ``redemption:<id>`` for a redeem,
``adjustment:<id>`` for an adjustment, ``entry:<seq>`` for a reversal. SQL
that joins entries to their causes binds these prefixes as parameters
(``e.ref = ? || r.id``) instead of spelling them again.
"""

from __future__ import annotations

VOLUNTEER = "volunteer"
SHOP = "shop"
ISSUANCE = "issuance"
FLOORED = (VOLUNTEER, SHOP)
"""Account kinds never taken below zero (an issuance account goes negative)."""

SERVICE_LOG = "service_log"
CASE = "case"
REDEMPTION = "redemption"
ADJUSTMENT = "adjustment"
ENTRY = "entry"


def name(kind: str, ident: object) -> str:
    """``kind:ident``."""
    return f"{kind}:{ident}"


def prefix(kind: str) -> str:
    """``kind:``: what every name of that kind starts with (for SQL and ``startswith``)."""
    return f"{kind}:"


def split(text: str) -> tuple[str, str]:
    """``(kind, ident)`` of a name; ``("", "")`` when it has no ``:`` or no id."""
    kind, sep, ident = text.partition(":")
    return (kind, ident) if sep and ident else ("", "")


def kind_of(text: str) -> str:
    """The kind of a name: what precedes its first ``:`` (``volunteer`` in ``volunteer:p1``)."""
    return text.partition(":")[0]


def volunteer(person: object) -> str:
    return name(VOLUNTEER, person)


def shop(shop_id: object) -> str:
    return name(SHOP, shop_id)


def issuance(community: object) -> str:
    return name(ISSUANCE, community)


def service_log(log: object) -> str:
    return name(SERVICE_LOG, log)


def case(case_id: object) -> str:
    return name(CASE, case_id)


def redemption(redemption_id: object) -> str:
    return name(REDEMPTION, redemption_id)


def adjustment(adjustment_id: object) -> str:
    return name(ADJUSTMENT, adjustment_id)


def entry(seq: object) -> str:
    return name(ENTRY, seq)
