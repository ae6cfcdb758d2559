"""``POST /api/v1/sync`` and what it is made of (docs/design.md, Where things go).

``service.sync`` pushes a device's changes, then pulls its scope. A push
(``push``) runs the permission rules (``policy``, pure functions),
idempotency (``idempotency``), server-set fields and pricing
(``server_fields``) and buffered writes (``writes``); a pull (``pull``)
pages the records of the device's scope (``scope``) after its cursor
(``cursors``).
"""

from .service import sync

__all__ = ["sync"]
