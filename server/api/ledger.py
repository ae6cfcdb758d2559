"""Ledger and points: accounts, entries, checkpoints, redemptions, adjustments, reversals.

Answers that carry entries are written with orjson from the stored entries
rather than dumped through marshmallow: an entry must reach a verifier with
every key it was signed with, and a page holds up to 1,000 of them. The
schemas still describe them in the OpenAPI document.
"""

from __future__ import annotations

from typing import Any

import orjson
from flask import Response, g
from marshmallow import RAISE

from ..auth import require
from ..services import anchors
from ..services import ledger as points
from ..services.admin_scope import admin_scope
from ..state import signer, storage
from . import schemas as s
from .blueprint import Blueprint

bp = Blueprint("ledger", __name__, description="Signed points ledger, redemptions and audits")

_REPLAY = "The same id with the same body again: the first answer, unchanged."


def _json(obj: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(obj), status=status, mimetype="application/json")


def _outcome(outcome: points.Outcome) -> Response:
    return _json(outcome.answer, 200 if outcome.replayed else 201)


@bp.route("/accounts/<account>", methods=["GET"])
@require("volunteer", "admin", "auditor", "shop")
@bp.arguments(s.AccountQuery, location="query")
@bp.alt_response(200, schema=s.AccountOut, success=True)
def get_account(args, account):
    """Balance and entries of an account (`volunteer:<id>`, `shop:<id>`, `issuance:<id>`).

    The volunteer themself, admins and auditors see the entries; a shop of
    the volunteer's community sees the balance only; others get 403. With `after`
    and/or `limit` (default 100, max 1000), the entries come a page at a time with
    `next`; without, all of them. Other query parameters are ignored, as before.
    """
    page = None
    if args:
        page = (args.get("after", 0), args.get("limit", s.PAGE_LIMIT))
    return _json(points.account_view(storage(), g.who, account, page))


@bp.route("/ledger/entries", methods=["GET"])
@require("admin", "auditor")
@bp.arguments(s.EntriesQuery, location="query", unknown=RAISE)
@bp.alt_response(200, schema=s.EntryPage, success=True)
def list_entries(args):
    """Entries with seq > `after`, oldest first, at most `limit` (default 100, max 1000):
    the whole chain, for auditors and district-wide admins (a scoped admin reads their
    communities' accounts)."""
    if g.who.role == "admin":
        admin_scope(storage(), g.who.person).require_district("reads the whole ledger")
    bodies, next_seq = points.entries_page(storage(), args["after"], args["limit"])
    text = '{"entries":[' + ",".join(bodies) + '],"next":' + (
        "null" if next_seq is None else str(next_seq)) + "}"
    return Response(text, mimetype="application/json")


@bp.route("/ledger/checkpoint", methods=["GET"])
@require()
@bp.response(200, s.CheckpointOut)
def get_checkpoint():
    """A signed checkpoint at the current head, with the entries' Merkle root
    (seq 0, 64 zeros and the empty tree's root when empty)."""
    return anchors.checkpoint(storage(), signer())


@bp.route("/ledger/proof/inclusion", methods=["GET"])
@require()
@bp.arguments(s.InclusionQuery, location="query", unknown=RAISE)
@bp.response(200, s.InclusionProof)
def get_inclusion_proof(args):
    """RFC 6962 path of entry `seq` in the tree of the first `size` entries
    (1 <= seq <= size <= head, else 400 validation)."""
    return anchors.inclusion_proof(storage(), args["seq"], args["size"])


@bp.route("/ledger/proof/consistency", methods=["GET"])
@require()
@bp.arguments(s.ConsistencyQuery, location="query", unknown=RAISE)
@bp.response(200, s.ConsistencyProof)
def get_consistency_proof(args):
    """RFC 6962 PROOF(from, to): the tree of `to` entries extends that of `from`
    (1 <= from <= to <= head, else 400 validation)."""
    return anchors.consistency_proof(storage(), args["from_"], args["to"])


@bp.route("/redemptions", methods=["POST"])
@require("shop")
@bp.arguments(s.RedemptionIn)
@bp.alt_response(201, schema=s.RedemptionResult, success=True)
@bp.alt_response(200, schema=s.RedemptionResult, description=_REPLAY)
def create_redemption(data):
    """Spend a volunteer's points at this shop: needs the volunteer's current card code.

    Stock and points move together or not at all (409 insufficient_points /
    out_of_stock change nothing).
    """
    return _outcome(points.redeem(storage(), signer(), g.who, data))


@bp.route("/redemptions/<redemption_id>", methods=["GET"])
@require("shop", "volunteer", "admin")
@bp.alt_response(200, schema=s.RedemptionResult, success=True)
def get_redemption(redemption_id):
    """A redemption and its entry (that shop, the volunteer, admins)."""
    return _json(points.redemption_view(storage(), signer(), g.who, redemption_id))


@bp.route("/redemptions/<redemption_id>/refund", methods=["POST"])
@require("shop", "admin")
@bp.arguments(s.RefundIn)
@bp.alt_response(200, schema=s.RefundResult, success=True)
def refund_redemption(data, redemption_id):
    """Undo a redemption (that shop, admins): a `reverse` entry gives the points
    back and the items' stock is put back; once (409 already_reversed)."""
    return _json(points.refund(storage(), signer(), g.who, redemption_id[:64], data["reason"]))


@bp.route("/ledger/adjustments", methods=["POST"])
@require("admin")
@bp.arguments(s.AdjustmentIn)
@bp.alt_response(201, schema=s.AdjustmentResult, success=True)
@bp.alt_response(200, schema=s.AdjustmentResult, description=_REPLAY)
def create_adjustment(data):
    """Give (amount > 0) or take back (amount < 0) points from the community's issuance.

    Never below zero: 409 insufficient_points.
    """
    return _outcome(points.adjust(storage(), signer(), g.who, data))


@bp.route("/ledger/reversals", methods=["POST"])
@require("admin")
@bp.arguments(s.ReversalIn)
@bp.alt_response(201, schema=s.ReversalResult, success=True)
@bp.alt_response(200, schema=s.ReversalResult, description=_REPLAY)
def create_reversal(data):
    """Undo an entry with a `reverse` entry swapping its debit and credit (once per entry)."""
    return _outcome(points.reverse(storage(), signer(), g.who, data))
