"""Lean client-side websocket framing (RFC 6455) for bots that must cost next to nothing.

What a load-test bot needs from the wire, and no more:
- `handshake_request` / `check_handshake`: a normal HTTP/1.1 upgrade (RFC 6455 section 4.1).
- `mask_frame`: one masked client frame (control messages, pongs, closes).
- `UploadEncoder`: every bot's pose upload of a tick as masked binary frames in one numpy pass. The payloads are
  the PROTOCOL.md section 7 layout, byte for byte what `sim.client.encode_pose_upload` makes.
- `scan_frames`: walks the server's frames in a received chunk reading only the frame header and, for a
  snapshot, its 11-byte header (tick), which is enough to acknowledge the newest tick and count deliveries.
  Everything else (control messages, close, ping) is handed back whole.

Server frames are never masked and are not fragmented by a Plaza server; a fragmented or masked server frame is
reported as a protocol error (`OP_BAD`), not reassembled.
"""

from __future__ import annotations

import base64
import hashlib
import os
import struct

import numpy as np

from server.realtime.codec import FRAME_HEADER
from server.realtime.pose import KIND_POSE_UPLOAD, KIND_SNAPSHOT, PART_FLOATS

WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0x1, 0x2, 0x8, 0x9, 0xA
OP_BAD = -1  # a frame a Plaza server never sends (masked, fragmented, reserved bits)
_U16 = struct.Struct(">H")
_U64 = struct.Struct(">Q")
_TICK = struct.Struct("<I")
_SNAPSHOT_HEADER_SIZE = FRAME_HEADER.size  # 11: kind, flags, tick u32, server time u32, sections


def handshake_request(host: str, port: int, path: str, origin: str | None = None) -> tuple[bytes, str]:
    """An HTTP/1.1 websocket upgrade request and the `Sec-WebSocket-Accept` value the server must answer."""
    key = base64.b64encode(os.urandom(16)).decode()
    lines = [f"GET {path} HTTP/1.1", f"Host: {host}:{port}", "Upgrade: websocket", "Connection: Upgrade",
             f"Sec-WebSocket-Key: {key}", "Sec-WebSocket-Version: 13"]
    if origin:
        lines.append(f"Origin: {origin}")
    accept = base64.b64encode(hashlib.sha1((key + WS_GUID).encode()).digest()).decode()
    return ("\r\n".join(lines) + "\r\n\r\n").encode(), accept


def check_handshake(head: bytes, accept: str) -> None:
    """Raise ConnectionError unless `head` (the response up to the blank line) is a valid 101 for `accept`."""
    lines = head.decode("latin-1").split("\r\n")
    status = lines[0].split(" ", 2)
    if len(status) < 2 or status[1] != "101":
        raise ConnectionError(f"websocket upgrade refused: {lines[0]}")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    if headers.get("upgrade", "").lower() != "websocket" or "upgrade" not in headers.get("connection", "").lower():
        raise ConnectionError("websocket upgrade: missing Upgrade/Connection headers")
    if headers.get("sec-websocket-accept") != accept:
        raise ConnectionError("websocket upgrade: wrong Sec-WebSocket-Accept")


def _header(opcode: int, length: int) -> bytes:
    if length < 126:
        return bytes((0x80 | opcode, 0x80 | length))
    if length < 65536:
        return bytes((0x80 | opcode, 0x80 | 126)) + _U16.pack(length)
    return bytes((0x80 | opcode, 0x80 | 127)) + _U64.pack(length)


