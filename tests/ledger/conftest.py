"""Fixtures for the ledger tests: the golden vectors and chain builders."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from ledger import (
    ZERO_HASH,
    SigningKey,
    canonical,
    entry_hash,
    hashed_form,
    keyring,
    make_entry,
)

VECTORS = Path(__file__).resolve().parents[1] / "vectors" / "protocol-v1.json"
T0 = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def at(seconds: int) -> str:
    """RFC 3339 time `seconds` after T0."""
    return (T0 + timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture(scope="session")
def vectors() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(VECTORS.read_text(encoding="utf-8"))
    return loaded


@pytest.fixture(scope="session")
def server_key(vectors: dict[str, Any]) -> SigningKey:
    return SigningKey.from_seed(bytes.fromhex(vectors["server_key"]["private_seed_hex"]))


@pytest.fixture(scope="session")
def ring(server_key: SigningKey) -> dict[str, dict[str, Any]]:
    return keyring(
        [
            {
                "key_id": "k1",
                "public_key": server_key.public_key,
                "created_at": at(-86400),
                "retired_at": None,
            }
        ]
    )


@pytest.fixture(scope="session")
def build_chain(server_key: SigningKey) -> Callable[..., list[dict[str, Any]]]:
    """`build_chain(n)`: n valid entries (earns, redeems, an adjust, a reverse)."""

    def build(n: int, *, key: SigningKey = server_key, key_id: str = "k1") -> list[dict[str, Any]]:
        entries: list[dict[str, Any]] = []
        prev = ZERO_HASH
        for seq in range(1, n + 1):
            volunteer = f"volunteer:p{seq % 7}"
            if seq % 5 == 0:
                kind, debit, credit, amount = "redeem", volunteer, "shop:s1", 1
            elif seq % 11 == 0:
                kind, debit, credit, amount = "reverse", volunteer, "issuance:c1", 1
            elif seq % 13 == 0:
                kind, debit, credit, amount = "adjust", "issuance:c1", volunteer, 3
            else:
                kind, debit, credit, amount = "earn", "issuance:c1", volunteer, 10 + seq % 4
            entry = make_entry(
                seq=seq,
                id=f"e{seq}",
                kind=kind,
                debit=debit,
                credit=credit,
                amount=amount,
                ref=f"service_log:l{seq}",
                evidence=None,
                rules=None,
                at=at(seq),
                prev_hash=prev,
                key=key,
                key_id=key_id,
            )
            entries.append(entry)
            prev = entry["hash"]
        return entries

    return build


@pytest.fixture(scope="session")
def reseal(server_key: SigningKey) -> Callable[..., dict[str, Any]]:
    """`reseal(entry)`: recompute hash and sig after tampering, as a key holder could."""

    def seal(entry: dict[str, Any], *, key: SigningKey = server_key) -> dict[str, Any]:
        body = hashed_form(entry)
        return {**body, "hash": entry_hash(body), "sig": key.sign(canonical(body))}

    return seal
