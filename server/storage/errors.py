"""Storage errors: small, data-carrying, backend independent."""


class StorageError(Exception):
    """Root of storage errors."""


class Conflict(StorageError):
    """A row with this id already exists."""

    def __init__(self, kind: str, id: str):
        super().__init__(f"{kind} {id!r} already exists")
        self.kind, self.id = kind, id


class Missing(StorageError):
    """A referenced row does not exist."""

    def __init__(self, kind: str, id: str):
        super().__init__(f"{kind} {id!r} does not exist")
        self.kind, self.id = kind, id


BUSY = "busy"                # locked past the timeout, deadlock, serialization failure
UNAVAILABLE = "unavailable"  # disk full, I/O error, read-only, cannot open or connect
INTEGRITY = "integrity"      # a constraint refused the write
UNSTORABLE = "unstorable"    # a value this database cannot hold (a NUL in PostgreSQL text)
OTHER = "other"              # anything else: a bug, not the environment


class BackendError(StorageError):
    """The database itself failed (busy past the timeout, disk full, I/O error).

    Wraps the driver's exception as ``original`` so nothing outside storage
    depends on the driver; ``kind`` (one of the constants above) is decided
    where it is wrapped, from the driver's error code, never from its text.
    """

    def __init__(self, original: Exception, kind: str = OTHER):
        super().__init__(str(original))
        self.original = original
        self.kind = kind


class TreeAhead(StorageError):
    """The stored Merkle tree has more leaves than the chain has entries:
    entries were removed behind the server's back."""


class NotNext(StorageError):
    """An entry that does not extend the chain's head (its seq is not the next
    one, or its prev_hash is not the head's hash): it would fork or gap the chain."""


class SchemaNotCurrent(StorageError):
    """A database read without migrating it (a ledger audit) is not at this gridsync's
    schema: its reads would meet tables that are not there yet, or no longer."""

    def __init__(self, version: int, latest: int):
        super().__init__(self.describe(version, latest))
        self.version, self.latest = version, latest

    @staticmethod
    def describe(version: int, latest: int) -> str:
        return (f"the database is at schema {version}, this gridsync at {latest}: start the "
                "server (or run `gridsync init`) once with this gridsync to migrate it")


class SchemaTooNew(SchemaNotCurrent):
    """The database was migrated by a newer gridsync (its schema is ahead of this one's):
    this gridsync neither migrates, backs up, restores nor audits it."""

    @staticmethod
    def describe(version: int, latest: int) -> str:
        return (f"database schema version {version} is newer than this gridsync ({latest}): "
                "upgrade gridsync first")
