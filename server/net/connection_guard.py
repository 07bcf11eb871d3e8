"""Per-connection deadlines for HTTP, in front of uvicorn's own protocol (composition, public Config.http).

uvicorn times out idle keep-alive connections but not a connection that sends nothing, half a request head
or a body a byte a minute (slowloris). The guard follows the request framing just far enough to know when
a head and a body of known length are complete (`Content-Length`; a chunked body ends the guarding of that
connection, the body size limit still applies), and closes with 408 when `header_timeout_s` or
`body_timeout_s` runs out. It also caps the connections one address holds before they become websockets
(`pending_connections_per_address`).

It is also where a connection becomes a websocket: the first request head of a connection is read before
uvicorn sees anything; an upgrade to `/ws` hands the transport (and the bytes read so far) to a Plaza
`Session` (server/net/session.py), whose own auth timeout and pings take over. Everything else goes to
uvicorn's h11 protocol, created only then.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable
from typing import Any

from uvicorn.protocols.http.h11_impl import H11Protocol

from server import limits

_HEAD_END = b"\r\n\r\n"
_OPEN: Counter[str] = Counter()  # connections per address that are HTTP (not yet upgraded)


def _response(status: str, detail: str) -> bytes:
    code = status.split()[0]
    body = (f'{{"type":"/problems/request_timeout","title":"{status[4:]}","status":{code},'
            f'"detail":"{detail}","code":"request_timeout","errors":[]}}').encode()
    return (f"HTTP/1.1 {status}\r\ncontent-type: application/problem+json\r\ncontent-length: {len(body)}\r\n"
            f"connection: close\r\n\r\n").encode() + body


class GuardedHttpProtocol(asyncio.Protocol):
    """uvicorn's h11 protocol plus header/body deadlines and a per-address cap on open HTTP connections, and
    the switch to Plaza's own websocket session for `/ws` upgrades. Subclasses set `websocket_session`."""

    websocket_session: Callable[[str], asyncio.Protocol] | None = None  # address -> a new session

    def __init__(self, config: Any, server_state: Any, app_state: dict[str, Any],
                 _loop: asyncio.AbstractEventLoop | None = None) -> None:
        self._make_inner = lambda: H11Protocol(config=config, server_state=server_state, app_state=app_state,
                                               _loop=_loop)
        self.inner: H11Protocol | None = None  # created once the first request head shows it is HTTP
        self.first = bytearray()  # the connection's bytes until its first head is complete
        self.loop = _loop or asyncio.get_event_loop()
        self.transport: asyncio.Transport | None = None
        self.address = "?"
        self.counted = False
        self.guarding = True
        self.head = bytearray()  # the request head being received, while in a head
        self.in_head = False
        self.body_left = 0
        self.deadline: asyncio.TimerHandle | None = None

    # ------------------------------------------------------------------ asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        peer = transport.get_extra_info("peername")
        self.address = str(peer[0]) if peer else "?"
        if _OPEN[self.address] >= limits.get("pending_connections_per_address"):
            self.guarding = False
            transport.write(_response("429 Too Many Requests", "too many open connections from this address"))
            transport.close()
            return
        _OPEN[self.address] += 1
        self.counted = True
        self._arm(limits.get("header_timeout_s"), "the request head did not arrive in time")

    def data_received(self, data: bytes) -> None:
        if not self.counted and self.inner is None:  # refused in connection_made
            return
        if self.inner is None:
            self.first += data
            end = self.first.find(_HEAD_END)
            if end < 0 and len(self.first) <= 64 * 1024:
                self._follow(data)  # keeps the header deadline running
                return
            head = bytes(self.first[: end + 4]) if end >= 0 else b""
            data, self.first = bytes(self.first), bytearray()
            self.in_head, self.head = False, bytearray()
            if self.websocket_session is not None and _is_websocket_upgrade(head):
                self._become_websocket(data)
                return
            self.inner = self._make_inner()
            self.inner.connection_made(self.transport)  # type: ignore[arg-type]
        if self.guarding:
            self._follow(data)
        self.inner.data_received(data)
        if self.transport is not None and self.transport.get_protocol() is not self:  # upgraded (not /ws)
            self._stop_guarding()

    def _become_websocket(self, data: bytes) -> None:
        self._stop_guarding()
        session = self.websocket_session(self.address)
        self.transport.set_protocol(session)
        session.connection_made(self.transport)
        session.data_received(data)

    def eof_received(self) -> bool | None:
        return self.inner.eof_received() if self.inner is not None else None

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_guarding()
        if self.inner is not None:  # a refused connection never reached it
            self.inner.connection_lost(exc)

    def pause_writing(self) -> None:
        if self.inner is not None:
            self.inner.pause_writing()

    def resume_writing(self) -> None:
        if self.inner is not None:
            self.inner.resume_writing()

    # ------------------------------------------------------------------ deadlines
    def _arm(self, seconds: float, why: str) -> None:
        if self.deadline is not None:
            self.deadline.cancel()
        self.deadline = self.loop.call_later(seconds, self._expired, why)

    def _disarm(self) -> None:
        if self.deadline is not None:
            self.deadline.cancel()
            self.deadline = None

    def _expired(self, why: str) -> None:
        self.deadline = None
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(_response("408 Request Timeout", why))
            self.transport.close()

    def _stop_guarding(self) -> None:
        self.guarding = False
        self._disarm()
        if self.counted:
            self.counted = False
            _OPEN[self.address] -= 1
            if _OPEN[self.address] <= 0:
                del _OPEN[self.address]

    def _follow(self, data: bytes) -> None:
        """Advance through heads and bodies in `data` (requests may be pipelined)."""
        view = memoryview(data)
        while view:
            if self.body_left:
                taken = min(self.body_left, len(view))
                self.body_left -= taken
                view = view[taken:]
                if not self.body_left:
                    self._disarm()  # request received; the next deadline starts with the next head's first byte
                continue
            if not self.in_head:
                self.in_head = True
                self.head.clear()
                self._arm(limits.get("header_timeout_s"), "the request head did not arrive in time")
            start = max(0, len(self.head) - 3)
            self.head += view
            end = self.head.find(_HEAD_END, start)
            if end < 0:
                if len(self.head) > 64 * 1024:  # h11 refuses such a head itself; stop copying it
                    self._stop_guarding()
                return
            rest = len(self.head) - (end + 4)
            head = bytes(self.head[: end + 4])
            self.in_head = False
            self._disarm()
            view = view[len(view) - rest:] if rest else view[:0]
            length, chunked = _framing(head)
            if chunked:
                self._stop_guarding()
                return
            if length:
                self.body_left = length
                self._arm(limits.get("body_timeout_s"), "the request body did not arrive in time")


def _is_websocket_upgrade(head: bytes) -> bool:
    """A `GET /ws` (any query) asking for `Upgrade: websocket`."""
    line, _, rest = head.partition(b"\r\n")
    parts = line.split(b" ")
    if len(parts) != 3 or parts[0] != b"GET" or parts[1].split(b"?", 1)[0] != b"/ws":
        return False
    for header in rest.split(b"\r\n"):
        name, _, value = header.partition(b":")
        if name.strip().lower() == b"upgrade" and value.strip().lower() == b"websocket":
            return True
    return False


def _framing(head: bytes) -> tuple[int, bool]:
    """(Content-Length, is chunked) from a request head; malformed values are left for h11 to refuse."""
    length, chunked = 0, False
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            value = value.strip()
            if value.isdigit() and len(value) <= 15:
                length = int(value)
        elif name == b"transfer-encoding" and b"chunked" in value.lower():
            chunked = True
    return length, chunked
