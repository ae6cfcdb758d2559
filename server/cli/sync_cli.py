"""Sync maintenance commands."""

from __future__ import annotations

import click

from ..config import Settings
from ..services.retention import purge_rejected_ops, purge_tombstones
from ..storage import Storage
from .options import pass_store


@click.command("purge-tombstones")
@pass_store
@click.option("--days", type=click.IntRange(1), default=Settings.tombstone_retention_days,
              envvar="GRIDSYNC_TOMBSTONE_RETENTION_DAYS",
              show_default=True, help="Retention window; keep it longer than any offline period.")
def purge(store: Storage, data_dir: str, days: int) -> None:
    """Delete tombstones and rejected ops older than the retention window (run daily).

    Devices whose cursor predates a purged tombstone get 410 and re-sync. Ops
    that were rejected are forgotten too (never one a ledger entry names).

    \b
    Example:
      gridsync purge-tombstones --data-dir /var/lib/gridsync --days 180
    """
    count = purge_tombstones(store, days)
    ops = purge_rejected_ops(store, days)
    click.echo(f"purged {count} tombstone(s) and {ops} rejected op(s) older than {days} days")
