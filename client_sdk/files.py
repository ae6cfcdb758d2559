"""The device's secret files: ``device.key`` (raw 32 bytes) and ``config.json``, both 0600.

Both are written atomically (a temporary file created with mode 0600, fsynced,
then renamed over the old one), so a crash never leaves half a key. A key or
config file that others can read is refused, as ssh refuses such a key.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

from sync.crypto import DeviceKey

from .errors import FieldClientError

KEY_FILE = "device.key"
CONFIG_FILE = "config.json"
DB_FILE = "field.db"
CONFIG_KEYS = ("server_url", "device_id", "token", "person", "role", "grids", "name",
               "enrolled_at")


def write_private(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)


def _read_private(path: Path) -> bytes:
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise FieldClientError(
            f"{path} is readable by others (mode {mode:04o}): run `chmod 600 {path}`")
    return path.read_bytes()


def ensure_dir(data_dir: Path) -> None:
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)


def load_key(data_dir: Path) -> DeviceKey | None:
    path = data_dir / KEY_FILE
    if not path.exists():
        return None
    try:
        return DeviceKey.from_private_bytes(_read_private(path))
    except ValueError as exc:
        raise FieldClientError(f"{path} is not a device key: {exc}") from None


def save_key(data_dir: Path, key: DeviceKey) -> None:
    write_private(data_dir / KEY_FILE, key.private_bytes())


def load_config(data_dir: Path) -> dict[str, Any] | None:
    path = data_dir / CONFIG_FILE
    if not path.exists():
        return None
    try:
        config = json.loads(_read_private(path))
    except ValueError as exc:
        raise FieldClientError(f"{path} is not valid JSON: {exc}") from None
    missing = [k for k in CONFIG_KEYS if k not in config]
    if missing:
        raise FieldClientError(f"{path} lacks {', '.join(missing)}: enrol this device again")
    return dict(config)


def save_config(data_dir: Path, config: dict[str, Any]) -> None:
    data = json.dumps(config, ensure_ascii=False, indent=2, sort_keys=True).encode()
    write_private(data_dir / CONFIG_FILE, data + b"\n")
