"""The device's hold on the ledger: keys from the pinned one, the newest checkpoint.

At enrolment the server names its first ledger key (``ledger_key``); the
device pins it and trusts later keys only through their endorsements. On
each sync, and before a balance is believed, the device fetches the
server's signed checkpoint and checks, with a consistency proof, that its
tree extends the newest checkpoint the device verified before; only then is
the new one kept. A server whose ledger was rolled back or rewritten (a
restored old backup, a database edited behind its back) is refused with
the reason, and the checkpoint kept is left as it was (docs/client.md).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ledger import (
    VerificationError,
    keyring,
    verify_checkpoint,
    verify_extends,
    verify_key_chain,
)

from .errors import raise_for

if TYPE_CHECKING:
    from .client import FieldClient

KEPT = "ledger_checkpoint"
"""Store setting: the newest checkpoint this device verified."""
PINNED = "ledger_key"
"""Store setting: the ledger's first key, pinned at enrolment (or first use)."""


class Anchors:
    def __init__(self, client: FieldClient):
        self.client = client
        self.store = client.store

    def pin(self, ledger_key: Any) -> None:
        """Pin the first key named at enrolment (ignored when the server named none)."""
        if isinstance(ledger_key, dict) and {"key_id", "public_key"} <= set(ledger_key):
            with self.store.transaction():
                self.store.put(PINNED, {"key_id": ledger_key["key_id"],
                                        "public_key": ledger_key["public_key"]})

    def trusted(self, keys_list: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
        """The keyring of the published keys, each trusted through endorsements
        from the pinned key; a device enrolled before pinning pins the first
        key it sees."""
        pinned = self.store.get(PINNED)
        if pinned is None:
            if not keys_list:
                return keyring(keys_list)
            self.pin(keys_list[0])
            pinned = self.store.get(PINNED)
        return verify_key_chain(keys_list, pinned)

    def kept(self) -> dict[str, Any] | None:
        return self.store.get(KEPT)

    def check(self) -> dict[str, Any]:
        """Verify the server's checkpoint and that it extends the kept one; keep it.

        Raises ``ledger.VerificationError`` (reason ``consistency`` for a
        rolled-back or rewritten ledger, ``endorsement`` for a key that does
        not chain to the pinned one, ``signature`` for a forged checkpoint).
        """
        client = self.client
        status, _, checkpoint = client.call("GET", "/ledger/checkpoint", what="checkpoint")
        if status != 200:
            raise_for(status, checkpoint)
        if not isinstance(checkpoint, dict):
            raise VerificationError("format", detail="the checkpoint is not an object")
        keys = client.ledger_keys()
        if checkpoint.get("key_id") not in keys:
            keys = client.ledger_keys(refresh=True)  # a key rotated since we cached
        verify_checkpoint(checkpoint, keys)
        kept = self.kept()
        if kept is not None:
            path: list[str] = []
            if 0 < kept["seq"] < checkpoint["seq"]:
                status, _, proof = client.call(
                    "GET", "/ledger/proof/consistency",
                    {"from": kept["seq"], "to": checkpoint["seq"]}, what="consistency proof")
                if status != 200:
                    raise_for(status, proof)
                path = proof.get("path") if isinstance(proof, dict) else None  # type: ignore[assignment]
            verify_extends(kept, checkpoint, path)
        with self.store.transaction():
            self.store.put(KEPT, checkpoint)
        return checkpoint
