"""Residents' side of cases (no account, no app): a grid's report code, reporting,
following a case with its receipt, and rating it once done.

Limits per client address (an IPv6 address by its /64), in one-hour windows:
every report attempt counts (``PUBLIC_REPORTS_PER_HOUR``, default 20); receipt
look-ups and ratings count on their own (``PUBLIC_LOOKUPS_PER_HOUR``, default
300). A code is
public (it is printed on notice boards): it only makes reports to a grid
impossible to send without having stood in front of its poster. A receipt
is a secret (100 random bits) stored hashed.
"""

from __future__ import annotations

import ipaddress
import re
import secrets
import uuid

from sync.cases import new_case

from .. import clock
from ..errors import InvalidState, NotFound, RateLimited, ValidationFailed
from ..keystore import Signer
from ..secrets_ import digest
from ..storage import Storage
from .admin_scope import AdminScope
from .cases import close, current, write_server_version

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32: no I, L, O, U
RECEIPT_CHARS = 20  # 100 bits
CODE_CHARS = 12  # 60 bits
#: What a resident's text may not hold (a report's fields, a rating's note), on the API and
#: the pages alike: NUL, which PostgreSQL's text and jsonb cannot store (one report holding
#: it made every pull of its grid fail), and the other C0 control characters and DEL, which
#: no keyboard types. Tab, newline and carriage return are text.
CONTROL_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def has_control_chars(text: str) -> bool:
    return CONTROL_CHARS.search(text) is not None


def without_control_chars(text: str) -> str:
    """The text with the characters ``CONTROL_CHARS`` refuses taken out (to show a form
    back to the resident, ready to send again)."""
    return CONTROL_CHARS.sub("", text)


def _random(n: int) -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(n))


def _grouped(text: str) -> str:
    return "-".join(text[i:i + 4] for i in range(0, len(text), 4))


def normalise(text: str) -> str:
    """A code or receipt as typed: letter case, spaces and dashes do not matter;
    the letters Crockford base32 leaves out read as the digits they look like."""
    cleaned = text.upper().replace("-", "").replace(" ", "")
    return cleaned.translate(str.maketrans("ILO", "110"))


# --- limits -------------------------------------------------------------------


def client_key(client: str) -> str:
    """What a limit counts by: an IPv4 address, or an IPv6 address's /64 (one phone
    or home holds a whole /64, so its single addresses cost nothing to change)."""
    try:
        address = ipaddress.ip_address(client)
    except ValueError:
        return client
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


def check_rate(store: Storage, kind: str, client: str, per_hour: int) -> None:
    """Count this attempt; RateLimited when over ``per_hour`` in this hour."""
    now = clock.now_ms()
    window = now // 3_600_000
    with store.transaction():
        count = store.access.hit(f"{kind}:{client_key(client)}", window)
    if count > per_hour:
        raise RateLimited(3600 - (now // 1000) % 3600,
                          "too many requests from this address; try again later")


# --- report codes ---------------------------------------------------------------


def new_report_code(store: Storage, grid: str, *, base_url: str, scope: AdminScope) -> dict:
    """A grid's new public code; the old one stops working at once."""
    with store.transaction():
        scope.visible_grid(store, grid)
        code = _random(CODE_CHARS)
        store.cases.add_report_code(code=code, grid=grid, at=clock.iso())
    return {"code": code, "url": report_url(base_url, code)}


def report_url(base_url: str, code: str) -> str:
    return f"{base_url.rstrip('/')}/r/{code}"


def grid_of_code(store: Storage, code: str) -> dict:
    """The grid a current code reports to; NotFound for an unknown or replaced one."""
    found = store.cases.report_code(normalise(code)) if len(code) <= 64 else None
    if found is None or found["replaced_at"] is not None:
        raise NotFound("this report code is not valid (unknown, or replaced by a new poster)")
    grid = store.directory.grid(found["grid"])
    if grid is None:
        raise NotFound("no such grid")
    return grid


def categories(store: Storage) -> dict[str, str]:
    found = store.directory.rules()
    return dict((found[0].get("case_categories") or {}) if found else {})


# --- reporting --------------------------------------------------------------------


def report(store: Storage, data: dict) -> dict:
    """A resident's report: a ``report`` case in the code's grid, and its receipt."""
    grid = grid_of_code(store, data["code"])
    if data["category"] not in categories(store):
        raise ValidationFailed("unknown category",
                               fields={"category": ["not one of the community's categories"]})
    case_id = str(uuid.uuid4())
    receipt = _random(RECEIPT_CHARS)
    at = clock.iso()
    values = {"grid": grid["id"], "kind": "report", "category": data["category"],
              "title": data["title"]}
    for src, dst in (("detail", "detail"), ("name", "reporter_name"),
                     ("phone", "reporter_phone")):
        if data.get(src):
            values[dst] = data[src]
    with store.transaction():
        write_server_version(store, None, new_case(values, created_by=None, at=at),
                             case_id=case_id, by=None, step="open", at=at)
        store.cases.add_receipt(receipt_hash=digest(normalise(receipt)), case=case_id, at=at)
    return {"case": case_id, "receipt": _grouped(receipt)}


def _case_of_receipt(store: Storage, receipt: str) -> dict:
    case_id = store.cases.case_of_receipt(digest(normalise(receipt))) if len(receipt) <= 64 \
        else None
    if case_id is None:
        raise NotFound("no case has this receipt")
    return current(store, case_id)


def public_view(state: dict) -> dict:
    """What a receipt shows: nothing about people."""
    f = state["fields"]
    return {"case": state["id"], "status": f["status"], "category": f["category"],
            "title": f["title"], "created_at": f["created_at"], "done_at": f.get("done_at"),
            "resolution": f.get("resolution"), "rating": f.get("rating")}


def follow(store: Storage, receipt: str) -> dict:
    with store.snapshot():
        return public_view(_case_of_receipt(store, receipt))


def rate(store: Storage, signer: Signer, receipt: str, data: dict) -> dict:
    """The resident's rating closes a ``done`` case (and pays its points)."""
    with store.transaction():
        state = _case_of_receipt(store, receipt)
        status = state["fields"]["status"]
        if status != "done":
            raise InvalidState(
                "this case is already closed and rated" if status == "closed"
                else f"a case can be rated once it is done (it is {status})")
        values = {"rating": data["rating"]}
        if data.get("note"):
            values["rating_note"] = data["note"]
        new = close(store, signer, state, values, by=None, at=clock.iso())
        return public_view(new)
