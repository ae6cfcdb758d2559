"""The web pages' blueprint (outside /api): shop counter, volunteer, minimal admin."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("web", __name__)
