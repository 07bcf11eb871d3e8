"""Feeds `DayFigures` from the running server and keeps them in storage.

Every SAMPLE_EVERY_TICKS ticks (half a second) the collector reads, for every seat linked to a shopper, where
the server itself last saw the head and which way it faced (never a client's claim), and hands those samples to
the day's figures of that seat's store. Funnel events come from the server's own records: a product held
(`hold`) counts as picked up only when its shelf is within reach of the head the server sees; a size asked for
a product by a known shopper is a try-on; a line added to a bag and a placed order are the shop's.

Every FLUSH_S the figures of each (store, day) are written to storage (kind `analytics`, key `<store>:<day>`,
owner `store:<store>`) with compare-and-set, merged with what another node wrote meanwhile. The day's secret
that makes pseudonyms lives apart (kind `analytics_secret`, key `<day>`) and is deleted once the day is over,
after which the day's pseudonyms can no longer be tied to anyone.
"""

from __future__ import annotations

import contextlib
import logging
import secrets
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from server.analytics.aggregate import REACH_M, DayFigures, Sample
from server.realtime.quantize import dequantize_quats
from server.realtime.quat import quat_rotate
from server.storage.base import Storage, VersionConflict

log = logging.getLogger(__name__)
SAMPLE_EVERY_TICKS = 30
FLUSH_S = 10.0
KEEP_SECRETS_DAYS = 1  # today's (and, around midnight, yesterday's) secret; older ones are deleted


def day_of(now: float) -> str:
    return time.strftime("%Y-%m-%d", time.gmtime(now))


@dataclass(frozen=True)
class SeatView:
    """What the collector needs of one seat: whose it is, its store, and the server's view of its head."""

    store: str
    shopper: str
    head_xyz: tuple[float, float, float]
    head_rot_q: tuple[int, int, int, int]  # the quantized rotation of the room state
    in_group: bool


def facing_xz(rot_q: tuple[int, int, int, int]) -> tuple[float, float]:
    q = dequantize_quats(np.asarray(rot_q, dtype=np.int64)[None, :])[0]
    f = quat_rotate(q, np.array([0.0, 0.0, -1.0]))
    n = float(np.hypot(f[0], f[2]))
    return (float(f[0] / n), float(f[2] / n)) if n > 1e-6 else (0.0, -1.0)


