"""gridsync sync: the pure library behind ``POST /api/v1/sync``.

Hybrid logical clocks, change signatures, change schemas, per-collection
merge rules and pull cursors, on the primitives beneath it (``primitives``:
canonical JSON, base64url, Ed25519, times). No Flask, no database, no I/O:
the server and the client SDK hand it plain dicts and get plain dicts back.
"""
