"""Lean bots: many websocket clients on raw non-blocking sockets, served by one epoll set.

A lean bot does the full handshake (HTTP seat reservation, websocket upgrade, `auth`, `welcome`) and then
only what the load needs: it sends the pose uploads it is given (masked frames built in bulk by
`sim.wire.UploadEncoder`, one `send` per bot per tick), acknowledges the newest snapshot tick it received (the
`ack` field of its next upload) and counts snapshots and bytes. It never decodes a snapshot: the sampled bots of
`sim.load` do that through the reference `ClientSession`.

All sockets of a process sit in one epoll set whose descriptor is watched by the asyncio loop, so one loop
callback reads every ready socket (no transport, protocol object or handle per bot).
"""

from __future__ import annotations

import asyncio
import contextlib
import select
import socket
import time
import urllib.parse

import msgpack

from sim.wire import (
    OP_BAD,
    OP_BINARY,
    OP_CLOSE,
    OP_PING,
    OP_PONG,
    check_handshake,
    close_payload,
    handshake_request,
    mask_frame,
    parse_close,
    scan_frames,
)

RECV_BYTES = 256 * 1024
_ERROR_MARK = b"\xa5error"  # msgpack str "error": only those control messages are decoded


class LeanBots:
    """The lean bots of one process. Bot i: `socks[i]` (None once closed), `avatar[i]`, `spawn[i]`,
    `last_tick[i]` (newest snapshot tick received), `frames[i]` (snapshots), `bytes[i]` (bytes received)."""

    def __init__(self) -> None:
        self.socks: list[socket.socket | None] = []
        self.avatar: list[int] = []
        self.spawn: list[list[float]] = []
        self.last_tick: list[int] = []
        self.frames: list[int] = []
        self.bytes: list[int] = []
        self.controls: list[int] = []
        self.close_codes: list[int | None] = []
        self.error_codes: dict[str, int] = {}
        self.protocol_errors = 0
        self.uploads_sent = 0
        self.uploads_blocked = 0  # uploads not sent because the socket's send buffer was full
        self.receive_cpu_s = 0.0  # CPU (user + kernel) spent reading and scanning, from thread_time
        self._leftover: dict[int, bytes] = {}
        self._pending: dict[int, bytes] = {}  # the unsent tail of a partly written upload
        self._by_fd: dict[int, int] = {}
        self._epoll = select.epoll()
        self._watching = False
        self._targets: tuple[list, list] | None = None

    def __len__(self) -> int:
        return len(self.socks)

    # ------------------------------------------------------------------ connecting
    async def connect(self, host: str, port: int, ws_path: str, token: str, origin: str | None = None,
                      timeout: float = 15.0) -> int:
        """Open one bot's websocket, authenticate and wait for its welcome; returns the bot's index. `ws_path` may
        be an absolute URL (many nodes: the room's owner), which then names the host and port."""
        if "://" in ws_path:
            parts = urllib.parse.urlsplit(ws_path)
            host, port = parts.hostname or host, parts.port or port
            ws_path = parts.path + (f"?{parts.query}" if parts.query else "")
        loop = asyncio.get_running_loop()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setblocking(False)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            return await asyncio.wait_for(self._open(loop, sock, host, port, ws_path, token, origin), timeout)
        except BaseException:
            sock.close()
            raise

    async def _open(self, loop, sock, host, port, ws_path, token, origin) -> int:
        await loop.sock_connect(sock, (host, port))
        request, accept = handshake_request(host, port, ws_path, origin)
        await loop.sock_sendall(sock, request)
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = await loop.sock_recv(sock, 65536)
            if not chunk:
                raise ConnectionError("connection closed during the websocket upgrade")
            data += chunk
        head, _, data = data.partition(b"\r\n\r\n")
        check_handshake(head, accept)
        await loop.sock_sendall(sock, mask_frame(msgpack.packb({"t": "auth", "token": token})))
        while True:
            at, _snaps, _tick, others = scan_frames(data)
            for opcode, payload in others:
                if opcode == OP_CLOSE:
                    code, reason = parse_close(payload)
                    raise ConnectionError(f"closed before welcome: {code} {reason}")
                if opcode == OP_BINARY:
                    message = msgpack.unpackb(payload, raw=False)
                    if isinstance(message, dict) and message.get("t") == "welcome":
                        return self._register(sock, message, data[at:])
            data = data[at:]
            chunk = await loop.sock_recv(sock, 65536)
            if not chunk:
                raise ConnectionError("connection closed before welcome")
            data += chunk

    def _register(self, sock: socket.socket, welcome: dict, rest: bytes) -> int:
        # Frames after the welcome in the same read are dropped: they came before any measurement.
        i = len(self.socks)
        self.socks.append(sock)
        self.avatar.append(int(welcome["avatar"]))
        self.spawn.append(list(welcome["spawn"]))
        self.last_tick.append(0)
        self.frames.append(0)
        self.bytes.append(0)
        self.controls.append(0)
        self.close_codes.append(None)
        if rest:
            self._leftover[i] = bytes(rest)
        self._by_fd[sock.fileno()] = i
        self._epoll.register(sock.fileno(), select.EPOLLIN)
        self._targets = None
        if not self._watching:
            asyncio.get_running_loop().add_reader(self._epoll.fileno(), self.drain)
            self._watching = True
        return i

    # ------------------------------------------------------------------ receiving
    def drain(self, passes: int = 1) -> None:
        """Read every socket that has data (up to `passes` rounds of epoll); count snapshots, keep the
        newest tick for the next ack, handle control, ping and close frames."""
        t0 = time.thread_time()
        try:
            self._drain(passes)
        finally:
            self.receive_cpu_s += time.thread_time() - t0

    def _drain(self, passes: int) -> None:
        poll, by_fd, socks = self._epoll.poll, self._by_fd, self.socks
        frames, nbytes, last_tick, leftover = self.frames, self.bytes, self.last_tick, self._leftover
        for _ in range(passes):
            events = poll(0)
            if not events:
                return
            for fd, _ev in events:
                i = by_fd.get(fd)
                if i is None:
                    continue
                sock = socks[i]
                try:
                    data = sock.recv(RECV_BYTES)
                except (BlockingIOError, InterruptedError):
                    continue
                except OSError:
                    self._lost(i, 1006)
                    continue
                if not data:
                    self._lost(i, 1006)
                    continue
                nbytes[i] += len(data)
                if leftover:
                    left = leftover.pop(i, None)
                    if left is not None:
                        data = left + data
                at, snaps, newest, others = scan_frames(data)
                if snaps:
                    frames[i] += snaps
                    last_tick[i] = newest
                if at != len(data):
                    leftover[i] = data[at:]
                if others:
                    self._others(i, others)

    def _others(self, i: int, others) -> None:
        for opcode, payload in others:
            if opcode == OP_BINARY:
                self.controls[i] += 1
                if _ERROR_MARK in payload:
                    with contextlib.suppress(Exception):
                        message = msgpack.unpackb(payload, raw=False)
                        if message.get("t") == "error":
                            code = str(message.get("code"))
                            self.error_codes[code] = self.error_codes.get(code, 0) + 1
            elif opcode == OP_PING:
                self._send_control_frame(i, mask_frame(bytes(payload), OP_PONG))
            elif opcode == OP_CLOSE:
                code, _reason = parse_close(payload)
                self._send_control_frame(i, mask_frame(close_payload(code), OP_CLOSE))
                self._lost(i, code)
                return
            elif opcode == OP_PONG:
                pass
            else:  # text, fragments, masked frames, reserved bits: not from a Plaza server
                self.protocol_errors += 1
                if opcode == OP_BAD:
                    self._send_control_frame(i, mask_frame(close_payload(1002), OP_CLOSE))
                    self._lost(i, 1002)
                    return

    def _send_control_frame(self, i: int, frame: bytes) -> None:
        sock = self.socks[i]
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.send(frame)

    def _lost(self, i: int, code: int) -> None:
        sock = self.socks[i]
        if sock is None:
            return
        self.close_codes[i] = code
        self.socks[i] = None
        self._by_fd.pop(sock.fileno(), None)
        with contextlib.suppress(OSError, ValueError):
            self._epoll.unregister(sock.fileno())
        sock.close()
        self._pending.pop(i, None)
        self._leftover.pop(i, None)
        self._targets = None

    # ------------------------------------------------------------------ sending
    def send_rows(self, rows: list) -> int:
        """Send bot i the frame `rows[i]` (a memoryview from `UploadEncoder.rows`), one `send` per bot. A bot
        whose previous upload is still partly unsent gets the rest of it instead (this tick's upload is
        skipped and counted in `uploads_blocked`). Returns the uploads fully handed to the kernel."""
        if self._pending:
            self._flush_pending()
        if self._targets is None:
            idx = [i for i, s in enumerate(self.socks) if s is not None and i not in self._pending]
            self._targets = ([self.socks[i] for i in idx], idx)
        tsocks, tidx = self._targets
        sent = 0
        size = len(rows[0]) if rows else 0
        partial = None
        for j, sock in enumerate(tsocks):
            row = rows[tidx[j]]
            try:
                k = sock.send(row)
            except (BlockingIOError, InterruptedError):
                self.uploads_blocked += 1
                continue
            except OSError:
                if partial is None:
                    partial = []
                partial.append((tidx[j], None))
                continue
            if k == size:
                sent += 1
            else:
                if partial is None:
                    partial = []
                partial.append((tidx[j], bytes(row[k:])))
        if partial:
            for i, rest in partial:
                if rest is None:
                    self._lost(i, 1006)
                else:
                    self._pending[i] = rest
            self._targets = None
        self.uploads_sent += sent
        return sent

    def _flush_pending(self) -> None:
        for i, rest in list(self._pending.items()):
            sock = self.socks[i]
            if sock is None:
                del self._pending[i]
                continue
            self.uploads_blocked += 1  # this tick's upload gives way to the previous one's tail
            try:
                k = sock.send(rest)
            except (BlockingIOError, InterruptedError):
                continue
            except OSError:
                self._lost(i, 1006)
                continue
            if k == len(rest):
                del self._pending[i]
                self.uploads_sent += 1
                self._targets = None
            else:
                self._pending[i] = rest[k:]

    def send_acks(self) -> None:
        """An `ack` control message from every bot (PROTOCOL.md section 10: while no uploads carry acks)."""
        for i, sock in enumerate(self.socks):
            if sock is not None and self.last_tick[i]:
                self._send_control_frame(i, mask_frame(msgpack.packb({"t": "ack", "tick": self.last_tick[i]})))

    async def ack_while(self, running, every: float = 0.25) -> None:
        """Acknowledge every `every` seconds for as long as `running()` is true (before uploads start)."""
        while running():
            self.send_acks()
            await asyncio.sleep(every)

    def close(self) -> None:
        """Close every websocket (close frame 1000, no `leave`: the server treats it as a drop)."""
        if self._watching:
            with contextlib.suppress(Exception):
                asyncio.get_running_loop().remove_reader(self._epoll.fileno())
            self._watching = False
        for i, sock in enumerate(self.socks):
            if sock is not None:
                self._send_control_frame(i, mask_frame(close_payload(1000), OP_CLOSE))
                self._lost(i, self.close_codes[i] or 0)
                self.close_codes[i] = None
        self._epoll.close()

    @property
    def open_count(self) -> int:
        return sum(s is not None for s in self.socks)
