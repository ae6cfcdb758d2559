"""gridsync client SDK: the reference field client (what a mobile app embeds or mirrors).

A local SQLite store, an outbox of signed changes, the device key, and
``sync()`` with retries. Imports ``sync`` and ``ledger``, never ``server``.
See docs/client.md.
"""

from ledger import VerificationError

from .client import FieldClient
from .errors import (
    AlreadyEnrolled,
    FieldClientError,
    InvalidInput,
    NotEnrolled,
    Offline,
    ProtocolError,
    RequestFailed,
    ServerUnavailable,
    TransportError,
    Unauthorized,
    UnknownRecord,
)
from .retry import RetryPolicy
from .syncer import SyncSummary
from .transport import FlaskTransport, HttpTransport, Transport

__all__ = [
    "AlreadyEnrolled",
    "FieldClient",
    "FieldClientError",
    "FlaskTransport",
    "HttpTransport",
    "InvalidInput",
    "NotEnrolled",
    "ProtocolError",
    "RequestFailed",
    "RetryPolicy",
    "Offline",
    "ServerUnavailable",
    "SyncSummary",
    "Transport",
    "TransportError",
    "Unauthorized",
    "UnknownRecord",
    "VerificationError",
]
