"""A PostgreSQL server for the tests: ``GRIDSYNC_TEST_DATABASE_URL`` if set, else a
throwaway cluster of our own (initdb in a temporary directory, a free loopback
port, fsync off), stopped and deleted when the test session ends.

initdb and postgres refuse to run as root: as root the cluster runs as the
``postgres`` user the Debian packages create (its directory handed over to
it). Where neither a URL nor the binaries (and, as root, that user) exist,
``server()`` raises ``Unavailable`` with the reason, and the PostgreSQL half of
the suite skips saying so. bench/ uses the same helper.
"""

from __future__ import annotations

import atexit
import glob
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

ENV_URL = "GRIDSYNC_TEST_DATABASE_URL"


class Unavailable(Exception):
    """No PostgreSQL for the tests here (the message says why)."""


def _bindir() -> Path | None:
    found = shutil.which("pg_ctl")
    if found:
        return Path(found).parent
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"),
                      key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0)
    return Path(versions[-1]).parent if versions else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Cluster:
    """A running server; ``admin_url`` reaches its ``postgres`` database as superuser."""

    def __init__(self, admin_url: str, stop: callable | None = None):  # type: ignore[valid-type]
        self.admin_url = admin_url
        self._stop = stop
        self._names = itertools.count(1)
        self._template: str | None = None

    @property
    def local(self) -> bool:
        """A throwaway cluster this session started on this machine (its files are here)."""
        return self._stop is not None

    def url_for(self, dbname: str) -> str:
        base, _, _ = self.admin_url.rpartition("/")
        return f"{base}/{dbname}"

    def create_database(self, prefix: str = "gridsync_test", *, migrated: bool = False,
                        copy_of: str | None = None, tablespace: str | None = None) -> str:
        """A new database, empty or (``migrated``) with the whole schema already
        applied (copied from a template migrated once per session: faster), or a copy of
        the database at URL ``copy_of`` (nobody may be connected to it), its files in
        ``tablespace`` when given; its URL."""
        import psycopg

        if copy_of is not None:
            template = copy_of.rpartition("/")[2]
        else:
            template = self._migrated_template() if migrated else "template0"
        name = f"{prefix}_{os.getpid()}_{next(self._names)}_{uuid.uuid4().hex[:6]}"
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            where = f' TABLESPACE "{tablespace}"' if tablespace else ""
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}" ENCODING \'UTF8\''
                         + where)
        return self.url_for(name)

    def _migrated_template(self) -> str:
        if self._template is None:
            from server.storage import open_storage
            from server.storage.postgres import close_pools

            url = self.create_database("gridsync_template")
            open_storage(url).close()
            close_pools()
            self._template = url.rpartition("/")[2]
        return self._template

    def drop_database(self, url: str) -> None:
        import psycopg

        name = url.rpartition("/")[2]
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def stop(self) -> None:
        """Drop the template, stop our own cluster (even when the drop fails)."""
        try:
            if self._template is not None and self._stop is None:
                self.drop_database(self.url_for(self._template))  # a server we did not start
            self._template = None
        finally:
            if self._stop is not None:
                stop, self._stop = self._stop, None
                stop()


def server() -> Cluster:
    """The URL's server, or a new throwaway cluster (raises Unavailable)."""
    url = os.environ.get(ENV_URL)
    if url:
        return Cluster(url)
    return start_cluster()


def start_cluster(*, durable: bool = False) -> Cluster:
    """A throwaway cluster; ``durable`` keeps fsync on (benchmarks), tests turn it off."""
    bindir = _bindir()
    if bindir is None:
        raise Unavailable(f"no PostgreSQL: set {ENV_URL} or install postgresql "
                          "(make test installs it when run as root)")
    run_as: list[str] = []
    owner = None
    if os.geteuid() == 0:
        try:
            owner = pwd.getpwnam("postgres")
        except KeyError:
            raise Unavailable("running as root and there is no 'postgres' user to run "
                              f"a throwaway cluster as: set {ENV_URL}") from None
        run_as = ["runuser", "-u", "postgres", "--"]
    root = Path(tempfile.mkdtemp(prefix="gridsync-pg-"))
    data, sockets = root / "data", root / "sock"
    sockets.mkdir()
    if owner is not None:
        for path in (root, sockets):
            os.chown(path, owner.pw_uid, owner.pw_gid)
    port = _free_port()

    def run(*args: str, **kw: object) -> None:
        subprocess.run([*run_as, *args], check=True, capture_output=True, timeout=120,
                       **kw)  # type: ignore[call-overload]

    try:
        # Bytewise sorting as SQLite's, but a UTF-8 character classification: pg_trgm
        # takes trigrams only from letters and digits, and under LC_CTYPE=C no Chinese
        # character is one (household search would scan; docs/operations.md).
        run(str(bindir / "initdb"), "-D", str(data), "-U", "gridsync", "--auth=trust",
            "-E", "UTF8", "--locale=C", "--lc-ctype=C.UTF-8", "--no-sync")
        options = (f"-p {port} -k {sockets} -c listen_addresses=127.0.0.1 "
                   "-c max_connections=300 -c shared_buffers=64MB")
        if not durable:
            options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        run(str(bindir / "pg_ctl"), "-D", str(data), "-l", str(root / "log"), "-o", options,
            "-w", "-t", "60", "start")
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError) as exc:
        detail = getattr(exc, "stderr", b"") or b""
        shutil.rmtree(root, ignore_errors=True)
        raise Unavailable(f"could not start a throwaway PostgreSQL: {exc} "
                          f"{detail.decode(errors='replace')[-300:]}") from None

    def stop() -> None:
        subprocess.run([*run_as, str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate",
                        "-w", "stop"], capture_output=True, timeout=60)
        shutil.rmtree(root, ignore_errors=True)

    cluster = Cluster(f"postgresql://gridsync@127.0.0.1:{port}/postgres", stop)
    atexit.register(cluster.stop)  # also when the session ends without its teardown
    deadline = time.monotonic() + 30
    while True:
        try:
            import psycopg

            psycopg.connect(cluster.admin_url, connect_timeout=5).close()
            return cluster
        except Exception as exc:  # noqa: BLE001 - reported if it never comes up
            if time.monotonic() > deadline:
                stop()
                raise Unavailable(f"throwaway PostgreSQL did not answer: {exc}") from None
            time.sleep(0.2)
