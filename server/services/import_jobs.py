"""Roster imports as jobs: upload → dry run kept with the file → write it in the
background, progress in the database (any worker process can show it).

The write re-plans from the stored file first, so rows changed by someone else
since the dry run are judged on the data as it is then.
"""

from __future__ import annotations

import logging
import secrets
import threading
from dataclasses import asdict
from typing import Any

from .. import clock
from ..storage import Storage, open_storage
from . import roster_import

log = logging.getLogger(__name__)
MAX_PROBLEMS_KEPT = 5000
STALE_SECONDS = 120  # a running job not heard from this long was interrupted


def _summary(plan: roster_import.Plan) -> dict[str, Any]:
    return {"counts": plan.counts, "problems": [asdict(p) for p in
                                                plan.problems[:MAX_PROBLEMS_KEPT]],
            "problem_count": len(plan.problems), "to_write": len(plan.households)
            + len(plan.people)}


def upload(store: Storage, data: bytes, filename: str, by: str) -> str:
    """Dry-run ``data`` and keep it as a new job; RosterError if it cannot be read."""
    plan = roster_import.plan(store, data, by)
    job = secrets.token_hex(8)
    with store.transaction():
        store.imports.add(id=job, filename=filename[:200] or "roster.xlsx", file=data, by=by,
                          at=clock.iso(), plan=_summary(plan))
    return job


def status(store: Storage, job_id: str) -> dict | None:
    job = store.imports.get(job_id)
    if job is not None and job["status"] == "running":
        quiet = (clock.now_ms() - clock.parse_iso(job["updated_at"])) / 1000
        job["stalled"] = quiet > STALE_SECONDS
    return job


def claim(store: Storage, job_id: str) -> bool:
    """Mark a planned job running, once (a second click gets False). Done before the
    writing starts, so the page that follows already shows the progress."""
    with store.transaction():
        return store.imports.claim(job_id, clock.iso())


def run(store: Storage, job_id: str, by: str) -> dict[str, Any]:
    """Write a claimed job's good rows now (the caller's thread); returns the result."""
    try:
        data = store.imports.file(job_id) or b""
        plan = roster_import.plan(store, data, by)

        def progress(done: int, total: int) -> None:
            with store.transaction():
                store.imports.progress(job_id, done, total, clock.iso())

        progress(0, len(plan.households) + len(plan.people))
        result = roster_import.apply(store, plan, by, progress)
        result["problems"] = [asdict(p) for p in result["problems"]]
        result["skipped"] = plan.bad_rows()
        with store.transaction():
            store.imports.finish(job_id, "done", result, clock.iso())
        return result
    except Exception as exc:
        log.exception("roster import %s failed", job_id)
        with store.transaction():
            store.imports.finish(job_id, "failed", {"error": type(exc).__name__}, clock.iso())
        raise


def start(database: str, job_id: str, by: str) -> threading.Thread:
    """Run the job in a background thread with its own database connection."""

    def target() -> None:
        store = open_storage(database, migrate_schema=False)
        try:
            run(store, job_id, by)
        except Exception:  # noqa: BLE001 - logged and recorded on the job by run()
            pass
        finally:
            store.close()

    thread = threading.Thread(target=target, name=f"import-{job_id}", daemon=True)
    thread.start()
    return thread
