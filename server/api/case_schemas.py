"""Wire schemas of the cases endpoints (docs/protocol.md: Cases)."""

from __future__ import annotations

from marshmallow import Schema, ValidationError, validate
from marshmallow import fields as mf

from sync.collections import CASE_KINDS, CASE_STATUSES
from sync.schemas import Text, Timestamp
from sync.wire import MAX_NOTES, MAX_PHONE, MAX_TITLE

from ..fields import Id, StrictInteger
from ..services.case_public import has_control_chars
from .schemas import Strict


def _no_control_chars(value: str) -> None:
    if has_control_chars(value):
        raise ValidationError("Must not contain control characters (such as NUL).")


class PublicText(Text):
    """A resident's text: also without NUL and the other control characters
    (``case_public.CONTROL_CHARS``, the rule the residents' pages apply too)."""

    def __init__(self, *args: object, **kwargs: object):
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.validators.append(_no_control_chars)


class AssignIn(Strict):
    assignee = Id(required=True)
    difficulty = StrictInteger(validate=validate.Range(1, 3))
    due_at = Timestamp(allow_none=True)


class CancelIn(Strict):
    reason = Text(MAX_NOTES, min_length=1, required=True)


class CaseQuery(Strict):
    grid = Id()
    status = mf.String(validate=validate.OneOf(CASE_STATUSES))
    kind = mf.String(validate=validate.OneOf(CASE_KINDS))
    after = mf.Integer(load_default=0, validate=validate.Range(min=0, max=2**53 - 1),
                           metadata={"description": "exclusive: the `next` of the last page"})
    limit = mf.Integer(load_default=100, validate=validate.Range(min=1, max=1000))


class Step(Schema):
    status = mf.String()
    by = mf.String(allow_none=True, metadata={"description": "a person id; null for a "
                                                                  "resident's step"})
    at = mf.String()
    op = mf.String(allow_none=True, metadata={"description": "the device's op; null for "
                                                                  "admin and resident steps"})


class CaseOut(Schema):
    """A case as pulled (``fields`` hold device-set and server-set fields)."""

    collection = mf.String()
    id = mf.String()
    version = mf.Integer()
    hlc = mf.String()
    fields = mf.Dict()  # type: ignore[assignment]
    deleted = mf.Boolean()


class CaseDetail(CaseOut):
    history = mf.List(mf.Nested(Step))


class CasePage(Schema):
    cases = mf.List(mf.Nested(CaseOut))
    next = mf.Integer(allow_none=True)


class ReportQuery(Strict):
    grid = Id(required=True)
    from_ = mf.Date(required=True, data_key="from", metadata={"description": "YYYY-MM-DD"})
    to = mf.Date(required=True, metadata={"description": "YYYY-MM-DD, exclusive"})


class CategoryCount(Schema):
    received = mf.Integer()
    closed = mf.Integer()


class ReportOut(Schema):
    grid = mf.String()
    from_ = mf.String(data_key="from", attribute="from")
    to = mf.String()
    received = mf.Integer()
    closed = mf.Integer()
    cancelled = mf.Integer()
    open = mf.Integer()
    overdue = mf.Integer()
    closure_rate_bp = mf.Integer()
    satisfaction_bp = mf.Integer()
    median_hours_to_close = mf.Integer(allow_none=True)
    ratings = mf.Dict(keys=mf.String(), values=mf.Integer())
    by_category = mf.Dict(keys=mf.String(), values=mf.Nested(CategoryCount))


class ReportCodeOut(Schema):
    code = mf.String()
    url = mf.String()


class PublicReportIn(Strict):
    code = mf.String(required=True, validate=validate.Length(min=1, max=64))
    category = Id(required=True)
    title = PublicText(MAX_TITLE, min_length=1, required=True)
    detail = PublicText(MAX_NOTES, allow_none=True)
    name = PublicText(100, allow_none=True)
    phone = PublicText(MAX_PHONE, allow_none=True)


class PublicReportOut(Schema):
    case = mf.String()
    receipt = mf.String()


class PublicCase(Schema):
    case = mf.String()
    status = mf.String()
    category = mf.String()
    title = mf.String()
    created_at = mf.String()
    done_at = mf.String(allow_none=True)
    resolution = mf.String(allow_none=True)
    rating = mf.Integer(allow_none=True)


class RatingIn(Strict):
    rating = StrictInteger(required=True, validate=validate.Range(1, 5))
    note = PublicText(1000, allow_none=True)
