"""One websocket client: an ordered queue of control messages plus a single newest-wins snapshot slot.

The tick hands each connection its frame with `offer_snapshot`; it never waits on a socket. When the
transport is writable the frame is written at once (driving the ASGI `send` coroutine by hand, so the
common case costs no task switch); when it is not, the frame waits in the slot and a newer one replaces
it. A client that stays unwritable for `max_behind_s` is closed with 4008.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

import msgpack

from server import limits
from server.net.close_codes import TOO_SLOW

MAX_CONTROL_QUEUE = 256


def binary_frame(payload: bytes) -> bytes:
    """A complete unmasked websocket binary frame (RFC 6455 section 5.2), as a server writes it. Built once
    per snapshot and written to every client that gets that snapshot."""
    n = len(payload)
    if n < 126:
        header = bytes((0x82, n))
    elif n < 65536:
        header = bytes((0x82, 126)) + n.to_bytes(2, "big")
    else:
        header = bytes((0x82, 127)) + n.to_bytes(8, "big")
    return header + payload


class TokenBucket:
    """Rate limit: `rate` per second with bursts of `burst`."""

    def __init__(self, rate: float, burst: float, now: float) -> None:
        self.rate, self.burst, self.tokens, self.at = rate, burst, burst, now

    def take(self, now: float) -> bool:
        self.tokens = min(self.burst, self.tokens + (now - self.at) * self.rate)
        self.at = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False


class Connection:
    def __init__(
        self,
        send: Callable[[dict], Awaitable[None]],
        room_id: str,
        avatar_id: int,
        on_dropped_frame: Callable[[int], None],
        on_bytes_out: Callable[[int], None],
        now: float,
        max_behind_s: float | None = None,
        raw=None,
        tick_s: float = 1 / 60,
    ) -> None:
        self._send = send
        # The transport protocol, when it can take prebuilt frames (server.net.serve.PlazaWebSocketProtocol).
        self.raw = raw if hasattr(raw, "write_frame") else None
        self.room_id, self.avatar_id = room_id, avatar_id
        self._on_dropped_frame = on_dropped_frame
        self._on_bytes_out = on_bytes_out
        self.control: deque[bytes] = deque()
        self.snapshot: tuple[int, bytes, bytes | None] | None = None  # tick, payload, prebuilt frame
        self.busy = False
        self.closed = False
        self.close_code: int | None = None
        self.behind_since: float | None = None
        self.max_behind_s = max_behind_s if max_behind_s is not None else limits.get("max_behind_s")
        self.tick_s = tick_s
        self.frames_replaced = 0
        self.pose_bucket = TokenBucket(rate=limits.get("pose_uploads_per_s"), burst=60.0, now=now)
        self.control_bucket = TokenBucket(rate=limits.get("control_messages_per_s"), burst=60.0, now=now)
        self.flood_strikes: deque[float] = deque()
        self.error_times: deque[float] = deque()
        self.last_error_sent: dict[str, float] = {}
        self.close_requested: tuple[int, str] | None = None
        self.left_on_purpose = False

    def pump(self) -> None:
        """The transport can take data again."""
        self._pump()

    # -------------------------------------------------------------- outgoing
    def send_control(self, message: dict[str, Any]) -> None:
        if self.closed:
            return
        if len(self.control) >= MAX_CONTROL_QUEUE:
            self.request_close(TOO_SLOW, "client is not reading its messages")
            return
        self.control.append(msgpack.packb(message))
        self._pump()

    def offer_snapshot(self, tick: int, frame: bytes, now: float, wire: bytes | None = None,
                       acked_tick: int = 0) -> None:
        """Hand over this tick's snapshot (`wire`: the same already framed, shared with other clients).

        How far behind a client is: for a client that acknowledges snapshots, the age of the oldest one it
        has not acknowledged (kernel buffers cannot hide that); for one that never acks, the age of the
        oldest snapshot still waiting here, with the socket's send buffer capped so that it shows."""
        if self.closed:
            return
        if acked_tick and (tick - acked_tick - 1) * self.tick_s > self.max_behind_s:
            self.request_close(TOO_SLOW, f"client acknowledged nothing for more than {self.max_behind_s:g} s")
            return
        if self.snapshot is not None:  # still unsent: the newer frame replaces it
            self._on_dropped_frame(self.snapshot[0])
            self.frames_replaced += 1
            if self.behind_since is None:
                self.behind_since = now
            elif now - self.behind_since > self.max_behind_s:
                self.request_close(TOO_SLOW, f"client stayed more than {self.max_behind_s:g} s behind the snapshots")
                return
        self.snapshot = (tick, frame, wire)
        self._pump()

    def _next(self) -> bytes | None:
        if self.control:
            return self.control.popleft()
        if self.snapshot is not None:
            data = self.snapshot[1]
            self.snapshot = None
            return data
        return None

    def _pump(self) -> None:
        """Write queued messages while the transport accepts them without waiting."""
        while not self.busy and not self.closed:
            if not self.control and self.snapshot is not None and self.raw is not None:
                _tick, payload, wire = self.snapshot
                wire = wire or binary_frame(payload)
                if not self.raw.write_frame(wire):
                    return  # socket full: the frame waits (newest wins) until on_writable calls us
                self.snapshot = None
                self.behind_since = None
                self._on_bytes_out(len(payload))
                continue
            data = self._next()
            if data is None:
                self.behind_since = None
                return
            self._on_bytes_out(len(data))
            coro = self._send({"type": "websocket.send", "bytes": data})
            try:
                waiting_on = coro.send(None)
            except StopIteration:
                continue  # written synchronously: the usual case
            except Exception:  # the client went away mid-write
                self.closed = True
                return
            self.busy = True
            asyncio.get_running_loop().create_task(self._finish(coro, waiting_on))

    async def _finish(self, coro, waiting_on) -> None:
        """Carry a send that had to wait for the transport (flow control) to completion."""
        try:
            while True:
                if waiting_on is None:
                    await asyncio.sleep(0)
                else:
                    # the coroutine sees the future's outcome itself when resumed
                    with contextlib.suppress(Exception):
                        await waiting_on
                waiting_on = coro.send(None)
        except StopIteration:
            pass
        except Exception:
            self.closed = True
        finally:
            self.busy = False
        self._pump()

    def request_close(self, code: int, reason: str) -> None:
        """Ask the endpoint to close this connection (it owns the ASGI send for closing)."""
        if self.close_requested is None:
            self.close_requested = (code, reason)
            self.closed = True
            self.control.clear()
            self.snapshot = None
            task = asyncio.get_running_loop().create_task(self._close(code, reason))
            task.add_done_callback(lambda _t: None)

    async def _close(self, code: int, reason: str) -> None:
        self.close_code = code
        with contextlib.suppress(Exception):
            await self._send({"type": "websocket.close", "code": code, "reason": reason[:120]})
