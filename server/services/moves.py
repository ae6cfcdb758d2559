"""A household that changes grid: the old grid's devices evict it, its visits follow."""

from __future__ import annotations

from ..storage import Storage


def household_moved(store: Storage, household: str, old_grid: str, new_grid: str,
                    at: str) -> None:
    """Record the exit from ``old_grid`` and move the household's visits along.

    Call after the household's new state is stored, inside the same transaction.
    """
    store.records.add_exit(seq=store.records.last_seq() + 1, collection="households",
                           id=household, grid=old_grid, at=at)
    for visit in store.records.move_visits(household, new_grid, at):
        store.records.add_exit(seq=store.records.last_seq() + 1, collection="visits", id=visit,
                               grid=old_grid, at=at)