class Collector:
    """The day figures of every store, fed by samples and events; `flush` writes them to storage."""

    def __init__(self, storage: Storage, products_of: Callable[[str], dict[str, tuple[float, float]]],
                 wall_clock: Callable[[], float] = time.time) -> None:
        self.storage, self.products_of, self.wall_clock = storage, products_of, wall_clock
        self.days: dict[tuple[str, str], DayFigures] = {}
        self.secrets: dict[str, bytes] = {}
        self.last_store: dict[str, str] = {}  # shopper -> store they were last seen in (today, in memory)
        self.loading: set[tuple[str, str]] = set()
        # (shopper, product, stage) of every observation, for the consented personal trails (trail.py)
        self.personal: list[Callable[[str, str, str], None]] = []

    # ------------------------------------------------------------------ feeding
    def figures(self, store: str) -> DayFigures | None:
        """Today's figures of `store` (None until the day's secret is known: `prepare` loads it)."""
        day = day_of(self.wall_clock())
        if day not in self.secrets:
            return None
        return self.days.setdefault((store, day), DayFigures(store, day, self.secrets[day]))

    def sample(self, seats: Iterable[SeatView], dt: float) -> None:
        by_store: dict[str, list[Sample]] = {}
        for seat in seats:
            self.last_store[seat.shopper] = seat.store
            by_store.setdefault(seat.store, []).append(
                Sample(seat.shopper, (seat.head_xyz[0], seat.head_xyz[2]), facing_xz(seat.head_rot_q), seat.in_group))
        for store, samples in by_store.items():
            figures = self.figures(store)
            if figures is not None:
                for shopper, product in figures.observe(samples, dt, self.products_of(store)):
                    self._tell(shopper, product, "seen")

    def _tell(self, shopper: str, product: str, stage: str) -> None:
        for listener in self.personal:
            listener(shopper, product, stage)

    def held(self, seat: SeatView, product: str) -> bool:
        """A `hold` of `product`: counted (True) only if that product stands within reach of the head."""
        at = self.products_of(seat.store).get(product)
        if at is None or np.hypot(at[0] - seat.head_xyz[0], at[1] - seat.head_xyz[2]) > REACH_M:
            return False
        figures = self.figures(seat.store)
        if figures is not None:
            figures.event(seat.shopper, product, "picked_up")
        self._tell(seat.shopper, product, "picked_up")
        return True

    def event(self, shopper: str, product: str, stage: str, store: str | None = None) -> None:
        """A stage the shop saw; its store is where the shopper was last seen (or `store`)."""
        store = store or self.last_store.get(shopper)
        if store is None or product not in self.products_of(store):
            return
        figures = self.figures(store)
        if figures is not None:
            figures.event(shopper, product, stage)
        self._tell(shopper, product, stage)

    # ------------------------------------------------------------------ storage
    async def prepare(self) -> None:
        """Loads (or makes) today's secret and deletes the secrets of days that are over."""
        now = self.wall_clock()
        day = day_of(now)
        if day not in self.secrets:
            doc = await self.storage.get("analytics_secret", day)
            if doc is None:
                with contextlib.suppress(VersionConflict):  # another node made it first: take theirs
                    await self.storage.put("analytics_secret", day, {"secret": secrets.token_hex(32)}, 0)
                doc = await self.storage.get("analytics_secret", day)
            self.secrets[day] = bytes.fromhex(doc.value["secret"])
        keep = {day_of(now - 86400.0 * i) for i in range(KEEP_SECRETS_DAYS + 1)}
        for old in [d for d in self.secrets if d not in keep]:
            del self.secrets[old]
            await self.storage.delete("analytics_secret", old)

    async def flush(self) -> int:
        """Writes every day in memory (merged with the stored one); returns how many were written."""
        written = 0
        for (store, day), figures in list(self.days.items()):
            key = f"{store}:{day}"
            while True:
                doc = await self.storage.get("analytics", key)
                merged = figures
                if doc is not None:
                    merged = _union(DayFigures.from_doc(doc.value, figures.secret), figures)
                try:
                    await self.storage.put("analytics", key, merged.to_doc(), doc.version if doc else 0,
                                           owner=f"store:{store}")
                    break
                except VersionConflict:
                    continue
            # What is stored now includes ours: keep counting from a fresh day object (no double dwell).
            self.days[(store, day)] = DayFigures(store, day, figures.secret)
            if day != day_of(self.wall_clock()):
                del self.days[(store, day)]
            written += 1
        return written


def _union(stored: DayFigures, fresh: DayFigures) -> DayFigures:
    """`fresh` (since the last flush) added to `stored`: dwell sums, visitor sets unite."""
    for cell, dwell in fresh.dwell_s.items():
        stored.dwell_s[cell] = stored.dwell_s.get(cell, 0.0) + dwell
    for cell, visitors in fresh.cell_visitors.items():
        stored.cell_visitors.setdefault(cell, set()).update(visitors)
    for product, stages in fresh.funnel.items():
        for stage, visitors in stages.items():
            stored.funnel.setdefault(product, {}).setdefault(stage, set()).update(visitors)
    for visitor, seconds in fresh.visit_s.items():
        stored.visit_s[visitor] = stored.visit_s.get(visitor, 0.0) + seconds
    stored.together |= fresh.together
    return stored


async def stored_days(storage: Storage, store: str, since: str | None = None) -> list[dict[str, Any]]:
    """The stored day documents of a store, oldest first, from `since` (YYYY-MM-DD) on."""
    keys = sorted(await storage.owned("analytics", f"store:{store}"))
    out = []
    for key in keys:
        day = key.rsplit(":", 1)[1]
        if since and day < since:
            continue
        doc = await storage.get("analytics", key)
        if doc is not None:
            out.append(doc.value)
    return out
