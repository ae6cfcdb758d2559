"""Private files: the data dir is 0700, the database, its -wal/-shm, backups and the
secret are 0600, whatever the umask of whoever runs `gridsync init`, `make serve`,
`gridsync backup` or `gridsync restore`.

They hold household data, PIN hashes and the secret that seals the ledger key.
A file is created with its mode in ``open(2)`` (so it is never readable by
others, not even for a moment) and then ``chmod``-ed, which also tightens a
file an older version left 0644. SQLite creates a database's -wal, -shm and
-journal with the mode of the database file itself, so making the database
0600 before SQLite first opens it is enough for its companions.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

DIR_MODE = 0o700
FILE_MODE = 0o600
DB_FILES = ("gridsync.db", "gridsync.db-wal", "gridsync.db-shm", "gridsync.db-journal",
            "secret.key")

log = logging.getLogger(__name__)


def private_dir(path: str | Path) -> Path:
    """Create ``path`` (and missing parents) and make it 0700."""
    path = Path(path)
    path.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    os.chmod(path, DIR_MODE)
    return path


def private_file(path: str | Path) -> Path:
    """Create ``path`` empty if missing, and make it 0600 either way."""
    path = Path(path)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, FILE_MODE)
    try:
        os.fchmod(fd, FILE_MODE)
    finally:
        os.close(fd)
    return path


def prepare_data_dir(data_dir: str | Path, *, database: bool = True) -> None:
    """Before the database is first opened: the data dir exists and is 0700, and (when
    the database is the data dir's SQLite file, not PostgreSQL) that file exists and
    is 0600, so SQLite gives its -wal/-shm the same mode."""
    path = Path(data_dir)
    if not path.exists():
        private_dir(path)
    if database:
        private_file(path / "gridsync.db")
    tighten_data_dir(path)


def tighten_data_dir(data_dir: str | Path) -> None:
    """Make an existing data dir and the gridsync files in it private (at every start,
    so a data dir made by an older version or by hand is tightened too). Only a
    directory that holds a gridsync database or secret (all a data dir holds when the
    database is PostgreSQL) is touched: never e.g. /var/lib itself."""
    path = Path(data_dir)
    if not any((path / name).is_file() for name in ("gridsync.db", "secret.key")):
        return
    try:
        os.chmod(path, DIR_MODE)
        for name in DB_FILES:
            if (path / name).is_file():
                os.chmod(path / name, FILE_MODE)
    except PermissionError as exc:
        log.warning("cannot make %s private: %s", data_dir, exc)
