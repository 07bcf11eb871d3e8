"""SQLite storage: one file in the data directory, WAL, synchronous=FULL (an acknowledged write survives a
kill -9 and a power cut). One connection used from worker threads under a lock, so no call blocks the event
loop and every multi-row change is one transaction (`BEGIN IMMEDIATE`)."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

from server.storage.base import Doc, OutOfStock, Reservation, Storage, VersionConflict, check_lines

SCHEMA = """
CREATE TABLE IF NOT EXISTS stock (sku TEXT PRIMARY KEY, available INTEGER NOT NULL CHECK (available >= 0));
CREATE TABLE IF NOT EXISTS reservations (
    id TEXT PRIMARY KEY, lines TEXT NOT NULL, expires_at REAL NOT NULL, state TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS reservations_held ON reservations (state, expires_at);
CREATE TABLE IF NOT EXISTS docs (
    kind TEXT NOT NULL, key TEXT NOT NULL, version INTEGER NOT NULL, value TEXT NOT NULL,
    owner TEXT, expires_at REAL, seq INTEGER NOT NULL, PRIMARY KEY (kind, key));
CREATE INDEX IF NOT EXISTS docs_owner ON docs (kind, owner, seq);
"""


class SqliteStorage(Storage):
    backend = "sqlite"

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None, timeout=30)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(SCHEMA)
        self._lock = threading.Lock()
        self._seq = self._db.execute("SELECT COALESCE(MAX(seq), 0) FROM docs").fetchone()[0]

    async def _run(self, fn, *args):
        return await asyncio.to_thread(self._locked, fn, *args)

    def _locked(self, fn, *args):
        with self._lock:
            return fn(*args)

    def _tx(self, fn, *args):
        """Run fn inside one write transaction (rolled back on any exception)."""
        self._db.execute("BEGIN IMMEDIATE")
        try:
            result = fn(*args)
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")
        return result

    async def close(self) -> None:
        await self._run(self._db.close)

    # ------------------------------------------------------------------ stock
    async def seed_stock(self, levels: dict[str, int]) -> None:
        rows = [(sku, int(n)) for sku, n in levels.items()]
        await self._run(self._tx, lambda: self._db.executemany(
            "INSERT OR IGNORE INTO stock (sku, available) VALUES (?, ?)", rows))

    async def set_stock(self, sku: str, available: int) -> None:
        if available < 0:
            raise ValueError("stock cannot be negative")
        await self._run(self._tx, lambda: self._db.execute(
            "INSERT INTO stock (sku, available) VALUES (?, ?) ON CONFLICT (sku) DO UPDATE SET available = ?",
            (sku, available, available)))

    async def stock(self, skus: list[str]) -> dict[str, int]:
        def read() -> dict[str, int]:
            marks = ",".join("?" * len(skus))
            found = dict(self._db.execute(f"SELECT sku, available FROM stock WHERE sku IN ({marks})", skus))
            return {sku: found.get(sku, -1) for sku in skus}
        return await self._run(read) if skus else {}

    def _reservation(self, reservation_id: str) -> Reservation | None:
        row = self._db.execute("SELECT lines, expires_at, state FROM reservations WHERE id = ?",
                               (reservation_id,)).fetchone()
        return Reservation(reservation_id, json.loads(row[0]), row[1], row[2]) if row else None

    async def reserve(self, reservation_id: str, lines: dict[str, int], expires_at: float) -> Reservation:
        check_lines(lines)

        def take() -> Reservation:
            existing = self._reservation(reservation_id)
            if existing is not None:
                return existing
            for sku, qty in sorted(lines.items()):
                if self._db.execute("UPDATE stock SET available = available - ? WHERE sku = ? AND available >= ?",
                                    (qty, sku, qty)).rowcount != 1:
                    row = self._db.execute("SELECT available FROM stock WHERE sku = ?", (sku,)).fetchone()
                    raise OutOfStock(sku, row[0] if row else -1)
            self._db.execute("INSERT INTO reservations (id, lines, expires_at, state) VALUES (?, ?, ?, 'held')",
                             (reservation_id, json.dumps(lines, sort_keys=True), expires_at))
            return Reservation(reservation_id, dict(lines), expires_at, "held")
        return await self._run(self._tx, take)

    def _settle(self, reservation_id: str, to_state: str) -> bool:
        found = self._reservation(reservation_id)
        if found is None or found.state != "held":
            return False
        if to_state == "released":
            for sku, qty in found.lines.items():
                self._db.execute("UPDATE stock SET available = available + ? WHERE sku = ?", (qty, sku))
        self._db.execute("UPDATE reservations SET state = ? WHERE id = ?", (to_state, reservation_id))
        return True

    async def release(self, reservation_id: str) -> bool:
        return await self._run(self._tx, self._settle, reservation_id, "released")

    async def commit(self, reservation_id: str) -> bool:
        return await self._run(self._tx, self._settle, reservation_id, "committed")

    async def extend(self, reservation_id: str, expires_at: float) -> bool:
        return await self._run(self._tx, lambda: self._db.execute(
            "UPDATE reservations SET expires_at = ? WHERE id = ? AND state = 'held'",
            (expires_at, reservation_id)).rowcount == 1)

    async def restock(self, sku: str, quantity: int) -> int:
        if type(quantity) is not int or quantity <= 0:
            raise ValueError("restock a positive number of units")

        def add() -> int:
            self._db.execute("INSERT INTO stock (sku, available) VALUES (?, ?) "
                             "ON CONFLICT (sku) DO UPDATE SET available = available + ?", (sku, quantity, quantity))
            return self._db.execute("SELECT available FROM stock WHERE sku = ?", (sku,)).fetchone()[0]
        return await self._run(self._tx, add)

    async def reservation(self, reservation_id: str) -> Reservation | None:
        return await self._run(self._reservation, reservation_id)

    async def expired_reservations(self, now: float, limit: int = 100) -> list[str]:
        return await self._run(lambda: [r[0] for r in self._db.execute(
            "SELECT id FROM reservations WHERE state = 'held' AND expires_at <= ? ORDER BY expires_at LIMIT ?",
            (now, limit))])

    # ------------------------------------------------------------------ documents
    def _get(self, kind: str, key: str) -> Doc | None:
        row = self._db.execute("SELECT version, value, expires_at FROM docs WHERE kind = ? AND key = ?",
                               (kind, key)).fetchone()
        if row is None or (row[2] is not None and row[2] <= time.time()):
            return None
        return Doc(row[0], json.loads(row[1]))

    async def get(self, kind: str, key: str) -> Doc | None:
        return await self._run(self._get, kind, key)

    async def put(self, kind: str, key: str, value: dict[str, Any], expected_version: int,
                  owner: str | None = None, ttl_s: float | None = None) -> int:
        text = json.dumps(value, sort_keys=True, allow_nan=False)

        def write() -> int:
            current = self._get(kind, key)
            if (current.version if current else 0) != expected_version:
                raise VersionConflict(f"{kind}/{key} is at version {current.version if current else 0}")
            self._seq += 1
            version = expected_version + 1
            expires = time.time() + ttl_s if ttl_s else None
            self._db.execute(
                "INSERT INTO docs (kind, key, version, value, owner, expires_at, seq) VALUES (?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (kind, key) DO UPDATE SET version = excluded.version, value = excluded.value, "
                "owner = COALESCE(excluded.owner, docs.owner), expires_at = excluded.expires_at",
                (kind, key, version, text, owner, expires, self._seq))
            return version
        return await self._run(self._tx, write)

    async def delete(self, kind: str, key: str) -> bool:
        return await self._run(self._tx, lambda: self._db.execute(
            "DELETE FROM docs WHERE kind = ? AND key = ?", (kind, key)).rowcount == 1)

    async def owned(self, kind: str, owner: str) -> list[str]:
        now = time.time()
        return await self._run(lambda: [r[0] for r in self._db.execute(
            "SELECT key FROM docs WHERE kind = ? AND owner = ? AND (expires_at IS NULL OR expires_at > ?) "
            "ORDER BY seq", (kind, owner, now))])
