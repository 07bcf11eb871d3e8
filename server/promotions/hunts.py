"""Treasure hunts: items hidden in a store's scene file, found by walking to them, a coupon for finding all.

The server decides what was found from its own pose data: `HuntWatcher.step` (sans-I/O, numpy) compares the
heads of seats linked to shoppers with the scene's item positions; positions never reach clients (scenes are
served without them), and the room's speed and walkable-floor checks (docs/PROTOCOL.md section 8) mean a head
gets there only by moving there. `HuntService` keeps each shopper's progress on storage (kind `hunt`, key
`<shopper>:<store>:<hunt>`) with compare-and-set and issues the coupon under a code derived from that key,
create-only, so a shopper gets it once however many devices or processes see the last find.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from server.promotions.coupons import Coupon, CouponBook
from server.scenes.model import Hunt
from server.storage import Storage, VersionConflict

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Find:
    shopper: str
    room_id: str
    avatar_id: int
    store: str
    hunt: Hunt
    item: str


@dataclass(frozen=True)
class Seat:
    """A seat linked to a shopper, where the server last saw its head."""

    room_id: str
    store: str
    avatar_id: int
    shopper: str
    head_xz: tuple[float, float]


class HuntWatcher:
    """Which shoppers stand at which hidden items. `found` is what is known (or being recorded) already."""

    def __init__(self, hunts_of: Callable[[str], list[Hunt]]) -> None:
        self.hunts_of = hunts_of
        self.found: dict[tuple[str, str, str], set[str]] = {}  # (shopper, store, hunt) -> item ids

    def step(self, seats: Iterable[Seat]) -> list[Find]:
        finds: list[Find] = []
        for seat in seats:
            for hunt in self.hunts_of(seat.store):
                known = self.found.setdefault((seat.shopper, seat.store, hunt.id), set())
                if len(known) == len(hunt.items):
                    continue
                at = np.array([item.at for item in hunt.items], dtype=np.float64)
                near = np.hypot(at[:, 0] - seat.head_xz[0], at[:, 1] - seat.head_xz[1]) <= hunt.find_radius_m
                for item, hit in zip(hunt.items, near, strict=True):
                    if hit and item.id not in known:
                        known.add(item.id)
                        finds.append(Find(seat.shopper, seat.room_id, seat.avatar_id, seat.store, hunt, item.id))
        return finds


def coupon_code(shopper: str, store: str, hunt_id: str) -> str:
    return "H-" + hashlib.sha256(f"{shopper}:{store}:{hunt_id}".encode()).hexdigest()[:10].upper()


class HuntService:
    def __init__(self, storage: Storage, coupons: CouponBook, hunts_of: Callable[[str], list[Hunt]],
                 currency: str = "EUR") -> None:
        self.storage, self.coupons, self.hunts_of, self.currency = storage, coupons, hunts_of, currency

    async def found(self, shopper: str, store: str, hunt_id: str) -> set[str]:
        doc = await self.storage.get("hunt", f"{shopper}:{store}:{hunt_id}")
        return set(doc.value["found"]) if doc else set()

    async def record(self, shopper: str, store: str, hunt: Hunt, item: str) -> tuple[int, Coupon | None]:
        """Save a find; (items found, the coupon when this completed the hunt or had completed it before)."""
        key = f"{shopper}:{store}:{hunt.id}"
        while True:
            doc = await self.storage.get("hunt", key)
            found = set(doc.value["found"]) if doc else set()
            found.add(item)
            try:
                await self.storage.put("hunt", key, {"found": sorted(found), "shopper": shopper}, doc.version if doc
                                       else 0, owner=shopper)
                break
            except VersionConflict:
                continue
        coupon = None
        if found >= {it.id for it in hunt.items}:
            coupon = await self.coupons.issue(shopper, hunt.reward_minor, 0, self.currency, hunt.min_spend_minor,
                                              hunt.valid_days * 86400.0, f"hunt:{store}:{hunt.id}",
                                              code=coupon_code(shopper, store, hunt.id))
        return len(found), coupon

    async def progress(self, shopper: str | None, store: str) -> list[dict[str, Any]]:
        """Every hunt of a store with its hints (never positions) and, for a shopper, what they found."""
        out = []
        for hunt in self.hunts_of(store):
            found = await self.found(shopper, store, hunt.id) if shopper else set()
            coupon = None
            if shopper and found >= {it.id for it in hunt.items}:
                try:
                    coupon = (await self.coupons.get(coupon_code(shopper, store, hunt.id)))[1].view()
                except Exception:
                    coupon = None
            out.append({"id": hunt.id, "name": hunt.name, "total": len(hunt.items), "found": len(found),
                        "reward": {"amount_minor": hunt.reward_minor, "min_spend_minor": hunt.min_spend_minor,
                                   "currency": self.currency, "valid_days": hunt.valid_days},
                        "items": [{"id": it.id, "hint": it.hint, "found": it.id in found,
                                   **({"name": it.name} if it.id in found else {})} for it in hunt.items],
                        "coupon": coupon})
        return out
