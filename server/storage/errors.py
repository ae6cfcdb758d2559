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


class BackendError(StorageError):
    """The database itself failed (busy past the timeout, disk full, I/O error).

    Wraps the driver's exception as ``original`` so nothing outside storage
    depends on the driver.
    """

    def __init__(self, original: Exception):
        super().__init__(str(original))
        self.original = original
