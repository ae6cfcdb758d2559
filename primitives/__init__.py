"""gridsync primitives: the one copy of what every signature depends on.

Beneath both ``sync`` and ``ledger`` (which never import each other), pure
and small: canonical JSON (``canonical``), strict unpadded base64url
(``b64url``), Ed25519 keys and cached verification (``ed25519``, the only
module importing ``cryptography``), RFC 3339 ``Z`` times (``times``),
duplicate-key-rejecting JSON parsing (``strict_json``) and the names of
ledger accounts and references (``names``). A drifted copy of any of these
is a forged or rejected signature, so nothing else in the repository
re-implements them (docs/design.md, Packages).
"""
