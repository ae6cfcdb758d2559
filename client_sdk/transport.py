"""Transports: how the field client reaches a server.

A transport has two methods, both returning ``(status, headers, body)``
where ``headers`` has lower-case names and ``body`` is the parsed JSON (None
when the answer is not JSON)::

    post(path, body, token=None)
    get(path, token=None, params=None)

``path`` is relative to ``/api/v1`` (``"/sync"``). A transport raises
``TransportError`` when no HTTP answer came (refused, reset, timed out, a
body that is not the JSON it claims to be); it never retries: ``FieldClient``
owns the retry policy. Anything with these two methods works, which is how
tests inject dropped responses, 429s and 503s.
"""

from __future__ import annotations

import gzip
from collections.abc import Mapping
from typing import Any, Protocol

import orjson
import requests

from .errors import TransportError

API_PREFIX = "/api/v1"
#: Request bodies larger than this are sent gzip-compressed.
GZIP_MIN_BYTES = 1024

Answer = tuple[int, dict[str, str], Any]


class Transport(Protocol):
    def post(self, path: str, body: Any, token: str | None = None) -> Answer: ...

    def get(self, path: str, token: str | None = None,
            params: Mapping[str, Any] | None = None) -> Answer: ...


def encode_body(body: Any) -> tuple[bytes, dict[str, str]]:
    """JSON bytes and headers; gzip when the JSON is over ``GZIP_MIN_BYTES``."""
    data = orjson.dumps(body)
    headers = {"Content-Type": "application/json"}
    if len(data) > GZIP_MIN_BYTES:
        data = gzip.compress(data, compresslevel=5)
        headers["Content-Encoding"] = "gzip"
    return data, headers


def _auth(token: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"} if token else {}


def _json(raw: bytes, content_type: str) -> Any:
    if not raw or "json" not in content_type:
        return None
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise TransportError(f"answer is not valid JSON ({exc})") from None


def api_base(server_url: str) -> str:
    """``http://host:8000`` or ``http://host:8000/api/v1`` → the latter, without a trailing /."""
    url = server_url.rstrip("/")
    return url if url.endswith(API_PREFIX) else url + API_PREFIX


_REASONS = (
    ("refused", "the server refused the connection (is it running?)"),
    ("resolve", "the server's name cannot be found (no network, or a wrong address)"),
    ("name or service not known", "the server's name cannot be found (no network, or a "
                                  "wrong address)"),
    ("unreachable", "no network route to the server"),
    ("no route", "no network route to the server"),
)


def _no_answer(base_url: str, exc: requests.RequestException) -> TransportError:
    """A TransportError saying in plain words why ``base_url`` gave no answer;
    ``unreachable`` when no connection could be made at all (offline)."""
    server = base_url.removesuffix(API_PREFIX)
    if isinstance(exc, requests.ConnectionError) and not isinstance(exc, requests.ReadTimeout):
        text = str(exc).lower()
        if isinstance(exc, requests.ConnectTimeout):
            reason = "no answer to the connection attempt (no network?)"
        else:
            reason = next((r for key, r in _REASONS if key in text),
                          "the connection could not be made")
        return TransportError(f"cannot reach {server}: {reason}", unreachable=True)
    if isinstance(exc, requests.Timeout):
        return TransportError(f"{server} did not answer in time")
    return TransportError(f"no answer from {server}: {type(exc).__name__}")


class HttpTransport:
    """HTTP through ``requests``: one pooled session, gzip request bodies, timeouts.

    ``timeout`` is ``(connect, read)`` seconds. Responses are asked for gzip
    (requests sends ``Accept-Encoding: gzip`` and decodes it).
    """

    def __init__(self, base_url: str, *, timeout: tuple[float, float] = (5.0, 120.0),
                 session: requests.Session | None = None):
        self.base_url = api_base(base_url)
        self.timeout = timeout
        self.session = session or requests.Session()
        self.session.headers.setdefault("User-Agent", "gridsync-field/1")

    def _answer(self, resp: requests.Response) -> Answer:
        headers = {k.lower(): v for k, v in resp.headers.items()}
        return resp.status_code, headers, _json(resp.content, headers.get("content-type", ""))

    def post(self, path: str, body: Any, token: str | None = None) -> Answer:
        data, headers = encode_body(body)
        try:
            resp = self.session.post(self.base_url + path, data=data,
                                     headers={**headers, **_auth(token)}, timeout=self.timeout)
            return self._answer(resp)
        except requests.RequestException as exc:
            raise _no_answer(self.base_url, exc) from None

    def get(self, path: str, token: str | None = None,
            params: Mapping[str, Any] | None = None) -> Answer:
        try:
            resp = self.session.get(self.base_url + path, params=params, headers=_auth(token),
                                    timeout=self.timeout)
            return self._answer(resp)
        except requests.RequestException as exc:
            raise _no_answer(self.base_url, exc) from None

    def close(self) -> None:
        self.session.close()


class FlaskTransport:
    """In-process, through ``app.test_client()``: no sockets, same bytes on the wire.

    Takes any Flask app (the client never imports the server package).
    """

    def __init__(self, app: Any, prefix: str = API_PREFIX):
        self.client = app.test_client()
        self.prefix = prefix

    def _answer(self, resp: Any) -> Answer:
        headers = {k.lower(): v for k, v in resp.headers.items()}
        return resp.status_code, headers, _json(resp.get_data(), headers.get("content-type", ""))

    def post(self, path: str, body: Any, token: str | None = None) -> Answer:
        data, headers = encode_body(body)
        resp = self.client.post(self.prefix + path, data=data, headers={**headers, **_auth(token)})
        return self._answer(resp)

    def get(self, path: str, token: str | None = None,
            params: Mapping[str, Any] | None = None) -> Answer:
        resp = self.client.get(self.prefix + path, query_string=dict(params or {}),
                               headers=_auth(token))
        return self._answer(resp)
