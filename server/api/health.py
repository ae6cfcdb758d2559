"""Health and discovery (no token)."""

from __future__ import annotations

from flask import jsonify

from ..state import storage
from ..storage import BackendError
from ..version import __version__
from .blueprint import Blueprint

bp = Blueprint("health", __name__, description="Health and discovery")


@bp.route("/health")
@bp.doc(security=[])
def health():
    """Liveness: 200 when the database can be read, else 503."""
    try:
        storage().readable()
    except BackendError:
        return jsonify({"status": "unavailable"}), 503
    return jsonify({"status": "ok", "version": __version__, "protocol": 1})


@bp.route("/ledger/keys")
@bp.doc(security=[])
def ledger_keys():
    """The ledger's public keys, retired ones included."""
    return jsonify({"keys": storage().ledger.keys()})
