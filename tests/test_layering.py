"""The import direction of docs/design.md, checked on the source (ast) and at run time.

The one layering test. `primitives` lies beneath `sync` and `ledger` and
imports neither; `sync` and `ledger` are pure (nothing from server,
client_sdk, Flask or a database) and do not import each other; only
`primitives/ed25519.py` touches `cryptography` there (the server may use
its other ciphers, never its Ed25519). The client SDK does not
import the server, and only `server/storage` talks to the database driver.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NO_FRAMEWORKS = {"server", "client_sdk", "flask", "flask_smorest", "werkzeug", "webargs",
                 "sqlite3", "sqlite_utils", "gunicorn", "requests"}
PURE = ("primitives", "sync", "ledger")
FORBIDDEN = {
    "primitives": NO_FRAMEWORKS | {"sync", "ledger", "marshmallow"},
    "sync": NO_FRAMEWORKS | {"ledger"},
    "ledger": NO_FRAMEWORKS | {"sync", "marshmallow"},
    "client_sdk": {"server", "flask", "flask_smorest", "werkzeug", "gunicorn"},
}
CRYPTO_MODULE = "primitives/ed25519.py"


def sources(package):
    return sorted((ROOT / package).rglob("*.py"))


def imported_modules(path, package):
    """Absolute names of every module the file imports (relative imports resolved)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    parts = path.relative_to(ROOT).with_suffix("").parts
    here = list(parts[:-1]) if parts[-1] != "__init__" else list(parts[:-1])
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = here[:len(here) - (node.level - 1)] if node.level > 1 else here
                if node.level - 1 > len(here) - 1:
                    base = []          # beyond the top package: outside it
                name = ".".join(base + ([node.module] if node.module else []))
                yield name or "<outside>", node.lineno
            else:
                yield node.module or "", node.lineno
        elif isinstance(node, ast.Call):
            func = node.func
            dotted = (func.attr if isinstance(func, ast.Attribute) else
                      func.id if isinstance(func, ast.Name) else "")
            if dotted in ("import_module", "__import__") and node.args and isinstance(
                    node.args[0], ast.Constant) and isinstance(node.args[0].value, str):
                yield node.args[0].value, node.lineno


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_packages_import_only_what_the_design_allows(package):
    bad = []
    for path in sources(package):
        for name, line in imported_modules(path, package):
            top = name.split(".")[0]
            if top in FORBIDDEN[package] or name == "<outside>":
                bad.append(f"{path.relative_to(ROOT)}:{line} imports {name}")
    assert not bad, "\n".join(bad)


def test_only_the_ed25519_module_does_ed25519():
    """In the pure packages and the client nothing but primitives/ed25519.py imports
    `cryptography`; in the server nothing touches its Ed25519 (other ciphers may)."""
    users = {str(path.relative_to(ROOT)) for package in (*PURE, "client_sdk")
             for path in sources(package)
             if any(name.split(".")[0] == "cryptography"
                    for name, _ in imported_modules(path, package))}
    assert users == {CRYPTO_MODULE}
    ed25519 = [f"{path.relative_to(ROOT)}:{line}" for path in sources("server")
               for name, line in imported_modules(path, "server")
               if name.startswith("cryptography") and "ed25519" in name]
    assert not ed25519


def test_the_checker_sees_violations(tmp_path, monkeypatch):
    """The ast walk resolves relative imports and catches dynamic ones."""
    pkg = tmp_path / "sync"
    pkg.mkdir()
    (pkg / "bad.py").write_text(
        "from .. import server\nimport importlib\nimportlib.import_module('flask')\n"
        "from sqlite3 import connect\nfrom .crypto import x\n")
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    found = [name for name, _ in imported_modules(pkg / "bad.py", "sync")]
    assert "<outside>" in found or "server" in found
    assert "flask" in found and "sqlite3" in found and "sync.crypto" in found


@pytest.mark.parametrize("package", [*PURE, "client_sdk"])
def test_importing_a_package_loads_nothing_it_must_not(package):
    """Every module of the package imported in a fresh interpreter: nothing forbidden
    arrives, not even through a third-party import."""
    code = ("import sys, importlib, pkgutil\n"
            f"pkg = importlib.import_module({package!r})\n"
            "for m in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + '.'):\n"
            "    importlib.import_module(m.name)\n"
            f"names = {sorted(FORBIDDEN[package])!r}\n"
            "bad = sorted(m for m in sys.modules if m.split('.')[0] in names)\n"
            "print(','.join(bad))\n")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "", f"{package} pulled in: {out.stdout.strip()}"


def test_only_server_storage_talks_to_the_database_driver():
    """SQL and the driver stay behind server/storage (the PostgreSQL path)."""
    bad = [f"{path.relative_to(ROOT)}:{line} imports {name}"
           for path in sources("server") if "storage" not in path.relative_to(ROOT).parts
           for name, line in imported_modules(path, "server")
           if name.split(".")[0] in ("sqlite3", "sqlite_utils")]
    assert not bad, "\n".join(bad)


def test_storage_protocols_name_every_method_of_the_backend():
    """Each part of server/storage is declared as a Protocol (server/storage/interface.py)
    that services type against; the SQL classes and the Protocols must not drift apart."""
    import inspect
    import typing

    from server.storage import SqlStorage, interface
    from server.storage.connection import Database

    store = SqlStorage.__new__(SqlStorage)
    parts = {"directory": interface.DirectoryPart, "access": interface.AccessPart,
             "records": interface.RecordsPart, "cases": interface.CasesPart,
             "case_audit": interface.CaseAuditPart,
             "ledger": interface.LedgerPart,
             "audit": interface.AuditPart, "web": interface.WebPart,
             "fielddata": interface.FieldDataPart, "imports": interface.ImportsPart}
    hints = {name: typing.get_type_hints(member.fget).get("return")
             for name, member in vars(interface.Storage).items() if isinstance(member, property)}
    assert {n: h for n, h in hints.items() if getattr(h, "_is_protocol", False)} == parts
    db = Database.__new__(Database)
    SqlStorage.__init__(store, db)
    for name, protocol in parts.items():
        concrete = type(getattr(store, name))
        public = {m for m, f in vars(concrete).items()
                  if not m.startswith("_") and inspect.isfunction(f)}
        declared = {m for m, f in vars(protocol).items()
                    if not m.startswith("_") and inspect.isfunction(f)}
        assert public == declared, (name, public ^ declared)
        for method in public:
            assert (inspect.signature(getattr(concrete, method))
                    == inspect.signature(getattr(protocol, method))), (name, method)


def test_a_started_app_leaves_heavy_page_libraries_until_a_page_needs_them(data_dir):
    """What every gunicorn worker pays at start: pypinyin's phrase dictionary (about
    55 MB and 0.5 s of CPU, for sorting a catalog) waits for the first catalog."""
    code = ("import sys\n"
            "from server import create_app\n"
            f"create_app({{'DATA_DIR': {str(data_dir)!r}}})\n"
            "print(','.join(sorted(m for m in sys.modules if m.split('.')[0] == 'pypinyin')))\n")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "", f"a started app loaded {out.stdout.strip()}"
