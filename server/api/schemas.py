"""Wire schemas of the administration, device and ledger endpoints."""

from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from ..auth import ROLES
from ..fields import ID_PATTERN as ID_RE
from ..fields import Id, Name, StrictBoolean, StrictInteger


class Strict(Schema):
    """Unknown keys are rejected (marshmallow's default RAISE; PROTOCOL asks for it)."""


class GridIn(Strict):
    id = Id(required=True)
    name = Name(required=True)
    parent = Id(required=True, allow_none=True)


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


class RulesIn(Strict):
    activities = fields.Dict(keys=Id(), values=fields.Nested(ActivityRule), required=True,
                             validate=validate.Length(max=200))
    daily_cap = StrictInteger(required=True, allow_none=True, validate=validate.Range(min=0))
    timezone = fields.String(required=True, validate=validate.Length(min=1, max=64))


class RulesOut(Schema):
    activities = fields.Dict()
    daily_cap = fields.Integer(allow_none=True)
    timezone = fields.String()
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


class DeviceList(Schema):
    devices = fields.List(fields.Nested(DeviceOut))


class EnrollIn(Strict):
    code = fields.String(required=True, validate=validate.Length(min=1, max=100))
    public_key = fields.String(required=True, validate=validate.Length(min=1, max=100))
    name = Name(required=True)
    proof = fields.String(required=True, validate=validate.Length(min=1, max=200))


class EnrollOut(Schema):
    device_id = fields.String()
    token = fields.String()
    person = fields.String()
    role = fields.String()
    grids = fields.List(fields.String())


class ErrorDetail(Schema):
    code = fields.String(required=True)
    message = fields.String(required=True)
    fields = fields.Dict(metadata={"description": "field-level messages (validation only)"})


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
