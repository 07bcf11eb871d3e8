"""Websocket framing on the hot path, beside the `websockets` library's sans-I/O `ServerProtocol`.

Every client sends a pose upload per frame (60 per second); the library's generator-based parser costs about
10 µs per such frame, a fifth of the whole server's budget per snapshot. `FrameSplitter` walks the client's
byte stream frame by frame (RFC 6455 section 5.2) and takes out only what is unambiguous: a complete, masked,
unfragmented binary frame no larger than the message limit, with no reserved bits (no extension is ever
negotiated). Every other byte (handshake leftovers, text, control frames, fragments, anything malformed or
oversized, everything after a close frame) goes, in stream order, to the `ServerProtocol`, which does what
the RFC says with it (pongs, close handshake, 1002/1007/1009 closes); once it leaves the open state the
owner calls `stop()` and every later byte is the library's too. Writing is the other direction:
`binary_frame` builds a server frame once so that one snapshot shared by many clients is framed once.
"""

from __future__ import annotations

from collections.abc import Callable

_FIN_BINARY = 0x82
_MASKED = 0x80
_OP_CONTINUATION, _OP_TEXT, _OP_BINARY, _OP_CLOSE = 0x0, 0x1, 0x2, 0x8


def binary_frame(payload: bytes) -> bytes:
    """A complete unmasked binary frame, as a server sends it (RFC 6455 section 5.2)."""
    n = len(payload)
    if n < 126:
        header = bytes((_FIN_BINARY, n))
    elif n < 65536:
        header = bytes((_FIN_BINARY, 126)) + n.to_bytes(2, "big")
    else:
        header = bytes((_FIN_BINARY, 127)) + n.to_bytes(8, "big")
    return header + payload


def unmask(payload: bytes, mask: bytes) -> bytes:
    """XOR with the 4-byte masking key, as one big-integer operation (no per-byte Python loop)."""
    n = len(payload)
    if n == 0:
        return b""
    key = (mask * ((n >> 2) + 1))[:n]
    return (int.from_bytes(payload, "little") ^ int.from_bytes(key, "little")).to_bytes(n, "little")


class FrameSplitter:
    """Routes a client's byte stream: `fast(payload)` for whole single-frame binary messages, `slow(bytes)` for
    everything else, in order. Sans-I/O; one per connection, fed from the first byte after the handshake."""

    def __init__(self, max_size: int, fast: Callable[[bytes], None], slow: Callable[[bytes], None]) -> None:
        self.max_size = max_size
        self._fast, self._slow = fast, slow
        self._pending = b""  # the start of a frame whose header (or whole fast frame) is not complete yet
        self._slow_left = 0  # bytes of the current frame still owed to the slow path
        self._fragmented = False  # the slow path is inside a fragmented message: its frames all go there
        self._slow_only = False  # after a close frame or a frame the library will refuse: all goes there
        # Nothing pending or owed to the slow path: the next read starts at a frame boundary, so its owner may
        # take a read that is exactly one whole fast-path frame without `feed` (Session.buffer_updated).
        self.idle = True

    def feed(self, data: bytes) -> None:
        self._feed(data)
        self.idle = not (self._pending or self._slow_left or self._slow_only or self._fragmented)

    def _feed(self, data: bytes) -> None:
        if self._pending:
            data, self._pending = self._pending + data, b""
        at, end = 0, len(data)
        while at < end:
            if self._slow_left:
                take = min(self._slow_left, end - at)
                self._slow(data[at : at + take])
                self._slow_left -= take
                at += take
                continue
            if self._slow_only:
                self._slow(data[at:])
                return
            if end - at < 2:
                self._pending = data[at:]
                return
            b0, b1 = data[at], data[at + 1]
            n, head = b1 & 0x7F, 2
            if n == 126:
                head = 4
            elif n == 127:
                head = 10
            if b1 & _MASKED:
                head += 4
            if end - at < head:
                self._pending = data[at:]
                return
            if n == 126:
                n = int.from_bytes(data[at + 2 : at + 4], "big")
            elif n == 127:
                n = int.from_bytes(data[at + 2 : at + 10], "big")
            total = head + n
            if b0 == _FIN_BINARY and b1 & _MASKED and n <= self.max_size and not self._fragmented:
                if end - at < total:  # wait for the rest (bounded by max_size)
                    self._pending = data[at:]
                    return
                self._fast(unmask(data[at + head : at + total], data[at + head - 4 : at + head]))
                at += total
                continue
            self._track(b0, b1, n)
            take = min(total, end - at)
            self._slow(data[at : at + take])
            self._slow_left = total - take
            at += take

    def _track(self, b0: int, b1: int, n: int) -> None:
        """Follow what the slow path is in the middle of, from a frame header going its way."""
        opcode, fin = b0 & 0x0F, b0 & 0x80
        if opcode == _OP_CLOSE or b0 & 0x70 or not b1 & _MASKED or n > self.max_size or opcode not in (
                _OP_CONTINUATION, _OP_TEXT, _OP_BINARY, 0x9, 0xA):
            self._slow_only = True  # the library closes the connection (or the closing handshake runs)
        elif opcode in (_OP_TEXT, _OP_BINARY):
            if self._fragmented:  # a new message inside a fragmented one: the library fails the connection
                self._slow_only = True
            self._fragmented = not fin
        elif opcode == _OP_CONTINUATION:
            if not self._fragmented:  # nothing to continue: the library fails the connection
                self._slow_only = True
            elif fin:
                self._fragmented = False

    def stop(self) -> None:
        """The library left the open state (it failed the connection or a close began): it gets the rest."""
        self._slow_only = True
        self.idle = False
