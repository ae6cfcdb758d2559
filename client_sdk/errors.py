"""The field client's exceptions: one root, small subclasses carrying data.

Ledger verification failures are ``ledger.VerificationError`` (re-exported by
``client_sdk``), not a subclass of ``FieldClientError``: one error type for
every verification failure, whoever verifies.
"""

from __future__ import annotations

from typing import Any


class FieldClientError(Exception):
    """Root of every error the field client raises (its message is user-facing)."""


class NotEnrolled(FieldClientError):
    """The data dir holds no device key or config: enrol first."""

    def __init__(self, message: str = "this device is not enrolled: run `gridsync field "
                 "enroll URL CODE` first"):
        super().__init__(message)


class AlreadyEnrolled(FieldClientError):
    """``enroll`` on a data dir that already holds a device."""


class InvalidInput(FieldClientError):
    """A local edit does not satisfy the protocol's rules; nothing was recorded.

    ``fields`` holds marshmallow-shaped messages (field → list of messages)
    when the check came from the change schema.
    """

    def __init__(self, message: str, fields: dict[str, Any] | None = None):
        super().__init__(message)
        self.fields = fields


class UnknownRecord(FieldClientError):
    """An edit names a record this device does not hold."""


class TransportError(FieldClientError):
    """The request did not get an HTTP answer (refused, reset, timed out, garbled).

    ``unreachable``: no connection could be made at all (offline, server down,
    wrong address), which retrying at once rarely cures.
    """

    def __init__(self, message: str, *, unreachable: bool = False):
        super().__init__(message)
        self.unreachable = unreachable


class ServerUnavailable(FieldClientError):
    """The server stayed unreachable, overloaded or failing after bounded retries.

    ``status`` is the last HTTP status (None when the last try got no answer).
    Nothing acknowledged is lost: the outbox keeps every unacknowledged change.
    """

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.status = status


class Offline(ServerUnavailable):
    """No connection to the server could be made: the phone is offline or the server
    is down. Nothing is lost: recorded changes wait in the outbox."""

    def __init__(self, message: str):
        super().__init__(message, None)


class RequestFailed(FieldClientError):
    """The server answered with an error that retrying will not fix.

    ``status`` is the HTTP status, ``code`` and ``message`` the protocol's
    error object, ``fields`` its field messages (validation only).
    """

    def __init__(self, status: int, code: str, message: str,
                 fields: dict[str, Any] | None = None):
        super().__init__(f"server refused the request ({status} {code}): {message}")
        self.status = status
        self.code = code
        self.server_message = message
        self.fields = fields


class Unauthorized(RequestFailed):
    """401: the device was revoked or its token is no longer valid: enrol again."""


class ProtocolError(FieldClientError):
    """The server's answer does not follow the protocol (a bug on one side)."""


def error_object(data: Any) -> dict[str, Any] | None:
    """The protocol's ``error`` object of an answer body, if it has one."""
    error = data.get("error") if isinstance(data, dict) else None
    return error if isinstance(error, dict) else None


def error_code(data: Any) -> str | None:
    error = error_object(data)
    return None if error is None else error.get("code")


def raise_for(status: int, data: Any) -> None:
    """Turn an error answer into ``RequestFailed`` (``Unauthorized`` for 401)."""
    error = error_object(data)
    if error is None:
        raise RequestFailed(status, "http_error", f"HTTP {status} without an error body")
    cls = Unauthorized if status == 401 else RequestFailed
    raise cls(status, str(error.get("code")), str(error.get("message")), error.get("fields"))
