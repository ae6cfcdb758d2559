"""ledger endpoints."""

from __future__ import annotations

from .blueprint import Blueprint

bp = Blueprint("ledger", __name__, description="ledger")
