"""A push's writes, buffered: read through during the request, written once at its end.

Records, ops, conflicts and grid exits go to the database with
``executemany`` once per request (docs/design.md, Storage: one commit per
request keeps ``synchronous=FULL`` cheap), inside the caller's transaction.
``WriteBuffer`` is also the push's ``policy.Lookups``: a rule sees the
request's earlier changes (a visit to a household created in the same push).
"""

from __future__ import annotations

from ...storage import Storage
from ...storage.records import Placement, RecordWrite, encode_state
from ..moves import household_moved

Key = tuple[str, str]  # (collection, id)


class StoredWriters:
    """``policy.WriterLookups`` from storage, each device's person read once: what the
    four-eyes rule asks of a push, and of ``gridsync ledger verify`` (evidence_audit)."""

    def __init__(self, store: Storage):
        self.store = store
        self._device_people: dict[str, str | None] = {}

    def device_person(self, device_id: str) -> str | None:
        if device_id not in self._device_people:
            row = self.store.access.device(device_id)
            self._device_people[device_id] = row["person"] if row else None
        return self._device_people[device_id]

    def kept_loser_device(self, conflict_id: int) -> str | None:
        conflict = self.store.records.conflict(conflict_id)
        return conflict["loser"]["device"] if conflict is not None else None


