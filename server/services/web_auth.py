"""Web sign-in: logins set by an admin, password/PIN checks with lock-out,
sessions with a CSRF token, one-time personal links, admin sign-in by API token.

Passwords and PINs are HMAC-ed with a pepper derived from the server secret,
then hashed with scrypt (a per-login random salt; the format is described at
``hash_secret``); session ids and link secrets are random and stored as SHA-256 hashes only. Session
and link secrets are returned once to the caller (the web layer puts the
session id in a cookie) and never logged.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

from primitives.b64url import b64url_decode, b64url_encode

from .. import clock, secrets_
from ..errors import IdReused, NotFound, ValidationFailed
from ..storage import Conflict, Storage

WEB_ROLES = ("admin", "shop", "volunteer")
USERNAME_RE = re.compile(r"\A[A-Za-z][A-Za-z0-9_.-]{2,63}\Z")
PHONE_RE = re.compile(r"\A\+?[0-9]{5,20}\Z")
PIN_RE = re.compile(r"\A[0-9]{6,12}\Z")
MIN_PASSWORD = 8
MAX_SECRET = 200

# scrypt cost: n=2^14, r=8, p=1 takes ~16 MiB and tens of milliseconds here.
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
_DUMMY_HASH: str | None = None


class WebAuthError(Exception):
    """Root of the sign-in failures the web pages explain to people."""


class BadCredentials(WebAuthError):
    """Unknown login, wrong password/PIN/token, or an inactive person."""


class LockedOut(WebAuthError):
    """Too many wrong attempts: the login is locked until ``until``."""

    def __init__(self, until: str):
        super().__init__(f"locked until {until}")
        self.until = until


class LinkInvalid(WebAuthError):
    """The personal link is unknown, already used or expired."""


@dataclass(frozen=True)
class Session:
    """A signed-in web user; ``csrf`` goes into every form they post."""

    person: str
    name: str
    role: str
    shop: str | None
    community: str | None
    csrf: str
    id_hash: str


# --- hashing -------------------------------------------------------------
# Stored format (the current one):
#   scrypt-hmac$<N>$<r>$<p>$<salt>$<key>
# key = scrypt(HMAC-SHA256(pepper, secret as UTF-8), salt, N, r, p, 32 bytes), salt 16
# random bytes, both unpadded base64url. The pepper comes from the server secret
# (``server.keystore.login_pepper``), which is not in the database: a stolen database
# alone gives nothing to brute-force a 6-digit PIN against. The older
#   scrypt$<N>$<r>$<p>$<salt>$<key>        (scrypt of the secret itself)
# is still accepted, and replaced by the current format at the next good sign-in.
PEPPERED, UNPEPPERED = "scrypt-hmac", "scrypt"


def hash_secret(secret: str, *, pepper: bytes) -> str:
    salt = secrets.token_bytes(16)
    key = _scrypt(_peppered(secret, pepper), salt, SCRYPT_N, SCRYPT_R, SCRYPT_P, 32)
    return (f"{PEPPERED}${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}"
            f"${b64url_encode(salt)}${b64url_encode(key)}")


def check_secret(secret: str, stored: str, *, pepper: bytes) -> bool:
    try:
        scheme, n, r, p, salt, key = stored.split("$")
        if scheme not in (PEPPERED, UNPEPPERED):
            return False
        raw = _peppered(secret, pepper) if scheme == PEPPERED else secret.encode()
        expected = b64url_decode(key)
        actual = _scrypt(raw, b64url_decode(salt), int(n), int(r), int(p), len(expected))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, expected)


def needs_rehash(stored: str) -> bool:
    """Whether a stored hash is in an older format (or with other costs) than ``hash_secret``
    makes today."""
    return not stored.startswith(f"{PEPPERED}${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}$")


def _peppered(secret: str, pepper: bytes) -> bytes:
    return hmac.new(pepper, secret.encode(), hashlib.sha256).digest()


def _scrypt(raw: bytes, salt: bytes, n: int, r: int, p: int, dklen: int) -> bytes:
    return hashlib.scrypt(raw, salt=salt, n=n, r=r, p=p, dklen=dklen)


def _burn_time(secret: str, pepper: bytes) -> None:
    """Spend as long as a real check, so an unknown login is not told apart by timing."""
    global _DUMMY_HASH
    if _DUMMY_HASH is None:
        _DUMMY_HASH = hash_secret("not a real password", pepper=pepper)
    check_secret(secret, _DUMMY_HASH, pepper=pepper)


# --- logins (admin) ------------------------------------------------------
def normalize_login(login: str) -> str:
    """Usernames are case-insensitive; phone numbers lose spaces and dashes."""
    text = login.strip()
    compact = re.sub(r"[\s-]", "", text)
    if PHONE_RE.match(compact):
        return compact
    return text.lower()


def set_login(store: Storage, person_id: str, login: str, secret: str, *,
              pepper: bytes) -> dict:
    """Set (or replace) a person's web login. Volunteers: phone + PIN of 6-12 digits;
    shop staff and admins: a username (or phone) + a password of 8+ characters. The
    login a person already has may be kept as it is (an issued one is their id).
    Ends the person's open web sessions and clears any lock-out."""
    with store.transaction():
        person = store.directory.person(person_id)
        if person is None:
            raise NotFound("no such person")
        role = person["role"]
        if role not in WEB_ROLES:
            raise ValidationFailed(fields={"person": [f"a {role} does not sign in on the web"]})
        login = normalize_login(login)
        current = store.web.login_of(person_id)
        kept = current is not None and current["login"] == login   # e.g. an issued id
        errors: dict[str, list[str]] = {}
        if role == "volunteer":
            if not (PHONE_RE.match(login) or kept):
                errors["login"] = ["a volunteer signs in with a phone number (digits)"]
            if not PIN_RE.match(secret):
                errors["secret"] = ["a PIN is 6 to 12 digits"]
        else:
            if not (USERNAME_RE.match(login) or PHONE_RE.match(login) or kept):
                errors["login"] = ["a username: a letter, then 3-64 letters, digits, _ . -"]
            if not MIN_PASSWORD <= len(secret) <= MAX_SECRET:
                errors["secret"] = [f"a password is {MIN_PASSWORD} to {MAX_SECRET} characters"]
        if errors:
            raise ValidationFailed(fields=errors)
        _store_login(store, person_id, login, hash_secret(secret, pepper=pepper))
        return {"person": person_id, "login": login}


