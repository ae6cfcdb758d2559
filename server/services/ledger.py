"""Points: accounts, entry pages, checkpoints, redemptions, adjustments, reversals.

Every write here is one ``BEGIN IMMEDIATE`` transaction that checks, moves
stock, appends the signed entry and remembers the request, all or nothing:
an error raised anywhere inside rolls everything back (docs/protocol.md: an error
changes nothing).

Idempotent creates (redemptions, adjustments, reversals) are remembered in
the ``requests`` table under (kind, id) with a digest of the body and the
caller (the shop for redemptions, the admin for adjustments and reversals):
the same id with the same body from the same caller returns the first
answer (200); anything else under that id is 409 ``id_reused``. A
request that failed is not remembered, so it may be retried with its id.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from typing import Any

from ledger import MAX_INT, canonical
from primitives import names

from .. import cards, clock
from ..auth import Principal
from ..errors import (
    AlreadyReversed,
    CardInvalid,
    Forbidden,
    IdReused,
    NotFound,
    OutOfStock,
    ValidationFailed,
)
from ..keystore import Signer
from ..storage import Storage
from .admin_scope import admin_scope
from .anchors import receipt
from .ledger_append import append, check_floor


# --- accounts ------------------------------------------------------------
def account_owner(store: Storage, account: str) -> dict | None:
    """``{"kind", "id", "community"}`` for an account that exists, else None.

    Accounts are ``volunteer:<person>``, ``shop:<shop>`` and
    ``issuance:<community>``; one exists when its person (a volunteer), shop
    or community (a grid with no parent) does.
    """
    kind, ident = names.split(account)
    if not kind:
        return None
    community: str | None = None
    if kind == names.VOLUNTEER:
        person = store.directory.person(ident)
        if person is None or person["role"] != "volunteer":
            return None
        community = person["community"]
    elif kind == names.SHOP:
        shop = store.directory.shop(ident)
        if shop is None:
            return None
        community = shop["community"]
    elif kind == names.ISSUANCE:
        grid = store.directory.grid(ident)
        if grid is None or grid["parent"] is not None:
            return None
        community = ident
    else:
        return None
    return {"kind": kind, "id": ident, "community": community}


def reaches(store: Storage, who: Principal, community: str | None) -> bool:
    """False for an admin scoped to other communities (docs/protocol.md, scoped
    administrators); True for everyone else (their role's own rules apply)."""
    return who.role != "admin" or admin_scope(store, who.person).community(community)


def _shop_community(store: Storage, shop_id: str) -> str | None:
    shop = store.directory.shop(shop_id)
    return shop["community"] if shop else None


def _account_access(who: Principal, owner: dict | None) -> str | None:
    """"full", "balance" (a shop of the volunteer's community) or None."""
    if who.role in ("admin", "auditor"):
        return "full"
    if owner is None or owner["kind"] != names.VOLUNTEER:
        return None
    if who.role == "volunteer" and who.person == owner["id"]:
        return "full"
    if who.role == "shop" and who.community is not None and who.community == owner["community"]:
        return "balance"
    return None


def account_view(store: Storage, who: Principal, account: str,
                 page: tuple[int, int] | None = None) -> dict:
    """Balance, the seq it is as of (the chain head when read) and, for
    those who may see them, every entry touching the account; with ``page``
    (after, limit), those after seq ``after``, at most ``limit``, and ``next``
    (the last seq given when more remain, else None).

    403 before 404: only callers who may read any account (admin, auditor)
    learn whether an account exists.
    """
    with store.snapshot():
        owner = account_owner(store, account)
        access = _account_access(who, owner)
        if access is None:
            raise Forbidden("you may not read this account")
        if owner is None or not reaches(store, who, owner["community"]):
            raise NotFound(f"no such account {account!r}")
        out: dict[str, Any] = {"account": account, "balance": store.ledger.balance(account),
                               "as_of": store.ledger.head()[0]}
        if access == "full":
            if page is None:
                out["entries"] = store.ledger.account_entries(account)
            else:
                after, limit = page
                found = store.ledger.account_entries(account, after, limit + 1)
                out["entries"] = found[:limit]
                out["next"] = found[limit - 1]["seq"] if len(found) > limit else None
    return out


# --- entries and checkpoints ---------------------------------------------
def entries_page(store: Storage, after: int, limit: int) -> tuple[list[str], int | None]:
    """(stored JSON texts of up to `limit` entries after seq `after`, next).

    ``next`` is the last seq returned when more remain, else None. Entries
    are handed out exactly as stored, so what an auditor hashes is what the
    server signed.
    """
    rows = store.ledger.entry_bodies(after, limit + 1)
    more = len(rows) > limit
    rows = rows[:limit]
    return [body for _, body in rows], (rows[-1][0] if more and rows else None)


@dataclass(frozen=True)
class Outcome:
    """A created-once answer: ``replayed`` when the request id was seen before and
    this is the first answer again (the view answers 200 instead of 201)."""

    answer: dict
    replayed: bool


# --- idempotent requests --------------------------------------------------
def _digest(data: dict) -> str:
    return hashlib.sha256(canonical(data)).hexdigest()


def _replay(store: Storage, kind: str, data: dict, actor: str) -> dict | None:
    """The first answer to this request, None if the id is new; IdReused
    when the id was used with another body or by another caller."""
    seen = store.ledger.request(kind, data["id"])
    if seen is None:
        return None
    if seen["digest"] != _digest(data) or seen["actor"] != actor:
        raise IdReused(f"{kind} id {data['id']!r} was already used for another request")
    return seen["response"]


def _remember(store: Storage, kind: str, data: dict, actor: str, response: dict) -> None:
    store.ledger.save_request(kind=kind, id=data["id"], digest=_digest(data), actor=actor,
                              response=response, at=clock.iso())


# --- redemptions ----------------------------------------------------------
def redeem(store: Storage, signer: Signer, who: Principal, data: dict,
           card_hash: str | None = None) -> Outcome:
    """Spend a volunteer's points at the caller's shop: (status, answer).

    Card, community, catalog, points and stock are checked, stock taken and
    the redeem entry appended in one transaction. The API sends the card code
    in ``data["card"]``; the counter page, which never carries the code past
    its look-up, passes the ``card_hash`` it found then instead (still checked
    against the volunteer's current card here, under the write lock).
    """
    actor = names.shop(who.shop)  # any counter of the same shop may resend
    with store.transaction():
        first = _replay(store, "redemption", data, actor)
        if first is not None:
            return Outcome(first, replayed=True)
        if store.ledger.redemption(data["id"]) is not None:
            raise IdReused(f"redemption id {data['id']!r} is already used")
        volunteer = _card_holder(store, data["volunteer"], data.get("card"), card_hash)
        shop = store.directory.shop(who.shop or "")
        if shop is None or shop["community"] != volunteer["community"]:
            raise Forbidden("the volunteer belongs to another community than this shop")
        lines = _priced_lines(store, shop["id"], data["items"])
        total = sum(line["price"] * line["qty"] for line in lines)
        if total > MAX_INT:
            raise ValidationFailed("total out of range", fields={"items": ["total too large"]})
        account = names.volunteer(volunteer["id"])
        check_floor(store, account, total)
        for line in lines:
            if not store.directory.take_stock(shop["id"], line["sku"], line["qty"]):
                row = store.directory.item(shop["id"], line["sku"])
                left = row["stock"] if row else 0
                err = OutOfStock(f"{line['sku']}: {left} left, {line['qty']} asked for")
                err.sku, err.left = line["sku"], left
                raise err
        entry = append(store, signer, kind="redeem", debit=account, credit=names.shop(shop["id"]),
                       amount=total, ref=names.redemption(data["id"]))
        redemption = {"id": data["id"], "volunteer": volunteer["id"], "shop": shop["id"],
                      "items": lines, "total": total, "at": entry["at"]}
        store.ledger.add_redemption(redemption, entry["seq"])
        # The receipt: a checkpoint at this very entry and its inclusion proof,
        # remembered with the answer so that a resend or a GET shows the same.
        answer = {"redemption": redemption, "entry": entry,
                  **receipt(store, signer, entry["seq"])}
        _remember(store, "redemption", data, actor, answer)
    return Outcome(answer, replayed=False)


def _card_holder(store: Storage, volunteer_id: str, card: str | None,
                 card_hash: str | None) -> dict:
    """The volunteer whose current card is `card` (as typed: see server/cards.py)
    or has the stored hash `card_hash`, else CardInvalid.

    An unknown or inactive volunteer, or one with no card issued, gets the
    same answer as a wrong code: a shop learns nothing from trying ids.
    """
    person = store.directory.person(volunteer_id)
    current = store.directory.card_hash(volunteer_id) if person else None
    if card is not None:
        ok = cards.matches(card, current)
    else:
        ok = bool(current and card_hash and hmac.compare_digest(current, card_hash))
    if person is None or person["role"] != "volunteer" or not person["active"] or not ok:
        raise CardInvalid()
    return person


def _priced_lines(store: Storage, shop: str, items: list[dict]) -> list[dict]:
    lines, problems = [], {}
    for i, item in enumerate(items):
        row = store.directory.item(shop, item["sku"])
        if row is None:
            problems[str(i)] = {"sku": ["not in this shop's catalog"]}
            continue
        lines.append({"sku": row["sku"], "name": row["name"], "qty": item["qty"],
                      "price": row["price"]})
    if problems:
        raise ValidationFailed("unknown sku", fields={"items": problems})
    return lines


def redemption_view(store: Storage, signer: Signer, who: Principal,
                    redemption_id: str) -> dict:
    """A redemption, its entry, a checkpoint and the entry's inclusion proof
    in it (a receipt checkable offline): for that shop, the volunteer, admins.

    The receipt is the one given when the redemption was made; a redemption
    made before receipts existed gets one at the current head."""
    found = store.ledger.redemption(redemption_id)
    if found is None:
        raise NotFound("no such redemption")
    redemption, entry = found
    if not reaches(store, who, _shop_community(store, redemption["shop"])):
        raise NotFound("no such redemption")
    if not (who.role == "admin"
            or (who.role == "shop" and who.shop == redemption["shop"])
            or (who.role == "volunteer" and who.person == redemption["volunteer"])):
        raise Forbidden("not your redemption")
    answered = store.ledger.request("redemption", redemption_id)
    given = answered["response"] if answered else {}
    if "checkpoint" in given and "proof" in given:
        return {"redemption": redemption, "entry": entry, "checkpoint": given["checkpoint"],
                "proof": given["proof"]}
    with store.transaction():
        return {"redemption": redemption, "entry": entry, **receipt(store, signer, entry["seq"])}


def refund(store: Storage, signer: Signer, who: Principal, redemption_id: str,
           reason: str) -> dict:
    """Undo a redemption: a ``reverse`` entry giving the points back and the
    items' stock put back (items since removed from the catalog are not
    re-created), once (409 already_reversed). That shop's staff or an admin.

    The answer adds ``refund`` ``{"id", "entry", "reason", "by", "at"}`` (``entry``:
    the seq of the redeem entry reversed); it is remembered as a request of kind
    ``refund`` under the redemption's id, which the ledger audit checks like a
    reversal's.
    """
    with store.transaction():
        found = store.ledger.redemption(redemption_id)
        if found is None:
            raise NotFound("no such redemption")
        redemption, original = found
        if not reaches(store, who, _shop_community(store, redemption["shop"])):
            raise NotFound("no such redemption")
        if not (who.role == "admin" or (who.role == "shop" and who.shop == redemption["shop"])):
            raise Forbidden("only this shop's staff or an admin may refund this redemption")
        done = store.ledger.entry_by_ref("reverse", names.entry(original["seq"]))
        if done is not None:
            raise AlreadyReversed(
                f"redemption {redemption_id} was already refunded by entry {done['seq']}")
        entry = append(store, signer, kind="reverse", debit=original["credit"],
                       credit=original["debit"], amount=original["amount"],
                       ref=names.entry(original["seq"]))
        for line in redemption["items"]:
            store.directory.add_stock(redemption["shop"], line["sku"], line["qty"], entry["at"])
        refunded = {"id": redemption_id, "entry": original["seq"], "reason": reason,
                    "by": who.person, "at": entry["at"]}
        answer = {"redemption": redemption, "entry": entry, "refund": refunded}
        _remember(store, "refund", {"id": redemption_id, "reason": reason}, who.person, answer)
    return answer


def refund_reason(store: Storage, redemption_id: str) -> dict | None:
    """``{"id", "entry", "reason", "by", "at"}`` of a refunded redemption, else None."""
    seen = store.ledger.request("refund", redemption_id)
    return seen["response"]["refund"] if seen else None


# --- adjustments and reversals (admin) -------------------------------------
def adjust(store: Storage, signer: Signer, who: Principal, data: dict) -> Outcome:
    """An ``adjust`` entry between the account's community issuance account
    and the account; a negative amount takes points back, never below zero."""
    with store.transaction():
        first = _replay(store, "adjustment", data, who.person)
        if first is not None:
            return Outcome(first, replayed=True)
        account = data["account"]
        owner = account_owner(store, account)
        if (owner is None or owner["kind"] not in names.FLOORED or owner["community"] is None
                or not reaches(store, who, owner["community"])):
            raise ValidationFailed("no such volunteer or shop account", fields={
                "account": ["must be volunteer:<id> or shop:<id> of an existing one"]})
        issuance, amount = names.issuance(owner["community"]), data["amount"]
        if amount > 0:
            debit, credit = issuance, account
        else:  # append keeps the account from going below zero
            debit, credit = account, issuance
        entry = append(store, signer, kind="adjust", debit=debit, credit=credit, amount=abs(amount),
                       ref=names.adjustment(data["id"]))
        adjustment = {"id": data["id"], "account": account, "amount": amount,
                      "reason": data["reason"], "by": who.person, "at": entry["at"]}
        answer = {"adjustment": adjustment, "entry": entry}
        _remember(store, "adjustment", data, who.person, answer)
    return Outcome(answer, replayed=False)


def reverse(store: Storage, signer: Signer, who: Principal, data: dict) -> Outcome:
    """A ``reverse`` entry swapping the debit and credit of entry `data["entry"]`.

    Each entry is reversed at most once (409 already_reversed), and a
    reversal is not itself reversed (400: make an adjustment instead).
    Reversing a redemption gives the points back; it does not restock.
    """
    with store.transaction():
        first = _replay(store, "reversal", data, who.person)
        if first is not None:
            return Outcome(first, replayed=True)
        seq = data["entry"]
        original = store.ledger.entry(seq)
        if original is None or not all(
                reaches(store, who, (account_owner(store, acct) or {}).get("community"))
                for acct in (original["debit"], original["credit"])):
            raise NotFound(f"no entry with seq {seq}")
        if original["kind"] == "reverse":
            raise ValidationFailed("a reversal cannot be reversed; make an adjustment", fields={
                "entry": ["is itself a reversal"]})
        done = store.ledger.entry_by_ref("reverse", names.entry(seq))
        if done is not None:
            raise AlreadyReversed(f"entry {seq} was already reversed by entry {done['seq']}")
        entry = append(store, signer, kind="reverse", debit=original["credit"],
                       credit=original["debit"], amount=original["amount"], ref=names.entry(seq))
        reversal = {"id": data["id"], "entry": seq, "reason": data["reason"], "by": who.person,
                    "at": entry["at"]}
        answer = {"reversal": reversal, "entry": entry}
        _remember(store, "reversal", data, who.person, answer)
    return Outcome(answer, replayed=False)
