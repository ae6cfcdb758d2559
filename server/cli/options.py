"""Options shared by several commands."""

from __future__ import annotations

import click

from ..config import data_dir_default

data_dir_option = click.option(
    "--data-dir", default=data_dir_default, show_default="$GRIDSYNC_DATA_DIR or ./gridsync-data",
    type=click.Path(file_okay=False), help="Directory holding gridsync.db and its secret.")
