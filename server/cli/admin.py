"""init, serve and token commands."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from ..bootstrap import initialise, is_initialised
from ..services.access import issue_token, revoke_token
from ..storage import Storage, StorageError
from .options import data_dir_option, database_url_option, existing_database, pass_store


def storage_errors(command: Callable) -> Callable:
    """Storage errors (e.g. a schema newer than this gridsync) become a message and exit 1."""

    @functools.wraps(command)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except StorageError as exc:
            raise click.ClickException(str(exc)) from None

    return wrapped


@click.command()
@data_dir_option
@database_url_option
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.option("--if-needed", is_flag=True, help="Exit 0 quietly if already initialised.")
@storage_errors
def init(data_dir: str, database_url: str | None, as_json: bool, if_needed: bool) -> None:
    """Create the database, the ledger signing key and the first admin token.

    The admin token is printed once: keep it. The ledger's first public key
    is printed too: auditors and witnesses pin it (every later key is
    endorsed from it). Re-running on an initialised data dir changes nothing.

    \b
    Example:
      gridsync init --data-dir /var/lib/gridsync --json
      gridsync init --data-dir /etc/gridsync --database-url postgresql://gridsync@db1/gridsync
    """
    if database_url is not None:
        existing_database(data_dir, database_url)  # a clear error for a wrong URL
    if is_initialised(data_dir, database_url):
        if if_needed:
            return
        msg = f"{data_dir} is already initialised; nothing changed"
        click.echo(json.dumps({"initialised": False, "message": msg}) if as_json else msg)
        return
    result = initialise(data_dir, database_url)
    if as_json:
        click.echo(json.dumps({"initialised": True, **result}))
        return
    click.echo(f"Initialised {data_dir} (ledger key {result['key_id']}).")
    click.echo("Ledger first key (pin it: auditors and witnesses trust later keys only "
               "through it):")
    click.echo(f"  {result['ledger_key']['key_id']} {result['ledger_key']['public_key']}")
    click.echo("Admin token (shown only this once; keep it safe):")
    click.echo(f"  {result['token']}")


@click.command()
@data_dir_option
@database_url_option
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", type=click.IntRange(1, 64),
              help="Sync worker processes [default: 2, or the --config file's].")
@click.option("--config", "gunicorn_config", type=click.Path(dir_okay=False, exists=True),
              help="A gunicorn config file (e.g. deploy/gunicorn.conf.py).")
@click.option("--dev", is_flag=True, help="Use Flask's development server instead of gunicorn.")
@storage_errors
def serve(data_dir: str, database_url: str | None, host: str, port: int, workers: int | None,
          gunicorn_config: str | None, dev: bool) -> None:
    """Serve the API under gunicorn (sync workers).

    \b
    Example:
      gridsync serve --data-dir ./gridsync-data --host 127.0.0.1 --port 8000 --workers 2
    """
    if database_url is not None:
        existing_database(data_dir, database_url)
    if not is_initialised(data_dir, database_url):
        raise click.ClickException(f"{data_dir} is not initialised: run `gridsync init` first")
    from .. import create_app

    config = {"DATA_DIR": str(Path(data_dir).resolve())}
    if database_url:
        config["DATABASE_URL"] = database_url
    if dev:
        create_app(config).run(host=host, port=port)
        return
    from ..gunicorn_app import GridsyncGunicorn

    click.echo(f"gridsync serving on http://{host}:{port}", err=True)
    GridsyncGunicorn(config, bind=f"{host}:{port}", workers=workers,
                     config_file=gunicorn_config).run()


@click.group()
def token() -> None:
    """Issue and revoke API tokens for admins and auditors.

    Devices (workers, volunteers, shop staff) enrol with a one-time code
    instead: POST /api/v1/enrollments.

    \b
    Example:
      gridsync token issue --person auditor1 --data-dir ./gridsync-data
      gridsync token revoke t3f9a0c1b2d4e --data-dir ./gridsync-data
    """


@token.command("issue")
@pass_store
@click.option("--person", required=True, help="An admin or auditor person id.")
def token_issue(store: Storage, data_dir: str, person: str) -> None:
    """Print a new API token for an admin or auditor (shown once).

    \b
    Example:
      gridsync token issue --person auditor1
    """
    found = store.directory.person(person)
    if found is None:
        raise click.ClickException(f"no such person {person!r}")
    if found["role"] not in ("admin", "auditor"):
        raise click.ClickException(
            f"{person!r} is a {found['role']}: devices enrol with a code instead")
    token_id, secret = issue_token(store, person)
    click.echo(f"token id: {token_id}", err=True)
    click.echo(secret)


@token.command("revoke")
@pass_store
@click.argument("token_id")
def token_revoke(store: Storage, data_dir: str, token_id: str) -> None:
    """Revoke a token by its id (the part before the dot).

    \b
    Example:
      gridsync token revoke t3f9a0c1b2d4e
    """
    if not revoke_token(store, token_id):
        raise click.ClickException(f"no active token {token_id!r}")
    click.echo(f"revoked {token_id}")

