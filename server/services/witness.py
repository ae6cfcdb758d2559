"""A witness: keeps a server's checkpoints outside it and checks the server only grows.

A street office (or anyone with a token) runs ``gridsync ledger witness`` on a
schedule. Each run trusts the server's keys only through endorsements from
the first key it pinned (``keys.json``, saved on the first run), verifies the
server's signed checkpoint, and checks with consistency proofs that the
server's tree extends the newest checkpoint this witness kept and every
checkpoint named by ``peers`` (files kept by other witnesses or devices:
co-checking). Then it keeps the new checkpoint (``checkpoint.json``, and one
file per seq under ``history/``). It needs no entries, so any token will do.

A server that lost or rewrote entries it had shown anyone is caught at the
next run, even if its database alone looks sound (docs/reliability.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .anchor_audit import (
    check_saved_checkpoint,
    pinned_from,
    read_json_file,
    write_json_file,
)
from .audit_errors import AuditFailure
from .ledger_audit import LedgerServer

KEYS, CHECKPOINT, HISTORY = "keys.json", "checkpoint.json", "history"


@dataclass
class WitnessReport:
    checkpoint: dict
    previous_seq: int | None
    peers: list[str] = field(default_factory=list)
    pinned_now: bool = False


def witness(url: str, token: str, directory: str, peers: list[str] | None = None
            ) -> WitnessReport:
    """One witness run; AuditFailure (nothing saved) when the server fails a check."""
    home = Path(directory)
    home.mkdir(parents=True, exist_ok=True)
    server = LedgerServer(url, token)
    keys_file = home / KEYS
    pinned_now = not keys_file.exists()
    pinned = None if pinned_now else pinned_from(read_json_file(str(keys_file), "keys"),
                                                 str(keys_file))
    keys_list = server.keys_list()
    server.pinned = pinned
    keys = server.keys(pinned)
    checkpoint = server.checkpoint(keys)
    kept_file = home / CHECKPOINT
    kept = read_json_file(str(kept_file), "checkpoint") if kept_file.exists() else None
    others: list[tuple[str, Any]] = [(str(kept_file), kept)] if kept is not None else []
    for peer in peers or []:
        others.append((peer, read_json_file(peer, "peer checkpoint")))
    for where, saved in others:
        if not isinstance(saved, dict):
            raise AuditFailure(f"{where} does not hold a checkpoint")
        check_saved_checkpoint(saved, keys, where=where)
        server.check_extends(saved, checkpoint, where)
    if pinned_now:
        write_json_file(str(keys_file), {"keys": keys_list})
    history = home / HISTORY
    history.mkdir(exist_ok=True)
    write_json_file(str(history / f"{checkpoint['seq']:012d}.json"), checkpoint)
    write_json_file(str(kept_file), checkpoint)
    return WitnessReport(checkpoint=checkpoint, previous_seq=kept["seq"] if kept else None,
                         peers=list(peers or []), pinned_now=pinned_now)
