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


class PlazaWebSocketProtocol(WebSocketsSansIOProtocol):
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        transport.set_write_buffer_limits(high=WRITE_BUFFER_HIGH, low=WRITE_BUFFER_LOW)
        super().connection_made(transport)


def uvicorn_config(app, host: str, port: int, log_level: str = "info") -> uvicorn.Config:
    return uvicorn.Config(
        app, host=host, port=port, ws=PlazaWebSocketProtocol, ws_max_size=MAX_MESSAGE_BYTES,
        ws_ping_interval=20.0, ws_ping_timeout=20.0, log_level=log_level, lifespan="on",
    )
