"""Per-collection rules as data (PROTOCOL.md, Sync → Fields by collection).

``sync.schemas`` declares each field's type; ``sync.merge`` applies these
rules. A test keeps ``FIELD_NAMES`` and the schemas in step.
"""

from __future__ import annotations

COLLECTIONS = ("households", "visits", "service_logs")

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
}

#: Fields only the server writes; a change that sets one is a ``validation`` error.
SERVER_FIELDS: dict[str, frozenset[str]] = {
    "households": frozenset(),
    "visits": frozenset(),
    "service_logs": frozenset({"recorded_by", "verified_by", "verified_at", "points"}),
}

#: A live record must hold these (never null); a change leaving one out is ``validation``.
REQUIRED_ON_CREATE: dict[str, frozenset[str]] = {
    "households": frozenset({"grid"}),
    "visits": frozenset({"household", "visited_at", "outcome"}),
    "service_logs": frozenset({"volunteer", "activity", "started_at", "minutes"}),
}

#: Fields an existing record never changes (setting another value → ``immutable``).
IMMUTABLE_AFTER_CREATE: dict[str, frozenset[str]] = {
    "households": frozenset(),
    "visits": FIELD_NAMES["visits"],
    "service_logs": frozenset({"volunteer", "activity"}),
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
