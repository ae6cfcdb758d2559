"""The storage interface services depend on, one ``typing.Protocol`` per part.

``Storage`` is what ``open_storage`` returns, whichever database is behind
it; each part owns one area's queries. Services and views type against these
Protocols only, never against a backend's classes, so a backend is any object
with these methods that passes ``tests/server/test_storage_contract.py``.
``tests/test_layering.py`` checks the concrete classes and these Protocols
name the same methods, so neither drifts.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Iterator
from contextlib import AbstractContextManager
from typing import Any, Protocol

from .directory import GridReach
from .ledger import AppendState
from .records import Placement, RecordWrite, StoredRecord


class DirectoryPart(Protocol):
    """Grids, shops, people, cards, catalog and earning rules."""

    def add_grid(self, *, id: str, name: str, parent: str | None, at: str) -> dict:
        ...

    def rename_grid(self, id: str, name: str) -> None:
        ...

    def sibling_named(self, parent: str | None, name: str, *, besides: str = "") -> str | None:
        ...

    def grid(self, id: str) -> dict | None:
        ...

    def grids(self) -> list[dict]:
        ...

    def descendants(self, grid_ids: list[str]) -> set[str]:
        ...

    def ancestors(self, grid_ids: list[str]) -> set[str]:
        ...

    def add_shop(self, *, id: str, name: str, community: str, at: str) -> dict:
        ...

    def shop(self, id: str) -> dict | None:
        ...

    def shops(self) -> list[dict]:
        ...

    def add_person(self, *, id: str, name: str, role: str, grids: list[str],
                   shop: str | None, community: str | None, at: str) -> dict:
        ...

    def set_grids(self, person: str, grids: list[str]) -> None:
        ...

    def update_person(self, id: str, **changes: Any) -> None:
        ...

    def person(self, id: str) -> dict | None:
        ...

    def people(self) -> list[dict]:
        ...

    def people_in_grids(self, grid_ids: set[str]) -> set[str]:
        ...

    def reach(self, person: str) -> GridReach:
        ...

    def set_card(self, person: str, card_hash: str, sealed: str | None) -> None:
        ...

    def card_hash(self, person: str) -> str | None:
        ...

    def card_sealed(self, person: str) -> str | None:
        ...

    def put_item(self, *, shop: str, sku: str, name: str, price: int, stock: int, at: str) -> dict:
        ...

    def item(self, shop: str, sku: str) -> dict | None:
        ...

    def catalog(self, shop: str) -> list[dict]:
        ...

    def remove_item(self, shop: str, sku: str) -> bool:
        ...

    def add_stock(self, shop: str, sku: str, qty: int, at: str) -> bool:
        ...

    def take_stock(self, shop: str, sku: str, qty: int) -> bool:
        ...

    def put_rules(self, body: dict, rules_hash: str, at: str) -> int:
        ...

    def rules_by_hash(self, rules_hash: str) -> dict | None:
        ...

    def rules(self) -> tuple[dict, str] | None:
        ...


class AccessPart(Protocol):
    """Tokens, devices, enrolment codes and rate-limit counters."""

    def add_token(self, *, id: str, person: str, device: str | None, secret_hash: str,
                  at: str) -> None:
        ...

    def token_principal(self, token_id: str) -> dict | None:
        ...

    def revoke_token(self, token_id: str, at: str) -> bool:
        ...

    def add_device(self, *, id: str, person: str, name: str, public_key: str, at: str) -> None:
        ...

    def device(self, id: str) -> dict | None:
        ...

    def devices(self) -> list[dict]:
        ...

    def revoke_device(self, id: str, at: str) -> None:
        ...

    def record_sync(self, device: str, *, at: str, applied: int, rejected: int) -> None:
        ...

    def add_enrollment(self, *, code_hash: str, person: str, at: str, expires_at: str) -> None:
        ...

    def claim_enrollment(self, code_hash: str, now: str) -> str | None:
        ...

    def hits(self, key: str, window_start: int) -> int:
        ...

    def hit(self, key: str, window_start: int) -> int:
        ...


class RecordsPart(Protocol):
    """Sync records (current state per record), the op log, conflicts, scope exits."""

    def last_seq(self) -> int:
        ...

    def seq_marks(self) -> tuple[int, int]:
        ...

    def get(self, collection: str, id: str) -> StoredRecord | None:
        ...

    def get_many(self, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], StoredRecord]:
        ...

    def seqs(self, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], int]:
        """The current seq of each stored record among ``keys``."""
        ...

    def index_households(self, rows: Iterable[tuple[dict, Placement]]) -> None:
        """Index these household (state, placement)s for search now, ahead of their
        ``put_many(..., indexed=ids)`` in the same transaction."""
        ...

    def put_many(self, rows: Iterable[RecordWrite], *, indexed: Collection[str] = ()) -> None:
        ...

    def count(self, collection: str | None = None) -> int:
        ...

    def move_visits(self, household: str, grid: str, at: str) -> list[str]:
        ...

    def pull(self, *, after: int, grids: list[str], people: list[str], author: str,
             limit: int, me: str = "", wish_grids: list[str] | None = None, redact: int = 0
             ) -> list[tuple[int, bytes]]:
        """(seq, view as UTF-8 JSON) in scope after ``after``; ``me``/``wish_grids`` add a
        person's cases and their grids' wishes, ``redact`` drops reporter details of cases
        not assigned to ``me``."""
        ...

    def in_scope_ids(self, *, grids: list[str], people: list[str], author: str,
                     me: str = "", wish_grids: list[str] | None = None, redact: int = 0
                     ) -> list[tuple[str, str]]:
        ...

    def restamp_person(self, person: str, at: str) -> list[tuple[str, str]]:
        ...

    def visible(self, collection: str, id: str, *, grids: list[str], people: list[str],
                author: str, me: str = "", wish_grids: list[str] | None = None,
                redact: int = 0) -> bool:
        ...

    def add_exit(self, *, seq: int, collection: str, id: str, grid: str, at: str) -> None:
        ...

    def exits(self, *, after: int, upto: int, grids: list[str]) -> list[tuple[str, str]]:
        ...

    def purge_tombstones(self, before: str) -> int:
        ...

    def setting(self, key: str) -> str | None:
        ...

    def cursor_keys(self) -> tuple[str | None, str | None, int, int]:
        ...

    def renew_epoch(self) -> None:
        ...

    def op(self, op: str) -> dict | None:
        ...

    def ops(self, ops: list[str]) -> dict[str, dict]:
        ...

    def add_ops(self, rows: list[dict], *, unless_stored: bool = False) -> int:
        """Store ops (``unless_stored``: skipping any already stored); rows written."""
        ...

    def purge_rejected_ops(self, before: str) -> int:
        ...

    def op_counts(self) -> dict[str, int]:
        ...

    def add_conflicts(self, rows: list[tuple[str, str, str, dict, dict, str]]) -> None:
        ...

    def conflicts(self, status: str | None = "open", limit: int = 1000) -> list[dict]:
        ...

    def conflict(self, id: int) -> dict | None:
        ...

    def resolve_conflict(self, id: int, *, keep: str, by: str, at: str) -> None:
        ...

    def open_conflict_count(self) -> int:
        ...


class LedgerPart(Protocol):
    """Ledger entries, balances, signing keys, redemptions and idempotent requests."""

    def head(self) -> tuple[int, str | None]:
        ...

    def append_state(self, debit: str, credit: str) -> AppendState:
        ...

    def append(self, entry: dict) -> None:
        ...

    def entry(self, seq: int) -> dict | None:
        ...

    def entry_by_ref(self, kind: str, ref: str) -> dict | None:
        ...

    def entries(self, after: int, limit: int) -> list[dict]:
        ...

    def entry_bodies(self, after: int, limit: int) -> list[tuple[int, str]]:
        ...

    def iter_entries(self, batch: int = 5000) -> Iterator[dict]:
        ...

    def account_entries(self, account: str, after: int = 0,
                        limit: int | None = None) -> list[dict]:
        ...

    def balance(self, account: str) -> int:
        ...

    def balances(self) -> dict[str, int]:
        ...

    def balance_rows(self) -> dict[str, tuple[int, int]]:
        ...

    def count(self) -> int:
        ...

    def kind_counts(self) -> dict[str, int]:
        ...

    def points_on(self, volunteer: str, local_date: str) -> int:
        ...

    def add_points_on(self, volunteer: str, local_date: str, points: int) -> None:
        ...

    def tree_size(self) -> int:
        ...

    def tree_node(self, level: int, idx: int) -> bytes:
        ...

    def catch_up_tree(self, size: int) -> None:
        ...

    def add_key(self, *, key_id: str, public_key: str, encrypted_private: bytes, at: str,
                endorsement: str | None = None) -> None:
        ...

    def set_endorsement(self, key_id: str, endorsement: str) -> None:
        ...

    def sealed_keys(self) -> list[dict]:
        ...

    def retire_keys(self, at: str, except_key: str) -> None:
        ...

    def keys(self) -> list[dict]:
        ...

    def active_key(self) -> dict | None:
        ...

    def sealed_key(self, key_id: str) -> bytes | None:
        ...

    def request(self, kind: str, id: str) -> dict | None:
        ...

    def save_request(self, *, kind: str, id: str, digest: str, actor: str, response: dict,
                     at: str) -> None:
        ...

    def add_redemption(self, r: dict, entry_seq: int) -> None:
        ...

    def redemption(self, id: str) -> tuple[dict, dict] | None:
        ...

    def redemptions_between(self, *, shop: str | None = None, volunteer: str | None = None,
                            since: str = "", until: str = "\uffff",
                            limit: int = 1000) -> list[dict]:
        ...


class AuditPart(Protocol):
    """Audit queries behind ``gridsync ledger verify``: everything the chain alone"""

    def first_column_mismatch(self) -> tuple[int, str] | None:
        ...

    def entry_hashes(self) -> Iterator[str]:
        ...

    def tree_rows(self) -> Iterator[tuple[int, str, list[bytes]]]:
        ...

    def first_repeated_ref(self) -> tuple[int, str, str] | None:
        ...

    def redemption_problems(self) -> Iterator[tuple[int, str, str]]:
        ...

    def first_redeem_without_redemption(self) -> tuple[int, str] | None:
        ...

    def earn_count(self) -> int:
        ...

    def earn_evidence(self, after: tuple[str, int], limit: int) -> list[Any]:
        ...

    def first_earn_without_log(self) -> tuple[int, str] | None:
        ...

    def service_log_problems(self) -> Iterator[tuple[int | None, str, str]]:
        ...

    def request_problems(self) -> Iterator[tuple[int | None, str, str, str]]:
        ...


class WebPart(Protocol):
    """Web sign-in: logins (username or phone + scrypt hash), sessions, personal links,"""

    def set_login(self, *, person: str, login: str, secret_hash: str, at: str) -> None:
        ...

    def replace_secret_hash(self, person: str, secret_hash: str) -> None:
        ...

    def login(self, login: str) -> dict | None:
        ...

    def login_of(self, person: str) -> dict | None:
        ...

    def logins(self) -> dict[str, dict]:
        ...

    def record_failure(self, person: str, *, failed: int, locked_until: str | None) -> None:
        ...

    def clear_failures(self, person: str) -> None:
        ...

    def add_session(self, *, id_hash: str, person: str, csrf: str, token: str | None,
                    at: str, expires_at: str) -> None:
        ...

    def session(self, id_hash: str) -> dict | None:
        ...

    def delete_session(self, id_hash: str) -> None:
        ...

    def delete_sessions_of(self, person: str) -> int:
        ...

    def expire_links_of(self, person: str, now: str) -> None:
        ...

    def purge_sessions(self, now: str) -> int:
        ...

    def add_link(self, *, token_hash: str, person: str, at: str, expires_at: str) -> None:
        ...

    def claim_link(self, token_hash: str, now: str) -> str | None:
        ...

    def person_by_card(self, card_hash: str) -> dict | None:
        ...

    def service_logs_of(self, volunteer: str, limit: int = 500) -> list[dict]:
        ...

    def service_hours_of(self, volunteer: str) -> dict[str, dict[str, int]]:
        ...

class CasesPart(Protocol):
    """Cases: the case index (for lists and the 办结率 report), step history, report codes."""

    def index(self, rows: Iterable[dict]) -> None:
        ...

    def received(self, *, community: str | None, grids: list[str] | None, start: str,
                 end: str, limit: int, status: str | None = None) -> list[str]:
        """Ids of the cases received in [start, end), oldest first; ``community`` and
        ``status`` None mean any."""
        ...

    def row(self, id: str) -> dict | None:
        ...

    def page(self, *, grids: list[str] | None, status: str | None, kind: str | None,
             after: int, limit: int) -> list[tuple[int, str]]:
        ...

    def board(self, *, grids: list[str] | None, limit: int) -> list[dict]:
        ...

    def of_assignee(self, person: str, limit: int = 200) -> list[dict]:
        ...

    def open_wishes(self, grids: list[str], limit: int = 200) -> list[dict]:
        ...

    def tally_zone(self) -> str | None:
        ...

    def rebuild_tally(self, zone: str, day_of: Callable[[str], str]) -> None:
        ...

    def report_groups(self, *, grids: list[str] | None, community: str, start: str,
                      end: str) -> dict[str, dict]:
        ...

    def overdue(self, *, grids: list[str] | None, community: str, start: str, end: str,
                now: str) -> int:
        ...

    def count(self) -> int:
        ...

    def add_steps(self, rows: Iterable[tuple[str, str, str | None, str, str | None]]) -> None:
        ...

    def history(self, case: str) -> list[dict]:
        ...

    def step_op(self, case: str, status: str) -> str | None:
        ...

    def add_report_code(self, *, code: str, grid: str, at: str) -> None:
        ...

    def report_code(self, code: str) -> dict | None:
        ...

    def current_report_code(self, grid: str) -> str | None:
        ...

    def add_receipt(self, *, receipt_hash: str, case: str, at: str) -> None:
        ...

    def case_of_receipt(self, receipt_hash: str) -> str | None:
        ...


class CaseAuditPart(Protocol):
    """Case earns against their cases and evidence (``gridsync ledger verify``)."""

    def problems(self) -> Iterator[tuple[int | None, str, str]]:
        ...


class FieldDataPart(Protocol):
    """What the field recorded, read back for the office (storage/fielddata.py);
    a PostgreSQL backend searches households with pg_trgm."""

    def household_counts(self) -> dict[str, int]:
        """grid → live households directly in it."""
        ...

    def search_households(self, q: str, grids: list[str] | None, *, limit: int = 50,
                          offset: int = 0) -> tuple[list[dict], int]:
        """(households matching ``q`` in ``grids`` (None: all), total found)."""
        ...

    def visits(self, *, grids: list[str] | None = None, household: str | None = None,
               start: str | None = None, end: str | None = None, worker: str | None = None,
               outcome: str | None = None, need: str | None = None, hazard: str | None = None,
               limit: int = 100, offset: int = 0) -> tuple[list[dict], int]:
        """(visits newest first with their household's address and head, total)."""
        ...

    def visit_counts(self, grids: list[str]) -> dict[str, int]:
        ...

    def items_found(self, kind: str, grids: list[str], *, start: str | None = None,
                    end: str | None = None, limit: int = 10) -> list[tuple[str, int]]:
        """The most often noted needs (``kind="needs"``) or hazards, with counts."""
        ...

    def hours(self, *, volunteers: list[str] | None = None, start: str | None = None,
              end: str | None = None) -> list[dict]:
        """Per volunteer and status: logs, minutes and points (live logs only)."""
        ...

    def service_logs(self, *, volunteers: list[str], start: str | None = None,
                     end: str | None = None, status: str | None = None,
                     limit: int = 5000) -> list[dict]:
        """Live service logs of these volunteers, newest first (for exports)."""
        ...

    def minutes_by_month(self, volunteers: list[str], offset_minutes: int, since: str
                         ) -> list[tuple[str, str, int]]:
        """(local month "YYYY-MM", status, minutes) of logs started since ``since``."""
        ...

    def active_people(self, collection: str, column: str, grids_or_people: list[str],
                      since: str) -> int:
        """How many distinct authors (visits) or volunteers (logs) wrote since ``since``."""
        ...

    def points_by_month(self, accounts: dict[str, list[str]], offset_minutes: int,
                        since: str) -> list[tuple[str, str, int]]:
        """(local month, kind, points) of ``earn`` entries from the issuance accounts and
        ``redeem`` entries to the shop accounts given, since ``since``."""
        ...

    def entries_between(self, start: str, end: str, limit: int) -> list[dict]:
        """Ledger entries (their signed bodies) with ``start <= at < end``, by seq."""
        ...

    def redemptions_between(self, start: str, end: str, limit: int) -> list[dict]:
        ...

    def states(self, collection: str, ids: list[str]) -> dict[str, dict]:
        """id → stored state of each of these records that exists."""
        ...

class ImportsPart(Protocol):
    """Roster import jobs (storage/imports.py)."""

    def add(self, *, id: str, filename: str, file: bytes, by: str, at: str, plan: dict) -> None:
        ...

    def get(self, id: str) -> dict | None:
        ...

    def file(self, id: str) -> bytes | None:
        ...

    def claim(self, id: str, at: str) -> bool:
        """planned → running, once (a second click or a second worker gets False)."""
        ...

    def progress(self, id: str, done: int, total: int, at: str) -> None:
        ...

    def finish(self, id: str, status: str, result: dict[str, Any], at: str) -> None:
        ...

    def recent(self, limit: int = 10) -> list[dict]:
        ...


class Storage(Protocol):
    """One database: its parts, and the transactions every write runs in. The parts are
    read-only here, so a backend's own part classes (``SqlStorage.ledger`` is a
    ``LedgerStore``) satisfy them; as plain attributes they would have to be declared
    as exactly these Protocols."""

    @property
    def directory(self) -> DirectoryPart:
        ...

    @property
    def access(self) -> AccessPart:
        ...

    @property
    def records(self) -> RecordsPart:
        ...

    @property
    def cases(self) -> CasesPart:
        ...

    @property
    def case_audit(self) -> CaseAuditPart:
        ...

    @property
    def ledger(self) -> LedgerPart:
        ...

    @property
    def audit(self) -> AuditPart:
        ...

    @property
    def web(self) -> WebPart:
        ...

    @property
    def fielddata(self) -> FieldDataPart:
        ...

    @property
    def imports(self) -> ImportsPart:
        ...


    def transaction(self, *, deferred: bool = False) -> AbstractContextManager[Storage]:
        """A write transaction; nested uses join the outer one. It holds the one write
        lock from its start, or (``deferred``) from ``lock_writes()``: until then,
        statements may read a state another writer changes before the lock."""
        ...

    @property
    def late_lock(self) -> bool:
        """Whether ``deferred`` lets work before ``lock_writes()`` overlap other writers."""
        ...

    def lock_writes(self) -> None:
        """Take the write lock now, in a deferred transaction (held until it ends)."""
        ...

    def lock_device(self, device: str) -> None:
        """In a deferred transaction, before it claims any row: this device's other
        deferred transactions (a retry racing its original) wait for this one to end."""
        ...

    def savepoint(self) -> AbstractContextManager[Storage]:
        """Inside a transaction: undone if the block raises (the transaction goes on)."""
        ...

    def relaxed_durability(self) -> AbstractContextManager[Storage]:
        """Commits inside may skip the fsync (nothing a device was promised)."""
        ...

    def snapshot(self) -> AbstractContextManager[Storage]:
        """A read transaction: every query inside sees one consistent state."""
        ...

    def defer_checkpoints(self) -> None:
        """This connection's commits leave the WAL's checkpoint to ``checkpoint`` (called
        after a response), up to a bound (SQLite; PostgreSQL checkpoints by itself)."""
        ...

    def checkpoint_due(self) -> bool:
        """Whether ``checkpoint`` has work: a write committed here since the last one, not
        too recently (always False on PostgreSQL)."""
        ...

    def checkpoint(self) -> tuple[int, int, int]:
        """Copy committed pages from SQLite's WAL into the database file, waiting for no
        one: (busy, frames in the WAL, frames checkpointed)."""
        ...

    def readable(self) -> bool:
        ...

    def close(self) -> None:
        ...
