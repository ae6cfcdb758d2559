"""Retries: 429 and 503 with Retry-After honoured, bounded backoff, then a clear error."""

from __future__ import annotations

import pytest

from client_sdk import (
    FieldClient,
    FlaskTransport,
    HttpTransport,
    Offline,
    RetryPolicy,
    ServerUnavailable,
    Unauthorized,
)
from client_sdk.retry import retry_after_seconds
from tests.client.client_support import Inject, error
from tests.helpers import free_port


def test_429_and_503_wait_at_least_retry_after_then_succeed(make_field, app, sleeps):
    link = Inject(FlaskTransport(app), [])
    client = make_field("w1", transport=link)
    client.add_household("g1", address="1 号")
    link.answers = [error(429, "rate_limited", "7"), error(503, "unavailable", "2")]
    summary = client.sync()
    assert summary.applied == 1 and client.pending_count() == 0
    assert link.injected == 2 and len(sleeps) == 2
    assert 7 <= sleeps[0] <= 7.7 and 2 <= sleeps[1] <= 2.2


def test_retry_after_as_an_http_date_is_honoured():
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412470.0) == 10.0
    assert retry_after_seconds("120") == 120.0
    assert retry_after_seconds("soon") is None and retry_after_seconds(None) is None


def test_persistent_503_gives_up_after_bounded_retries_and_keeps_the_outbox(make_field, app,
                                                                            sleeps):
    link = Inject(FlaskTransport(app), [])
    client = make_field("w1", transport=link)
    for i in range(3):
        client.add_household("g1", address=f"{i} 号")
    link.answers = [error(503, "unavailable")] * 6
    with pytest.raises(ServerUnavailable, match=r"unreachable after 6 attempts \(last: HTTP "
                                                r"503 unavailable\); nothing was lost") as info:
        client.sync()
    assert info.value.status == 503
    assert len(sleeps) == 5
    # Equal jitter, doubling from 0.5 s: each delay within [d/2, d], d = 0.5, 1, 2, 4, 8.
    for attempt, delay in enumerate(sleeps):
        d = min(30.0, 0.5 * 2**attempt)
        assert d / 2 <= delay <= d
    assert client.pending_count() == 3 and client.households()[0]["pending"] == 1
    assert client.sync().applied == 3


def test_backoff_is_capped():
    policy = RetryPolicy(random=lambda: 1.0)
    assert [policy.backoff(n) for n in (0, 1, 10, 50)] == [0.5, 1.0, 30.0, 30.0]


def test_a_retry_after_too_long_to_wait_fails_at_once(make_field, app, sleeps):
    link = Inject(FlaskTransport(app), [])
    client = make_field("w1", transport=link)
    link.answers = [error(429, "rate_limited", "3600")]
    with pytest.raises(ServerUnavailable, match="retry after 3600 s"):
        client.sync()
    assert sleeps == []


def test_unreachable_server_is_a_clear_error(make_field, tmp_path, sleeps):
    client = make_field("w1")
    client._transport = HttpTransport(f"http://127.0.0.1:{free_port()}", timeout=(0.5, 1))
    with pytest.raises(Offline, match="cannot reach .*refused the connection.*offline"):
        client.sync()
    assert len(sleeps) == 1     # one quick second try, then say so (not 5 back-offs)


def test_a_revoked_device_is_told_so_without_retries(make_field, api, sleeps):
    client = make_field("w1")
    client.add_household("g1")
    api.ok(api.post(f"/devices/{client.device_id}/revoke"))
    with pytest.raises(Unauthorized, match="401 device_revoked"):
        client.sync()
    assert sleeps == [] and client.pending_count() == 1


def test_enrolment_with_a_used_code_says_what_to_do(app, api, world, tmp_path, sleeps):
    code = api.ok(api.post("/enrollments", {"person": "w1"}), 201)["code"]
    first = FieldClient(tmp_path / "a", FlaskTransport(app), retry=RetryPolicy(sleep=sleeps))
    first.enroll("http://in-process", code, "a")
    second = FieldClient(tmp_path / "b", FlaskTransport(app), retry=RetryPolicy(sleep=sleeps))
    with pytest.raises(Unauthorized, match="unknown, used or expired"):
        second.enroll("http://in-process", code, "b")
    assert not second.enrolled and not (tmp_path / "b" / "device.key").exists()
