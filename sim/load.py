"""`python -m sim load`: fill a room with bots and report whether the server held.

All bots live in one asyncio process. One 60 Hz loop moves every bot (vectorised) and sends their
poses; frames are received by lean protocol objects (no task per bot). Only `--decode` bots decode
snapshots (to measure latency and bytes per avatar); the rest read the tick from the header to ack.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from sim.client import PlazaClient, http_json, upload_rows


@dataclass
class LoadReport:
    bots: int
    seconds: float
    room: str
    connected: int
    disconnects: int
    close_codes: dict[str, int]
    receive_hz: dict[str, float]
    latency_ms: dict[str, float | None]
    bytes_per_s_per_client: float
    bytes_per_avatar_per_tick: float | None
    avatars_per_frame: float | None
    server: dict = field(default_factory=dict)
    sim_cpu_s: float = 0.0
    sim_cpu_share: float = 0.0
    send_hz: float = 60.0
    hands: bool = False
    body: bool = False

    def summary(self) -> str:
        s = self.server
        tick = s.get("tick_work_ms", {})
        lines = [
            f"room {self.room}: {self.connected}/{self.bots} bots connected for {self.seconds:.0f} s "
            f"({'hands ' if self.hands else ''}{'body ' if self.body else ''}poses at {self.send_hz:g} Hz)",
            f"  receive rate per client   min {self.receive_hz['min']:.1f}  p5 {self.receive_hz['p5']:.1f}  "
            f"p50 {self.receive_hz['p50']:.1f} Hz",
            f"  pose latency (send->recv) p50 {_ms(self.latency_ms['p50'])}  p99 {_ms(self.latency_ms['p99'])}  "
            f"({self.latency_ms['samples']:.0f} samples)",
            f"  bandwidth per client      {self.bytes_per_s_per_client / 1024:.1f} KiB/s",
            f"  bytes per avatar per tick {_num(self.bytes_per_avatar_per_tick)} "
            f"({_num(self.avatars_per_frame)} avatars per frame)",
            f"  server tick work          p50 {_ms(tick.get('p50'))}  p99 {_ms(tick.get('p99'))}  "
            f"max {_ms(tick.get('max'))}",
            f"  server ticks late/skipped {s.get('late_ticks', '?')}/{s.get('skipped_ticks', '?')}  "
            f"server CPU {s.get('cpu_share', 0) * 100:.0f}%  "
            f"per delivered snapshot {_num(s.get('cpu_us_per_frame'))} us",
            f"  disconnects               {self.disconnects} {self.close_codes or ''}",
            f"  simulator CPU             {self.sim_cpu_s:.1f} s ({self.sim_cpu_share * 100:.0f}% of one core)",
        ]
        return "\n".join(lines)


def _ms(v: float | None) -> str:
    return "n/a" if v is None else f"{v:.2f} ms"


def _num(v: float | None) -> str:
    return "n/a" if v is None else f"{v:.1f}"


class Bot:
    def __init__(self, client: PlazaClient, decode: bool) -> None:
        self.client = client
        self.decode = decode
        self.frames = 0
        self.bytes = 0
        self.closed_early = False
        self.prev_heads: dict[int, tuple[int, int]] = {}


def _pct(values, p) -> float | None:
    return float(np.percentile(values, p)) if len(values) else None


async def run_load(url: str, room: str, bots: int, seconds: float, hands: bool = False, body: bool = False,
                   decode: int = 4, warmup: float = 3.0, send_hz: float = 60.0, seed: int = 1,
                   progress: bool = True, operator_token: str | None = None) -> LoadReport:
    from server.realtime.rules import RoomRules

    rng = np.random.default_rng(seed)
    status, info = await asyncio.to_thread(http_json, "GET", f"{url}/api/rooms/{room}")
    if status != 200:
        raise SystemExit(f"room {room!r} not found at {url}: {info}")
    rules = _scene_rules(info["scene"]) or RoomRules()
    sent: dict[tuple[int, int, int], float] = {}  # (avatar, x mm, z mm) -> send time, for latency
    latencies: list[float] = []
    all_bots: list[Bot] = []

    def make_handler(bot: Bot):
        session = bot.client.session

        def on_binary(data: bytes) -> None:
            now = time.monotonic()
            bot.frames += data[0] == 2
            bot.bytes += len(data)
            kind, snap = session.receive(data)
            if kind == "snapshot" and snap is not None:
                for avatar_id, state in snap.avatars.items():
                    key = (state.components[0], state.components[2])
                    if bot.prev_heads.get(avatar_id) != key:
                        bot.prev_heads[avatar_id] = key
                        t0 = sent.get((avatar_id, *key))
                        if t0 is not None:
                            latencies.append(now - t0)
        return on_binary

    # Connect in waves so the server's accept loop is not flooded.
    sem = asyncio.Semaphore(32)

    async def connect(i: int) -> Bot | None:
        async with sem:
            try:
                client = await PlazaClient.join(url, room=room, name=f"bot{i}", decode=i < decode,
                                                queue_events=False, operator_token=operator_token)
            except Exception as exc:
                print(f"bot {i} could not join: {exc}", file=sys.stderr)
                return None
            bot = Bot(client, i < decode)
            client.ws.on_binary = make_handler(bot)
            return bot

    results = await asyncio.gather(*(connect(i) for i in range(bots)))
    all_bots = [b for b in results if b is not None]
    if not all_bots:
        raise SystemExit("no bot could connect")
    spawn = np.array([b.client.session.welcome["spawn"] for b in all_bots], dtype=np.float64)
    from sim.motion import Crowd, Floor

    floor = Floor.from_scene(rules.waypoints, rules.spawn_points, rules.walkable_mask,
                             rules.bounds_min, rules.bounds_max)
    crowd = Crowd(len(all_bots), floor, spawn, rng, hands=hands, body=body)
    ids = np.array([b.client.session.avatar_id for b in all_bots])
    prev_keys = np.full((len(all_bots), 2), -10**9)

    async def send_loop(stop_at: float) -> None:
        dt = 1.0 / send_hz
        t0 = time.monotonic()
        k = 0
        while True:
            now = time.monotonic()
            if now >= stop_at:
                return
            crowd.step(now - t0, dt)
            parts = crowd.parts()
            presence, payloads = upload_rows(parts)
            keys = np.rint(parts[0][:, [0, 2]].astype("<f4").astype(np.float64) * 1000).astype(np.int64)
            moved = np.any(keys != prev_keys, axis=1)
            prev_keys[:] = keys
            for i, bot in enumerate(all_bots):
                if bot.client.ws.closed.done():
                    continue
                if moved[i]:
                    sent[(int(ids[i]), int(keys[i, 0]), int(keys[i, 1]))] = now
                with contextlib.suppress(ConnectionError):
                    bot.client.send_pose_payload(presence, payloads[i])
            if k % int(send_hz) == 0:  # forget send times older than two seconds
                cutoff = now - 2.0
                for key in [key for key, t in sent.items() if t < cutoff]:
                    del sent[key]
            k += 1
            await asyncio.sleep(max(0.0, t0 + k * dt - time.monotonic()))

    async def show_progress(stop_at: float, phase: str) -> None:
        if not progress:
            return
        begin = time.monotonic()
        total = stop_at - begin
        while time.monotonic() < stop_at:
            done = min(1.0, (time.monotonic() - begin) / total)
            bar = "#" * int(done * 30)
            alive = sum(not b.client.ws.closed.done() for b in all_bots)
            print(f"\r{phase:8s} [{bar:30s}] {done * 100:3.0f}%  {alive}/{bots} bots connected",
                  end="", file=sys.stderr, flush=True)
            await asyncio.sleep(0.5)
        print(file=sys.stderr)

    # Warm up (everyone gets absolute frames, then deltas), then measure.
    warm_end = time.monotonic() + warmup
    sender = asyncio.create_task(send_loop(warm_end + seconds))
    await show_progress(warm_end, "warmup")
    await asyncio.to_thread(http_json, "POST", f"{url}/api/stats/reset", {})
    server_before = (await asyncio.to_thread(http_json, "GET", f"{url}/api/stats"))[1]
    for b in all_bots:
        b.frames, b.bytes = 0, 0
    latencies.clear()
    cpu0, t_measure = os.times(), time.monotonic()
    await show_progress(t_measure + seconds, "measure")
    elapsed = time.monotonic() - t_measure
    cpu1 = os.times()
    server_after = (await asyncio.to_thread(http_json, "GET", f"{url}/api/stats"))[1]
    await sender
    frames_per_bot = np.array([b.frames for b in all_bots])
    hz = frames_per_bot / elapsed
    decoded = [b for b in all_bots if b.decode]
    per_avatar, per_frame = _bytes_per_avatar(decoded)
    disconnects = sum(b.client.ws.closed.done() for b in all_bots)
    close_codes: dict[str, int] = {}
    for b in all_bots:
        if b.client.ws.closed.done():
            code = str(b.client.ws.closed.result()[0])
            close_codes[code] = close_codes.get(code, 0) + 1
    server = dict(server_after)
    cpu_delta = server_after["cpu_s"] - server_before["cpu_s"]
    frames_delta = server_after["frames_out"] - server_before["frames_out"]
    server["cpu_share"] = cpu_delta / elapsed
    server["cpu_us_per_frame"] = cpu_delta / frames_delta * 1e6 if frames_delta else None
    sim_cpu = (cpu1.user + cpu1.system) - (cpu0.user + cpu0.system)
    report = LoadReport(
        bots=bots, seconds=elapsed, room=room, connected=len(all_bots), disconnects=int(disconnects),
        close_codes=close_codes,
        receive_hz={"min": float(hz.min()), "p5": float(np.percentile(hz, 5)), "p50": float(np.median(hz)),
                    "mean": float(hz.mean())},
        latency_ms={"p50": _ms_or_none(_pct(latencies, 50)), "p99": _ms_or_none(_pct(latencies, 99)),
                    "samples": float(len(latencies))},
        bytes_per_s_per_client=float(np.mean([b.bytes for b in all_bots]) / elapsed),
        bytes_per_avatar_per_tick=per_avatar, avatars_per_frame=per_frame, server=server,
        sim_cpu_s=sim_cpu, sim_cpu_share=sim_cpu / elapsed, send_hz=send_hz, hands=hands, body=body,
    )
    await asyncio.gather(*(b.client.close() for b in all_bots))
    return report


def _ms_or_none(seconds: float | None) -> float | None:
    return None if seconds is None else seconds * 1000.0


def _bytes_per_avatar(decoded: list[Bot]) -> tuple[float | None, float | None]:
    """Average snapshot bytes (headers included) per avatar carried, over the decoding bots' frames."""
    total_bytes = sum(b.bytes for b in decoded)
    snaps = [b.client.session.snapshots for b in decoded]
    avatars = [len(b.client.session.latest) for b in decoded]
    if not total_bytes or not sum(snaps):
        return None, None
    mean_avatars = float(np.mean(avatars))
    frames = sum(b.frames for b in decoded)
    return total_bytes / max(frames, 1) / max(mean_avatars, 1), mean_avatars


