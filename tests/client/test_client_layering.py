"""client_sdk never imports server (DESIGN, Packages and their direction)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_no_module_of_client_sdk_imports_server():
    for path in (ROOT / "client_sdk").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module or ""]
            for name in names:
                assert name.split(".")[0] not in ("server", "flask", "werkzeug"), (path, name)


def test_importing_the_client_and_its_cli_loads_no_server_module():
    code = ("import sys, client_sdk, client_sdk.cli; "
            "bad = [m for m in sys.modules if m == 'server' or m.startswith('server.') "
            "or m == 'flask']; print(bad); sys.exit(1 if bad else 0)")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
