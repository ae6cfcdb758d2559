"""Request bodies: gzip decoding with a bound, strict JSON parsing.

Views and schemas only ever see the parsed body (``request_json``), which is
read on first use: after the token check on every authenticated endpoint.
Floats are kept as floats (schemas reject them), NaN/Infinity and duplicate
keys are malformed, and the size limit holds after decompression (a gzip
bomb is a 413, not an out-of-memory).
"""

from __future__ import annotations

import json
import re
import zlib
from typing import Any

from flask import Response, request
from zlib_ng import gzip_ng

from primitives import strict_json

from .config import settings
from .context import current_g, current_request
from .errors import MalformedJson, TooLarge, UnsupportedMediaType

NO_BODY = object()  # g.body when the request has no body (unlike a JSON null)


_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


def parse_json(raw: bytes) -> Any:
    try:
        value = strict_json.loads(raw)
        if _SURROGATE_ESCAPE.search(raw):
            # "\ud800" alone is valid JSON syntax but no Unicode text: it cannot be stored
            # or sent back as UTF-8. (Paired escapes decode to one code point and pass.)
            json.dumps(value, ensure_ascii=False).encode("utf-8")
        return value
    except UnicodeEncodeError:
        raise MalformedJson("request body is not valid JSON: lone surrogate escape") from None
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise MalformedJson(f"request body is not valid JSON: {str(exc)[:120]}") from None


def gunzip(raw: bytes, limit: int) -> bytes:
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    try:
        out = inflater.decompress(raw, limit + 1)
        if len(out) > limit or inflater.unconsumed_tail:
            raise TooLarge(f"request body over {limit} bytes after decompression")
        if not inflater.eof:
            raise MalformedJson("truncated gzip body")
        if inflater.unused_data:
            raise MalformedJson("data after the end of the gzip stream")
    except zlib.error:
        raise MalformedJson("invalid gzip body") from None
    return out


def check_length() -> None:
    """before_request hook (API only): refuse a body whose declared length is over
    the limit. Only the header is read: the body itself is read and parsed on
    first use (``request_json``), which for every endpoint with a token happens
    after the token was checked (``server.auth.require``), so an unauthenticated
    caller never makes the server read or parse a body."""
    req = current_request()
    if req.method not in ("POST", "PUT", "PATCH") or not req.path.startswith("/api/"):
        return
    limit = settings().max_body_bytes
    if req.content_length is not None and req.content_length > limit:
        raise TooLarge(f"request body over {limit} bytes")


def request_json() -> Any:
    """The request's parsed JSON body, or NO_BODY when there is none (API only:
    the web pages post ordinary forms). Parsed once per request, on first call.
    A JSON ``null`` body is a body, and fails validation like any other non-object."""
    ctx = current_g()
    if "json_body" not in ctx:
        ctx.json_body = _read_json()
    return ctx.json_body


def _read_json() -> Any:
    req = current_request()
    if req.method not in ("POST", "PUT", "PATCH") or not req.path.startswith("/api/"):
        return NO_BODY
    check_length()
    limit = settings().max_body_bytes
    raw = req.get_data(cache=True)
    if req.content_length is None and len(raw) >= limit:
        # A streamed (chunked) body is cut at the limit by werkzeug, silently: a body
        # that reaches the limit is taken to be over it rather than parsed truncated.
        raise TooLarge(f"request body over {limit} bytes")
    encoding = req.headers.get("Content-Encoding", "identity").strip().lower()
    if encoding == "gzip":
        raw = gunzip(raw, limit)
    elif encoding not in ("", "identity"):
        raise UnsupportedMediaType(f"unsupported Content-Encoding {encoding!r}: use gzip")
    if not raw.strip():
        return NO_BODY
    if req.mimetype != "application/json":
        raise UnsupportedMediaType("send the body as application/json")
    return parse_json(raw)


COMPRESS_MIN_BYTES = 1024

COMPRESS_LEVEL = 5
"""zlib-ng's level 5: pulled pages come out a little smaller than the standard zlib's
level 5 made them, for less than half its CPU (a fifth of a pulled page's CPU went to
zlib). Level 1 would halve the CPU again but is zlib-ng's quick strategy, half as big
again on the wire; field devices are on weak links. Measured on the 50,000 households
of bench/initial_pull.py in pages of 5,000 (15.9 MB of JSON; CPU, bytes): level 1
19 ms, 2.70 MB; 2: 27 ms, 1.82 MB; 3: 37 ms, 1.79 MB; 4: 42 ms, 1.81 MB; 5: 46 ms,
1.69 MB; 6: 61 ms, 1.65 MB (memLevel 9 or the filtered strategy moved neither by more
than 3 %). Once pulls read stored views this is about a fifth of a pull's server CPU;
level 2 would save 19 ms of it for 7 % more bytes on every phone's first sync."""


def compress_response(resp: Response) -> Response:
    """after_request hook: gzip JSON answers for clients that send Accept-Encoding: gzip.

    The gzip stream is zlib-ng's: the same format (RFC 1952) any gzip decoder reads,
    not the same bytes as Python's own zlib would write (nothing pins those)."""
    if "Vary" in resp.headers:
        resp.vary.add("Accept-Encoding")
    else:  # the usual answer: set the header rather than parse an empty one and write it back
        resp.headers["Vary"] = "Accept-Encoding"
    if (resp.direct_passthrough or resp.is_streamed or resp.status_code < 200
            or resp.status_code in (204, 304) or "Content-Encoding" in resp.headers
            or resp.mimetype != "application/json"
            or request.accept_encodings["gzip"] <= 0):
        return resp
    data = resp.get_data()
    if len(data) < COMPRESS_MIN_BYTES:
        return resp
    resp.set_data(gzip_ng.compress(data, compresslevel=COMPRESS_LEVEL))
    resp.headers["Content-Encoding"] = "gzip"
    return resp