def apply_mask(payload: bytes, mask: bytes) -> bytes:
    n = len(payload)
    if n == 0:
        return b""
    m = int.from_bytes((mask * (n // 4 + 1))[:n], "big")
    return (int.from_bytes(payload, "big") ^ m).to_bytes(n, "big")


def mask_frame(payload: bytes, opcode: int = OP_BINARY, mask: bytes | None = None) -> bytes:
    """One final, masked client frame (RFC 6455 section 5.3: a client masks every frame)."""
    mask = os.urandom(4) if mask is None else mask
    return _header(opcode, len(payload)) + mask + apply_mask(payload, mask)


def header_size(payload_length: int) -> int:
    """Bytes of a masked client frame header (with its 4-byte masking key) for a payload of this length."""
    return len(_header(OP_BINARY, payload_length)) + 4


class UploadEncoder:
    """Masked pose-upload frames for `n` bots with the same parts present, rewritten in place every tick.

    `frames` is an (n, frame_bytes) uint8 matrix; `rows[i]` is a memoryview of bot i's frame (hand it to
    `socket.send`). Each frame gets its own masking key from os.urandom (one call per tick for all bots)."""

    def __init__(self, n: int, parts: tuple[int, ...]) -> None:
        if 0 not in parts:
            raise ValueError("a pose upload needs the head")
        self.n = n
        self.parts = tuple(sorted(parts))
        self.presence = sum(1 << p for p in self.parts)
        self.floats = sum(PART_FLOATS[p] for p in self.parts)
        self.payload_bytes = 8 + 4 * self.floats  # a multiple of 4, so masking works on u32 words
        head = _header(OP_BINARY, self.payload_bytes)
        self.header_bytes = len(head) + 4
        self.frame_bytes = self.header_bytes + self.payload_bytes
        self.frames = np.zeros((n, self.frame_bytes), dtype=np.uint8)
        self.frames[:, : len(head)] = np.frombuffer(head, dtype=np.uint8)
        self.rows = [memoryview(self.frames[i]) for i in range(n)]
        self._payload = np.zeros((n, self.payload_bytes // 4), dtype="<u4")
        self._bytes = self._payload.view(np.uint8)  # (n, payload_bytes)
        self._bytes[:, 0] = KIND_POSE_UPLOAD
        self._bytes[:, 1] = self.presence
        self._floats = self._payload[:, 2:].view("<f4")

    def encode(self, seq, ack, values: dict[int, np.ndarray] | np.ndarray, mask: np.ndarray | None = None) -> None:
        """Fill `frames` for this tick. `seq`, `ack`: scalars or (n,) integers; `values`: part -> (n, floats)
        (as `Crowd.parts()` gives them) or an (n, floats) matrix in part order. `mask`: (n, 4) uint8 masking
        keys, random when None."""
        n = self.n
        if isinstance(values, dict):
            col = 0
            for p in self.parts:
                k = PART_FLOATS[p]
                self._floats[:, col : col + k] = values[p]
                col += k
        else:
            self._floats[:] = values
        header = self._bytes[:, :8]
        seq16 = (np.broadcast_to(np.asarray(seq, dtype=np.int64), (n,)) & 0xFFFF).astype("<u2")
        ack32 = (np.broadcast_to(np.asarray(ack, dtype=np.int64), (n,)) & 0xFFFFFFFF).astype("<u4")
        header[:, 2:4] = seq16.view(np.uint8).reshape(n, 2)
        header[:, 4:8] = ack32.view(np.uint8).reshape(n, 4)
        if mask is None:
            mask = np.frombuffer(os.urandom(4 * n), dtype=np.uint8).reshape(n, 4)
        h = self.header_bytes
        self.frames[:, h - 4 : h] = mask
        words = self._payload ^ np.ascontiguousarray(mask).view("<u4")  # (n, 1) broadcast over every word
        self.frames[:, h:] = words.view(np.uint8)

    def payload(self, i: int) -> bytes:
        """Bot i's unmasked upload (what the server reads), for bots sent through another transport."""
        return self._bytes[i].tobytes()


def scan_frames(buf: bytes, at: int = 0):
    """Walk the complete server frames in `buf[at:]`.

    Returns (consumed, snapshots, newest_tick, others): `consumed` is where the first incomplete frame starts,
    `snapshots` the number of snapshot frames, `newest_tick` the tick of the last one (-1 if none), and
    `others` a list of (opcode, payload) for every other frame (opcode OP_BAD for a frame no Plaza server sends).
    """
    end = len(buf)
    snapshots = 0
    newest = -1
    others = None
    while end - at >= 2:
        b0 = buf[at]
        length = buf[at + 1]
        if length < 126:
            p = at + 2
        elif length == 126:
            if end - at < 4:
                break
            length = (buf[at + 2] << 8) | buf[at + 3]
            p = at + 4
        elif length == 127:
            if end - at < 10:
                break
            length = _U64.unpack_from(buf, at + 2)[0]
            p = at + 10
        else:  # the mask bit is set: servers never mask
            if others is None:
                others = []
            others.append((OP_BAD, b""))
            return end, snapshots, newest, others
        if end - p < length:
            break
        if b0 == 0x82 and length >= _SNAPSHOT_HEADER_SIZE and buf[p] == KIND_SNAPSHOT:
            snapshots += 1
            newest = _TICK.unpack_from(buf, p + 2)[0]
        else:
            if others is None:
                others = []
            opcode = b0 & 0x0F if b0 & 0xF0 == 0x80 else OP_BAD
            others.append((opcode, buf[p : p + length]))
        at = p + length
    return at, snapshots, newest, others or ()


def close_payload(code: int, reason: str = "") -> bytes:
    return _U16.pack(code) + reason.encode()[:120]


def parse_close(payload: bytes) -> tuple[int, str]:
    if len(payload) >= 2:
        return _U16.unpack_from(payload)[0], payload[2:].decode("utf-8", "replace")
    return 1005, ""
