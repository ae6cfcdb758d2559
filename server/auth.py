"""Bearer-token authentication and role checks.

``@require("admin", "auditor")`` on a view: the token must exist, not be
revoked, belong to an active person with one of the roles, and, for a
device token, to a device that is not revoked. The principal is ``g.who``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import g, request

from . import secrets_
from .body import request_json
from .errors import DeviceRevoked, Forbidden, Unauthenticated
from .state import storage

ROLES = ("admin", "worker", "volunteer", "shop", "auditor")


@dataclass(frozen=True)
class Principal:
    person: str
    role: str
    token_id: str
    device: str | None
    public_key: str | None
    shop: str | None
    community: str | None


def authenticate() -> Principal:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("send Authorization: Bearer <token>")
    parts = secrets_.split_token(token.strip())
    row = storage().access.token_principal(parts[0]) if parts else None
    if parts is None or row is None or not secrets_.same(parts[1], row["secret_hash"]):
        raise Unauthenticated("unknown token")
    if row["token_revoked"]:
        raise Unauthenticated("token revoked")
    if row["device"] and row["device_revoked"]:
        raise DeviceRevoked()
    if not row["active"]:
        raise Unauthenticated("this person is inactive")
    return Principal(person=row["person"], role=row["role"], token_id=row["token_id"],
                     device=row["device"], public_key=row["public_key"], shop=row["shop"],
                     community=row["community"])


def require(*roles: str) -> Callable:
    """Decorator: authenticate, then allow only the given roles (all roles if none).

    Only then is the body read and parsed (a malformed one is still refused here,
    even by views that take none): the token is a header, so a caller without
    one costs no parsing. Put it above ``@bp.arguments``."""

    def decorator(view: Callable) -> Callable:
        @functools.wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            who = g.who = authenticate()  # known before any refusal, for the logs
            if roles and who.role not in roles:
                raise Forbidden(f"role {who.role!r} may not do this")
            request_json()
            return view(*args, **kwargs)

        wrapped.required_roles = roles  # type: ignore[attr-defined]
        return wrapped

    return decorator
