"""Uvicorn configuration for Plaza: websocket limits and a small socket write buffer.

A small high-water mark makes flow control (and so newest-wins snapshot replacement) start after a few
frames instead of 64 KiB of stale poses queued in the kernel-facing buffer.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Callable

import uvicorn
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

from server import limits
from server.net.connection_guard import GuardedHttpProtocol
from server.net.ws import MAX_MESSAGE_BYTES

WRITE_BUFFER_HIGH = 32 * 1024
WRITE_BUFFER_LOW = 8 * 1024
MAX_QUEUED_MESSAGES = 16  # unread messages per connection before its socket stops being read
log = logging.getLogger(__name__)


class PlazaWebSocketProtocol(WebSocketsSansIOProtocol):
    """uvicorn's websocket protocol with two fast paths the room server opts into:
    - `fast_receive`: binary messages go straight to this callback (no queue, no task switch each);
    - `write_frame`: a prebuilt frame (one snapshot, framed once, shared by many clients) is written to the
      socket when it can take it, and `on_writable` says when a blocked socket drains again."""

    fast_receive: Callable[[bytes], None] | None = None
    on_writable: Callable[[], None] | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        transport.set_write_buffer_limits(high=WRITE_BUFFER_HIGH, low=WRITE_BUFFER_LOW)
        cap_send_buffer(transport)
        super().connection_made(transport)

    def can_write_frame(self) -> bool:
        return (self.handshake_complete and not self.close_sent and not self.disconnected
                and self.writable.is_set() and not self.transport.is_closing())

    def write_frame(self, frame: bytes) -> bool:
        if not self.can_write_frame():
            return False
        self.transport.write(frame)
        return True

    def resume_writing(self) -> None:
        super().resume_writing()
        if self.on_writable is not None:
            self.on_writable()

    def send_receive_event_to_app(self) -> None:
        """Binary messages go to `fast_receive` when set. Otherwise: uvicorn pauses reading after every
        message until the app takes it (two epoll syscalls per pose upload, 13% of the server's CPU in the
        profile); pause only when the app is really behind."""
        if self.fast_receive is not None and self.curr_msg_data_type != "text" and not self.close_sent:
            data = self.frames[0] if len(self.frames) == 1 else b"".join(self.frames)
            self.frames = []
            try:
                self.fast_receive(data)
            except Exception:  # a bug handling one message must not take the connection's reader down
                log.exception("websocket message handler failed")
            return
        if self.read_paused:
            super().send_receive_event_to_app()
            return
        self.read_paused = True  # the base class then skips its per-message pause
        super().send_receive_event_to_app()
        self.read_paused = False
        if self.queue.qsize() >= MAX_QUEUED_MESSAGES:
            self.read_paused = True
            self.transport.pause_reading()


def cap_send_buffer(transport: asyncio.BaseTransport) -> None:
    """A small kernel send buffer (limits: socket_send_buffer_bytes): on loopback it would otherwise grow to
    megabytes before the transport reports backpressure, hiding seconds of backlog from a slow reader."""
    sock = transport.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, int(limits.get("socket_send_buffer_bytes")))


def direct_websocket(app):
    """Route `/ws` straight to the websocket endpoint, ahead of the framework's middleware: each snapshot
    send then costs one coroutine, not four wrappers (the profile showed them at a third of send time)."""
    endpoint = app.state.plaza.ws_endpoint

    async def entry(scope, receive, send):
        if scope["type"] == "websocket" and scope["path"] == "/ws":
            await endpoint(scope, receive, send)
        else:
            await app(scope, receive, send)

    return entry


def uvicorn_config(app, host: str, port: int, log_level: str = "info") -> uvicorn.Config:
    # No access log: websocket URLs carry seat tokens, and shoppers' requests are nobody's log lines.
    return uvicorn.Config(
        direct_websocket(app), host=host, port=port, access_log=False, http=GuardedHttpProtocol,
        ws=PlazaWebSocketProtocol, ws_max_size=MAX_MESSAGE_BYTES,
        # Pose frames barely compress and zlib per message would cost more than everything else per frame.
        ws_per_message_deflate=False,
        ws_ping_interval=20.0, ws_ping_timeout=20.0, log_level=log_level, lifespan="on",
    )
