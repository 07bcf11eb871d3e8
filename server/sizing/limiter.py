"""Per-address rate limit for the sizing API's profile creation (thread-safe: its routes run in a pool)."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable


class AddressLimiter:
    """At most `count` events per `per_s` seconds per address, as a token bucket that refills evenly."""

    MAX_ADDRESSES = 10_000  # past this, addresses idle for a full window are forgotten

    def __init__(self, count: int, per_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.count, self.rate, self.clock = float(count), count / per_s, clock
        self._buckets: dict[str, tuple[float, float]] = {}  # address -> (tokens, at)
        self._lock = threading.Lock()

    def take(self, address: str) -> float:
        """0 if allowed (and counted), else the seconds until the next event would be allowed."""
        now = self.clock()
        with self._lock:
            if len(self._buckets) > self.MAX_ADDRESSES:
                window = self.count / self.rate
                self._buckets = {a: b for a, b in self._buckets.items() if now - b[1] < window}
            tokens, at = self._buckets.get(address, (self.count, now))
            tokens = min(self.count, tokens + (now - at) * self.rate)
            if tokens >= 1.0:
                self._buckets[address] = (tokens - 1.0, now)
                return 0.0
            self._buckets[address] = (tokens, now)
            return (1.0 - tokens) / self.rate


def retry_after(wait_s: float) -> str:
    return str(max(1, math.ceil(wait_s)))
