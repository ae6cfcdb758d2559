"""What the web pages show: card look-up, a volunteer's overview, entry checks and
receipts (the counter redeems and refunds through services/ledger.py, as the API does).

Every function takes the signed-in web session's identity and only returns
what that person may see.
"""

from __future__ import annotations

from typing import Any

from ledger import ZERO_HASH, VerificationError, canonical, keyring, verify_entry
from primitives import names

from .. import cards
from ..auth import Principal
from ..storage import Storage


def principal(person: str, role: str, shop: str | None, community: str | None) -> Principal:
    """The identity a web session acts with when it calls a service."""
    return Principal(person=person, role=role, token_id="web", device=None, public_key=None,
                     shop=shop, community=community)


# --- shop counter --------------------------------------------------------
def card_holder(store: Storage, card: str, community: str | None) -> dict | None:
    """The active volunteer of this community whose current card is ``card`` (typed
    in any case, with or without spaces and dashes: server/cards.py), with their
    balance and ``card_hash``; else None."""
    if community is None:
        return None
    with store.snapshot():
        for card_hash in cards.lookup_hashes(card):
            person = store.web.person_by_card(card_hash)
            if (person is not None and person["role"] == "volunteer" and person["active"]
                    and person["community"] == community):
                person["balance"] = store.ledger.balance(names.volunteer(person["id"]))
                person["card_hash"] = card_hash
                return person
    return None


def receipt(store: Storage, shop: str, redemption_id: str) -> dict | None:
    """A redemption of this shop with its entry, the volunteer's name and the
    balance right after it; None if there is no such redemption at this shop."""
    with store.snapshot():
        found = store.ledger.redemption(redemption_id)
        if found is None or found[0]["shop"] != shop:
            return None
        redemption, entry = found
        person = store.directory.person(redemption["volunteer"]) or {}
        after = _balance_after(store, names.volunteer(redemption["volunteer"]), entry["seq"])
    return {"redemption": redemption, "entry": entry, "volunteer_name": person.get("name", ""),
            "balance_after": after}


def receipt_payload(redemption: dict, entry: dict) -> str:
    """What the receipt's QR code holds: the redemption and the entry that paid it.
    Anyone can fetch entry ``seq`` from the ledger and check its hash and signature."""
    return canonical({"receipt": redemption["id"], "shop": redemption["shop"],
                      "volunteer": redemption["volunteer"], "total": redemption["total"],
                      "at": redemption["at"], "seq": entry["seq"], "hash": entry["hash"],
                      "key_id": entry["key_id"]}).decode()


def _delta(entry: dict, account: str) -> int:
    """How much ``entry`` moves ``account``: + when it is credited, - when debited."""
    amount: int = entry["amount"]
    return amount if entry["credit"] == account else -amount


def _balance_after(store: Storage, account: str, seq: int) -> int:
    balance = 0
    for e in store.ledger.account_entries(account):
        if e["seq"] > seq:
            break
        balance += _delta(e, account)
    return balance


# --- volunteer -----------------------------------------------------------
def own_entry(store: Storage, volunteer: str, seq: int) -> dict | None:
    """Entry ``seq`` if it moves this volunteer's account, else None (never another's)."""
    entry = store.ledger.entry(seq)
    account = names.volunteer(volunteer)
    if entry is None or account not in (entry["debit"], entry["credit"]):
        return None
    return entry


def check_entry(store: Storage, entry: dict) -> dict[str, Any]:
    """Verify an entry on the server against the published keys: its hash, its
    link to the entry before it, and its Ed25519 signature.

    ``{"ok": True, "key": {...}}`` or ``{"ok": False, "reason": str, "detail": str}``.
    """
    with store.snapshot():
        seq = int(entry["seq"])
        prev = store.ledger.entry(seq - 1) if seq > 1 else None
        keys = store.ledger.keys()
    prev_hash = prev["hash"] if prev else ZERO_HASH
    key = next((k for k in keys if k["key_id"] == entry.get("key_id")), None)
    try:
        verify_entry(entry, prev_hash=prev_hash, expected_seq=seq, keys=keyring(keys))
    except VerificationError as exc:
        return {"ok": False, "reason": exc.reason, "detail": str(exc), "key": key}
    return {"ok": True, "key": key}
