"""gridsync server: the Flask app factory.

``create_app(config)`` is the only way to get an app; ``server/wsgi.py`` is the
one place an app object exists at import time (for gunicorn).
"""

from __future__ import annotations

from flask import Flask

from . import api, body, config, errors, field, logging_setup, metrics, state, web
from .files import prepare_data_dir
from .keystore import Signer
from .services import anchors
from .storage import open_storage
from .version import __version__

__all__ = ["create_app", "__version__"]


def create_app(overrides: dict | None = None) -> Flask:
    app = Flask(__name__)
    app.json.ensure_ascii = False  # type: ignore[attr-defined]  # answer UTF-8, not \uXXXX
    settings = config.init_app(app, overrides)  # read once; services get values, not the app
    # 0700 dir, and a 0600 database file when it is the data dir's SQLite file (server.files)
    prepare_data_dir(settings.data_dir, database=not settings.database_url)
    # Apply pending migrations once at start-up (safe with several workers:
    # each migration runs under BEGIN IMMEDIATE and re-reads the version).
    store = open_storage(settings.database)
    try:
        anchors.bring_up_to_date(store, settings.data_dir)
    finally:
        store.close()
    # One signer per app: services get it as an argument (none reaches for the app).
    app.extensions["gridsync.signer"] = Signer(settings.data_dir)

    logging_setup.init_app(app)  # JSON logs, request ids
    app.before_request(body.check_length)
    app.after_request(body.compress_response)
    state.init_app(app)  # WAL checkpoints after responses
    api.init_app(app)
    errors.init_app(app)
    metrics.init_app(app)  # GET /metrics
    web.init_app(app)  # pages: /shop, /me, /admin
    field.init_app(app)  # the field app for phones: /field/
    return app
