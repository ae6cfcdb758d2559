"""Options shared by several commands."""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from ..config import data_dir_default, database_target
from ..storage import StorageError, open_storage
from ..storage.postgres import is_postgres_url

data_dir_option = click.option(
    "--data-dir", default=data_dir_default, show_default="$GRIDSYNC_DATA_DIR or ./gridsync-data",
    type=click.Path(file_okay=False), help="Directory holding gridsync.db and its secret.")

database_url_option = click.option(
    "--database-url", envvar="GRIDSYNC_DATABASE_URL", default=None, metavar="postgresql://…",
    help="Use this PostgreSQL database instead of the data dir's gridsync.db "
         "[env: GRIDSYNC_DATABASE_URL; keep passwords in ~/.pgpass, not here]. The signing "
         "secret still comes from the data dir or GRIDSYNC_SECRET.")


def existing_database(data_dir: str, database_url: str | None) -> str:
    """The database a command opens; a clear error when the data dir has none."""
    target = database_target(data_dir, database_url)
    if is_postgres_url(target):
        return target
    if database_url is not None or not Path(target).exists():
        if database_url is not None:
            raise click.BadParameter("must start with postgresql://", param_hint="--database-url")
        raise click.ClickException(f"{data_dir} is not initialised: run `gridsync init`")
    return target


def pass_store(command: Callable[..., Any]) -> Callable[..., Any]:
    """The one place a command opens storage: adds ``--data-dir`` and
    ``--database-url``, opens the database they name (a clear error when there is
    none), hands it to the command as ``store`` (with ``data_dir``), and closes it
    whatever happens. Storage errors become a message and exit 1."""

    @data_dir_option
    @database_url_option
    @functools.wraps(command)
    def wrapped(*args: Any, data_dir: str, database_url: str | None, **kwargs: Any) -> Any:
        target = existing_database(data_dir, database_url)
        try:
            store = open_storage(target)
            if is_postgres_url(target) and not store.ledger.keys():
                store.close()   # an empty PostgreSQL database: as a data dir with no file
                raise click.ClickException(
                    "that PostgreSQL database is not initialised: run `gridsync init`")
        except StorageError as exc:
            raise click.ClickException(str(exc)) from None
        try:
            return command(*args, store=store, data_dir=data_dir, **kwargs)
        except StorageError as exc:
            raise click.ClickException(str(exc)) from None
        finally:
            store.close()

    return wrapped
