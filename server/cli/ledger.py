"""Ledger commands: verify and rotate-key."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from ..keystore import SecretMissing, create_key, load_secret
from ..services.ledger_audit import AuditFailure, verify_database, verify_server
from ..storage import open_storage
from .options import data_dir_option

PROGRESS_FROM = 20_000
"""Below this many entries verification is quick and shows no progress bar."""


@click.group()
def ledger() -> None:
    """Verify the ledger and rotate its signing key.

    \b
    Example:
      gridsync ledger verify --data-dir /var/lib/gridsync
      gridsync ledger rotate-key --data-dir /var/lib/gridsync
    """


@ledger.command("verify")
@data_dir_option
@click.option("--url", help="Verify a running server instead, e.g. https://grid.example.org.")
@click.option("--token", envvar="GRIDSYNC_TOKEN", show_envvar=True,
              help="An auditor (or admin) token, for --url.")
@click.option("--workers", default=2, show_default=True, type=click.IntRange(1, 64),
              help="Processes verifying signatures in parallel.")
def verify(data_dir: str, url: str | None, token: str | None, workers: int) -> None:
    """Re-check every hash, link, signature and balance; exit non-zero at the first break.

    With a data dir: the chain against the public keys stored in the
    database, double entry summing to zero, each row's columns against its
    signed body (which may name no key twice), each service log earned (and
    each redemption paid, each entry reversed) at most once, the stored
    balances against a replay of the chain, every redemption and verified
    log having its entry and every redeem and earn entry its redemption or
    still-verified log, redemption items adding up and equal to what the
    shop was answered, every earn's evidence being a stored signed change to
    its log, and every remembered answer to an adjustment, reversal or
    redemption naming an entry the chain holds.

    With --url: the chain as served by GET /ledger/entries, with only the
    published public keys and an auditor token, and the signed checkpoint
    consistent with it.

    Prints `ledger sound: N entries, head HASH` and exits 0, or names the
    first bad seq and the reason and exits 1.

    \b
    Example:
      gridsync ledger verify --data-dir /var/lib/gridsync --workers 2
      GRIDSYNC_TOKEN=t1a2b3.secret gridsync ledger verify --url https://grid.example.org
    """
    progress = _Progress()
    try:
        if url:
            if not token:
                raise click.UsageError("--url needs --token (or GRIDSYNC_TOKEN)")
            summary = verify_server(url, token, workers=workers, start=progress.start,
                                    progress=progress.step)
        else:
            db = Path(data_dir) / "gridsync.db"
            if not db.exists():
                raise click.ClickException(f"no ledger database at {db}")
            summary = verify_database(str(db), workers=workers, start=progress.start,
                                      progress=progress.step)
    except AuditFailure as exc:
        progress.close()
        click.echo(f"ledger broken: {exc}", err=True)
        sys.exit(1)
    finally:
        progress.close()
    click.echo(f"ledger sound: {summary.count} entries, head {summary.head_hash}")


class _Progress:
    """A progress bar on stderr, drawn only for long runs."""

    def __init__(self) -> None:
        self.bar: Any = None

    def start(self, total: int) -> None:
        if total >= PROGRESS_FROM:
            self.bar = click.progressbar(length=total, label="verifying", file=sys.stderr,
                                         show_pos=True)
            self.bar.__enter__()

    def step(self, n: int) -> None:
        if self.bar is not None:
            self.bar.update(n)

    def close(self) -> None:
        bar, self.bar = self.bar, None
        if bar is not None:
            bar.__exit__(None, None, None)


@ledger.command("rotate-key")
@data_dir_option
def rotate_key(data_dir: str) -> None:
    """Make a new signing key active; earlier keys are retired but stay published.

    Entries and checkpoints signed from now on carry the new key id; a
    running server picks the new key up on its next append, no restart. The
    new private key is encrypted with the data dir's secret (or
    GRIDSYNC_SECRET), like the first.

    \b
    Example:
      gridsync ledger rotate-key --data-dir /var/lib/gridsync
    """
    db = Path(data_dir) / "gridsync.db"
    if not db.exists():
        raise click.ClickException(f"{data_dir} is not initialised: run `gridsync init`")
    store = open_storage(str(db))
    try:
        try:
            load_secret(data_dir)
        except SecretMissing as exc:
            raise click.ClickException(str(exc)) from None
        before = {k["key_id"] for k in store.ledger.keys() if k["retired_at"] is None}
        key_id = create_key(store, data_dir)
    finally:
        store.close()
    retired = ", ".join(sorted(before - {key_id})) or "none"
    click.echo(f"ledger key {key_id} is now active; retired: {retired}")
