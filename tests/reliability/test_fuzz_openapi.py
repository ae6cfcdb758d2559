"""schemathesis against /api/v1/openapi.json, in-process (WSGI): every operation gets
generated (valid and invalid) inputs with an admin token; no answer is a 5xx and every
error answer is the protocol's JSON error shape. Bounded by max_examples (GRIDSYNC_FUZZ_EXAMPLES,
default 8 per operation) so the whole run stays well under a minute."""

from __future__ import annotations

import gzip
import json
import os

import pytest

schemathesis = pytest.importorskip("schemathesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis.errors import Unsatisfiable  # noqa: E402
from schemathesis import GenerationMode  # noqa: E402

EXAMPLES = int(os.environ.get("GRIDSYNC_FUZZ_EXAMPLES", "8"))


def body_text(resp) -> str:
    """The answer's body as text: the in-process (WSGI) transport does not undo the
    server's gzip, which every JSON answer of 1 KiB or more gets when the client (here
    schemathesis) accepts it."""
    raw = resp.content
    if "gzip" in resp.headers.get("content-encoding", []):
        raw = gzip.decompress(raw)
    return raw.decode("utf-8", errors="replace")


# Bounded by examples, not by the clock: on a loaded machine the run outlasts the suite's
# default timeout, and pytest-timeout's exception inside hypothesis reads as a flaky strategy.
@pytest.mark.timeout(1200)
def test_no_server_errors_and_errors_are_json(app, api, world):
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    failures: list[str] = []
    calls = {"n": 0}
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 20

    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
                      suppress_health_check=list(HealthCheck), database=None)
            def check(case):
                case.headers = {**(case.headers or {}), "Authorization": f"Bearer {api.token}"}
                resp = case.call()
                calls["n"] += 1
                where = f"{case.method} {case.formatted_path} {str(case.body)[:200]}"
                text = body_text(resp)
                if resp.status_code >= 500:
                    failures.append(f"{where} -> {resp.status_code} {text[:300]}")
                elif resp.status_code >= 400:
                    try:
                        err = json.loads(text)["error"]
                        assert isinstance(err["code"], str) and isinstance(err["message"], str)
                    except Exception:  # noqa: BLE001 - reported below with the request
                        failures.append(f"{where} -> {resp.status_code} not a JSON error: "
                                        f"{text[:200]}")

            try:
                check()
            except Unsatisfiable:  # nothing to make invalid (no parameters, no body)
                pass
    print(f"schemathesis: {len(operations)} operations, {calls['n']} requests")
    assert not failures, "\n".join(failures[:20])
