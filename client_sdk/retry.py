"""Bounded retries: network errors, 5xx (503 included) and 429, honouring Retry-After.

A connection that cannot be made at all (offline, server down) is tried twice and
then reported as ``Offline`` at once, instead of backing off for many seconds.

The delay before retry ``n`` (0-based) is ``d/2 + U(0, d/2)`` with
``d = min(cap, base × 2**n)`` ("equal jitter": never zero, never above the
cap). When the server sends ``Retry-After`` the client waits at least that
long (plus up to 10 % jitter so a crowd of phones does not come back in step);
a ``Retry-After`` above ``max_retry_after`` is not waited for: the call fails
at once with ``ServerUnavailable`` saying when to come back.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime

from .errors import Offline, ServerUnavailable, TransportError, error_code
from .transport import Answer

#: Tries when no connection can be made at all: one quick second try covers a blip;
#: more only keep a person waiting in silence while offline.
UNREACHABLE_ATTEMPTS = 2


@dataclass
class RetryPolicy:
    attempts: int = 6
    base: float = 0.5
    cap: float = 30.0
    max_retry_after: float = 300.0
    sleep: Callable[[float], None] = time.sleep
    random: Callable[[], float] = field(default_factory=lambda: random.random)

    def backoff(self, attempt: int) -> float:
        delay = min(self.cap, self.base * 2**attempt)
        return delay / 2 + self.random() * delay / 2


def retry_after_seconds(value: str | None, now: float | None = None) -> float | None:
    """Retry-After as seconds: delta-seconds or an HTTP date; None if absent or unreadable."""
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError, IndexError):
        return None
    return max(0.0, when - (time.time() if now is None else now))


def retryable(status: int) -> bool:
    return status == 429 or status >= 500


def call_with_retries(policy: RetryPolicy, what: str, fn: Callable[[], Answer]) -> Answer:
    """Call ``fn`` until it answers with a status that is not retryable.

    Returns that answer; raises ``ServerUnavailable`` after ``policy.attempts``
    tries (or at once for a Retry-After too long to wait).
    """
    last_status: int | None = None
    last_problem = ""
    for attempt in range(policy.attempts):
        try:
            status, headers, body = fn()
        except TransportError as exc:
            last_status, last_problem = None, str(exc)
            if exc.unreachable and attempt + 1 >= min(UNREACHABLE_ATTEMPTS, policy.attempts):
                raise Offline(f"{what}: {exc}. You seem to be offline; nothing was lost: "
                              "recorded changes stay on this device until the next sync") \
                    from None
            delay = policy.backoff(attempt)
        else:
            if not retryable(status):
                return status, headers, body
            last_status = status
            code = error_code(body)
            last_problem = f"HTTP {status}" + (f" {code}" if code else "")
            wait = retry_after_seconds(headers.get("retry-after"))
            if wait is not None and wait > policy.max_retry_after:
                raise ServerUnavailable(
                    f"{what}: server busy ({last_problem}); it asks to retry after "
                    f"{wait:.0f} s", status)
            delay = (wait + policy.random() * wait * 0.1) if wait is not None \
                else policy.backoff(attempt)
        if attempt + 1 < policy.attempts:
            policy.sleep(delay)
    raise ServerUnavailable(
        f"{what}: server unreachable after {policy.attempts} attempts (last: {last_problem}); "
        "nothing was lost, sync again later", last_status)
