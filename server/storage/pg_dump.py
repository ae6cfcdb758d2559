"""Whole-database operations on PostgreSQL: pg_dump into a file, pg_restore into an
empty database, and the questions a backup or a restore asks of it.

``dump`` runs ``pg_dump --format=custom`` on a snapshot exported from a
``REPEATABLE READ`` transaction (``--snapshot``), and ``PgMaintenance`` reads
the counts and the ledger head in that same transaction: what a backup reports
is exactly what its file holds, while the app hosts keep writing. ``restore``
runs ``pg_restore --single-transaction --exit-on-error`` into a database that
holds no tables, so a failed restore leaves it as empty as it was; ``clear``
empties it again when the restored copy is refused afterwards.

A password in the URL is handed to the tools in ``PGPASSWORD``, and an
``sslpassword`` (which has no environment variable) in a private connection service
file made for the run, never on their command line (visible in ``ps``);
``~/.pgpass`` works as for psql.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from psycopg.conninfo import conninfo_to_dict, make_conninfo

from .errors import SchemaTooNew, StorageError
from .maintenance import COUNTED_TABLES, REQUIRED_TABLES, NotGridsync
from .migrations import LATEST
from .postgres import PgDatabase

DUMP_MAGIC = b"PGDMP"
"""The first bytes of a pg_dump custom-format file."""

_USER_OBJECTS = """
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
      AND n.nspname NOT IN ('pg_catalog', 'information_schema')
      AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%'
      AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass
                      AND d.objid = c.oid AND d.deptype = 'e')"""
"""Tables, views and sequences someone made (not the system's, not an extension's)."""


class ToolMissing(StorageError):
    """pg_dump or pg_restore is not installed here."""


class ToolFailed(StorageError):
    """pg_dump or pg_restore exited with an error (the message carries its stderr)."""


def find_tool(name: str, bindir: str | None = None) -> str:
    """``name`` in ``bindir`` when given, else on PATH, else in the newest
    /usr/lib/postgresql/*/bin (Debian's layout). pg_dump must be at least as new as the
    server: ``bindir`` picks one when several versions are installed."""
    if bindir is not None:
        path = Path(bindir) / name
        if path.is_file() and os.access(path, os.X_OK):
            return str(path)
        raise ToolMissing(f"{name} not found in {bindir} (--pg-bin)")
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"),
                        key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit()
                        else 0)
    if candidates:
        return candidates[-1]
    raise ToolMissing(f"{name} not found: install PostgreSQL's client tools (Debian: apt-get "
                      f"install postgresql-client) or put {name} on PATH")


def is_dump_file(path: str | Path) -> bool:
    try:
        with open(path, "rb") as f:
            return f.read(len(DUMP_MAGIC)) == DUMP_MAGIC
    except OSError:
        return False


def describe(url: str) -> str:
    """``dbname on host:port`` for messages: never the user or a password."""
    params = conninfo_to_dict(url)
    where = f"{params.get('host') or 'localhost'}:{params.get('port') or 5432}"
    return f"database {params.get('dbname') or '?'} on {where}"


SERVICE = "gridsync"
"""The section of the service file ``_tool_connection`` writes for one run."""


@contextmanager
def _tool_connection(url: str) -> Iterator[tuple[str, dict[str, str]]]:
    """(conninfo with no secret in it, environment for the tool): the password in
    PGPASSWORD; an sslpassword in a service file only this user can read, removed after."""
    params = conninfo_to_dict(url)
    env = dict(os.environ)
    password = params.pop("password", None)
    if password is not None:
        env["PGPASSWORD"] = str(password)
    sslpassword = params.pop("sslpassword", None)
    if sslpassword is None:
        yield make_conninfo(**params), env  # type: ignore[arg-type]
        return
    if "service" in params:
        raise ToolFailed("a URL with both service= and sslpassword= cannot be handed to "
                         "pg_dump: put the sslpassword in that service's entry instead")
    sslpassword = str(sslpassword)
    if sslpassword != sslpassword.strip() or "\n" in sslpassword or "\r" in sslpassword:
        raise ToolFailed("an sslpassword with a line break or surrounding spaces cannot be "
                         "handed to pg_dump (its service file would change it)")
    with tempfile.TemporaryDirectory(prefix="gridsync-pg-") as private:   # mode 0700
        service_file = Path(private) / "pg_service.conf"
        service_file.write_text(f"[{SERVICE}]\nsslpassword={sslpassword}\n", encoding="utf-8")
        env["PGSERVICEFILE"] = str(service_file)
        yield make_conninfo(service=SERVICE, **params), env  # type: ignore[arg-type]


def _run(args: list[str], env: dict[str, str], what: str) -> None:
    try:
        done = subprocess.run(args, env=env, capture_output=True, text=True, check=False)
    except OSError as exc:
        raise ToolMissing(f"{args[0]} could not be run: {exc}") from None
    if done.returncode != 0:
        lines = [line for line in done.stderr.strip().splitlines() if line.strip()]
        raise ToolFailed(f"{what} failed: {' / '.join(lines[-3:]) or f'exit {done.returncode}'}")


def dump(url: str, snapshot: str, dest: str, bindir: str | None = None) -> None:
    """pg_dump of the database at ``url`` as seen by the exported ``snapshot`` into the
    existing file ``dest`` (custom format, compressed)."""
    with _tool_connection(url) as (conninfo, env):
        _run([find_tool("pg_dump", bindir), "--format=custom", f"--snapshot={snapshot}",
              f"--file={dest}", f"--dbname={conninfo}"], env, "pg_dump")


def restore(url: str, source: str, bindir: str | None = None) -> None:
    """pg_restore ``source`` into the (empty) database at ``url``, all or nothing. Owners
    and grants are not restored: the restoring user owns everything, as after init."""
    with _tool_connection(url) as (conninfo, env):
        _run([find_tool("pg_restore", bindir), "--no-owner", "--no-privileges",
              "--exit-on-error", "--single-transaction", f"--dbname={conninfo}", source],
             env, "pg_restore")


def check_listable(source: str, bindir: str | None = None) -> None:
    """pg_restore can read the whole table of contents of ``source`` (a cheap check that
    a dump just written is complete)."""
    _run([find_tool("pg_restore", bindir), "--list", source], dict(os.environ),
         "reading the dump back")


class PgMaintenance:
    """Whole-database questions about one PostgreSQL database."""

    def __init__(self, db: PgDatabase):
        self.db = db

    def export_snapshot(self) -> str:
        """Inside ``db.snapshot()``: a snapshot id pg_dump can read the same state with."""
        return str(self.db.scalar("SELECT pg_export_snapshot()"))

    def user_objects(self) -> list[str]:
        """Names of the tables, views and sequences in the database (none: it is empty)."""
        return [str(r[0]) for r in self.db.query(
            f"SELECT n.nspname || '.' || c.relname {_USER_OBJECTS} ORDER BY 1 LIMIT 5")]

    def tables(self) -> set[str]:
        return {str(r[0]) for r in self.db.query(
            "SELECT table_name FROM information_schema.tables "
            "WHERE table_schema = current_schema()")}

    def check_is_gridsync(self) -> int:
        """Raise NotGridsync / SchemaTooNew unless this is a gridsync database this
        version can run; returns its schema version."""
        tables = self.tables()
        version = 0
        if "schema_version" in tables:
            version = int(self.db.scalar("SELECT max(version) FROM schema_version") or 0)
        missing = [t for t in REQUIRED_TABLES if t not in tables]
        if version < 1 or missing:
            raise NotGridsync(
                f"schema version {version}, missing tables: {', '.join(missing) or 'none'}")
        if version > LATEST:
            raise SchemaTooNew(version, LATEST)
        return version

    def counts(self) -> dict[str, int]:
        present = self.tables()
        return {t: int(self.db.scalar(f'SELECT count(*) FROM "{t}"'))
                for t in COUNTED_TABLES if t in present}

    def clear(self) -> None:
        """Drop every table, view, sequence and function a restore put in the database
        (it held none before), so nothing refused is left for a server to open."""
        with self.db.transaction():
            schemas = [str(r[0]) for r in self.db.query(
                f"SELECT DISTINCT n.nspname {_USER_OBJECTS}")]
            for schema in schemas:
                quoted = '"' + schema.replace('"', '""') + '"'
                self.db.execute(f"DROP SCHEMA {quoted} CASCADE")
                if schema == "public":  # recreated as PostgreSQL 15 makes it
                    self.db.execute("CREATE SCHEMA public AUTHORIZATION pg_database_owner")
                    self.db.execute("GRANT USAGE ON SCHEMA public TO PUBLIC")
