"""Wire schemas of the administration, device and ledger endpoints."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, pre_load, validate, validates_schema

from ..auth import ROLES
from ..fields import UUID_PATTERN, Id, Name, StrictBoolean, StrictInteger


class Strict(Schema):
    """Unknown keys are rejected (marshmallow's default RAISE; docs/protocol.md asks for it),
    and so is a NUL character anywhere in a value: PostgreSQL's text cannot hold one
    (SQLite's can), so both backends refuse it alike, before anything is written.
    (A device's synced fields may hold one: sync keeps it, on both.)"""

    @pre_load
    def _no_nul(self, data: Any, **_: Any) -> Any:
        if isinstance(data, dict):
            bad = sorted(str(k) for k, v in data.items() if _holds_nul(v))
            if bad:
                raise ValidationError({k: ["Must not contain a NUL character."] for k in bad})
        return data


def _holds_nul(value: Any) -> bool:
    """Whether a NUL is in ``value`` or anything inside it (a loop: a body nested as deep
    as the parser allows must not overflow the stack)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


class GridIn(Strict):
    id = Id(required=True)
    name = Name(required=True)
    parent = Id(required=True, allow_none=True)


class GridPatch(Strict):
    name = Name(required=True)


class GridOut(Schema):
    id = fields.String()
    name = fields.String()
    parent = fields.String(allow_none=True)
    community = fields.String()


class GridList(Schema):
    grids = fields.List(fields.Nested(GridOut))


class ShopIn(Strict):
    id = Id(required=True)
    name = Name(required=True)
    community = Id(required=True)


class ShopOut(Schema):
    id = fields.String()
    name = fields.String()
    community = fields.String()


class ShopList(Schema):
    shops = fields.List(fields.Nested(ShopOut))


class PersonIn(Strict):
    id = Id(required=True)
    name = Name(required=True)
    role = fields.String(required=True, validate=validate.OneOf(ROLES))
    grids = fields.List(Id(), required=True, validate=validate.Length(max=500))
    shop = Id()

    @validates_schema
    def _shop_for_shops(self, data: dict, **kwargs: object) -> None:
        if data.get("role") == "shop" and not data.get("shop"):
            raise ValidationError("required for role shop", "shop")
        if data.get("role") != "shop" and "shop" in data:
            raise ValidationError("only for role shop", "shop")


class PersonPatch(Strict):
    name = Name()
    grids = fields.List(Id(), validate=validate.Length(max=500))
    active = StrictBoolean()


class PersonOut(Schema):
    id = fields.String()
    name = fields.String()
    role = fields.String()
    grids = fields.List(fields.String())
    shop = fields.String(allow_none=True)
    community = fields.String(allow_none=True)
    active = fields.Boolean()


class PersonList(Schema):
    people = fields.List(fields.Nested(PersonOut))


class CardOut(Schema):
    card = fields.String()


class EnrollmentIn(Strict):
    person = Id(required=True)


class EnrollmentOut(Schema):
    code = fields.String()
    expires_at = fields.String()


class CatalogItemIn(Strict):
    name = Name(required=True)
    price = StrictInteger(required=True, validate=validate.Range(min=1))
    stock = StrictInteger(required=True, validate=validate.Range(min=0))


class CatalogItemOut(Schema):
    sku = fields.String()
    name = fields.String()
    price = fields.Integer()
    stock = fields.Integer()


class CatalogList(Schema):
    items = fields.List(fields.Nested(CatalogItemOut))


class ActivityRule(Strict):
    points_per_hour = StrictInteger(required=True, validate=validate.Range(min=0, max=100_000))
    name = Name()  # the display name people read (助老服务); the key stays the id


class RulesIn(Strict):
    activities = fields.Dict(keys=Id(), values=fields.Nested(ActivityRule), required=True,
                             validate=validate.Length(max=200))
    daily_cap = StrictInteger(required=True, allow_none=True, validate=validate.Range(min=0))
    timezone = fields.String(required=True, validate=validate.Length(min=1, max=64))
    case_categories = fields.Dict(
        keys=Id(), values=Name(), validate=validate.Length(max=200),
        metadata={"description": "case category key → the name people read"})
    case_points = fields.Dict(
        keys=fields.String(validate=validate.OneOf(("1", "2", "3"))),
        values=StrictInteger(validate=validate.Range(min=0, max=100_000)),
        metadata={"description": "points a volunteer earns for closing a case, by "
                                 "difficulty (\"1\"..\"3\")"})


class RulesOut(Schema):
    activities = fields.Dict()
    daily_cap = fields.Integer(allow_none=True)
    timezone = fields.String()
    case_categories = fields.Dict()
    case_points = fields.Dict()
    hash = fields.String()


class DeviceOut(Schema):
    id = fields.String()
    person = fields.String()
    name = fields.String()
    public_key = fields.String()
    created_at = fields.String()
    last_sync_at = fields.String(allow_none=True)
    applied = fields.Integer()
    rejected = fields.Integer()
    revoked = fields.Boolean()
    revoked_at = fields.String(allow_none=True)
    weak_key = fields.Boolean(metadata={"description": "the stored public key is weak (small "
                                                       "order or not canonical): revoke it"})
    weak_key_reason = fields.String(allow_none=True)


class DeviceList(Schema):
    devices = fields.List(fields.Nested(DeviceOut))


class EnrollIn(Strict):
    code = fields.String(required=True, validate=validate.Length(min=1, max=100))
    public_key = fields.String(required=True, validate=validate.Length(min=1, max=100))
    name = Name(required=True)
    proof = fields.String(required=True, validate=validate.Length(min=1, max=200))


class LedgerKeyOut(Schema):
    key_id = fields.String()
    public_key = fields.String()


class EnrollOut(Schema):
    device_id = fields.String()
    token = fields.String()
    person = fields.String()
    role = fields.String()
    grids = fields.List(fields.String())
    ledger_key = fields.Nested(LedgerKeyOut, metadata={
        "description": "the ledger's first key: pin it and trust later keys by endorsement"})


class MeOut(Schema):
    person = fields.String()
    name = fields.String()
    role = fields.String()
    grids = fields.List(fields.String())
    grid_names = fields.Dict(keys=fields.String(), values=fields.String(), metadata={
        "description": "id → name of the grids the person holds, and those under and above"})
    may = fields.List(fields.String(), metadata={
        "description": "what the role may do: collections it writes, verify_logs, "
                       "open_cases, confirm_cases"})


class ErrorDetail(Schema):
    code = fields.String(required=True)
    message = fields.String(required=True)
    fields = fields.Dict(metadata={"description": "field-level messages (validation only)"})  # type: ignore[assignment]


class ApiErrorSchema(Schema):
    """Every non-2xx answer: {"error": {"code", "message", "fields"?}}."""

    error = fields.Nested(ErrorDetail, required=True)


class ConflictSide(Schema):
    value = fields.Raw(allow_none=True)
    hlc = fields.String()
    device = fields.String(allow_none=True)
    op = fields.String(allow_none=True)


class ConflictOut(Schema):
    id = fields.Integer()
    collection = fields.String()
    record = fields.String()
    field = fields.String()
    winner = fields.Nested(ConflictSide)
    loser = fields.Nested(ConflictSide)
    status = fields.String()
    created_at = fields.String()
    resolved_at = fields.String(allow_none=True)
    resolved_by = fields.String(allow_none=True)
    kept = fields.String(allow_none=True)


class ConflictList(Schema):
    conflicts = fields.List(fields.Nested(ConflictOut))


class ResolveIn(Strict):
    keep = fields.String(required=True, validate=validate.OneOf(("winner", "loser")))


class OpOut(Schema):
    op = fields.String()
    change = fields.Dict(metadata={"description": "the change exactly as the device signed it"})
    result = fields.Dict()
    device = fields.String()
    person = fields.String(allow_none=True)
    public_key = fields.String(allow_none=True)
    received_at = fields.String()


# --- ledger and points (issue #5) ------------------------------------------


class EntryOut(Schema):
    """A signed ledger entry (docs/protocol.md "Entry"); served exactly as stored."""

    seq = fields.Integer()
    id = fields.String()
    kind = fields.String()
    debit = fields.String()
    credit = fields.String()
    amount = fields.Integer()
    ref = fields.String()
    evidence = fields.String(allow_none=True)
    rules = fields.String(allow_none=True)
    at = fields.String()
    prev_hash = fields.String()
    key_id = fields.String()
    hash = fields.String()
    sig = fields.String()


PAGE_LIMIT, PAGE_MAX = 100, 1000
"""Entries a page of entries holds by default, and at most."""


def _after(**kwargs: Any) -> fields.Integer:
    return fields.Integer(validate=validate.Range(min=0, max=2**53 - 1), **kwargs,
                          metadata={"description": "exclusive; 0 = from the start"})


def _limit(**kwargs: Any) -> fields.Integer:
    return fields.Integer(validate=validate.Range(min=1, max=PAGE_MAX), **kwargs)


class EntriesQuery(Strict):
    after = _after(load_default=0)
    limit = _limit(load_default=PAGE_LIMIT)


class AccountQuery(Strict):
    """Paging an account's entries (an extension of the v1 contract): with neither, every
    entry, as before; with either, a page (``limit`` defaults to PAGE_LIMIT) and ``next``."""

    after = _after()
    limit = _limit()


class EntryPage(Schema):
    entries = fields.List(fields.Nested(EntryOut))
    next = fields.Integer(allow_none=True, metadata={
        "description": "the last seq returned when more remain, else null"})


class AccountOut(Schema):
    account = fields.String()
    balance = fields.Integer()
    as_of = fields.Integer(metadata={"description": "chain head seq when the balance was read"})
    entries = fields.List(fields.Nested(EntryOut), metadata={
        "description": "absent for a shop reading a volunteer's balance"})
    next = fields.Integer(allow_none=True, metadata={
        "description": "only when `after` or `limit` was given (and entries are shown): "
                       "the last seq returned when more remain, else null"})


class CheckpointOut(Schema):
    seq = fields.Integer()
    head = fields.String()
    root = fields.String(metadata={"description": "Merkle root (hex) of the first seq entries"})
    at = fields.String()
    key_id = fields.String()
    sig = fields.String()


class RedemptionItemIn(Strict):
    sku = Id(required=True)
    qty = StrictInteger(required=True, validate=validate.Range(min=1, max=1_000_000))


class RedemptionIn(Strict):
    id = fields.String(required=True, validate=validate.Regexp(
        UUID_PATTERN, error="must be a lowercase UUID"))
    volunteer = Id(required=True)
    card = fields.String(required=True, validate=validate.Length(min=1, max=200))
    items = fields.List(fields.Nested(RedemptionItemIn), required=True,
                        validate=validate.Length(min=1, max=100))


class RedemptionLine(Schema):
    sku = fields.String()
    name = fields.String()
    qty = fields.Integer()
    price = fields.Integer()


class RedemptionOut(Schema):
    id = fields.String()
    volunteer = fields.String()
    shop = fields.String()
    items = fields.List(fields.Nested(RedemptionLine))
    total = fields.Integer()
    at = fields.String()


class InclusionQuery(Strict):
    seq = fields.Integer(required=True, validate=validate.Range(min=1, max=2**53 - 1))
    size = fields.Integer(required=True, validate=validate.Range(min=1, max=2**53 - 1))


class ConsistencyQuery(Strict):
    from_ = fields.Integer(required=True, data_key="from",
                           validate=validate.Range(min=1, max=2**53 - 1))
    to = fields.Integer(required=True, validate=validate.Range(min=1, max=2**53 - 1))


class InclusionProof(Schema):
    seq = fields.Integer()
    size = fields.Integer()
    path = fields.List(fields.String(), metadata={"description": "hex hashes, leaf side first"})


class ConsistencyProof(Schema):
    from_ = fields.Integer(data_key="from")
    to = fields.Integer()
    path = fields.List(fields.String(), metadata={"description": "hex hashes (RFC 6962)"})


class RedemptionResult(Schema):
    redemption = fields.Nested(RedemptionOut)
    entry = fields.Nested(EntryOut)
    checkpoint = fields.Nested(CheckpointOut)
    proof = fields.Nested(InclusionProof, metadata={
        "description": "the entry's inclusion proof at the checkpoint"})


class RefundIn(Strict):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=500))


class RefundOut(Schema):
    id = fields.String(metadata={"description": "the redemption refunded"})
    entry = fields.Integer(metadata={"description": "seq of the redeem entry reversed"})
    reason = fields.String()
    by = fields.String()
    at = fields.String()


class RefundResult(Schema):
    redemption = fields.Nested(RedemptionOut)
    entry = fields.Nested(EntryOut)
    refund = fields.Nested(RefundOut)


def _non_zero(value: int) -> None:
    if value == 0:
        raise ValidationError("must not be 0")


class AdjustmentIn(Strict):
    id = Id(required=True)
    account = fields.String(required=True, validate=validate.Length(min=1, max=200))
    amount = StrictInteger(required=True, validate=_non_zero)
    reason = fields.String(required=True, validate=validate.Length(min=1, max=2000))


class AdjustmentOut(Schema):
    id = fields.String()
    account = fields.String()
    amount = fields.Integer()
    reason = fields.String()
    by = fields.String()
    at = fields.String()


class AdjustmentResult(Schema):
    adjustment = fields.Nested(AdjustmentOut)
    entry = fields.Nested(EntryOut)


class ReversalIn(Strict):
    id = Id(required=True)
    entry = StrictInteger(required=True, validate=validate.Range(min=1))
    reason = fields.String(required=True, validate=validate.Length(min=1, max=2000))


class ReversalOut(Schema):
    id = fields.String()
    entry = fields.Integer()
    reason = fields.String()
    by = fields.String()
    at = fields.String()


class ReversalResult(Schema):
    reversal = fields.Nested(ReversalOut)
    entry = fields.Nested(EntryOut)
