"""In-process benchmark of the server's Python path per delivered snapshot, without sockets or the kernel.

N real `Session`s (real websocket handshake, real frames) on fake transports, one room, all-to-all; each
tick every client's upload (head + two controllers, values jittered every tick, acking the newest snapshot)
is fed as wire bytes to its session, then the hub steps the room and writes every client's frame. CPU time
(process_time) per delivered snapshot is the Python share of the server's cost on this workload: what the
transport, the session, the room tick, the planner and the codec take, with the kernel and the event loop
left out (bench/versus.md measures the whole server beside Colyseus). Runs anywhere; no network.

    python -m server.net.bench_transport [--clients 50 100 200] [--seconds 3] [--profile]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import cProfile
import json
import os
import pstats
import struct
import time
from pathlib import Path

import msgpack
import numpy as np

from server.config import Settings
from server.metrics import Metrics
from server.net.hub import Hub
from server.net.session import Session
from server.realtime.interest import InterestConfig

UPLOAD = struct.Struct("<BBHI")
OUT = Path(__file__).resolve().parents[2] / "bench"


class FakeTransport:
    """Takes every write (as a socket with room to spare) and remembers the newest snapshot tick."""

    def __init__(self) -> None:
        self.protocol: Session | None = None
        self.newest_tick = 0
        self.frames = 0
        self.bytes = 0

    def write(self, data: bytes) -> None:
        self.frames += 1
        self.bytes += len(data)
        head = 2 if data[1] < 126 else 4
        if data[head : head + 1] == b"\x02":
            self.newest_tick = int.from_bytes(data[head + 2 : head + 6], "little")

    def get_extra_info(self, name: str, default=None):
        return default

    def set_write_buffer_limits(self, high: int, low: int) -> None:
        pass

    def is_closing(self) -> bool:
        return False

    def close(self) -> None:
        pass

    abort = close


def client_frame(payload: bytes) -> bytes:
    """A masked client frame (masking key 0: the XOR changes nothing, the framing is what costs)."""
    n = len(payload)
    head = bytes((0x82, 0x80 | n)) if n < 126 else bytes((0x82, 0x80 | 126)) + n.to_bytes(2, "big")
    return head + b"\0\0\0\0" + payload


def deliver(session: Session, data: bytes) -> None:
    """Bytes read from the socket, as asyncio hands them to a buffered protocol."""
    buffer = session.get_buffer(len(data))
    buffer[: len(data)] = data
    session.buffer_updated(len(data))


async def run(clients: int, seconds: float, profile: bool, scene: str = "boutique", interest: str = "auto",
              spread: bool = False) -> dict:
    """`spread`: avatars stand at random walkable points of the store (a crowd, for interest management)
    instead of at its spawn points."""
    clock_now = [0.0]
    hub = Hub(Settings(), Metrics())
    hub.clock.time_fn = lambda: clock_now[0]  # sessions and the clock read the same injected time
    limit = {"auto": InterestConfig().all_to_all_limit, "all": 2000, "nearby": 0}[interest]
    info = hub.registry.create("bench", scene, 0.0, capacity=max(clients, 8),
                               interest=InterestConfig(all_to_all_limit=limit))
    room = info.room
    sessions, transports = [], []
    for i in range(clients):
        _, _avatar_id, token = hub.registry.reserve(room.id, f"bot{i}", 0.0, time.time(), exempt=True)
        transport = FakeTransport()
        session = Session(hub, "127.0.0.1")
        session.connection_made(transport)
        key = base64.b64encode(os.urandom(16)).decode()
        session.data_received((f"GET /ws?v=2&room={room.id} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
                               f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                               "Sec-WebSocket-Version: 13\r\n\r\n").encode())
        session.data_received(client_frame(msgpack.packb({"t": "auth", "token": token})))
        assert session.state.value == "open", session.close_requested
        sessions.append(session)
        transports.append(transport)
    spawn = np.array([room.spawn_position(s.avatar_id) for s in sessions])
    if spread:
        rng = np.random.default_rng(2)
        lo, hi = np.array(room.rules.bounds_min), np.array(room.rules.bounds_max)
        points: list[np.ndarray] = []
        while len(points) < clients:
            xz = rng.uniform(lo[[0, 2]], hi[[0, 2]], (4 * clients, 2))
            points += list(xz[room.rules.walkable_mask(xz)])
        spawn = np.array([[x, 0.0, z] for x, z in points[:clients]])
        for session, at in zip(sessions, spawn, strict=True):
            room.head_pos[session.sync.slot] = at + (0, 1.6, 0)
    base = np.zeros((clients, 21), dtype=np.float32)
    base[:, 0:3] = spawn + (0, 1.6, 0)
    base[:, 7:10] = spawn + (-0.2, 1.2, 0.3)
    base[:, 14:17] = spawn + (0.2, 1.2, 0.3)
    base[:, [6, 13, 20]] = 1.0
    rng = np.random.default_rng(1)
    dt = 1.0 / hub.clock.hz
    now = 0.0
    ticks = int(seconds * hub.clock.hz)


    def one_tick(k: int, now: float) -> None:
        values = base.copy()
        values[:, [0, 2, 7, 9, 14, 16]] += rng.normal(0, 0.002, (clients, 6)).astype(np.float32)
        for i, session in enumerate(sessions):
            frame = client_frame(UPLOAD.pack(1, 7, k & 0xFFFF, transports[i].newest_tick) + values[i].tobytes())
            deliver(session, frame)
        hub.clock.step(now)

    for k in range(60):  # warm-up: baselines settle
        now += dt
        clock_now[0] = now
        one_tick(k, now)
    frames0 = sum(t.frames for t in transports)
    bytes0 = sum(t.bytes for t in transports)
    profiler = cProfile.Profile() if profile else None
    started = time.process_time()
    if profiler:
        profiler.enable()
    for k in range(ticks):
        now += dt
        clock_now[0] = now
        one_tick(60 + k, now)
    if profiler:
        profiler.disable()
    cpu = time.process_time() - started
    frames = sum(t.frames for t in transports) - frames0
    result = {"clients": clients, "scene": scene, "interest": interest, "spread": spread,
              "ticks": ticks, "snapshots": frames, "cpu_s": round(cpu, 3),
              "us_per_snapshot": round(cpu / frames * 1e6, 2),
              "bytes_per_avatar_per_tick": round((sum(t.bytes for t in transports) - bytes0) / frames / clients, 2)}
    if profiler:
        pstats.Stats(profiler).sort_stats("tottime").print_stats(25)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, nargs="+", default=[50, 100, 200])
    parser.add_argument("--seconds", type=float, default=3.0, help="simulated seconds per size (default 3)")
    parser.add_argument("--profile", action="store_true", help="print a cProfile of the measured ticks")
    parser.add_argument("--scene", default="boutique")
    parser.add_argument("--interest", choices=["auto", "all", "nearby"], default="auto")
    parser.add_argument("--spread", action="store_true", help="a crowd spread over the floor, not at the spawn points")
    parser.add_argument("--write", action="store_true",
                        help="run the standard set (all-to-all 50/100/200 in the boutique; a crowd spread over the "
                             "launch hall, all and nearby, 100 to 1,000) and write bench/transport.md and .json")
    args = parser.parse_args()
    if args.write:
        write_standard_set(args.seconds)
        return
    rows = [asyncio.run(run(n, args.seconds, args.profile, args.scene, args.interest, args.spread))
            for n in args.clients]
    for row in rows:
        print(json.dumps(row))


STANDARD = [(50, "boutique", "all", False), (100, "boutique", "all", False), (200, "boutique", "all", False),
            (100, "launch-hall", "nearby", True), (400, "launch-hall", "all", True),
            (400, "launch-hall", "nearby", True), (1000, "launch-hall", "nearby", True)]


def write_standard_set(seconds: float, reps: int = 3) -> None:
    rows = []
    for clients, scene, interest, spread in STANDARD:
        runs = [asyncio.run(run(clients, seconds, False, scene, interest, spread)) for _ in range(reps)]
        best = min(runs, key=lambda r: r["us_per_snapshot"])
        best["us_per_snapshot_runs"] = sorted(r["us_per_snapshot"] for r in runs)
        rows.append(best)
        print(json.dumps(best), flush=True)
    (OUT / "transport.json").write_text(json.dumps(rows, indent=2) + "\n")
    lines = ["# Python cost per delivered snapshot, in-process", "",
             "`python -m server.net.bench_transport --write`: real sessions (websocket handshake, framed uploads, "
             "the frame splitter, the message path), the room tick, the snapshot planner and the codec, on fake "
             "sockets that take every write; no kernel and no event loop (`bench/versus.md` has the whole server "
             f"beside Colyseus). Every client uploads head + two controllers at 60 Hz, values jittered every tick, "
             f"acking the newest snapshot. {seconds:g} simulated seconds per run, best of {reps} runs (CPU time; "
             "the machine is shared, so the spread of the runs is shown).", "",
             "| clients | store, placement | interest | µs CPU per snapshot (best; all runs) | bytes per avatar "
             "per tick (all clients) |", "| ---: | --- | --- | --- | ---: |"]
    for r in rows:
        where = f"{r['scene']}, {'spread over the floor' if r['spread'] else 'at the spawn points'}"
        runs = ", ".join(f"{v:g}" for v in r["us_per_snapshot_runs"])
        lines.append(f"| {r['clients']} | {where} | {r['interest']} | {r['us_per_snapshot']:g} ({runs}) | "
                     f"{r['bytes_per_avatar_per_tick']:g} |")
    (OUT / "transport.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
