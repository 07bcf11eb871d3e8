"""asyncio UDP adapter: datagrams -> MocapSources.feed_datagram with time.monotonic(). Nothing else."""

from __future__ import annotations

import asyncio
import logging
import time

from server.mocap.ingest import MocapSources

log = logging.getLogger(__name__)

DEFAULT_PORT = 39539  # the VMC protocol's usual performer -> marionette port


class MocapUdpProtocol(asyncio.DatagramProtocol):
    def __init__(self, ingest: MocapSources) -> None:
        self.ingest = ingest
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple) -> None:
        try:
            self.ingest.feed_datagram(data, (str(addr[0]), int(addr[1])), time.monotonic())
        except Exception:  # feed_datagram counts bad input itself; this is a last line of defence
            self.ingest.counters["internal_errors"] += 1
            log.exception("mocap datagram from %s crashed the ingest", addr)

    def error_received(self, exc: Exception) -> None:
        self.ingest.counters["socket_errors"] += 1


async def start_udp_listener(
    ingest: MocapSources, host: str = "127.0.0.1", port: int = DEFAULT_PORT
) -> tuple[asyncio.DatagramTransport, MocapUdpProtocol]:
    """Listen for VMC/OSC datagrams. Port 0 picks a free port (read it from transport.get_extra_info)."""
    loop = asyncio.get_running_loop()
    transport, protocol = await loop.create_datagram_endpoint(lambda: MocapUdpProtocol(ingest), local_addr=(host, port))
    return transport, protocol  # type: ignore[return-value]
