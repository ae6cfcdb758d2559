"""Settings: one typed table, read once at start-up.

Each setting is a field of ``Settings`` with its default and what it is for;
the README's "Settings" table lists them all (a test keeps the two in step).
Values come, later winning, from the defaults here, ``<data dir>/config.py``
(upper-case names), ``GRIDSYNC_<NAME>`` environment variables, and the dict
handed to ``create_app`` (tests). They are cast and checked once, in
``load_settings``: code reads ``settings()`` (in a request or app context)
or the object it was handed, never ``os.environ`` or a literal.

``app.config`` mirrors every setting under its upper-case name for Flask
and its extensions (``MAX_CONTENT_LENGTH``, ``BABEL_DEFAULT_TIMEZONE``);
gridsync's own code reads the typed object.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import runpy
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask import Flask, current_app

DB_FILE = "gridsync.db"
"""The database file's name inside the data dir (the one place it is spelled)."""

PREFIX = "GRIDSYNC_"


def _setting(default: Any, doc: str) -> Any:
    return field(default=default, metadata={"doc": doc})


@dataclass(frozen=True)
class Settings:
    data_dir: str = _setting("./gridsync-data",
                             "Directory holding the database, its secret and the ledger keys.")
    database_url: str = _setting("", "A postgresql:// URL: use PostgreSQL instead of the "
                                     "embedded SQLite file.")
    max_body_bytes: int = _setting(8 * 1024 * 1024,
                                   "Largest request body, after gzip decoding (bytes).")
    max_clock_skew_ms: int = _setting(5 * 60 * 1000,
                                      "How far ahead of server time a change's stamp may be.")
    pull_max_bytes: int = _setting(2 * 1024 * 1024, "Bytes of records in one pulled page.")
    tombstone_retention_days: int = _setting(
        180, "Deleted records are purged after this many days (longer than any offline spell).")
    enroll_failures_per_minute: int = _setting(10, "Failed enrolments per client address.")
    enrollment_ttl_hours: int = _setting(24, "How long a one-time enrolment code lasts.")
    public_reports_per_hour: int = _setting(20, "Residents' report attempts per client address.")
    public_lookups_per_hour: int = _setting(
        300, "Receipt look-ups and ratings per client address.")
    public_url: str = _setting("", "Origin printed on posters, enrolment codes, sign-in "
                                   "slips and personal links (default: the request's).")
    web_cookie_secure: bool = _setting(True, "Session cookies only over https (off only for "
                                             "plain-http tests on 127.0.0.1).")
    web_session_hours: float = _setting(12.0, "How long a web sign-in lasts.")
    web_link_days: float = _setting(7.0, "How long a personal sign-in link lasts.")
    web_lockout_failures: int = _setting(5, "Wrong passwords or PINs in a row that lock a "
                                            "login ...")
    web_lockout_minutes: int = _setting(15, "... for this long.")
    web_lockout_daily: int = _setting(20, "Wrong passwords or PINs in one day (UTC) that lock "
                                          "a login until the day ends (a new one from the "
                                          "office unlocks it).")
    web_failures_per_minute: int = _setting(30, "Failed sign-ins per client address.")
    babel_default_timezone: str = _setting("Asia/Shanghai", "Time zone pages show times in.")
    import_in_request: bool = _setting(False, "Run Excel imports inside the request instead of "
                                              "a background thread (tests).")
    log_level: str = _setting("INFO", "debug, info, warning or error.")
    log_file: str = _setting("", "Also write the JSON log lines to this file.")
    trusted_proxies: int = _setting(0, "Reverse proxies in front whose X-Forwarded-For/-Proto "
                                       "to trust.")
    bind: str = _setting("127.0.0.1:8000", "Address gunicorn listens on (deploy config).")
    workers: int = _setting(0, "gunicorn worker processes (0: twice the cores, 2 to 8).")
    access_log: str = _setting("", "gunicorn's own access log: empty = off, '-' = stdout, "
                                   "or a file.")

    @functools.cached_property
    def database(self) -> str:
        """What storage opens: ``database_url``, else ``<data dir>/gridsync.db`` (worked
        out once: every request asks)."""
        return self.database_url or str(database_path(self.data_dir))

    def as_config(self) -> dict[str, Any]:
        """Every setting under its upper-case name (``app.config``'s mirror)."""
        return {f.name.upper(): getattr(self, f.name) for f in dataclasses.fields(self)}