def _store_login(store: Storage, person_id: str, login: str, secret_hash: str) -> None:
    """Write a login (in the caller's transaction), end the person's web sessions."""
    try:
        store.web.set_login(person=person_id, login=login, secret_hash=secret_hash,
                            at=clock.iso())
    except Conflict:
        raise IdReused("this login is already used by another person") from None
    store.web.delete_sessions_of(person_id)


# --- sign-ins the office issues (people imported from a roster have none) ---
# Readable on paper: no 0/o, 1/l/i.
_PASSWORD_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
ISSUED_PIN_DIGITS = 8
MAX_ISSUED = 100   # a batch: each is one scrypt hash (tens of milliseconds)
INACTIVE = "person is inactive"


def new_secret(role: str) -> str:
    """A fresh PIN (volunteers: 8 digits) or password (three groups of four letters and
    digits, the dashes included: about 59 bits), to be shown once."""
    if role == "volunteer":
        return "".join(secrets.choice("0123456789") for _ in range(ISSUED_PIN_DIGITS))
    return "-".join("".join(secrets.choice(_PASSWORD_ALPHABET) for _ in range(4))
                    for _ in range(3))


def issue_login(store: Storage, person_id: str, *, pepper: bytes) -> dict:
    """Give an active person of a web role a sign-in the office hands over on paper:
    the login they have, else their id (the roster's 编号) as the login, and a new
    PIN or password. ``{"person", "name", "role", "community", "login", "secret"}``: the
    secret is returned this once and stored only hashed. Ends their web sessions.

    NotFound; ValidationFailed (``person``: inactive, or a role without web sign-in);
    IdReused when another person already signs in with this id."""
    person = store.directory.person(person_id)
    if person is None:
        raise NotFound("no such person")
    secret = new_secret(person["role"])
    secret_hash = hash_secret(secret, pepper=pepper)   # slow: outside the transaction
    with store.transaction():
        person = store.directory.person(person_id)
        if person is None:
            raise NotFound("no such person")
        if person["role"] not in WEB_ROLES:
            raise ValidationFailed(fields={"person": [f"a {person['role']} does not sign in "
                                                      "on the web"]})
        if not person["active"]:
            raise ValidationFailed(fields={"person": [INACTIVE]})
        current = store.web.login_of(person_id)
        login = current["login"] if current else normalize_login(person_id)
        _store_login(store, person_id, login, secret_hash)
    return {"person": person_id, "name": person["name"], "role": person["role"],
            "community": person["community"], "login": login, "secret": secret}


# --- sessions ------------------------------------------------------------
def _new_session(store: Storage, person: str, hours: float, token: str | None = None) -> str:
    """Store a session (inside the caller's transaction); returns its secret id."""
    sid = secrets.token_urlsafe(32)
    now = clock.now_ms()
    store.web.purge_sessions(clock.iso(now))
    store.web.add_session(id_hash=secrets_.digest(sid), person=person,
                          csrf=secrets.token_urlsafe(24), token=token, at=clock.iso(now),
                          expires_at=clock.iso(now + int(hours * 3_600_000)))
    return sid


DAY_MS = 86_400_000


def _daily_key(login_row: dict) -> str:
    """The rate-limit key counting one login's failures a day. It ends with the tail of
    the stored hash, so a new password or PIN (a re-issued slip) starts a new count."""
    return f"login-day:{login_row['person']}:{login_row['secret_hash'][-16:]}"


