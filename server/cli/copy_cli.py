"""``gridsync copy``: move a community's data dir into PostgreSQL."""

from __future__ import annotations

import json

import click

from ..services.copy import copy as copy_service
from ..storage import StorageError
from .options import data_dir_option


@click.command("copy")
@data_dir_option
@click.option("--from", "source", type=click.Path(file_okay=False),
              help="The data dir to copy (default: --data-dir).")
@click.option("--to", "target", required=True, metavar="postgresql://…",
              help="An empty PostgreSQL database (created with createdb).")
@click.option("--workers", default=2, show_default=True, type=click.IntRange(1, 64),
              help="Processes verifying signatures afterwards.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON on stdout.")
def copy(data_dir: str, source: str | None, target: str, workers: int, as_json: bool) -> None:
    """Copy a whole SQLite data dir into an empty PostgreSQL database, then verify it.

    Stop the server first. Every table is copied in one transaction; the copy
    is then audited like `gridsync ledger verify` and its checkpoint (head
    seq, head hash, Merkle root) must equal the source's, or the command
    fails. The secret stays in the data dir (or GRIDSYNC_SECRET): give every
    app host the same one, and serve with GRIDSYNC_DATABASE_URL set.

    \b
    Example:
      gridsync copy --from /var/lib/gridsync --to postgresql://gridsync@db1/gridsync
    """
    source = source or data_dir

    def progress(table: str, done: int, total: int) -> None:
        if not as_json and (done == total or done % 20_000 == 0):
            click.echo(f"copy: {table} {done:,}/{total:,}", err=True)

    try:
        result = copy_service(source, target, workers=workers, progress=progress)
    except StorageError as exc:
        raise click.ClickException(str(exc)) from None
    if as_json:
        click.echo(json.dumps(result))
        return
    cp = result["checkpoint"]
    click.echo(f"Copied {source} into PostgreSQL: {sum(result['rows'].values()):,} rows, "
               f"ledger verified ({result['entries']:,} entries), checkpoint identical "
               f"(seq {cp['seq']}, head {cp['head']}, root {cp['root']}).")
