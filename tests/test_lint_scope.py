"""What `make lint` checks: mypy's files name every directory of Python code in the
repository, so a type error in one (bench/kinto_compare.py's once) cannot go unseen."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NOT_TYPE_CHECKED = {
    "tests": "the suite: checked by running it",
    "deploy": "gunicorn.conf.py, a config file gunicorn executes (as a module its name "
              "would shadow the gunicorn package)",
}


def test_mypy_checks_every_directory_of_python_code():
    files = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mypy"]["files"])
    code = {p.name for p in ROOT.iterdir()
            if p.is_dir() and not p.name.startswith(".") and any(p.rglob("*.py"))}
    assert "bench" in code
    assert code - set(NOT_TYPE_CHECKED) == files
