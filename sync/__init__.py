"""gridsync sync: the pure library behind ``POST /api/v1/sync``.

Hybrid logical clocks, canonical JSON, change signatures, change schemas,
per-collection merge rules and pull cursors. No Flask, no database, no I/O:
the server and the client SDK hand it plain dicts and get plain dicts back.
Only ``sync.crypto`` imports ``cryptography``.
"""
