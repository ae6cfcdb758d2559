"""Configuration: defaults, then ``<data dir>/config.py``, then ``GRIDSYNC_*`` env vars."""

from __future__ import annotations

import os
from pathlib import Path

from flask import Flask

DB_FILE = "gridsync.db"
DEFAULTS = {
    "DATA_DIR": "./gridsync-data",
    "MAX_BODY_BYTES": 8 * 1024 * 1024,
    "TOMBSTONE_RETENTION_DAYS": 180,
    "MAX_CLOCK_SKEW_MS": 5 * 60 * 1000,
    "ENROLL_FAILURES_PER_MINUTE": 10,
    "ENROLLMENT_TTL_HOURS": 24,
    "PULL_MAX_BYTES": 2 * 1024 * 1024,
    "PUBLIC_REPORTS_PER_HOUR": 20,   # residents' report attempts per client address
    "PUBLIC_LOOKUPS_PER_HOUR": 300,  # receipt look-ups and ratings per client address
    "PUBLIC_URL": "",                # origin printed on report posters (default: the request's)
}


def data_dir_default() -> str:
    return os.environ.get("GRIDSYNC_DATA_DIR", DEFAULTS["DATA_DIR"])  # type: ignore[arg-type]


def database_target(data_dir: str, database_url: str | None = None) -> str:
    """What storage opens: a ``postgresql://`` URL (``--database-url`` or
    ``GRIDSYNC_DATABASE_URL``), else the embedded ``<data dir>/gridsync.db``."""
    url = database_url or os.environ.get("GRIDSYNC_DATABASE_URL")
    return url or str(Path(data_dir) / DB_FILE)


def load_config(app: Flask, overrides: dict | None) -> None:
    app.config.from_mapping(DEFAULTS)
    app.config["DATA_DIR"] = data_dir_default()
    if overrides and "DATA_DIR" in overrides:
        app.config["DATA_DIR"] = overrides["DATA_DIR"]
    instance_file = Path(app.config["DATA_DIR"]) / "config.py"
    if instance_file.exists():
        app.config.from_pyfile(str(instance_file.resolve()))
    app.config.from_prefixed_env("GRIDSYNC")
    if overrides:
        app.config.update(overrides)
    app.config["MAX_CONTENT_LENGTH"] = int(app.config["MAX_BODY_BYTES"])
    app.config["DATABASE"] = database_target(app.config["DATA_DIR"],
                                             app.config.get("DATABASE_URL"))
