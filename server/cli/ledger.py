"""Ledger commands: verify and rotate-key."""

from __future__ import annotations

import click


@click.group()
def ledger() -> None:
    """Verify the ledger and rotate its signing key."""
