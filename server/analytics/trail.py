"""A shopper's own in-store trail, kept only with their consent (docs/OPERATIONS.md "Recommendations"): what the
server saw them look at and pick up, what they tried on, put in the bag and bought, for their "For you".

Sans-I/O apart from storage: `note` is called from the collector's observations (the server's own data, never a
client's claim) and buffers in memory; `flush` (every analytics flush) writes the buffered events of consenting
shoppers and drops the others'. A trail is one document (kind `trail`, key the shopper id) with a 30-day expiry,
at most MAX_EVENTS events, each (product, stage) once with its latest time. Turning consent off deletes it; so
does erasing the try-on profile."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from typing import Any

from server.storage.base import Storage, VersionConflict

TRAIL_DAYS = 30
TRAIL_S = TRAIL_DAYS * 86400.0
MAX_EVENTS = 200
NO_CONSENT_RECHECK_S = 30.0  # a shopper without consent is not looked up again for this long
STAGES = ("seen", "picked_up", "tried_on", "in_bag", "bought")


class Trails:
    def __init__(self, storage: Storage, clock: Callable[[], float] = time.time) -> None:
        self.storage, self.clock = storage, clock
        self.pending: dict[str, dict[tuple[str, str], float]] = {}
        self.without_consent: dict[str, float] = {}  # shopper -> when we last found no consent

    def note(self, shopper: str, product: str, stage: str) -> None:
        if stage in STAGES and not shopper.startswith("group:"):
            self.pending.setdefault(shopper, {})[(product, stage)] = self.clock()

    async def flush(self) -> None:
        pending, self.pending = self.pending, {}
        now = self.clock()
        for shopper, seen in pending.items():
            if now - self.without_consent.get(shopper, -1e18) < NO_CONSENT_RECHECK_S:
                continue
            if not await self._append(shopper, seen, now):
                self.without_consent[shopper] = now
        for shopper in [s for s, t in self.without_consent.items() if now - t >= NO_CONSENT_RECHECK_S]:
            del self.without_consent[shopper]

    async def _append(self, shopper: str, seen: dict[tuple[str, str], float], now: float) -> bool:
        while True:
            doc = await self.storage.get("trail", shopper)
            if doc is None or not doc.value.get("consent"):
                return False
            events = {(e["product"], e["stage"]): e["at"] for e in doc.value.get("events", [])
                      if now - e["at"] < TRAIL_S}
            events.update(seen)
            newest = sorted(events.items(), key=lambda kv: kv[1])[-MAX_EVENTS:]
            value = doc.value | {"events": [{"product": p, "stage": s, "at": at} for (p, s), at in newest]}
            try:
                await self.storage.put("trail", shopper, value, doc.version, ttl_s=TRAIL_S)
                return True
            except VersionConflict:
                continue  # another node wrote this trail meanwhile: merge again

    async def set_consent(self, shopper: str, on: bool) -> dict[str, Any]:
        self.without_consent.pop(shopper, None)
        if not on:
            await self.forget(shopper)
            return self.empty()
        doc = await self.storage.get("trail", shopper)
        if doc is None:
            with contextlib.suppress(VersionConflict):  # turned on twice at once: the first one stands
                await self.storage.put("trail", shopper, {"consent": True, "since": self.clock(), "events": []}, 0,
                                       ttl_s=TRAIL_S)
        return await self.view(shopper)

    async def forget(self, shopper: str) -> None:
        self.pending.pop(shopper, None)
        await self.storage.delete("trail", shopper)

    @staticmethod
    def empty() -> dict[str, Any]:
        return {"consent": False, "since": None, "events": []}

    async def view(self, shopper: str) -> dict[str, Any]:
        doc = await self.storage.get("trail", shopper)
        if doc is None or not doc.value.get("consent"):
            return self.empty()
        now = self.clock()
        return {"consent": True, "since": doc.value.get("since"), "kept_days": TRAIL_DAYS,
                "events": [e for e in doc.value.get("events", []) if now - e["at"] < TRAIL_S]}

    async def events(self, shopper: str) -> list[tuple[str, str]]:
        return [(e["product"], e["stage"]) for e in (await self.view(shopper))["events"]]
