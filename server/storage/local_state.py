"""Small durable server state in the data directory: the token-signing secret, the operator token, and
what the server promised to keep (store rooms, mocap sources) as JSON documents.

Writes go to a temporary file that is fsynced and renamed over the old one, so a crash leaves either the
old or the new document, never half of one. Secrets are created owner-only (0600) once and reused.
"""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path
from typing import Any


def _write_private(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)


def load_or_create_secret(data_dir: str | Path, name: str, nbytes: int = 32) -> tuple[str, bool]:
    """A url-safe random secret kept in `data_dir/name` (0600); (secret, True if created now)."""
    path = Path(data_dir) / name
    try:
        text = path.read_text().strip()
        if text:
            return text, False
    except FileNotFoundError:
        pass
    value = secrets.token_urlsafe(nbytes)
    _write_private(path, value.encode() + b"\n")
    return value, True


class JsonState:
    """One JSON document in the data directory, read once and rewritten whole on every change."""

    def __init__(self, data_dir: str | Path | None, name: str) -> None:
        self.path = Path(data_dir) / name if data_dir is not None else None

    def load(self, default: Any) -> Any:
        if self.path is None:
            return default
        try:
            return json.loads(self.path.read_text())
        except FileNotFoundError:
            return default

    def save(self, value: Any) -> None:
        if self.path is not None:
            _write_private(self.path, json.dumps(value, indent=1, sort_keys=True).encode())
