"""Operations commands: backup and restore."""

from __future__ import annotations

import json

import click

from ..services import backup as ops
from ..services import pg_backup
from ..services.audit_errors import AuditFailure
from ..storage import StorageError
from ..storage.postgres import is_postgres_url
from .ledger import load_anchor_files
from .options import data_dir_option, database_url_option

_TABLE_NAMES = {"records": "sync records", "ops": "ops", "entries": "ledger entries"}


def _print_counts(counts: dict[str, int]) -> None:
    width = max(len(_TABLE_NAMES.get(t, t)) for t in counts) if counts else 0
    for table, n in counts.items():
        click.echo(f"  {_TABLE_NAMES.get(table, table):<{width}}  {n:>10,}")


def _print_checkpoint(result: dict) -> None:
    """The checkpoint a PostgreSQL backup or restore reports (the two must match)."""
    if "checkpoint" in result:
        cp = result["checkpoint"]
        click.echo(f"Checkpoint: seq {cp['seq']}, head {cp['head'] or '(empty ledger)'}, "
                   f"root {cp['root']}.")


pg_bin_option = click.option(
    "--pg-bin", envvar="GRIDSYNC_PG_BIN", default=None, type=click.Path(file_okay=False),
    help="On PostgreSQL: the directory of pg_dump and pg_restore, at least as new as the "
         "server [env: GRIDSYNC_PG_BIN; default: PATH, then the newest "
         "/usr/lib/postgresql/*/bin].")


def _postgres(database_url: str | None) -> str | None:
    """The PostgreSQL URL a command works on, None for the data dir's SQLite file."""
    if database_url is None:
        return None
    if not is_postgres_url(database_url):
        raise click.BadParameter("must start with postgresql://", param_hint="--database-url")
    return database_url


@click.command()
@data_dir_option
@database_url_option
@pg_bin_option
@click.option("--to", "to", required=True, type=click.Path(dir_okay=False),
              help="The backup file to write (replaced atomically if it exists).")
@click.option("--pages", default=1024, show_default=True, type=click.IntRange(1, None),
              help="Database pages copied per step (progress is printed after each).")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON on stdout.")
@click.option("--quiet", is_flag=True, help="No progress on stderr.")
def backup(data_dir: str, database_url: str | None, pg_bin: str | None, to: str, pages: int,
           as_json: bool, quiet: bool) -> None:
    """Back up the database while the server keeps running.

    Uses SQLite's online backup API (on PostgreSQL, pg_dump --format=custom from
    one snapshot): the file is the database as it was at one instant, written
    beside the target and renamed into place when complete, mode 0600.
    The secret that encrypts the ledger key is NOT in the backup: keep a copy
    of GRIDSYNC_SECRET or <data dir>/secret.key somewhere else.

    \b
    Examples:
      gridsync backup --data-dir /var/lib/gridsync --to /var/backups/gridsync/$(date +%F).db
      GRIDSYNC_DATABASE_URL=postgresql://gridsync@db1/gridsync \\
          gridsync backup --to /var/backups/gridsync/$(date +%F).dump
    """
    last = [-1]

    def progress(copied: int, total: int) -> None:
        if quiet or total <= 0:
            return
        percent = copied * 100 // total
        if percent != last[0] or copied == total:
            last[0] = percent
            click.echo(f"backup: {copied}/{total} pages ({percent}%)", err=True)

    url = _postgres(database_url)
    try:
        if url is None:
            result = ops.backup(data_dir, to, pages=pages, progress=progress)
        else:
            if not quiet:
                click.echo("backup: pg_dump of the database (one snapshot) ...", err=True)
            result = pg_backup.backup(url, to, bindir=pg_bin)
    except (ops.BackupError, StorageError) as exc:
        raise click.ClickException(str(exc)) from None
    if as_json:
        click.echo(json.dumps(result))
    else:
        source = data_dir if url is None else "the PostgreSQL database"
        click.echo(f"Backed up {source} to {result['path']} "
                   f"({result['bytes']:,} bytes in {result['seconds']} s; "
                   f"ledger head seq {result['ledger_head_seq']}):")
        _print_counts(result["counts"])
        _print_checkpoint(result)
    click.echo("Reminder: " + ops.SECRET_REMINDER, err=True)


