"""Every error the API can answer with, and the one place they become JSON.

Each exception carries its HTTP status and its docs/protocol.md error code. Views and
services raise these; ``init_app`` turns them (and Flask's own
404/405/413/..., webargs validation failures and unexpected exceptions) into
``{"error": {"code", "message", "fields"?}}``. An HTML page or a stack trace
never reaches a client of ``/api``.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, json
from werkzeug.exceptions import HTTPException

from .storage.errors import BUSY, UNAVAILABLE, UNSTORABLE, BackendError, TreeAhead

log = logging.getLogger(__name__)


class ApiError(Exception):
    """Root of every error answered to a client."""

    status = 500
    code = "internal"
    message = "internal error"

    def __init__(self, message: str | None = None, *, fields: dict | None = None,
                 headers: dict[str, str] | None = None):
        super().__init__(message or self.message)
        self.message = message or self.message
        self.fields = fields
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        err: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.fields is not None:
            err["fields"] = self.fields
        return {"error": err}


class ValidationFailed(ApiError):
    """The body or a parameter does not match its schema."""
    status, code, message = 400, "validation", "invalid request"


class MalformedJson(ApiError):
    """The body is not JSON (or not UTF-8, or a bad gzip stream)."""
    status, code, message = 400, "malformed_json", "request body is not valid JSON"


class Unauthenticated(ApiError):
    """No token, an unknown or revoked token, or an inactive person."""
    status, code, message = 401, "unauthenticated", "a valid bearer token is required"


class DeviceRevoked(ApiError):
    """The token belongs to a device an admin revoked."""
    status, code, message = 401, "device_revoked", "this device has been revoked"


class Forbidden(ApiError):
    """The caller's role or grid scope does not allow this."""
    status, code, message = 403, "forbidden", "not allowed for this token"


class CardInvalid(ApiError):
    """The volunteer card code is not the volunteer's current one."""
    status, code, message = 403, "card_invalid", "card code is not valid for this volunteer"


class NotFound(ApiError):
    """No such resource (or not visible to the caller)."""
    status, code, message = 404, "not_found", "not found"


class MethodNotAllowed(ApiError):
    """The path exists but not with this method."""
    status, code, message = 405, "method_not_allowed", "method not allowed"


class IdReused(ApiError):
    """An id that already exists was sent to create something else."""
    status, code, message = 409, "id_reused", "this id is already used"


class InsufficientPoints(ApiError):
    """The operation would take a volunteer's balance below zero."""
    status, code, message = 409, "insufficient_points", "not enough points"


class OutOfStock(ApiError):
    """A catalog item has fewer in stock than asked for (``sku``, ``left``: which, and
    how many remain, for pages that fix the basket)."""
    status, code, message = 409, "out_of_stock", "not enough stock"
    sku: str | None = None
    left: int = 0


class AlreadyReversed(ApiError):
    """The entry has already been reversed once."""
    status, code, message = 409, "already_reversed", "entry already reversed"


class InvalidState(ApiError):
    """The step does not apply to the record's current status (a case's admin or
    resident step)."""
    status, code, message = 409, "invalid_state", "not allowed in the current state"


class CursorExpired(ApiError):
    """The cursor predates the tombstone retention window."""
    status, code, message = 410, "cursor_expired", "cursor expired: sync again from null"


class TooLarge(ApiError):
    """The body (after decompression) is over the size limit."""
    status, code, message = 413, "too_large", "request body too large"


class UnsupportedMediaType(ApiError):
    """The body is not application/json, or its encoding is unknown."""
    status, code, message = 415, "unsupported_media_type", "send application/json"


class RateLimited(ApiError):
    """Too many attempts; the Retry-After header says when to try again."""
    status, code, message = 429, "rate_limited", "too many requests"

    def __init__(self, retry_after: int, message: str | None = None):
        super().__init__(message, headers={"Retry-After": str(max(1, int(retry_after)))})


class Unavailable(ApiError):
    """The database cannot be read or written right now (busy, disk full)."""
    status, code, message = 503, "unavailable", "service temporarily unavailable"

    def __init__(self, message: str | None = None):
        super().__init__(message, headers={"Retry-After": "5"})


ALL_ERRORS: tuple[type[ApiError], ...] = (
    ValidationFailed, MalformedJson, Unauthenticated, DeviceRevoked, Forbidden, CardInvalid,
    NotFound, MethodNotAllowed, IdReused, InsufficientPoints, OutOfStock, AlreadyReversed,
    InvalidState, CursorExpired, TooLarge, UnsupportedMediaType, RateLimited, Unavailable,
)

_HTTP_TO_ERROR: dict[int, type[ApiError]] = {
    400: MalformedJson, 401: Unauthenticated, 403: Forbidden, 404: NotFound,
    405: MethodNotAllowed, 413: TooLarge, 415: UnsupportedMediaType, 503: Unavailable,
}


def error_response(err: ApiError) -> Response:
    resp = Response(json.dumps(err.body()) + "\n", status=err.status, mimetype="application/json")
    for key, value in err.headers.items():
        resp.headers[key] = value
    return resp


def from_http_exception(exc: HTTPException) -> ApiError:
    """Translate werkzeug/webargs HTTP errors into our codes."""
    data = getattr(exc, "data", None) or {}
    messages = data.get("messages") or data.get("errors")
    if exc.code == 422 or (exc.code == 400 and messages):
        return ValidationFailed(fields=_flatten_webargs(messages))
    cls = _HTTP_TO_ERROR.get(exc.code or 500)
    if cls is None:
        err = ApiError(exc.description)
        err.status, err.code = exc.code or 500, (exc.name or "error").lower().replace(" ", "_")
        return err
    valid_methods = getattr(exc, "valid_methods", None)
    if exc.code == 405 and valid_methods:
        return cls(headers={"Allow": ", ".join(sorted(valid_methods))})
    return cls()


def _flatten_webargs(messages: Any) -> dict | None:
    """webargs nests messages under the location ("json", "query"); drop that level."""
    if not isinstance(messages, dict):
        return None
    if len(messages) == 1:
        (inner,) = messages.values()
        if isinstance(inner, dict):
            return inner
    return messages


def from_database_error(exc: BackendError) -> ApiError:
    if exc.kind == BUSY:
        return Unavailable("database busy, retry shortly")
    if exc.kind == UNAVAILABLE:
        log.error("storage unavailable: %s", exc)
        return Unavailable("storage unavailable, retry later")
    if exc.kind == UNSTORABLE:  # nothing was written: the transaction is rolled back
        return ValidationFailed("text must not contain a NUL character")
    log.exception("database error")
    return ApiError()


def init_app(app: Flask) -> None:
    @app.errorhandler(ApiError)
    def _api_error(err: ApiError) -> Response:
        return error_response(err)

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> Response:
        return error_response(from_http_exception(exc))

    @app.errorhandler(BackendError)
    def _db_error(exc: BackendError) -> Response:
        return error_response(from_database_error(exc))

    @app.errorhandler(TreeAhead)
    def _tree_ahead(exc: TreeAhead) -> Response:
        # Entries were removed behind the server's back: fail closed, loudly.
        log.error("ledger refuses to append: %s", exc)
        return error_response(Unavailable(
            f"{exc}; no entry is written until an operator runs `gridsync ledger verify`"))

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Response:
        log.exception("unexpected error")
        return error_response(ApiError())
