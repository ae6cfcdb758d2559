"""Sync maintenance commands."""

from __future__ import annotations

import click

from ..config import Settings
from ..services.retention import purge_tombstones
from ..storage import open_storage
from .options import data_dir_option, database_url_option, existing_database


@click.command("purge-tombstones")
@data_dir_option
@database_url_option
@click.option("--days", type=click.IntRange(1), default=Settings.tombstone_retention_days,
              envvar="GRIDSYNC_TOMBSTONE_RETENTION_DAYS",
              show_default=True, help="Retention window; keep it longer than any offline period.")
def purge(data_dir: str, database_url: str | None, days: int) -> None:
    """Delete tombstones older than the retention window (run daily).

    Devices whose cursor predates a purged tombstone get 410 and re-sync.

    \b
    Example:
      gridsync purge-tombstones --data-dir /var/lib/gridsync --days 180
    """
    store = open_storage(existing_database(data_dir, database_url))
    try:
        count = purge_tombstones(store, days)  # type: ignore[arg-type]
    finally:
        store.close()
    click.echo(f"purged {count} tombstone(s) older than {days} days")
