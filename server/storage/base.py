"""The storage interface every durable feature uses (bags, stock, reservations, orders, idempotency, ...).

Two shapes cover them all:
- **stock and reservations**: an atomic all-or-nothing `reserve` of several SKUs, and `release` / `commit`
  that each take effect exactly once, so stock never goes below zero and is never returned twice;
- **versioned documents** (`kind`, `key`) -> JSON object, written with compare-and-set on the version (so
  concurrent edits never lose an update), optionally indexed by an owner and optionally expiring (idempotency
  records). `expected_version=0` means "create, only if absent".

Backends: SQLite (`sqlite_backend`, the embedded default) and Redis (`redis_backend`); both pass
tests/test_storage_contract.py.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, Literal

ReservationState = Literal["held", "released", "committed"]


class StorageError(Exception):
    pass


class OutOfStock(StorageError):
    def __init__(self, sku: str, available: int) -> None:
        super().__init__(f"only {max(available, 0)} of {sku} left" if available >= 0 else f"unknown item {sku}")
        self.sku, self.available = sku, available


class VersionConflict(StorageError):
    """The document changed (or exists, for a create) since the version the caller read."""


@dataclass(frozen=True)
class Reservation:
    id: str
    lines: dict[str, int]  # sku -> quantity
    expires_at: float  # wall-clock seconds
    state: ReservationState


@dataclass(frozen=True)
class Doc:
    version: int
    value: dict[str, Any]


def check_lines(lines: dict[str, int]) -> None:
    if not lines:
        raise ValueError("a reservation needs at least one line")
    for sku, qty in lines.items():
        if not isinstance(sku, str) or not sku or type(qty) is not int or qty <= 0:
            raise ValueError(f"bad reservation line {sku!r}: {qty!r}")


class Storage(ABC):
    """Async; every method is safe to call concurrently from many tasks (and, for Redis, many processes)."""

    backend: str

    @abstractmethod
    async def close(self) -> None: ...

    # ------------------------------------------------------------------ stock
    @abstractmethod
    async def seed_stock(self, levels: dict[str, int]) -> None:
        """Set the level of each SKU that storage does not know yet (the catalog seeds; storage owns it after)."""

    @abstractmethod
    async def set_stock(self, sku: str, available: int) -> None:
        """The owner's edit: the available quantity (not counting units held by reservations)."""

    @abstractmethod
    async def stock(self, skus: list[str]) -> dict[str, int]:
        """Available units per SKU (-1 for an unknown SKU)."""

    @abstractmethod
    async def reserve(self, reservation_id: str, lines: dict[str, int], expires_at: float) -> Reservation:
        """Take every line's units at once, or none (OutOfStock). The same id again returns the reservation
        made the first time, whatever its state, without touching stock."""

    @abstractmethod
    async def release(self, reservation_id: str) -> bool:
        """Return a held reservation's units; True only for the call that returned them."""

    @abstractmethod
    async def commit(self, reservation_id: str) -> bool:
        """Make a held reservation's units sold; True only for the call that did it."""

    @abstractmethod
    async def extend(self, reservation_id: str, expires_at: float) -> bool:
        """Move a held reservation's deadline (a payment is under way); False if it is not held."""

    @abstractmethod
    async def restock(self, sku: str, quantity: int) -> int:
        """Add units back (a refund); the new available level."""

    @abstractmethod
    async def reservation(self, reservation_id: str) -> Reservation | None: ...

    @abstractmethod
    async def expired_reservations(self, now: float, limit: int = 100) -> list[str]:
        """Held reservations whose deadline has passed (to release)."""

    # ------------------------------------------------------------------ documents
    @abstractmethod
    async def get(self, kind: str, key: str) -> Doc | None: ...

    @abstractmethod
    async def put(self, kind: str, key: str, value: dict[str, Any], expected_version: int,
                  owner: str | None = None, ttl_s: float | None = None) -> int:
        """Write if the current version is `expected_version` (0: absent); the new version, or VersionConflict."""

    @abstractmethod
    async def delete(self, kind: str, key: str) -> bool: ...

    @abstractmethod
    async def owned(self, kind: str, owner: str) -> list[str]:
        """Keys of the documents of `kind` written with this owner, oldest first."""