class WriteBuffer(StoredWriters):
    def __init__(self, store: Storage, *, author: str | None, device: str | None, at: str):
        """``author``: the person whose ``device`` pushes, at ``at``."""
        super().__init__(store)
        self.author, self.device, self.at = author, device, at
        self.states: dict[Key, dict | None] = {}
        self.places: dict[Key, Placement] = {}
        self.ops: dict[str, dict] = {}
        self.conflicts: list[tuple] = []
        self.exits: list[tuple[str, str, str]] = []
        self.dirty: dict[Key, None] = {}  # insertion-ordered set
        self.applied = self.rejected = 0
        self._rules: tuple[dict, str] | None | bool = False
        self._stored_ops: dict[str, dict] = {}  # what prefetch found of the ops it looked up
        self._looked_up: set[str] = set()
        self._read: dict[Key, int | None] = {}  # seq of each record read (None: missing)
        self._ops_stored = False  # store_ops wrote them (before the write lock)
        self._ops_raced = False  # ...and found one stored by another push meanwhile
        self._encoded: dict[Key, tuple[str, bytes]] = {}  # encode_records: state, view

    def prefetch(self, ops: list[str], changes: list[dict]) -> None:
        """Read, in a few queries, what applying a push will look up one by one: its
        ``ops``, the records its valid ``changes`` write and the households their
        visits name. Inside the transaction that applies them, so nothing changes
        in between."""
        self._stored_ops.update(self.store.records.ops(ops))
        self._looked_up.update(ops)
        keys = {(c["collection"], c["id"]) for c in changes}
        keys |= {("households", c["fields"]["household"]) for c in changes
                 if c["collection"] == "visits" and type(c["fields"].get("household")) is str}
        keys -= self.states.keys()
        found = self.store.records.get_many(keys)
        for key in keys:
            stored = found.get(key)
            self.states[key] = stored.state if stored else None
            self._read[key] = stored.seq if stored else None
            if stored is not None:
                self.places[key] = stored.place

    # --- policy.Lookups (the writer lookups: StoredWriters) -----------------
    def record(self, collection: str, id: str) -> dict | None:
        key = (collection, id)
        if key not in self.states:
            found = self.store.records.get(collection, id)
            if found is not None:
                self.places[key] = found.place
            self.states[key] = found.state if found else None
            self._read[key] = found.seq if found else None
        return self.states[key]

    def placement(self, collection: str, id: str) -> Placement:
        self.record(collection, id)
        return self.places.get((collection, id), Placement())

    def person(self, person_id: str) -> dict | None:
        return self.store.directory.person(person_id)

    def activity_known(self, activity: str) -> bool:
        if self._rules is False:
            self._rules = self.store.directory.rules()
        rules = self._rules
        return isinstance(rules, tuple) and activity in rules[0]["activities"]

    # --- buffering ---------------------------------------------------------
    def op(self, op: str) -> dict | None:
        """The op stored or buffered under this id, if any."""
        if op in self.ops:
            return self.ops[op]
        if op in self._looked_up:
            return self._stored_ops.get(op)
        return self.store.records.op(op)

    def remember(self, row: dict) -> None:
        self.ops[row["op"]] = row

    def put(self, change: dict, old: dict | None, new: dict,
            place: Placement | None = None) -> None:
        """Buffer ``new`` as the record's state, with where it sits for pull (``place``,
        or worked out here for households, visits and service logs)."""
        key = (change["collection"], change["id"])
        fields = new["fields"]
        if place is not None:
            pass
        elif key[0] == "households":
            place = Placement(grid=fields.get("grid"))
            old_grid = old["fields"].get("grid") if old else None
            if old_grid and old_grid != fields.get("grid"):
                self.exits.append((key[0], key[1], old_grid))
        elif key[0] == "visits":
            # Visits are written once: this is always a new visit.
            household = self.record("households", fields["household"]) or {"fields": {}}
            place = Placement(grid=household["fields"].get("grid"), author=self.author)
        else:
            place = Placement(person=fields.get("volunteer"))
        self.states[key] = new
        self.places[key] = place
        self.dirty[key] = None

    def conflict(self, collection: str, id: str, c: dict) -> None:
        self.conflicts.append((collection, id, c["field"], c["winner"], c["loser"], self.at))

    # --- a push applied before the write lock (Push.run) ---------------------
    def index_new_households(self) -> list[str]:
        """Index for search the households this push creates (none was stored when read);
        their ids. Before the write lock: no other writer touches a household nobody has
        stored yet (a household already stored is indexed under the lock, by
        ``flush_records``, so a push never waits for another's index row while it holds
        the lock)."""
        new = [key for key in self.dirty if key[0] == "households" and self._read[key] is None]
        self.store.records.index_households(
            (self.states[key], self.places[key]) for key in new)  # type: ignore[misc]
        return [key[1] for key in new]

    def store_ops(self) -> None:
        """Store the ops now, before the write lock, sorted by op id (two pushes of the
        same op wait for each other in one order, neither holding the lock). An op that
        another push stored since this one looked is left alone, and makes this attempt
        stale (``still_current``); one that push has not committed yet is waited for."""
        rows = sorted(self.ops.values(), key=lambda row: row["op"])
        self._ops_raced = self.store.records.add_ops(rows, unless_stored=True) != len(rows)
        self._ops_stored = True

    def encode_records(self) -> None:
        """Encode the buffered record versions and their pulled views now, before the
        write lock (they are final: nothing is applied after it but the same push again,
        from a new buffer, when ``still_current`` fails), so the lock is not held while
        they are encoded."""
        self._encoded = {key: encode_state(self.states[key])  # type: ignore[arg-type]
                         for key in self.dirty}

    def still_current(self) -> bool:
        """Under the write lock: whether every record this push read still has the seq
        it had (or is still missing) and none of its ops was stored by another push
        meanwhile, so applying it now would give the same results."""
        if self._ops_raced:
            return False
        now = self.store.records.seqs(self._read)
        if any(now.get(key) != seq for key, seq in self._read.items()):
            return False
        return self._ops_stored or not self.store.records.ops(list(self.ops))

    def flush_records(self, indexed: list[str]) -> None:
        """Write the buffered record versions and grid exits (inside the caller's
        transaction); ``indexed``: households ``index_new_households`` indexed."""
        first = self.store.records.last_seq() + 1
        self.store.records.put_many(
            [RecordWrite(self.states[key], seq, self.places[key], self.at,  # type: ignore[arg-type]
                         self._encoded.get(key))
             for seq, key in enumerate(self.dirty, first)], indexed=indexed)
        for collection, id, grid in self.exits:
            new_grid = self.states[(collection, id)]["fields"]["grid"]  # type: ignore[index]
            household_moved(self.store, id, grid, new_grid, self.at)

    def flush_log(self) -> None:
        """Write the ops (each change's first result), conflicts and the device's
        last sync (inside the caller's transaction)."""
        if not self._ops_stored:
            self.store.records.add_ops(list(self.ops.values()))
        self.store.records.add_conflicts(self.conflicts)
        if self.device:
            self.store.access.record_sync(self.device, at=self.at, applied=self.applied,
                                          rejected=self.rejected)
