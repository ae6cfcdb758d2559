"""Sync endpoint (worker and volunteer devices)."""

from __future__ import annotations

import orjson
from flask import Response, g

from sync.schemas import SyncRequestSchema, SyncResponseSchema

from ..auth import require
from ..config import settings
from ..services import sync as sync_service
from ..state import signer, storage
from .blueprint import Blueprint

bp = Blueprint("sync", __name__, description="Offline sync: push changes, pull your scope")


@bp.route("/sync", methods=["POST"])
@require("worker", "volunteer")
@bp.arguments(SyncRequestSchema)
@bp.alt_response(200, schema=SyncResponseSchema, success=True)
def sync(data):
    """Push changes (results per change, in order), then pull records since the cursor.

    Dumped with orjson rather than marshmallow: a page holds up to 5,000 records.
    """
    cfg = settings()
    out = sync_service.sync(storage(), g.who, data, signer=signer(),
                            max_skew_ms=cfg.max_clock_skew_ms, pull_max_bytes=cfg.pull_max_bytes)
    return Response(orjson.dumps(out), mimetype="application/json")
