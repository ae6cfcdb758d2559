"""The /api/v1 blueprints, registered on a flask-smorest Api (OpenAPI from schemas)."""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask_smorest import Api

from ..errors import error_response, from_http_exception


class GridsyncApi(Api):
    from .schemas import ApiErrorSchema as ERROR_SCHEMA

    def handle_http_exception(self, error: Any) -> Any:
        return error_response(from_http_exception(error))


def init_app(app: Flask) -> None:
    from . import admin, cases, devices, health, ledger, people, review, sync

    app.config.update(
        API_TITLE="gridsync", API_VERSION="1", OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/api/v1", OPENAPI_JSON_PATH="openapi.json",
        API_SPEC_OPTIONS={"components": {"securitySchemes": {
            "bearer": {"type": "http", "scheme": "bearer"}}}},
    )
    api = GridsyncApi(app)
    for module in (health, admin, people, devices, sync, review, ledger, cases):
        api.register_blueprint(module.bp, url_prefix="/api/v1")
    from .logins import bp as logins_bp  # web sign-in (PUT /people/<id>/login)
    api.register_blueprint(logins_bp, url_prefix="/api/v1")
