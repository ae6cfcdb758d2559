"""Operations commands: backup and restore."""

from __future__ import annotations

import json

import click

from ..services import backup as ops
from ..services.audit_errors import AuditFailure
from .ledger import load_anchor_files
from .options import data_dir_option

_TABLE_NAMES = {"records": "sync records", "ops": "ops", "entries": "ledger entries"}


def _print_counts(counts: dict[str, int]) -> None:
    width = max(len(_TABLE_NAMES.get(t, t)) for t in counts) if counts else 0
    for table, n in counts.items():
        click.echo(f"  {_TABLE_NAMES.get(table, table):<{width}}  {n:>10,}")


@click.command()
@data_dir_option
@click.option("--to", "to", required=True, type=click.Path(dir_okay=False),
              help="The backup file to write (replaced atomically if it exists).")
@click.option("--pages", default=1024, show_default=True, type=click.IntRange(1, None),
              help="Database pages copied per step (progress is printed after each).")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON on stdout.")
@click.option("--quiet", is_flag=True, help="No progress on stderr.")
def backup(data_dir: str, to: str, pages: int, as_json: bool, quiet: bool) -> None:
    """Back up the database while the server keeps running.

    Uses SQLite's online backup API: the file is the database as it was at one
    instant, written beside the target and renamed into place when complete.
    The secret that encrypts the ledger key is NOT in the backup: keep a copy
    of GRIDSYNC_SECRET or <data dir>/secret.key somewhere else.

    \b
    Example:
      gridsync backup --data-dir /var/lib/gridsync --to /var/backups/gridsync/$(date +%F).db
    """
    last = [-1]

    def progress(copied: int, total: int) -> None:
        if quiet or total <= 0:
            return
        percent = copied * 100 // total
        if percent != last[0] or copied == total:
            last[0] = percent
            click.echo(f"backup: {copied}/{total} pages ({percent}%)", err=True)

    try:
        result = ops.backup(data_dir, to, pages=pages, progress=progress)
    except ops.BackupError as exc:
        raise click.ClickException(str(exc)) from None
    if as_json:
        click.echo(json.dumps(result))
    else:
        click.echo(f"Backed up {data_dir} to {result['path']} "
                   f"({result['bytes']:,} bytes in {result['seconds']} s; "
                   f"ledger head seq {result['ledger_head_seq']}):")
        _print_counts(result["counts"])
    click.echo("Reminder: " + ops.SECRET_REMINDER, err=True)


@click.command()
@data_dir_option
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
def restore(data_dir: str, source: str, force: bool, checkpoint_file: str | None,
            keys_file: str | None, as_json: bool) -> None:
    """Restore a backup into a data dir, after verifying it.

    Refuses when the data dir already holds a database (unless --force), when
    the file is not a gridsync database, or when its ledger does not verify:
    the audit of `gridsync ledger verify` (keys endorsed in a chain and,
    with the data dir's secret, each stored key's sealed private half
    opening and matching its public key; hashes, links, signatures, the
    Merkle tree, balances), and with --checkpoint the ledger extending a
    checkpoint kept outside the server. The secret (GRIDSYNC_SECRET or
    secret.key) must be restored too, or the server cannot sign new entries:
    restore it first, so the keys are checked against it.

    \b
    Example:
      gridsync restore --from /var/backups/gridsync/2026-11-25.db --data-dir /var/lib/gridsync \\
          --checkpoint /var/lib/gridsync-witness/checkpoint.json
    """
    try:
        pinned, saved = load_anchor_files(checkpoint_file, keys_file)
        result = ops.restore(data_dir, source, force=force, pinned=pinned, saved=saved,
                             saved_where=checkpoint_file or "")
    except ops.BackupError as exc:
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
