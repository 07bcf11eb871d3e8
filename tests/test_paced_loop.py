"""The paced event loop (server/net/paced_loop.py): with many sessions open it sleeps through a readable socket
until its timeout, so a tick's uploads are read in one wake; otherwise it is asyncio's selector as usual."""

import asyncio
import socket

from server.net import paced_loop
from server.net.paced_loop import PACE_FROM_SESSIONS, Pacing, TickPacedSelector


class Sleeps:
    def __init__(self) -> None:
        self.calls: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


def _pair_with_selector(pacing: Pacing) -> tuple[TickPacedSelector, Sleeps, socket.socket, socket.socket]:
    sleeps = Sleeps()
    selector = TickPacedSelector(pacing, sleep=sleeps)
    a, b = socket.socketpair()
    a.setblocking(False)
    selector.register(a, paced_loop.selectors.EVENT_READ)
    return selector, sleeps, a, b


def test_paced_it_sleeps_through_the_timeout_then_returns_what_became_readable():
    pacing = Pacing(enabled=True, sessions=PACE_FROM_SESSIONS)
    selector, sleeps, a, b = _pair_with_selector(pacing)
    with a, b, selector:
        # nothing ready: one sleep for the whole timeout (capped at a tick), sockets not watched meanwhile
        assert selector.select(0.010) == [] and sleeps.calls == [0.010]
        assert selector.select(5.0) == [] and sleeps.calls[-1] == paced_loop.MAX_SLEEP_S
        assert selector.select(None) == [] and sleeps.calls[-1] == paced_loop.MAX_SLEEP_S
        b.send(b"x")
        # ready now: returned at once, no sleep (the loop is awake anyway)
        assert [key.fileobj for key, _ in selector.select(0.010)] == [a] and len(sleeps.calls) == 3
        assert [key.fileobj for key, _ in selector.select(0)] == [a] and len(sleeps.calls) == 3


def test_below_the_threshold_or_turned_off_it_is_a_plain_selector():
    for pacing in (Pacing(enabled=True, sessions=PACE_FROM_SESSIONS - 1),
                   Pacing(enabled=False, sessions=10 * PACE_FROM_SESSIONS)):
        selector, sleeps, a, b = _pair_with_selector(pacing)
        with a, b, selector:
            b.send(b"x")
            assert [key.fileobj for key, _ in selector.select(5.0)] == [a]  # the socket ends the wait
            assert selector.select(0) and sleeps.calls == []


def test_the_paced_loop_still_serves_sockets_and_timers(monkeypatch):
    """uvicorn's loop factory, paced: a read that arrives while the loop sleeps is served at its next wake."""
    monkeypatch.setattr(paced_loop, "pacing", Pacing(enabled=True, sessions=PACE_FROM_SESSIONS))
    loop = paced_loop.paced_loop()
    a, b = socket.socketpair()
    a.setblocking(False)

    async def exchange() -> bytes:
        loop.call_later(0.005, b.send, b"pose")
        return await loop.sock_recv(a, 16)

    try:
        assert loop.run_until_complete(asyncio.wait_for(exchange(), 5)) == b"pose"
        assert loop.run_until_complete(asyncio.sleep(0.001, result=7)) == 7
    finally:
        loop.close()
        a.close()
        b.close()
