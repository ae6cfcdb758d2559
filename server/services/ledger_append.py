"""Appending signed entries to the chain, and pricing verified service logs.

Every append runs inside the caller's write transaction (BEGIN IMMEDIATE):
the head is read, the entry is signed and stored, and balances move, all or
nothing. The partial unique index on (kind, ref) makes a second earn for the
same log, a second redeem for a redemption or a second reversal of an entry
impossible even if a bug slipped past the checks here.
"""

from __future__ import annotations

import uuid

from ledger import MAX_INT, ZERO_HASH, make_entry
from ledger.rules import local_date, price_log
from primitives import names

from .. import clock
from ..errors import InsufficientPoints, ValidationFailed
from ..keystore import Signer
from ..storage import Storage


def new_entry_id() -> str:
    return str(uuid.uuid4())


def check_floor(store: Storage, account: str, amount: int) -> None:
    """InsufficientPoints if taking ``amount`` from a volunteer or shop account
    would leave it below zero."""
    if names.kind_of(account) in names.FLOORED:
        _check_floor(account, store.ledger.balance(account), amount)


def _check_floor(account: str, balance: int, amount: int) -> None:
    if names.kind_of(account) in names.FLOORED and balance < amount:
        raise InsufficientPoints(f"{account} has {balance} points; this needs {amount}")


def append(store: Storage, signer: Signer, *, kind: str, debit: str, credit: str, amount: int,
           ref: str, evidence: str | None = None, rules: str | None = None) -> dict:
    """Sign (with the app's one ``signer``) and store the next entry. Must be called
    inside a transaction: what it checks is read there, under the write lock."""
    state = store.ledger.append_state(debit, credit)
    _check_floor(debit, state.debit_balance, amount)
    if (state.credit_balance + amount > MAX_INT
            or state.debit_balance - amount < -MAX_INT):
        raise ValidationFailed("a balance would leave the integer range (|n| <= 2^53-1)",
                               fields={"amount": ["too large for the accounts' balances"]})
    key_id, key = signer.key(store, state.key_id)
    entry = make_entry(seq=state.seq + 1, id=new_entry_id(), kind=kind, debit=debit,
                       credit=credit, amount=amount, ref=ref, evidence=evidence, rules=rules,
                       at=clock.iso(), prev_hash=state.head or ZERO_HASH, key=key,
                       key_id=key_id)
    store.ledger.append(entry)
    return entry


def earn_for_log(store: Storage, signer: Signer, log: dict, *, op: str, community: str) -> int:
    """Price a log that just became verified and append its earn entry.

    Returns the points awarded (0 earns no entry). Rules are those in force
    now; the daily cap counts points per volunteer per local date of
    ``started_at`` in the rules' time zone.
    """
    found = store.directory.rules()
    if found is None:
        return 0
    rules, rules_digest = found
    fields = log["fields"]
    day = local_date(fields["started_at"], rules["timezone"]).isoformat()
    already = store.ledger.points_on(fields["volunteer"], day)
    points = price_log(rules, activity=fields["activity"], minutes=fields["minutes"],
                       already_awarded_today=already)
    if points > 0:
        store.ledger.add_points_on(fields["volunteer"], day, points)
        append(store, signer, kind="earn", debit=names.issuance(community),
               credit=names.volunteer(fields["volunteer"]), amount=points,
               ref=names.service_log(log["id"]), evidence=op, rules=rules_digest)
    return points
