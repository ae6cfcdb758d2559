"""Per-collection rules as data (docs/protocol.md, Sync → Fields by collection).

``sync.schemas`` declares each field's type; ``sync.merge`` applies these
rules. A test keeps ``FIELD_NAMES`` and the schemas in step.
"""

from __future__ import annotations

COLLECTIONS = ("households", "visits", "service_logs", "cases")

#: Fields a device may set, by collection.
FIELD_NAMES: dict[str, frozenset[str]] = {
    "households": frozenset({
        "grid", "address", "head_name", "members", "tags", "phone", "notes",
    }),
    "visits": frozenset({
        "household", "visited_at", "outcome", "needs", "hazards", "notes", "lat_e6", "lon_e6",
    }),
    "service_logs": frozenset({
        "volunteer", "activity", "started_at", "minutes", "notes", "status",
    }),
    # Device-set fields plus the fields a status step may send (``CASE_STEP_FIELDS``).
    "cases": frozenset({
        "grid", "kind", "category", "title", "detail", "household", "visit",
        "reporter_name", "reporter_phone", "due_at",
        "status", "assignee", "resolution", "rating",
    }),
}

#: Fields only the server writes; a change that sets one is a ``validation`` error.
SERVER_FIELDS: dict[str, frozenset[str]] = {
    "households": frozenset(),
    "visits": frozenset(),
    "service_logs": frozenset({"recorded_by", "verified_by", "verified_at", "points"}),
    "cases": frozenset({
        "difficulty", "created_by", "rating_note", "points", "created_at", "assigned_at",
        "accepted_at", "done_at", "closed_at",
    }),
}

#: A live record must hold these (never null); a change leaving one out is ``validation``.
REQUIRED_ON_CREATE: dict[str, frozenset[str]] = {
    "households": frozenset({"grid"}),
    "visits": frozenset({"household", "visited_at", "outcome"}),
    "service_logs": frozenset({"volunteer", "activity", "started_at", "minutes"}),
    "cases": frozenset({"grid", "kind", "category", "title"}),
}

#: Fields an existing record never changes (setting another value → ``immutable``).
IMMUTABLE_AFTER_CREATE: dict[str, frozenset[str]] = {
    "households": frozenset(),
    "visits": FIELD_NAMES["visits"],
    "service_logs": frozenset({"volunteer", "activity"}),
    "cases": frozenset({"grid", "kind"}),
}

#: Collections written once: any change to an existing record (a delete, or
#: a change setting nothing) → ``immutable``.
WRITE_ONCE = frozenset({"visits"})

#: visits outcomes.
OUTCOMES = ("met", "not_home", "refused")

#: service_logs statuses.
DEFAULT_STATUS = "recorded"
STATUSES = ("recorded", "verified", "rejected")
#: A log in one of these is ``locked``: no later change is accepted.
FINAL_STATUSES = frozenset({"verified", "rejected"})

#: cases kinds: a resident's report (群众上报), found on patrol (巡查发现), a micro-wish (微心愿).
CASE_KINDS = ("report", "patrol", "wish")
#: cases statuses, in the order of the loop.
CASE_STATUSES = ("open", "assigned", "accepted", "done", "closed", "cancelled")
#: A case in one of these is ``locked``: no later change is accepted.
CASE_FINAL = frozenset({"closed", "cancelled"})
#: Fields only a status step sets (sent together with ``status``).
CASE_STEP_FIELDS = frozenset({"status", "assignee", "resolution", "rating"})
#: What devices set freely (merged per field by stamp until the case is done).
CASE_DEVICE_FIELDS = FIELD_NAMES["cases"] - CASE_STEP_FIELDS