@click.command()
@data_dir_option
@database_url_option
@pg_bin_option
@click.option("--from", "source", required=True, type=click.Path(dir_okay=False),
              help="A file written by `gridsync backup`.")
@click.option("--force", is_flag=True,
              help="Replace an existing database (stop the server first; the old one is "
                   "moved aside, not deleted).")
@click.option("--checkpoint", "checkpoint_file", type=click.Path(dir_okay=False, exists=True),
              help="A checkpoint kept by a witness or device: refuse a backup that does not "
                   "extend it.")
@click.option("--keys", "keys_file", type=click.Path(dir_okay=False, exists=True),
              help="A saved GET /ledger/keys answer whose first key is pinned.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON on stdout.")
def restore(data_dir: str, database_url: str | None, pg_bin: str | None, source: str,
            force: bool,
            checkpoint_file: str | None, keys_file: str | None, as_json: bool) -> None:
    """Restore a backup into a data dir (or an empty PostgreSQL database), verified.

    Refuses when the data dir already holds a database (unless --force), when
    the file is not a gridsync database, or when its ledger does not verify:
    the audit of `gridsync ledger verify` (keys endorsed in a chain and,
    with the data dir's secret, each stored key's sealed private half
    opening and matching its public key; hashes, links, signatures, the
    Merkle tree, balances), and with --checkpoint the ledger extending a
    checkpoint kept outside the server. The secret (GRIDSYNC_SECRET or
    secret.key) must be restored too, or the server cannot sign new entries:
    restore it first, so the keys are checked against it.

    With --database-url (or GRIDSYNC_DATABASE_URL) the file is a pg_dump written
    by `gridsync backup` and the target a database holding no tables (made with
    createdb); the same checks follow, and a refused copy is dropped again.

    \b
    Example:
      gridsync restore --from /var/backups/gridsync/2026-11-25.db --data-dir /var/lib/gridsync \\
          --checkpoint /var/lib/gridsync-witness/checkpoint.json
    """
    url = _postgres(database_url)
    if url is not None and force:
        raise click.UsageError("--force is for a data dir's SQLite file: on PostgreSQL, "
                               "restore into a new, empty database instead")
    try:
        pinned, saved = load_anchor_files(checkpoint_file, keys_file)
        if url is None:
            result = ops.restore(data_dir, source, force=force, pinned=pinned, saved=saved,
                                 saved_where=checkpoint_file or "")
        else:
            result = pg_backup.restore(url, source, data_dir=data_dir, pinned=pinned,
                                       saved=saved, saved_where=checkpoint_file or "",
                                       bindir=pg_bin)
    except (ops.BackupError, StorageError) as exc:
        raise click.ClickException(str(exc)) from None
    except AuditFailure as exc:
        raise click.ClickException(f"refused: {exc}") from None
    if as_json:
        click.echo(json.dumps(result))
    else:
        ledger = result["ledger"]
        click.echo(f"Restored {source} into {result['path']}: ledger verified "
                   f"({ledger['entries']:,} entries, head seq {ledger['head_seq']}, "
                   f"keys {', '.join(ledger['keys'])}).")
        _print_checkpoint(result)
        if result["replaced"]:
            click.echo(f"The previous database was moved to {result['replaced']}.")
        _print_counts(result["counts"])
    secret = result["secret"]
    if secret == "ok":
        click.echo("Secret: found, and it decrypts the ledger signing key.", err=True)
        click.echo("Reminder: " + ops.SECRET_REMINDER, err=True)
    else:
        problem = ("no GRIDSYNC_SECRET and no secret.key in the data dir" if secret == "missing"
                   else "the secret found does not decrypt the ledger signing key")
        click.echo(f"WARNING: {problem}. Restore the secret (GRIDSYNC_SECRET in the service's "
                   f"environment file, or secret.key into {data_dir} with mode 0600) before "
                   "starting the server: without it no new entry can be signed.", err=True)
