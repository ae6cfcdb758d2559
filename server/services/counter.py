"""The shop counter's look-up handles, day list and item history.

A look-up handle stands in for the card after the counter found the
volunteer: the card code is typed (or scanned) once, in the look-up request,
and never written into a page. The handle names the volunteer, expires
after ``HANDLE_TTL_S`` and is authenticated (HMAC under a key derived from
the server secret) over the volunteer, the expiry, the web session it was
made for and the hash of the card presented. So a handle copied from a
page's source or address is useless outside that session, after a few
minutes, or once the volunteer's card was replaced; the redemption checks
the card hash again under the write lock.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from primitives.b64url import b64url_decode, b64url_encode

from .. import clock
from ..storage import Storage

HANDLE_TTL_S = 15 * 60
DAY_LIMIT = 1000


def handle_key(server_secret: bytes) -> bytes:
    return hashlib.sha256(b"gridsync counter handle v1\0" + server_secret).digest()


def _mac(key: bytes, volunteer: str, expires: int, session: str, card_hash: str) -> str:
    msg = "\0".join((volunteer, str(expires), session, card_hash)).encode()
    return b64url_encode(hmac.new(key, msg, hashlib.sha256).digest()[:18])


def make_handle(key: bytes, volunteer: str, session: str, card_hash: str) -> str:
    """``<volunteer, base64url>.<expiry ms>.<mac>`` for this session and card."""
    expires = clock.now_ms() + HANDLE_TTL_S * 1000
    who = b64url_encode(volunteer.encode())
    return f"{who}.{expires}.{_mac(key, volunteer, expires, session, card_hash)}"


def open_handle(store: Storage, key: bytes, handle: str, session: str) -> tuple[str, str] | None:
    """(volunteer id, their current card hash) when ``handle`` was made for this
    session, has not expired and the volunteer still has the card it was made
    with; None otherwise."""
    parts = handle.split(".")
    if len(parts) != 3 or len(handle) > 300 or not parts[1].isdigit():
        return None
    try:
        volunteer = b64url_decode(parts[0]).decode()
    except (ValueError, UnicodeDecodeError):
        return None
    expires = int(parts[1])
    if expires < clock.now_ms():
        return None
    card_hash = store.directory.card_hash(volunteer)
    if not card_hash:
        return None
    if not hmac.compare_digest(parts[2], _mac(key, volunteer, expires, session, card_hash)):
        return None
    return volunteer, card_hash


def by_name(items: list[dict]) -> list[dict]:
    """Catalog items in the order people look for them: Chinese names by their
    pinyin (大米 before 肥皂 before 鸡蛋), other names alphabetically among them.

    pypinyin is imported here, on the first catalog shown, not with the app: its
    phrase dictionary is about 55 MB and 0.5 s of CPU that every gunicorn worker
    would otherwise pay at start, sync-only workers included."""
    from pypinyin import lazy_pinyin

    def key(item: dict) -> tuple[str, str]:
        return " ".join(lazy_pinyin(item["name"])).casefold(), item["sku"]
    return sorted(items, key=key)


def local_day(timezone: str, day: str | None = None) -> tuple[str, str, str]:
    """(day, since, until): the local ``day`` (YYYY-MM-DD, today when None) in
    ``timezone`` and its bounds as UTC stamps comparable with stored ``at``."""
    tz = ZoneInfo(timezone)
    if day is None:
        start = datetime.now(tz).replace(hour=0, minute=0, second=0, microsecond=0)
    else:
        start = datetime.strptime(day, "%Y-%m-%d").replace(tzinfo=tz)
    end = start + timedelta(days=1)
    return start.strftime("%Y-%m-%d"), _utc(start), _utc(end)


def _utc(moment: datetime) -> str:
    return moment.astimezone(ZoneInfo("UTC")).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def day_list(store: Storage, shop: str, since: str, until: str) -> dict:
    """The shop's redemptions in [since, until) with the day's totals: points
    and items of the redemptions that stand, and how many were refunded."""
    with store.snapshot():
        rows = store.ledger.redemptions_between(shop=shop, since=since, until=until,
                                                limit=DAY_LIMIT)
        names = {}
        for r in rows:
            if r["volunteer"] not in names:
                person = store.directory.person(r["volunteer"]) or {}
                names[r["volunteer"]] = person.get("name", r["volunteer"])
    standing = [r for r in rows if r["reversed_by"] is None]
    return {
        "redemptions": [{**r, "volunteer_name": names[r["volunteer"]]} for r in rows],
        "points": sum(r["total"] for r in standing),
        "items": sum(line["qty"] for r in standing for line in r["items"]),
        "count": len(standing),
        "refunded": len(rows) - len(standing),
    }


def item_history(store: Storage, shop: str, sku: str, limit: int = 50) -> list[dict]:
    """The newest redemptions of this shop that include ``sku``, with that line."""
    out = []
    with store.snapshot():
        for r in store.ledger.redemptions_between(shop=shop, limit=DAY_LIMIT):
            line = next((x for x in r["items"] if x["sku"] == sku), None)
            if line is not None:
                person = store.directory.person(r["volunteer"]) or {}
                out.append({**r, "line": line, "volunteer_name": person.get("name", "")})
                if len(out) >= limit:
                    break
    return out
