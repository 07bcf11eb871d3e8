"""What one client is sent: an ordered queue of control messages plus a single newest-wins snapshot slot.

The tick hands each client its snapshot with `offer_snapshot`; it never waits on a socket. While the transport
takes data (asyncio's flow control has not paused it) the frame is written at once; otherwise it waits in the
slot and a newer one replaces it (the replaced tick is reported, so it never becomes a delta baseline).
Control messages are never dropped: they queue (bounded) until the transport drains. A client that stays
behind is closed with 4008: by its acknowledgements when it sends them, else by the age of the waiting frame.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Protocol

from server import limits
from server.net.close_codes import TOO_SLOW

MAX_CONTROL_QUEUE = 256


class Writer(Protocol):
    def write(self, data: bytes) -> None: ...


class Outbox:
    def __init__(self, writer: Writer, on_dropped: Callable[[int], None], on_close: Callable[[int, str], None],
                 tick_s: float = 1 / 60, max_behind_s: float | None = None) -> None:
        self.writer = writer
        self._on_dropped, self._on_close = on_dropped, on_close
        self.tick_s = tick_s
        self.max_behind_s = max_behind_s if max_behind_s is not None else limits.get("max_behind_s")
        self.writable = True  # asyncio's pause_writing / resume_writing
        self.open = True
        self.control: deque[bytes] = deque()  # framed control messages waiting for the transport
        self.snapshot: tuple[int, bytes] | None = None  # (tick, framed snapshot) waiting
        # The waiting snapshot was made before the queued control messages: it goes out first, so that a
        # `left` is never followed by an older snapshot that still shows the avatar (a ghost).
        self.snapshot_first = False
        self.behind_since: float | None = None
        self.frames_replaced = 0
        self.bytes_out = 0
        self.frames_out = 0

    def send(self, frame: bytes) -> None:
        """A framed control message: in order, never dropped."""
        if not self.open:
            return
        if self.writable and not self.control:
            self._write(frame)
            return
        if len(self.control) >= MAX_CONTROL_QUEUE:
            self._close(TOO_SLOW, "client is not reading its messages")
            return
        if not self.control:
            self.snapshot_first = self.snapshot is not None
        self.control.append(frame)

    def offer_snapshot(self, tick: int, frame: bytes, now: float, acked_tick: int = 0) -> None:
        """This tick's framed snapshot (the same bytes object may go to many clients).

        How far behind a client is: for one that acknowledges, the age of the oldest snapshot it has not
        acknowledged (kernel buffers cannot hide that); for one that never acks, the age of the oldest snapshot
        still waiting here (the socket's send buffer is capped so that it shows)."""
        if not self.open:
            return
        if acked_tick and (tick - acked_tick - 1) * self.tick_s > self.max_behind_s:
            self._close(TOO_SLOW, f"client acknowledged nothing for more than {self.max_behind_s:g} s")
            return
        if self.writable and not self.control:  # the usual case, with _write inlined (once per client per tick)
            self.bytes_out += len(frame)
            self.frames_out += 1
            self.behind_since = None
            self.writer.write(frame)
            return
        if self.snapshot is not None:  # still unsent: the newer frame replaces it
            self._on_dropped(self.snapshot[0])
            self.frames_replaced += 1
        self.snapshot_first = False  # made after whatever control messages wait
        if self.behind_since is None:
            self.behind_since = now
        elif now - self.behind_since > self.max_behind_s:
            self._close(TOO_SLOW, f"client stayed more than {self.max_behind_s:g} s behind the snapshots")
            return
        self.snapshot = (tick, frame)

    def pause(self) -> None:
        self.writable = False

    def resume(self) -> None:
        """The transport drained below its low-water mark: write what waits, control first."""
        self.writable = True
        if self.snapshot_first and self.snapshot is not None and self.open:
            frame = self.snapshot[1]
            self.snapshot, self.snapshot_first, self.behind_since = None, False, None
            self._write(frame)
        while self.control and self.writable and self.open:
            self._write(self.control.popleft())
        if self.snapshot is not None and self.writable and self.open and not self.control:
            frame = self.snapshot[1]
            self.snapshot = None
            self.behind_since = None
            self._write(frame)

    def shut(self) -> None:
        """Nothing more goes out (the connection is closing)."""
        self.open = False
        self.control.clear()
        self.snapshot = None

    def _write(self, frame: bytes) -> None:
        self.bytes_out += len(frame)
        self.frames_out += 1
        self.writer.write(frame)  # may call pause() synchronously

    def _close(self, code: int, reason: str) -> None:
        self.shut()
        self._on_close(code, reason)
