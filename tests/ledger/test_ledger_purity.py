"""ledger is a pure library: no Flask, no database, no sibling packages,
and `cryptography` is imported by ledger/crypto.py alone."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FORBIDDEN = ("flask", "sqlite3", "sqlite_utils", "server", "sync", "client_sdk", "marshmallow")


def test_import_pulls_in_nothing_forbidden() -> None:
    script = (
        "import sys, ledger; "
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in {FORBIDDEN!r}))"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "[]"


def imported_roots(path: Path) -> set[str]:
    roots: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
    return roots


def test_only_crypto_module_imports_cryptography() -> None:
    users = {
        path.name
        for path in (ROOT / "ledger").glob("*.py")
        if "cryptography" in imported_roots(path)
    }
    assert users == {"crypto.py"}
    for path in (ROOT / "ledger").glob("*.py"):
        assert not imported_roots(path) & set(FORBIDDEN), path.name
