"""Sync endpoint (worker and volunteer devices)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import orjson
from flask import Response, g

from sync.schemas import SyncRequestSchema, SyncResponseSchema
from sync.wire import MAX_CHANGES

from ..auth import require
from ..body import request_json
from ..config import settings
from ..errors import TooLarge
from ..services import sync as sync_service
from ..state import signer, storage
from .blueprint import Blueprint

bp = Blueprint("sync", __name__, description="Offline sync: push changes, pull your scope")

SYNC_REQUEST = SyncRequestSchema()
"""One instance: given the class, webargs would build (and deep-copy the fields of) a
new schema on every sync, about a fifth of a small sync's Flask time."""


def _at_most_max_changes(view: Callable) -> Callable:
    """413 before the schema looks at a single change: one request's cost is bounded
    by ``MAX_CHANGES``, however small each junk change is."""

    @functools.wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        body = request_json()
        changes = body.get("changes") if isinstance(body, dict) else None
        if isinstance(changes, list) and len(changes) > MAX_CHANGES:
            raise TooLarge(f"at most {MAX_CHANGES} changes per request; split the outbox")
        return view(*args, **kwargs)

    return wrapped


@bp.route("/sync", methods=["POST"])
@require("worker", "volunteer")
@_at_most_max_changes
@bp.arguments(SYNC_REQUEST)
@bp.alt_response(200, schema=SyncResponseSchema, success=True)
def sync(data):
    """Push changes (results per change, in order), then pull records since the cursor.

    Dumped with orjson rather than marshmallow: a page holds up to 5,000 records.
    """
    cfg = settings()
    out = sync_service.sync(storage(), g.who, data, signer=signer(),
                            max_skew_ms=cfg.max_clock_skew_ms, pull_max_bytes=cfg.pull_max_bytes)
    # OPT_NON_STR_KEYS: a list item's field errors are keyed by its index ("0"), not 0.
    return Response(orjson.dumps(out, option=orjson.OPT_NON_STR_KEYS),
                    mimetype="application/json")
