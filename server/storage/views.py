"""Pulled record views, stored beside the state they are made from.

A record's view (``sync.merge.record_view``: its greatest stamp, its fields, no
per-field metadata) is what every pull of it sends, and it changes only when the
state does: so it is made once, as UTF-8 JSON, where the state is written
(``RecordStore._upsert``), and a pull reads those bytes as they are. Building
it at each pull (from the whole state, with its stamps) was most of a pull's
CPU: 0.49 s for 50,000 households read by SQLite's JSON functions, 0.11 s
reading the stored views, and more on PostgreSQL, where the view was made in
Python. One function makes every view, on both backends, so their bytes agree.

The views live in ``pull_views``, keyed by the version's seq (migration 17), not
in the records row: a case's row (its state has a stamp for each of its 20
fields) fills a 4 KB SQLite page by itself, so reading its view from there read a
page a case. From dense pages of views a pull reads 10,000 cases in about 1.5 us a
case in pages of 500 (2.5 us from the rows) and households in 1.2 us (1.8 us). The
records rows' own ``pull_view`` column is NULL for what this release writes; views
older releases stored there stay, for their pulls (migration 15 sets them aside).
"""

from __future__ import annotations

import json
from typing import Any

import orjson

from sync.cases import without_reporter
from sync.merge import record_view

FILL_BATCH = 2000


def compact_json(obj: object) -> str:
    """JSON text as storage keeps it: compact, non-ASCII characters as they are."""
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


def json_bytes(obj: object) -> bytes:
    """``compact_json`` of a value holding no float, as UTF-8, by orjson (the same text
    for a tenth of the CPU; orjson spells some floats its own way); json's where orjson
    cannot write a value at all (an integer past 64 bits, which validation keeps out)."""
    try:
        return orjson.dumps(obj)
    except orjson.JSONEncodeError:
        return compact_json(obj).encode()


def view_json(state: dict) -> bytes:
    """The pulled view of a stored state, as the bytes a pull sends."""
    return json_bytes(record_view(state))


def redacted(view: bytes) -> bytes:
    """A case's stored view without its reporter details (``sync.cases.without_reporter``)."""
    out = orjson.loads(view)
    out["fields"] = without_reporter(out["fields"])
    return orjson.dumps(out)


def fill_views(db: Any, *, skip_index: str | None = None) -> int:
    """Write the view of every record that has none (the migration that added the
    column), in batches by seq; returns how many. ``skip_index``: the setting under
    which PostgreSQL's records trigger leaves household_index alone (an update of the
    view changes nothing it indexes)."""
    if skip_index is not None:
        db.execute(f"SELECT set_config('{skip_index}', 'written', true)")
    done, after = 0, -1
    while True:
        rows = db.tuples("SELECT seq, state FROM records WHERE seq > ? AND pull_view IS NULL "
                         "ORDER BY seq LIMIT ?", (after, FILL_BATCH))
        if not rows:
            break
        db.executemany("UPDATE records SET pull_view = ? WHERE seq = ?",
                       [(view_json(orjson.loads(state)), seq) for seq, state in rows])
        done, after = done + len(rows), rows[-1][0]
    if skip_index is not None:
        db.execute(f"SELECT set_config('{skip_index}', '', true)")
    return done
