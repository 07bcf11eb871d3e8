"""`python -m sim.sink`: a stand-in for the Plaza server that costs little, to measure load generators alone.

It speaks just enough of protocol version 2 for `sim load` (and any other generator): `GET /api/rooms/{id}`,
`POST /api/rooms`, `POST /api/rooms/{id}/join`, the websocket upgrade at `/ws`, `auth` -> `welcome`, then
one snapshot frame per client per tick at 60 Hz. The snapshot is a valid absolute frame of `--avatars`
avatars (encoded once by the real codec; only its tick changes), so decoding bots decode it. Uploads are
counted from their frame headers, never applied. `/api/stats` and `/metrics` carry the counters `sim load`
reads (`frames_in`, `frames_out`, `ticks`, `cpu_s`).

It is not a server: no validation, no rooms, no interest management. It exists so that a generator's cost
can be measured at full 60 Hz in both directions when the real server cannot hold the room.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import json
import os
import struct
import time

import msgpack
import numpy as np

from server.realtime import codec
from sim.wire import WS_GUID

_U16 = struct.Struct(">H")


class Sink:
    def __init__(self, avatars: int, tick_hz: int = 60) -> None:
        self.tick_hz = tick_hz
        self.clients: dict[int, asyncio.Transport] = {}
        self.next_avatar = 1
        self.tick = 0
        self.frames_in = self.bytes_in = self.frames_out = self.bytes_out = 0
        self.late_ticks = self.skipped_ticks = 0
        self.epoch = time.monotonic()
        rng = np.random.default_rng(1)
        ids = np.arange(1, avatars + 1)
        presence = np.full(avatars, 7)
        states = np.zeros((avatars, 168), dtype=np.int32)
        states[:, 0:3] = rng.integers(-20000, 20000, (avatars, 3))
        for o in (7, 14):
            states[:, o : o + 3] = rng.integers(-500, 500, (avatars, 3))
        from server.realtime.quantize import quantize_quats

        q = quantize_quats(np.tile([0.0, 0.0, 0.0, 1.0], (avatars, 1)))
        for o in (3, 10, 17):
            states[:, o : o + 4] = q
        blocks = codec.encode_absolute(ids, states, presence).all_bytes()
        self.body = codec.SECTION_HEADER.pack(0, avatars, len(blocks)) + blocks
        self.spawns = [(0.0, 0.0, 5.0)]
        try:
            from server.net.hub import rules_for_scene

            self.spawns = list(rules_for_scene("launch-hall").spawn_points) or self.spawns
        except Exception:
            pass

    def snapshot_frame(self) -> bytes:
        payload = codec.FRAME_HEADER.pack(2, 0, self.tick & 0xFFFFFFFF,
                                          int((time.monotonic() - self.epoch) * 1000) & 0xFFFFFFFF, 1) + self.body
        n = len(payload)
        head = bytes((0x82, n)) if n < 126 else bytes((0x82, 126)) + _U16.pack(n) if n < 65536 else \
            bytes((0x82, 127)) + struct.pack(">Q", n)
        return head + payload

    async def run(self) -> None:
        dt = 1.0 / self.tick_hz
        next_at = time.monotonic()
        while True:
            now = time.monotonic()
            behind = int((now - next_at) / dt)
            if behind > 2:
                self.skipped_ticks += behind - 2
                next_at += (behind - 2) * dt
            if now - next_at > dt / 2:
                self.late_ticks += 1
            self.tick += 1
            frame = self.snapshot_frame()
            for transport in self.clients.values():
                transport.write(frame)
            self.frames_out += len(self.clients)
            self.bytes_out += len(frame) * len(self.clients)
            next_at += dt
            await asyncio.sleep(max(0.0, next_at - time.monotonic()))

    def stats(self) -> dict:
        t = os.times()
        return {"ticks": self.tick, "late_ticks": self.late_ticks, "skipped_ticks": self.skipped_ticks,
                "tick_work_ms": {"p50": None, "p99": None, "max": None, "window": 0},
                "cpu_s": t.user + t.system, "frames_out": self.frames_out, "bytes_out": self.bytes_out,
                "frames_in": self.frames_in, "bytes_in": self.bytes_in, "frames_replaced": 0,
                "clients": len(self.clients)}


class SinkProtocol(asyncio.Protocol):
    def __init__(self, sink: Sink) -> None:
        self.sink = sink
        self.buf = b""
        self.ws = False
        self.avatar: int | None = None
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport) -> None:
        self.transport = transport

    def connection_lost(self, exc) -> None:
        if self.avatar is not None:
            self.sink.clients.pop(self.avatar, None)

    def data_received(self, data: bytes) -> None:
        self.buf += data
        if self.ws:
            self._frames()
            return
        if b"\r\n\r\n" not in self.buf:
            return
        head, _, rest = self.buf.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        method, target = lines[0].split(" ")[:2]
        headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
        length = int(headers.get("content-length", 0))
        if len(rest) < length:
            return
        body, self.buf = rest[:length], rest[length:]
        path = target.split("?")[0]
        if path == "/ws" and "sec-websocket-key" in headers:
            accept = base64.b64encode(hashlib.sha1((headers["sec-websocket-key"] + WS_GUID).encode()).digest())
            self.transport.write(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                                 b"Sec-WebSocket-Accept: " + accept + b"\r\n\r\n")
            self.ws = True
            self._frames()
            return
        status, reply, ctype = self._http(method, path, body)
        payload = reply if isinstance(reply, bytes) else json.dumps(reply).encode()
        self.transport.write(f"HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {len(payload)}\r\n"
                             f"Connection: close\r\n\r\n".encode() + payload)
        self.transport.close()

    def _http(self, method: str, path: str, body: bytes):
        sink = self.sink
        parts = path.strip("/").split("/")
        if path == "/api/stats":
            return "200 OK", sink.stats(), "application/json"
        if path == "/api/stats/reset":
            sink.late_ticks = sink.skipped_ticks = 0
            return "200 OK", {"ok": True}, "application/json"
        if path == "/metrics":
            s = sink.stats()
            text = "".join(f"plaza_{k}_total {s[k]}\n" for k in ("frames_in", "bytes_in", "frames_out", "bytes_out"))
            return "200 OK", text.encode(), "text/plain"
        if path == "/healthz":
            return "200 OK", {"status": "ok"}, "application/json"
        if method == "POST" and path == "/api/rooms":
            return "201 Created", {"id": "sink", "name": "sink", "scene": "launch-hall", "private": False,
                                   "capacity": 32767, "occupants": len(sink.clients)}, "application/json"
        if len(parts) >= 3 and parts[:2] == ["api", "rooms"]:
            room = parts[2]
            if method == "POST" and parts[3:] == ["join"]:
                avatar = sink.next_avatar
                sink.next_avatar += 1
                return "200 OK", {"room": room, "avatar": avatar, "token": f"sink.{avatar}", "expires_in": 30,
                                  "ws_url": f"/ws?v=2&room={room}", "scene": "launch-hall"}, "application/json"
            return "200 OK", {"id": room, "name": room, "scene": "launch-hall", "private": False,
                              "capacity": 32767, "occupants": len(sink.clients)}, "application/json"
        return "404 Not Found", {"code": "not_found"}, "application/json"

    def _frames(self) -> None:
        buf, at, end = self.buf, 0, len(self.buf)
        sink = self.sink
        while end - at >= 6:
            b0, length = buf[at], buf[at + 1] & 0x7F
            p = at + 2
            if length == 126:
                if end - at < 8:
                    break
                length, p = _U16.unpack_from(buf, p)[0], p + 2
            elif length == 127:
                if end - at < 14:
                    break
                length, p = struct.unpack_from(">Q", buf, p)[0], p + 8
            if end - p < 4 + length:
                break
            mask, p = buf[p : p + 4], p + 4
            opcode = b0 & 0x0F
            sink.frames_in += 1
            sink.bytes_in += length
            if opcode == 0x8:
                self.transport.close()
                return
            if length and buf[p] ^ mask[0] != 0x01:  # not a pose upload: unmask and read it
                data = bytes(c ^ mask[i % 4] for i, c in enumerate(buf[p : p + length]))
                self._control(data)
            at = p + length
        self.buf = buf[at:]

    def _control(self, data: bytes) -> None:
        try:
            message = msgpack.unpackb(data, raw=False)
        except Exception:
            return
        if isinstance(message, dict) and message.get("t") == "auth" and self.avatar is None:
            token = str(message.get("token", ""))
            self.avatar = int(token.split(".")[1]) if token.startswith("sink.") else self.sink.next_avatar
            sink = self.sink
            spawn = sink.spawns[self.avatar % len(sink.spawns)]
            welcome = {"t": "welcome", "v": 2, "room": "sink", "avatar": self.avatar, "name": "bot",
                       "resume": "x", "tick_hz": sink.tick_hz, "tick": sink.tick, "server_time": 0,
                       "spawn": list(spawn), "resumed": False, "limits": {}, "roster": []}
            payload = msgpack.packb(welcome)
            n = len(payload)
            head = bytes((0x82, n)) if n < 126 else bytes((0x82, 126)) + _U16.pack(n)
            self.transport.write(head + payload)
            sink.clients[self.avatar] = self.transport


async def serve(host: str, port: int, avatars: int) -> None:
    sink = Sink(avatars)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: SinkProtocol(sink), host, port, backlog=2048)
    print(f"sink on http://{host}:{port} ({avatars} avatars per snapshot)", flush=True)
    async with server:
        await sink.run()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sim.sink", description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8001)
    parser.add_argument("--avatars", type=int, default=50, help="avatars in every snapshot (default 50)")
    args = parser.parse_args(argv)
    asyncio.run(serve(args.host, args.port, args.avatars))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
