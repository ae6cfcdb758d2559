"""The ``gridsync`` command line: a thin click layer over the services.

Every command's help has an example; library errors become ClickException
(a clear message and a non-zero exit, never a traceback).
"""

from __future__ import annotations

import click

from client_sdk.cli import field

from .admin import init, serve, token
from .copy_cli import copy
from .ledger import ledger
from .ops import backup, restore
from .sync_cli import purge


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="gridsync")
def main() -> None:
    """gridsync: offline-first sync server and signed points ledger.

    \b
    Example:
      gridsync init --data-dir ./gridsync-data
      gridsync serve --data-dir ./gridsync-data --port 8000
    """


for command in (init, serve, token, ledger, purge, field, copy):
    main.add_command(command)
main.add_command(backup)
main.add_command(restore)
