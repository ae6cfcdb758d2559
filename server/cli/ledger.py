"""Ledger commands: verify, witness and rotate-key."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from ..config import database_target
from ..keystore import SealedKeyMismatch, SecretMissing, create_key, load_secret
from ..services.anchor_audit import pinned_from, read_json_file, write_json_file
from ..services.ledger_audit import (
    AuditFailure,
    LedgerServer,
    verify_database,
    verify_server,
)
from ..services.witness import witness
from ..storage import Storage, StorageError
from ..storage.postgres import is_postgres_url
from .options import data_dir_option, database_url_option, pass_store

PROGRESS_FROM = 20_000
"""Below this many entries verification is quick and shows no progress bar."""


@click.group()
def ledger() -> None:
    """Verify the ledger, witness a server's checkpoints, rotate the signing key.

    \b
    Example:
      gridsync ledger verify --data-dir /var/lib/gridsync
      gridsync ledger witness --url https://grid.example.org --dir /var/lib/gridsync-witness
      gridsync ledger rotate-key --data-dir /var/lib/gridsync
    """


@ledger.command("verify")
@data_dir_option
@database_url_option
@click.option("--url", help="Verify a running server instead: its origin, e.g. "
                            "https://grid.example.org.")
@click.option("--token", envvar="GRIDSYNC_TOKEN", show_envvar=True,
              help="An auditor (or admin) token, for --url.")
@click.option("--checkpoint", "checkpoint_file", type=click.Path(dir_okay=False),
              help="A checkpoint saved earlier: the ledger must extend it. With --url the "
                   "server's new checkpoint is saved there once verified (created if missing).")
@click.option("--keys", "keys_file", type=click.Path(dir_okay=False),
              help="A saved GET /ledger/keys answer: its first key is pinned and later keys "
                   "are trusted only through endorsements from it. With --url a missing file "
                   "is created from the server's keys (trust on first use).")
@click.option("--workers", default=2, show_default=True, type=click.IntRange(1, 64),
              help="Processes verifying signatures in parallel.")
def verify(data_dir: str, database_url: str | None, url: str | None, token: str | None,
           checkpoint_file: str | None,
           keys_file: str | None, workers: int) -> None:
    """Re-check every hash, link, signature and balance; exit non-zero at the first break.

    With a data dir: the keys as an endorsement chain from the first stored
    key (or the --keys file's), each key's sealed private half opening with
    the data dir's secret and matching its public key, the chain against
    those keys, double entry summing to zero, each row's columns against its
    signed body (which may name no key twice), the stored Merkle tree
    against the entries, each service log earned (and each redemption paid,
    each entry reversed) at most once, the stored balances against a replay
    of the chain, every redemption and verified log having its entry and
    every redeem and earn entry its redemption or still-verified log,
    redemption items adding up and equal to what the shop was answered,
    every earn's evidence being the change its device signed (signature
    checked), setting the status that earns, sent by someone four eyes allows,
    on a log still naming the volunteer paid and priced at the points paid
    under the rules the entry names, every remembered answer to an
    adjustment, reversal or redemption naming an entry the chain holds, and
    no device enrolled with a weak public key (one of small order or not
    canonical).

    With --url: the chain as served by GET /ledger/entries, with only the
    published keys (trusted through endorsements from the pinned one) and an
    auditor token, and the signed checkpoint (and its Merkle root)
    consistent with it.

    With --checkpoint: the ledger must extend the saved checkpoint (a server
    that lost or rewrote entries fails here, however sound it looks alone).

    Prints `ledger sound: N entries, head HASH` and exits 0, or names the
    first bad seq and the reason and exits 1.

    \b
    Example:
      gridsync ledger verify --data-dir /var/lib/gridsync --workers 2
      GRIDSYNC_TOKEN=t1a2b3.secret gridsync ledger verify --url https://grid.example.org \\
          --checkpoint /var/lib/witness/checkpoint.json --keys /var/lib/witness/keys.json
    """
    progress = _Progress()
    try:
        pinned, saved = load_anchor_files(checkpoint_file, keys_file)
        if url:
            if not token:
                raise click.UsageError("--url needs --token (or GRIDSYNC_TOKEN)")
            summary, checkpoint = verify_server(
                url, token, workers=workers, start=progress.start, progress=progress.step,
                pinned=pinned, saved=saved, saved_where=checkpoint_file or "")
            progress.close()
            save_anchor_files(url, token, checkpoint, checkpoint_file, keys_file, pinned)
        else:
            db = database_target(data_dir, database_url)
            if not is_postgres_url(db) and not Path(db).exists():
                raise click.ClickException(f"no ledger database at {db}")
            summary = verify_database(db, workers=workers, start=progress.start,
                                      progress=progress.step, secret=_secret(data_dir),
                                      pinned=pinned, saved=saved,
                                      saved_where=checkpoint_file or "")
    except AuditFailure as exc:
        progress.close()
        click.echo(f"ledger broken: {exc}", err=True)
        sys.exit(1)
    except StorageError as exc:  # not audited (not migrated, unreachable): neither verdict
        raise click.ClickException(str(exc)) from None
    finally:
        progress.close()
    click.echo(f"ledger sound: {summary.count} entries, head {summary.head_hash}")


def _secret(data_dir: str) -> bytes | None:
    try:
        return load_secret(data_dir)
    except SecretMissing:
        click.echo("warning: no GRIDSYNC_SECRET and no secret.key: cannot check that the stored "
                   "keys are this server's own; pass --keys to pin them", err=True)
        return None


def load_anchor_files(checkpoint_file: str | None,
                      keys_file: str | None) -> tuple[dict | None, dict | None]:
    """(pinned first key, saved checkpoint) from the files that exist."""
    pinned = saved = None
    if keys_file and Path(keys_file).exists():
        pinned = pinned_from(read_json_file(keys_file, "keys"), keys_file)
    if checkpoint_file and Path(checkpoint_file).exists():
        saved = read_json_file(checkpoint_file, "checkpoint")
        if not isinstance(saved, dict):
            raise AuditFailure(f"{checkpoint_file} does not hold a checkpoint")
    return pinned, saved


def save_anchor_files(url: str, token: str, checkpoint: dict, checkpoint_file: str | None,
                      keys_file: str | None, pinned: dict | None) -> None:
    """Keep the verified checkpoint, and the keys when none were pinned yet."""
    if checkpoint_file:
        write_json_file(checkpoint_file, checkpoint)
        click.echo(f"checkpoint at seq {checkpoint['seq']} saved to {checkpoint_file}", err=True)
    if keys_file and pinned is None:
        write_json_file(keys_file, {"keys": LedgerServer(url, token).keys_list()})
        click.echo(f"keys saved to {keys_file}: check its first key against the one "
                   "`gridsync init` printed", err=True)


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


@ledger.command("witness")
@click.option("--url", required=True, help="The server's origin, e.g. https://grid.example.org.")
@click.option("--token", envvar="GRIDSYNC_TOKEN", show_envvar=True, required=True,
              help="Any gridsync token (an auditor's is usual).")
@click.option("--dir", "directory", required=True, type=click.Path(file_okay=False),
              help="Where this witness keeps keys.json, checkpoint.json and history/.")
@click.option("--peer", "peers", multiple=True, type=click.Path(dir_okay=False, exists=True),
              help="Another witness's (or device's) kept checkpoint.json to co-check; "
                   "repeatable.")
def witness_command(url: str, token: str, directory: str, peers: tuple[str, ...]) -> None:
    """Keep the server's checkpoints outside it and check its ledger only ever grows.

    Run it on a schedule (deploy/gridsync-witness.timer) from a machine the
    server's operators do not control, e.g. the street office. Each run pins
    the ledger's first key (keys.json, saved on the first run: compare it
    with the key `gridsync init` printed), verifies the server's signed
    checkpoint, checks with consistency proofs that the server's tree
    extends the checkpoint kept last time and every --peer checkpoint, and
    keeps the new one. Exits 1 with ALERT and the reason when the server
    rolled back or rewrote its ledger, or shows a key not endorsed from the
    pinned one; nothing is overwritten then.

    \b
    Example:
      GRIDSYNC_TOKEN=t1a2b3.secret gridsync ledger witness --url https://grid.example.org \\
          --dir /var/lib/gridsync-witness --peer /mnt/district/witness-b/checkpoint.json
    """
    try:
        report = witness(url, token, directory, list(peers))
    except AuditFailure as exc:
        click.echo(f"ALERT: {exc}", err=True)
        sys.exit(1)
    cp = report.checkpoint
    if report.pinned_now:
        click.echo(f"pinned the ledger's first key in {directory}/keys.json: check it against "
                   "the key `gridsync init` printed", err=True)
    since = ("first checkpoint kept" if report.previous_seq is None
             else f"extends seq {report.previous_seq}")
    peers_note = f", and {len(report.peers)} peer checkpoint(s)" if report.peers else ""
    click.echo(f"witness: ledger at seq {cp['seq']} (root {cp['root'][:16]}…) {since}"
               f"{peers_note}")


@ledger.command("rotate-key")
@pass_store
def rotate_key(store: Storage, data_dir: str) -> None:
    """Make a new signing key active; earlier keys are retired but stay published.

    Entries and checkpoints signed from now on carry the new key id; a
    running server picks the new key up on its next append, no restart. The
    new private key is encrypted with the data dir's secret (or
    GRIDSYNC_SECRET), like the first.

    \b
    Example:
      gridsync ledger rotate-key --data-dir /var/lib/gridsync
    """
    try:
        load_secret(data_dir)
    except SecretMissing as exc:
        raise click.ClickException(str(exc)) from None
    before = {k["key_id"] for k in store.ledger.keys() if k["retired_at"] is None}
    try:
        key_id = create_key(store, data_dir)
    except SealedKeyMismatch as exc:
        raise click.ClickException(f"cannot endorse a new key: {exc}") from None
    retired = ", ".join(sorted(before - {key_id})) or "none"
    click.echo(f"ledger key {key_id} is now active; retired: {retired}")
