"""sync is pure: no Flask, database, server, ledger or client_sdk; one module uses cryptography."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

SYNC = Path(__file__).resolve().parents[2] / "sync"
FORBIDDEN = ("server", "ledger", "client_sdk", "flask", "sqlite3", "sqlite_utils", "requests")


def imported_modules(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    return names


def test_no_forbidden_imports_and_one_crypto_module():
    users = []
    for path in sorted(SYNC.glob("*.py")):
        tops = {name.split(".")[0] for name in imported_modules(path)}
        assert not tops & set(FORBIDDEN), path.name
        if "cryptography" in tops:
            users.append(path.name)
    assert users == ["crypto.py"]


def test_importing_sync_loads_nothing_forbidden():
    modules = ", ".join(f"sync.{path.stem}" for path in sorted(SYNC.glob("[!_]*.py")))
    code = (
        f"import sys, {modules}\n"
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in {FORBIDDEN!r}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=SYNC.parent)
    assert out.stdout.strip() == "[]"
