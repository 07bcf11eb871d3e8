"""Uvicorn configuration for Plaza: websocket limits and a small socket write buffer.

A small high-water mark makes flow control (and so newest-wins snapshot replacement) start after a few
frames instead of 64 KiB of stale poses queued in the kernel-facing buffer.
"""

from __future__ import annotations

import asyncio

import uvicorn
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

from server.net.ws import MAX_MESSAGE_BYTES

WRITE_BUFFER_HIGH = 32 * 1024
WRITE_BUFFER_LOW = 8 * 1024
MAX_QUEUED_MESSAGES = 16  # unread messages per connection before its socket stops being read


class PlazaWebSocketProtocol(WebSocketsSansIOProtocol):
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        transport.set_write_buffer_limits(high=WRITE_BUFFER_HIGH, low=WRITE_BUFFER_LOW)
        super().connection_made(transport)

    def send_receive_event_to_app(self) -> None:
        """uvicorn pauses reading after every message until the app takes it: two epoll syscalls per pose
        upload (13% of the server's CPU in the profile). Pause only when the app is really behind."""
        if self.read_paused:
            super().send_receive_event_to_app()
            return
        self.read_paused = True  # the base class then skips its per-message pause
        super().send_receive_event_to_app()
        self.read_paused = False
        if self.queue.qsize() >= MAX_QUEUED_MESSAGES:
            self.read_paused = True
            self.transport.pause_reading()


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
        direct_websocket(app), host=host, port=port, access_log=False,
        ws=PlazaWebSocketProtocol, ws_max_size=MAX_MESSAGE_BYTES,
        ws_ping_interval=20.0, ws_ping_timeout=20.0, log_level=log_level, lifespan="on",
    )
