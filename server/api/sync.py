"""sync endpoints."""

from __future__ import annotations

from .blueprint import Blueprint

bp = Blueprint("sync", __name__, description="sync")
