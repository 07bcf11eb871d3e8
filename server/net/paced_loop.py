"""The server's event loop: asyncio's own, whose selector waits for the loop's next timer rather than the first
readable socket while the process serves many real-time sessions.

Every client uploads a pose per tick, and those arrive spread over the tick: a plain loop wakes for each little
burst (about six times a tick at 50 clients), and on this kind of machine each wake from sleep costs tens of
microseconds of CPU, a large part of the server's cost per snapshot in small rooms (bench/versus.md). Paced,
the loop sleeps until its next timer, which is the next tick (or sooner), then takes every socket that became
readable meanwhile in one poll: one wake per tick. Pose uploads lose nothing (the tick applies them at the tick
either way); control replies and HTTP wait at most one tick (16.7 ms) longer. Below `PACE_FROM_SESSIONS` open
sessions the loop is not paced, so a quiet store answers at once. `PLAZA_PACED_LOOP=0` turns pacing off.

uvicorn builds the loop from `paced_loop` (its `loop=` setting, an import string); the hub says how many
sessions are open through `pacing.sessions`.
"""

from __future__ import annotations

import asyncio
import os
import selectors
import time
from dataclasses import dataclass

PACE_FROM_SESSIONS = 32  # open real-time sessions in this process from which the loop is paced
MAX_SLEEP_S = 1 / 60  # never sleep past one tick, even with no timer due


@dataclass
class Pacing:
    enabled: bool = os.environ.get("PLAZA_PACED_LOOP", "1") != "0"
    sessions: int = 0  # kept by the hub

    @property
    def active(self) -> bool:
        return self.enabled and self.sessions >= PACE_FROM_SESSIONS


pacing = Pacing()


class TickPacedSelector(selectors.DefaultSelector):
    """`select(timeout)`: what is ready now; if nothing is and the loop is paced, sleep through the timeout
    (at most one tick) without waking for sockets, then what is ready then."""

    def __init__(self, paced: Pacing, sleep=time.sleep) -> None:
        super().__init__()
        self._paced, self._sleep = paced, sleep

    def select(self, timeout: float | None = None):
        if (timeout is not None and timeout <= 0) or not self._paced.active:
            return super().select(timeout)
        ready = super().select(0)
        if ready:
            return ready
        self._sleep(MAX_SLEEP_S if timeout is None else min(timeout, MAX_SLEEP_S))
        return super().select(0)


def paced_loop() -> asyncio.AbstractEventLoop:
    """uvicorn's loop factory (`loop="server.net.paced_loop:paced_loop"`)."""
    return asyncio.SelectorEventLoop(TickPacedSelector(pacing))
