"""Request bodies: gzip decoding with a bound, strict JSON parsing.

Runs before every /api view so that views and schemas only ever see a parsed
``g.body``. Floats are kept as floats (schemas reject them), NaN/Infinity and
duplicate keys are malformed, and the size limit holds after decompression
(a gzip bomb is a 413, not an out-of-memory).
"""

from __future__ import annotations

import gzip
import json
import re
import zlib
from typing import Any

from flask import Response, g, request

from primitives import strict_json

from .config import settings
from .errors import MalformedJson, TooLarge, UnsupportedMediaType

NO_BODY = object()  # g.body when the request has no body (unlike a JSON null)


_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


def parse_json(raw: bytes) -> Any:
    try:
        text = raw.decode("utf-8")
        value = strict_json.loads(text)
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


def load_body() -> None:
    """before_request hook: sets ``g.body`` to the parsed JSON, or NO_BODY when
    there is none (API only: the web pages post ordinary forms). A JSON ``null``
    body is a body, and fails validation like any other non-object."""
    g.body = NO_BODY
    if request.method not in ("POST", "PUT", "PATCH") or not request.path.startswith("/api/"):
        return
    limit = settings().max_body_bytes
    if request.content_length is not None and request.content_length > limit:
        raise TooLarge(f"request body over {limit} bytes")
    raw = request.get_data(cache=True)
    if request.content_length is None and len(raw) >= limit:
        # A streamed (chunked) body is cut at the limit by werkzeug, silently: a body
        # that reaches the limit is taken to be over it rather than parsed truncated.
        raise TooLarge(f"request body over {limit} bytes")
    encoding = request.headers.get("Content-Encoding", "identity").strip().lower()
    if encoding == "gzip":
        raw = gunzip(raw, limit)
    elif encoding not in ("", "identity"):
        raise UnsupportedMediaType(f"unsupported Content-Encoding {encoding!r}: use gzip")
    if not raw.strip():
        return
    if request.mimetype != "application/json":
        raise UnsupportedMediaType("send the body as application/json")
    g.body = parse_json(raw)


COMPRESS_MIN_BYTES = 1024


def compress_response(resp: Response) -> Response:
    """after_request hook: gzip JSON answers for clients that send Accept-Encoding: gzip."""
    resp.vary.add("Accept-Encoding")
    if (resp.direct_passthrough or resp.is_streamed or resp.status_code < 200
            or resp.status_code in (204, 304) or "Content-Encoding" in resp.headers
            or resp.mimetype != "application/json"
            or request.accept_encodings["gzip"] <= 0):
        return resp
    data = resp.get_data()
    if len(data) < COMPRESS_MIN_BYTES:
        return resp
    resp.set_data(gzip.compress(data, compresslevel=5))
    resp.headers["Content-Encoding"] = "gzip"
    return resp
