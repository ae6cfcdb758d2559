"""Every earn against the signed field record behind it (``gridsync ledger verify``).

The chain proves the server signed an entry; this proves the entry was owed, so
that every point traces back to a signed field record. An earn names its
``evidence``: the op whose change verified the service log (or set the case
``done``). For each earn:

- the evidence is a stored op, applied, sent by a registered device, and its
  stored change verifies against that device's public key over the change's
  canonical bytes (``sync.signing.verify_change``, the push's own check), so
  neither the change nor the device it is filed under was rewritten;
- the signed change is that op, on the record the earn pays for;
- for a service log: the change sets ``status`` to ``verified``; its sender is
  not barred by four eyes (``policy.barred_verifiers``, the push's rule: the
  log's volunteer, its recorder, whoever wrote its priced fields); the log's
  ``volunteer`` is the account credited; and the amount is the log's price
  under the rules the entry names (``ledger.rules.price_log``), after the daily
  cap as the server counted it: that volunteer's earlier log earns on the same
  local day. An entry naming no rules, as none the server makes, is not repriced.

For a case: the amount is the points of its difficulty under the rules the entry
names (``cases.case_price``); its ``done`` step, its assignee and its points are
``CaseAuditStore``'s. A missing log or case, or one whose state cannot be read, is
reported by the checks that follow (``first_earn_without_log``,
``service_log_problems``, ``CaseAuditStore``).

Earns are read a page at a time, one query a page, in (credit, seq) order: the
daily caps are replayed one volunteer at a time, so memory stays flat however
long the ledger. Every signature is verified, that is what the audit is for:
about as much CPU again as the chain's own signature, per earn, so it runs on the
``--workers`` processes too (``_with_signatures``).
"""

from __future__ import annotations

import multiprocessing
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Any

from ledger import LedgerError
from ledger.rules import local_date, price_log, rules_hash
from primitives import names
from sync.errors import ChangeRejected
from sync.signing import verify_change

from ..storage import Storage
from ..storage.ledger_audit import parse_object
from .cases import case_price
from .sync.policy import barred_verifiers
from .sync.writes import StoredWriters

PAGE = 1000
"""Earns read per query."""

APPLIED = ("applied", "conflict")
"""An op's stored statuses once it took effect."""


def earn_problems(store: Storage, workers: int = 1,
                  progress: Callable[[int], None] = lambda _: None
                  ) -> Iterator[tuple[int, str]]:
    """(seq, problem) for each earn that does not stand on its evidence, one at most per
    earn, in (credit, seq) order; the signatures verified on ``workers`` processes, and
    ``progress`` told how many earns each page checked."""
    audit = _EarnAudit(store)
    for page, signatures in _with_signatures(_pages(store), workers):
        for row, signature in zip(page, signatures, strict=True):
            problem = audit.problem(row, signature)
            if problem is not None:
                yield int(row["seq"]), problem
        progress(len(page))


def _pages(store: Storage) -> Iterator[list[Any]]:
    after = ("", 0)
    while True:
        rows = store.audit.earn_evidence(after, PAGE)
        if rows:
            yield rows
        if len(rows) < PAGE:
            return
        after = (rows[-1]["credit"], int(rows[-1]["seq"]))


def _with_signatures(pages: Iterator[list[Any]], workers: int
                     ) -> Iterator[tuple[list[Any], list[str | None]]]:
    """Each page with what is wrong with each row's evidence signature (None: it
    verifies, or there is no op to verify). With ``workers`` > 1 the signatures are
    verified on that many forked processes, a few pages ahead of the caller, who
    meanwhile does the rest of the checks: Ed25519 is most of an earn's audit."""
    if workers <= 1 or "fork" not in multiprocessing.get_all_start_methods():
        for page in pages:
            yield page, _signature_problems(_signed(page))
        return
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(workers, mp_context=context) as pool:
        ahead: deque[tuple[list[Any], Future[list[str | None]]]] = deque()
        for page in pages:
            ahead.append((page, pool.submit(_signature_problems, _signed(page))))
            if len(ahead) > 2 * workers:
                done, verdicts = ahead.popleft()
                yield done, verdicts.result()
        while ahead:
            done, verdicts = ahead.popleft()
            yield done, verdicts.result()


