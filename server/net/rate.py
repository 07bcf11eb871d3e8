"""Rate limiting for one connection or address: a token bucket, and a sliding window of strikes."""

from __future__ import annotations

from collections import deque


class TokenBucket:
    """`rate` per second with bursts of `burst`."""

    def __init__(self, rate: float, burst: float, now: float) -> None:
        self.rate, self.burst, self.tokens, self.at = rate, burst, burst, now

    def take(self, now: float) -> bool:
        self.tokens = min(self.burst, self.tokens + (now - self.at) * self.rate)
        self.at = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False


class Window:
    """Events in the last `seconds`; `add` says whether there are now more than `limit` of them."""

    def __init__(self, limit: int, seconds: float) -> None:
        self.limit, self.seconds = limit, seconds
        self.times: deque[float] = deque()

    def add(self, now: float) -> bool:
        times = self.times
        times.append(now)
        while times and now - times[0] > self.seconds:
            times.popleft()
        return len(times) > self.limit

    def __len__(self) -> int:
        return len(self.times)
