"""gridsync ledger: signed, hash-chained, double-entry points ledger.

Pure library: no Flask, no database, nothing from `server`, `sync` or
`client_sdk`. The server builds entries with `make_entry` and checkpoints
with `make_checkpoint`; clients and auditors check them with `verify_*`.
`merkle` is the RFC 6962 tree over the entries; `anchors` and `endorse`
hold a server to its earlier checkpoints and to its pinned first key.
"""

from primitives.canonical import canonical

from .anchors import checkpoint_root, entry_leaf, tree_root, verify_extends, verify_receipt
from .balances import apply, replay
from .checkpoint import make_checkpoint
from .crypto import SigningKey, b64url_decode, b64url_encode, verify_signature
from .endorse import endorse, endorsement_form, verify_key_chain
from .entry import KINDS, ZERO_HASH, entry_hash, hashed_form, make_entry
from .errors import KeyDecryptionError, LedgerError, RulesError, VerificationError
from .formats import MAX_INT, parse_time
from .parallel import verify_chain_parallel
from .rules import capped, local_date, points_for, price_log, rules_hash
from .verify import (
    ChainSummary,
    check_balances,
    check_checkpoint_against,
    keyring,
    verify_chain,
    verify_checkpoint,
    verify_entry,
)

__all__ = [
    "KINDS",
    "MAX_INT",
    "ZERO_HASH",
    "ChainSummary",
    "KeyDecryptionError",
    "LedgerError",
    "RulesError",
    "SigningKey",
    "VerificationError",
    "apply",
    "b64url_decode",
    "b64url_encode",
    "canonical",
    "capped",
    "check_balances",
    "check_checkpoint_against",
    "checkpoint_root",
    "endorse",
    "endorsement_form",
    "entry_hash",
    "entry_leaf",
    "hashed_form",
    "keyring",
    "local_date",
    "make_checkpoint",
    "make_entry",
    "parse_time",
    "points_for",
    "price_log",
    "replay",
    "rules_hash",
    "tree_root",
    "verify_chain",
    "verify_chain_parallel",
    "verify_checkpoint",
    "verify_entry",
    "verify_extends",
    "verify_key_chain",
    "verify_receipt",
    "verify_signature",
]
