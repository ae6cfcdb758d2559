"""flask-smorest Blueprint whose argument parser reads the pre-parsed ``g.body``."""

from __future__ import annotations

from typing import Any

import flask_smorest
from flask import g
from webargs import core
from webargs.flaskparser import FlaskParser

from ..body import NO_BODY


class BodyParser(FlaskParser):
    """Reads JSON from ``g.body`` (already decoded and bounded by server.body)."""

    DEFAULT_VALIDATION_STATUS = 400

    def load_json(self, req: Any, schema: Any) -> Any:
        """webargs' public per-location hook: the body ``server.body`` already parsed."""
        body = getattr(g, "body", NO_BODY)
        return core.missing if body is NO_BODY else body


class Blueprint(flask_smorest.Blueprint):
    ARGUMENTS_PARSER = BodyParser()
