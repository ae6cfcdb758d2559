"""Tokens, device enrolment and revocation."""

from __future__ import annotations

import functools

from sync.crypto import check_public_key
from sync.errors import ChangeRejected
from sync.signing import verify_enrolment_proof

from .. import clock, secrets_
from ..errors import NotFound, RateLimited, Unauthenticated, ValidationFailed
from ..storage import Storage
from .admin_scope import AdminScope
from .anchors import first_key
from .sync.policy import abilities


def issue_token(store: Storage, person_id: str, device: str | None = None) -> tuple[str, str]:
    """(token id, token) for a person; the token is shown once and stored hashed."""
    with store.transaction():
        if store.directory.person(person_id) is None:
            raise NotFound(f"no such person {person_id!r}")
        token_id, token, secret_hash = secrets_.new_token()
        store.access.add_token(id=token_id, person=person_id, device=device,
                               secret_hash=secret_hash, at=clock.iso())
        return token_id, token


def revoke_token(store: Storage, token_id: str) -> bool:
    with store.transaction():
        return store.access.revoke_token(token_id, clock.iso())


def check_enroll_rate(store: Storage, client: str, per_minute: int) -> None:
    window = clock.now_ms() // 60_000
    if store.access.hits(f"enroll:{client}", window) >= per_minute:
        raise RateLimited(60 - (clock.now_ms() // 1000) % 60,
                          "too many failed enrolment attempts; wait a minute")


def _failed(store: Storage, client: str) -> None:
    with store.transaction():
        store.access.hit(f"enroll:{client}", clock.now_ms() // 60_000)


def enroll(store: Storage, data: dict, *, client: str, per_minute: int) -> dict:
    """Exchange a one-time code plus proof of key possession for a device token."""
    check_enroll_rate(store, client, per_minute)
    code = data["code"].strip().upper()
    try:
        check_public_key(data["public_key"])
    except ValueError as exc:
        _failed(store, client)
        raise ValidationFailed(f"public_key: {exc}", fields={"public_key": [str(exc)]}) from None
    try:
        verify_enrolment_proof(data["code"], data["public_key"], data["proof"])
    except ChangeRejected:
        _failed(store, client)
        raise ValidationFailed("proof is not the key's signature over the code",
                               fields={"proof": ["bad signature"]}) from None
    try:
        with store.transaction():
            person_id = store.access.claim_enrollment(secrets_.digest(code), clock.iso())
            if person_id is None:
                raise Unauthenticated("unknown, used or expired enrolment code")
            person = store.directory.person(person_id)
            if person is None or not person["active"]:
                # Rolls the claim back: the code works again once the person is reactivated.
                raise Unauthenticated("this person is inactive")
            device_id = secrets_.new_id("dev_")
            store.access.add_device(id=device_id, person=person_id, name=data["name"],
                                    public_key=data["public_key"], at=clock.iso())
            token_id, token, secret_hash = secrets_.new_token()
            store.access.add_token(id=token_id, person=person_id, device=device_id,
                                   secret_hash=secret_hash, at=clock.iso())
    except Unauthenticated:
        _failed(store, client)
        raise
    return {"device_id": device_id, "token": token, "person": person_id,
            "role": person["role"], "grids": person["grids"],
            "ledger_key": first_key(store)}


def device_self(store: Storage, person_id: str, role: str) -> dict:
    """What a worker's or volunteer's device shows of its own person (``GET /me``):
    their name, role and grids now, the names of the grids they reach (their own,
    those under and above them: a household's grid, their community) and what
    their role may do (``policy.abilities``)."""
    with store.snapshot():
        person = store.directory.person(person_id)
        reach = store.directory.reach(person_id)
        seen = reach.below | reach.above
        names = {g["id"]: g["name"] for g in store.directory.grids() if g["id"] in seen}
    if person is None:
        raise NotFound("no such person")
    return {"person": person_id, "name": person["name"], "role": role,
            "grids": person["grids"], "grid_names": names, "may": abilities(role)}


@functools.lru_cache(maxsize=4096)
def key_weakness(public_key: str) -> str | None:
    """Why a stored device key is weak (``check_public_key``: small order or not
    canonical), or None. Enrolment refuses such keys; a device enrolled before that
    check existed may still hold one, and any signature "verifies" under it."""
    try:
        check_public_key(public_key)
    except ValueError as exc:
        return str(exc)
    return None


def _device(row: dict) -> dict:
    weakness = key_weakness(row["public_key"])
    return {**row, "revoked": row["revoked_at"] is not None, "weak_key": weakness is not None,
            "weak_key_reason": weakness}


def list_devices(store: Storage, scope: AdminScope) -> list[dict]:
    """Every device of the people within the admin's reach, with ``weak_key`` (and why)
    for those to revoke and enrol again."""
    devices = store.access.devices()
    if not scope.district:
        mine = {p["id"] for p in scope.people(store.directory.people())}
        devices = [d for d in devices if d["person"] in mine]
    return [_device(d) for d in devices]


def revoke_device(store: Storage, device_id: str, scope: AdminScope) -> dict:
    with store.transaction():
        device = store.access.device(device_id)
        if device is None or not scope.person(store.directory.person(device["person"])):
            raise NotFound("no such device")
        store.access.revoke_device(device_id, clock.iso())
        device = store.access.device(device_id)
    return _device(device)  # type: ignore[arg-type]