def _signed(page: list[Any]) -> list[tuple[Any, ...]]:
    """What the signature check reads of each row, as plain values (sent to a worker)."""
    return [(r["evidence"], r["op"], r["device"], r["public_key"], r["change"]) for r in page]


def _signature_problems(rows: list[tuple[Any, ...]]) -> list[str | None]:
    """For each (evidence, op, device, public key, stored change): None if there is no op
    or its device signed the change as stored, else what is wrong."""
    return [None if op is None else _signature_problem(evidence, device, key, change)
            for evidence, op, device, key, change in rows]


class _EarnAudit:
    def __init__(self, store: Storage):
        self.store = store
        self.writers = StoredWriters(store)
        self._rules: dict[str, tuple[dict | None, str | None]] = {}
        self._credit: str | None = None
        self._days: dict[str, int] = {}  # the credited volunteer's log points by local date

    def problem(self, row: Any, signature: str | None) -> str | None:
        """What is wrong with this earn (``signature``: with its evidence's signature)."""
        if row["credit"] != self._credit:
            self._credit, self._days = row["credit"], {}
        kind, target = names.split(row["ref"])
        log = _log_state(row) if kind == names.SERVICE_LOG else None
        # Priced first, whatever else is wrong: the day's points count toward the cap
        # of this volunteer's later earns, as they did when the server priced them.
        price = self._price_problem(row, log) if log is not None else None
        what = f"earn for {'service log' if kind == names.SERVICE_LOG else 'case'} {target}"
        problem = self._evidence_problem(row, kind, target, signature)
        if problem is None and kind == names.SERVICE_LOG:
            problem = self._log_problem(row, log) or price
        elif problem is None and kind == names.CASE:
            problem = self._case_price_problem(row)
        return None if problem is None else f"{what}{problem}"

    def _evidence_problem(self, row: Any, kind: str, target: str,
                          signature: str | None) -> str | None:
        """What is wrong with the earn's evidence itself, signature first."""
        op = row["evidence"]
        if op is None:
            return " names no evidence"
        if row["op"] is None:
            if kind != names.SERVICE_LOG:
                return None  # CaseAuditStore: "not a stored change to the case"
            return f": evidence op {op} is not a stored change to its service log"
        if signature is not None:
            return f": {signature}"
        change, _ = parse_object(row["change"])  # it parsed for the signature
        assert change is not None
        collection = "service_logs" if kind == names.SERVICE_LOG else "cases"
        if (change.get("op"), change.get("collection"), change.get("id")) != (
                op, collection, target):
            return (f": evidence op {op}'s signed change is op {change.get('op')!r} on "
                    f"{change.get('collection')!r} {change.get('id')!r}, not this op on it")
        if row["op_status"] not in APPLIED:
            return f": evidence op {op} was {row['op_status']}, not applied"
        if kind == names.SERVICE_LOG:
            values = change.get("fields")
            status = values.get("status") if isinstance(values, dict) else None
            if status != "verified":
                return f": evidence op {op} sets status {status!r}, not 'verified'"
        return None

    def _log_problem(self, row: Any, log: dict | None) -> str | None:
        """Four eyes and the volunteer credited, against the stored log (None when it
        is missing or unreadable: the checks that follow say so)."""
        if log is None:
            return None
        try:
            barred = row["person"] in barred_verifiers(log, self.writers)
        except (KeyError, TypeError, AttributeError):
            return ": the log's stored meta does not say who wrote its fields"
        if barred:
            return (f": evidence op {row['evidence']} was sent by {row['person']} (device "
                    f"{row['device']}), who may not verify this log (four eyes: its "
                    "volunteer, its recorder or a writer of its priced fields)")
        volunteer = log["fields"].get("volunteer")
        if row["credit"] != names.volunteer(volunteer):
            return f": it pays {row['credit']}, but the log's volunteer is {volunteer!r}"
        return None

    def _price_problem(self, row: Any, log: dict) -> str | None:
        """The amount against the log's price under the entry's rules, counting the
        volunteer's earlier log earns that local day toward the daily cap as the
        server did (``earn_for_log``: points already awarded, never reduced)."""
        fields, digest = log["fields"], row["rules"]
        if digest is None:
            return None  # an entry naming no rules cannot be repriced
        rules, problem = self._rules_named(digest)
        if rules is None:
            return f": {problem}"
        try:
            day = local_date(fields["started_at"], rules["timezone"]).isoformat()
            already = self._days.get(day, 0)
            price = price_log(rules, activity=fields["activity"], minutes=fields["minutes"],
                              already_awarded_today=already)
        except (LedgerError, KeyError, TypeError, ValueError, AttributeError) as exc:
            return f": the log cannot be priced under its rules {digest[:12]}…: {exc}"
        self._days[day] = already + int(row["amount"])
        if price != row["amount"]:
            capped = "" if rules.get("daily_cap") is None else (
                f", {already} of its daily cap {rules['daily_cap']} already awarded that day")
            return (f": it pays {row['amount']}, but the log ({fields['minutes']!r} "
                    f"minutes of {fields['activity']!r}) is worth {price} under its rules "
                    f"{digest[:12]}…{capped}")
        return None

    def _case_price_problem(self, row: Any) -> str | None:
        """The amount against the case's price under the entry's rules (``case_price``:
        the points of its difficulty, which no step changes once it is closed)."""
        state, _ = parse_object(row["case_state"]) if row["case_state"] is not None \
            else (None, None)
        fields = state.get("fields") if state is not None else None
        digest = row["rules"]
        if digest is None or not isinstance(fields, dict):
            return None  # no rules named; or CaseAuditStore says what is wrong with the case
        rules, problem = self._rules_named(digest)
        if rules is None:
            return f": {problem}"
        price = case_price(rules, fields)
        if type(price) is not int or price != row["amount"]:
            return (f": it pays {row['amount']}, but the case (difficulty "
                    f"{fields.get('difficulty')!r}) is worth {price!r} under its rules "
                    f"{digest[:12]}…")
        return None

    def _rules_named(self, digest: str) -> tuple[dict | None, str | None]:
        """The stored rules with this hash, or (None, why not)."""
        if digest not in self._rules:
            rules = self.store.directory.rules_by_hash(digest)
            if rules is None:
                found: tuple[dict | None, str | None] = (
                    None, f"its rules {digest[:12]}… are not stored, so its price cannot be "
                          "checked")
            elif rules_hash(rules) != digest:
                found = None, f"the rules stored as {digest[:12]}… do not hash to it"
            else:
                found = rules, None
            self._rules[digest] = found
        return self._rules[digest]


def _log_state(row: Any) -> dict | None:
    """The paid log's stored state when it is an object with ``fields`` and ``meta``."""
    state, _ = parse_object(row["state"]) if row["state"] is not None else (None, None)
    if state is None or not isinstance(state.get("fields"), dict) \
            or not isinstance(state.get("meta"), dict):
        return None
    return state


def _signature_problem(op: str, device: str, public_key: str | None,
                       stored: Any) -> str | None:
    """None if the device registered as ``device`` signed the ``stored`` change (its
    text as stored), else what is wrong."""
    if public_key is None:
        return f"evidence op {op} was sent by device {device}, which is not registered"
    change, problem = parse_object(stored)
    if change is None:
        return f"evidence op {op}'s stored change {problem}"
    try:
        verify_change(change, public_key)
    except ChangeRejected:
        return (f"evidence op {op}'s signature does not verify against device {device}'s "
                "public key (its stored change or its device was rewritten)")
    return None
