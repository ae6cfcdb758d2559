"""Sync maintenance commands."""

from __future__ import annotations

import click

from ..config import Settings
from ..services.retention import purge_tombstones
from ..storage import Storage
from .options import pass_store


@click.command("purge-tombstones")
@pass_store
@click.option("--days", type=click.IntRange(1), default=Settings.tombstone_retention_days,
              envvar="GRIDSYNC_TOMBSTONE_RETENTION_DAYS",
              show_default=True, help="Retention window; keep it longer than any offline period.")
def purge(store: Storage, data_dir: str, days: int) -> None:
    """Delete tombstones older than the retention window (run daily).

    Devices whose cursor predates a purged tombstone get 410 and re-sync.

    \b
    Example:
      gridsync purge-tombstones --data-dir /var/lib/gridsync --days 180
    """
    count = purge_tombstones(store, days)
    click.echo(f"purged {count} tombstone(s) older than {days} days")
