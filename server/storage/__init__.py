"""Durable state behind one interface (server.storage.base.Storage): SQLite by default, Redis with REDIS_URL."""

from __future__ import annotations

from pathlib import Path

from server.storage.base import Doc, OutOfStock, Reservation, Storage, StorageError, VersionConflict

__all__ = ["Doc", "OutOfStock", "Reservation", "Storage", "StorageError", "VersionConflict", "open_storage"]


def open_storage(data_dir: str | Path, redis_url: str | None = None, prefix: str = "plaza:") -> Storage:
    """Redis when a URL is given (several server processes share it), else SQLite in the data directory."""
    if redis_url:
        from server.storage.redis_backend import RedisStorage

        return RedisStorage(redis_url, prefix)
    from server.storage.sqlite_backend import SqliteStorage

    return SqliteStorage(Path(data_dir) / "plaza.sqlite3")