def _scene_rules(scene_id: str):
    try:
        from server.net.hub import rules_for_scene

        return rules_for_scene(scene_id)
    except Exception:
        return None


def operator_token_from_env(data_dir: str = "var") -> str | None:
    """PLAZA_OPERATOR_TOKEN, else the token a local server keeps in its data directory."""
    token = os.environ.get("PLAZA_OPERATOR_TOKEN")
    if token:
        return token
    try:
        return (Path(data_dir) / "operator_token").read_text().strip() or None
    except OSError:
        return None


def main(argv: list[str]) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m sim load", description="Fill a room with bots.")
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--room", default="main", help="room id (default main)")
    parser.add_argument("--new-room", action="store_true", help="create a fresh public room sized for the bots")
    parser.add_argument("--scene", default=None, help="scene of a --new-room")
    parser.add_argument("--interest", default="auto", choices=["auto", "all", "nearby"],
                        help="interest mode of a --new-room (see POST /api/rooms)")
    parser.add_argument("--bots", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--hands", action="store_true", help="bots stream 25-joint tracked hands")
    parser.add_argument("--body", action="store_true", help="bots stream a full-body skeleton")
    parser.add_argument("--decode", type=int, default=4, help="bots that decode every snapshot (for latency)")
    parser.add_argument("--send-hz", type=float, default=60.0, help="pose upload rate per bot")
    parser.add_argument("--json", default=None, help="also write the report as JSON to this file")
    parser.add_argument("--operator-token", default=None,
                        help="the server's operator token, which lifts per-address join limits (default: "
                             "PLAZA_OPERATOR_TOKEN, else var/operator_token as `make run` writes it)")
    args = parser.parse_args(argv)
    token = args.operator_token or operator_token_from_env()
    room = args.room
    if args.new_room:
        body = {"name": f"load test ({args.bots} bots)", "capacity": max(args.bots + 5, 10), "interest": args.interest}
        if args.scene:
            body["scene"] = args.scene
        status, info = http_json("POST", f"{args.url}/api/rooms", body, operator_token=token)
        if status != 201:
            print(f"could not create a room: {info}", file=sys.stderr)
            return 1
        room = info["id"]
    report = asyncio.run(run_load(args.url, room, args.bots, args.seconds, args.hands, args.body,
                                  args.decode, args.warmup, args.send_hz, operator_token=token))
    print(report.summary())
    if args.json:
        with open(args.json, "w") as f:
            json.dump(asdict(report), f, indent=2)
    return 0

