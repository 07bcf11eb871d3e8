"""The process's one clock: a fixed timestep (60 Hz) that everything periodic registers with.

Rooms, mocap playback, the pinch recogniser, checkout and team-buy deadlines all run from `Clock.step`, in
the order they registered, each at its own period (every tick, once a second...) and with one-shot deadlines
(`call_at`). `run()` drives it from the event loop in exact 1/60 s steps without drift; tests drive it by hand
with `advance()` and never sleep. Sans-I/O apart from `run()`.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

log = logging.getLogger(__name__)
MAX_CATCH_UP_TICKS = 5  # further behind than this, ticks are skipped (counted), not bunched up
INPUTS, WORLD, AFTER_WORLD = -10, 0, 10  # step order: what feeds the rooms, the rooms, what reads them


@dataclass
class _Periodic:
    name: str
    every: int
    callback: Callable[[float], None]
    order: int
    active: bool = True


@dataclass(order=True)
class _Deadline:
    when: float
    seq: int
    callback: Callable[[float], None] = field(compare=False)
    active: bool = field(default=True, compare=False)

    def cancel(self) -> None:
        self.active = False


class Clock:
    def __init__(self, hz: int = 60, time_fn: Callable[[], float] = time.monotonic) -> None:
        self.hz = hz
        self.dt = 1.0 / hz
        self.time_fn = time_fn
        self.epoch = time_fn()
        self.now = self.epoch  # the time of the step being run (or of the last one)
        self.ticks = 0
        self.late_ticks = 0
        self.skipped_ticks = 0
        self.errors = 0
        self._periodic: list[_Periodic] = []
        self._deadlines: list[_Deadline] = []
        self._seq = itertools.count()
        self._next_at: float | None = None
        self.on_step: Callable[[float], None] | None = None  # told each step's work time in seconds (metrics)

    # ------------------------------------------------------------------ registration
    def every(self, name: str, callback: Callable[[float], None], ticks: int = 1, order: int = 0) -> Callable[[], None]:
        """Call `callback(now)` every `ticks` steps. Lower `order` runs first (INPUTS, WORLD, AFTER_WORLD); equal
        orders run in registration order. Returns the unregister function."""
        entry = _Periodic(name, max(1, int(ticks)), callback, order)
        self._periodic.append(entry)
        self._periodic.sort(key=lambda e: e.order)  # stable: registration order within one order

        def cancel() -> None:
            entry.active = False
            if entry in self._periodic:
                self._periodic.remove(entry)
        return cancel

    def every_seconds(self, name: str, callback: Callable[[float], None], seconds: float,
                      order: int = 0) -> Callable[[], None]:
        return self.every(name, callback, round(seconds * self.hz), order)

    def call_at(self, when: float, callback: Callable[[float], None]) -> _Deadline:
        """Call `callback(now)` at the first step at or after `when` (the clock's time); `.cancel()` it."""
        deadline = _Deadline(when, next(self._seq), callback)
        heapq.heappush(self._deadlines, deadline)
        return deadline

    # ------------------------------------------------------------------ stepping
    def step(self, now: float) -> None:
        """One tick at time `now`: periodic work, then deadlines that are due. A failing callback is logged
        and counted; it never stops the others (or the store)."""
        self.now = now
        self.ticks += 1
        for entry in list(self._periodic):
            if entry.active and self.ticks % entry.every == 0:
                self._call(entry.name, entry.callback, now)
        deadlines = self._deadlines
        while deadlines and deadlines[0].when <= now:
            deadline = heapq.heappop(deadlines)
            if deadline.active:
                self._call("deadline", deadline.callback, now)

    def _call(self, name: str, callback: Callable[[float], None], now: float) -> None:
        try:
            callback(now)
        except Exception:
            self.errors += 1
            log.exception("clock callback %s failed", name)

    def advance(self, seconds: float) -> int:
        """Run the steps of the next `seconds` at once (tests, offline replays); returns how many ran."""
        if self._next_at is None:
            self._next_at = self.now + self.dt
        end = self.now + seconds + 1e-9
        ran = 0
        while self._next_at <= end:
            self.step(self._next_at)
            self._next_at += self.dt
            ran += 1
        self.now = max(self.now, end - 1e-9)
        return ran

    def server_time_ms(self, now: float | None = None) -> int:
        """The clock as the wire carries it: ms since the process started, u32, wrapping."""
        return int(((self.now if now is None else now) - self.epoch) * 1000) & 0xFFFFFFFF

    async def run(self) -> None:
        """Fixed timestep from the real clock: step in exact 1/hz increments, never drifting. When steps fall
        behind, at most MAX_CATCH_UP_TICKS run back to back and the rest are skipped (counted): network I/O
        always gets its turn between batches."""
        dt = self.dt
        next_at = self._next_at = self.time_fn()
        while True:
            now = self.time_fn()
            behind = int((now - next_at) / dt)
            if behind > MAX_CATCH_UP_TICKS:
                skipped = behind - MAX_CATCH_UP_TICKS
                self.skipped_ticks += skipped
                next_at += skipped * dt
            for _ in range(MAX_CATCH_UP_TICKS + 1):
                if now < next_at:
                    break
                if now - next_at > dt / 2:
                    self.late_ticks += 1
                started = time.perf_counter()
                self.step(next_at)
                if self.on_step is not None:
                    self.on_step(time.perf_counter() - started)
                next_at += dt
                self._next_at = next_at
                now = self.time_fn()
            await asyncio.sleep(max(0.0, next_at - self.time_fn()))