class SettingsError(ValueError):
    """A setting's value cannot be read as its type."""


FIELDS = {f.name.upper(): f for f in dataclasses.fields(Settings)}


def database_path(data_dir: str | Path) -> Path:
    return Path(data_dir) / DB_FILE


def data_dir_default() -> str:
    """``$GRIDSYNC_DATA_DIR`` or the default, for CLI options."""
    return os.environ.get(PREFIX + "DATA_DIR") or str(Settings.data_dir)


def database_target(data_dir: str, database_url: str | None = None) -> str:
    """What storage opens, the same for every command as for the app: ``--database-url``,
    else the settings' ``DATABASE_URL`` (``GRIDSYNC_DATABASE_URL`` or the data dir's
    ``config.py``), else the embedded ``<data dir>/gridsync.db``."""
    if database_url:
        return database_url
    return load_settings({"DATA_DIR": data_dir})[0].database


def load_settings(overrides: Mapping[str, Any] | None = None,
                  environ: Mapping[str, str] | None = None) -> tuple[Settings, dict[str, Any]]:
    """The settings, and any other upper-case keys given (``TESTING``...) for app.config."""
    environ = os.environ if environ is None else environ
    overrides = dict(overrides or {})
    data_dir = overrides.get("DATA_DIR") or environ.get(PREFIX + "DATA_DIR") or Settings.data_dir
    values: dict[str, Any] = {"DATA_DIR": str(data_dir)}
    extra: dict[str, Any] = {}
    instance_file = Path(data_dir) / "config.py"
    if instance_file.exists():
        found = runpy.run_path(str(instance_file.resolve()))
        for key, value in found.items():
            if key.isupper():
                (values if key in FIELDS else extra)[key] = value
    for key in FIELDS:
        if key != "DATA_DIR" and PREFIX + key in environ:
            values[key] = _parse(key, environ[PREFIX + key])
    for key, value in overrides.items():
        (values if key in FIELDS else extra)[key] = value
    cast = {FIELDS[key].name: _cast(key, value) for key, value in values.items()}
    return Settings(**cast), extra


def _parse(key: str, text: str) -> Any:
    kind = FIELDS[key].type
    if kind == "bool":
        lowered = text.strip().lower()
        if lowered in ("1", "true", "yes", "on"):
            return True
        if lowered in ("0", "false", "no", "off", ""):
            return False
        raise SettingsError(f"{PREFIX}{key}: not true or false: {text!r}")
    return text.strip() if kind in ("int", "float") else text


def _cast(key: str, value: Any) -> Any:
    kind = FIELDS[key].type
    try:
        if kind == "bool":
            if not isinstance(value, bool):
                raise TypeError
            return value
        if kind == "int":
            if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
                raise TypeError
            return int(value)
        if kind == "float":
            if isinstance(value, bool):
                raise TypeError
            return float(value)
        return str(value)
    except (TypeError, ValueError):
        raise SettingsError(f"{key}: not a {kind}: {value!r}") from None


def init_app(app: Flask, overrides: Mapping[str, Any] | None) -> Settings:
    """Read the settings once; keep them on the app and mirror them into app.config."""
    loaded, extra = load_settings(overrides)
    app.config.from_mapping(loaded.as_config())
    app.config.update(extra)
    app.config["MAX_CONTENT_LENGTH"] = loaded.max_body_bytes
    app.config["DATABASE"] = loaded.database
    app.extensions["gridsync.settings"] = loaded
    return loaded


def settings() -> Settings:
    """The running app's settings."""
    return current_app.extensions["gridsync.settings"]
