"""flask-smorest Blueprint whose argument parser reads ``server.body.request_json``."""

from __future__ import annotations

from typing import Any

import flask_smorest
from webargs import core
from webargs.flaskparser import FlaskParser

from ..body import NO_BODY, request_json


class BodyParser(FlaskParser):
    """Reads JSON through ``server.body.request_json`` (decoded and bounded there)."""

    DEFAULT_VALIDATION_STATUS = 400

    def load_json(self, req: Any, schema: Any) -> Any:
        """webargs' public per-location hook: the body ``server.body`` already parsed."""
        body = request_json()
        return core.missing if body is NO_BODY else body


class Blueprint(flask_smorest.Blueprint):
    ARGUMENTS_PARSER = BodyParser()