def password_login(store: Storage, login: str, secret: str, *, hours: float, pepper: bytes,
                   max_failures: int = 5, lock_minutes: int = 15, max_daily: int = 20) -> str:
    """Check a login and its password/PIN; a new session id on success.

    Raises BadCredentials (and counts a failure: at ``max_failures`` in a row
    the login locks for ``lock_minutes``; at ``max_daily`` in one UTC day it
    locks until that day ends, so guessing a PIN gets 20 tries a day, not the
    480 that 5 per 15 minutes allow) or LockedOut. A locked login refuses
    even the right secret until the lock expires. The scrypt check runs
    outside the write transaction; the counter is re-read inside it. A good
    secret stored in an older format is stored again in the current one.
    """
    login = normalize_login(login)
    row = store.web.login(login) if login else None
    if row is None:
        _burn_time(secret, pepper)
        raise BadCredentials()
    if row["locked_until"] and row["locked_until"] > clock.iso():
        raise LockedOut(row["locked_until"])
    good = check_secret(secret, row["secret_hash"], pepper=pepper)
    upgraded = hash_secret(secret, pepper=pepper) if good and needs_rehash(
        row["secret_hash"]) else None
    with store.transaction():
        fresh = store.web.login(login)
        if fresh is None or fresh["secret_hash"] != row["secret_hash"]:
            raise BadCredentials("the login changed meanwhile")
        if fresh["locked_until"] and fresh["locked_until"] > clock.iso():
            raise LockedOut(fresh["locked_until"])
        if good and fresh["active"] and fresh["role"] in WEB_ROLES:
            store.web.clear_failures(fresh["person"])
            if upgraded is not None:
                store.web.replace_secret_hash(fresh["person"], upgraded)
            return _new_session(store, fresh["person"], hours)
        if good:
            raise BadCredentials("inactive person or role without web access")
        day = clock.now_ms() // DAY_MS
        failed, until = int(fresh["failed"]) + 1, None
        if store.access.hit(_daily_key(fresh), day) >= max_daily:
            failed, until = 0, clock.iso((day + 1) * DAY_MS)
        elif failed >= max_failures:
            failed, until = 0, clock.iso(clock.now_ms() + lock_minutes * 60_000)
        store.web.record_failure(fresh["person"], failed=failed, locked_until=until)
    if until is not None:
        raise LockedOut(until)
    raise BadCredentials()


def token_login(store: Storage, token: str, *, hours: float) -> str:
    """An admin pastes an API token once; the session ends if that token is revoked."""
    parts = secrets_.split_token(token.strip())
    row = store.access.token_principal(parts[0]) if parts else None
    if (parts is None or row is None or not secrets_.same(parts[1], row["secret_hash"])
            or row["token_revoked"] or row["device"] or not row["active"]
            or row["role"] != "admin"):
        raise BadCredentials()
    with store.transaction():
        return _new_session(store, row["person"], hours, token=row["token_id"])


def create_link(store: Storage, person_id: str, *, days: float) -> tuple[str, str]:
    """A one-time personal sign-in link secret for a volunteer: (secret, expires_at)."""
    with store.transaction():
        person = store.directory.person(person_id)
        if person is None:
            raise NotFound("no such person")
        if person["role"] != "volunteer":
            raise ValidationFailed(fields={"person": ["personal links are for volunteers"]})
        secret = secrets.token_urlsafe(24)
        now = clock.now_ms()
        expires = clock.iso(now + int(days * 86_400_000))
        store.web.add_link(token_hash=secrets_.digest(secret), person=person_id,
                           at=clock.iso(now), expires_at=expires)
        return secret, expires


def link_login(store: Storage, secret: str, *, hours: float) -> str:
    """Exchange a personal link's secret (once) for a session id."""
    if not secret or len(secret) > MAX_SECRET:
        raise LinkInvalid()
    with store.transaction():
        person = store.web.claim_link(secrets_.digest(secret.strip()), clock.iso())
        found = store.directory.person(person) if person else None
        if found is None or not found["active"]:
            raise LinkInvalid()
        return _new_session(store, person, hours)  # type: ignore[arg-type]


def session(store: Storage, sid: str) -> Session | None:
    """The live session for a cookie value; None if unknown, expired or no longer valid."""
    if not sid or len(sid) > MAX_SECRET:
        return None
    row = store.web.session(secrets_.digest(sid))
    if (row is None or row["expires_at"] <= clock.iso() or not row["active"]
            or row["role"] not in WEB_ROLES or (row["token"] and row["token_revoked"])):
        return None
    return Session(person=row["person"], name=row["name"], role=row["role"], shop=row["shop"],
                   community=row["community"], csrf=row["csrf"], id_hash=row["id_hash"])


def end_session(store: Storage, sid: str) -> None:
    with store.transaction():
        store.web.delete_session(secrets_.digest(sid))


# --- per-address throttle (on top of the per-login lock-out) ---------------
def too_many_failures(store: Storage, client: str, per_minute: int) -> bool:
    return store.access.hits(f"web:{client}", clock.now_ms() // 60_000) >= per_minute


def count_failure(store: Storage, client: str) -> None:
    with store.transaction():
        store.access.hit(f"web:{client}", clock.now_ms() // 60_000)
