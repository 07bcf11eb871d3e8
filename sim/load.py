"""`python -m sim load`: fill a room with bots and report whether the server held, and whether the simulator did.

Bots are cheap by construction:
- Motion is vectorised over every bot of a process (`sim.motion.Crowd`), and each tick's uploads are encoded
  and masked as websocket frames in one numpy pass (`sim.wire.UploadEncoder`): one `send` per bot per tick.
- Most bots are *lean* (`sim.lean.LeanBots`): raw sockets in one epoll set, reading only frame headers and the
  snapshot header (the tick, to acknowledge it; the count, for the delivery rate).
- `--decode N` *sampled* bots run the reference client (`PlazaClient` + `ClientSession`): they decode every
  snapshot (decode errors are counted, so correctness is still checked) and measure latency and bytes per avatar.
- `--procs P` splits the bots over P processes (the sampled bots stay in the first one).

Measurement: every process runs the same schedule on the shared monotonic clock (connect, warm-up, window).
At the window's edges each process drains its sockets and snapshots its counters, its CPU (getrusage) and the
time in one step, so rates are counted and timed over the same window. The server's own counters
(`/api/stats`, `/metrics`) are read just before and just after the window. The simulator flags itself
saturated when a process used more than `SATURATED_CPU` of a core or its tick loop fell behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import resource
import sys
import time
import urllib.parse
import urllib.request
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from sim.client import PlazaClient, http_json, upload_rows
from sim.lean import LeanBots
from sim.wire import UploadEncoder

SATURATED_CPU = 0.85  # share of one core per process above which the simulator's figures are suspect
MAX_CATCH_UP = 2  # a late tick loop sends up to this many overdue ticks back to back, then skips the rest
LAG_TICKS = 3.0  # tick-loop lag p99 above this many ticks: the simulator is late
MISSED_SHARE = 0.01  # more than 1% of ticks skipped (the loop was more than MAX_CATCH_UP ticks late): saturated
PROBES = 64  # bots of the first process whose send times are kept for the latency measurement


@dataclass
class LoadReport:
    bots: int
    seconds: float
    room: str
    connected: int
    disconnects: int
    close_codes: dict[str, int]
    receive_hz: dict[str, float]  # snapshots per second per bot, counted and timed over the same window
    latency_ms: dict[str, float | None]
    bytes_per_s_per_client: float
    bytes_per_avatar_per_tick: float | None
    avatars_per_frame: float | None
    server: dict = field(default_factory=dict)
    sim_cpu_s: float = 0.0
    sim_cpu_share: float = 0.0  # cores (summed over the processes)
    send_hz: float = 60.0
    hands: bool = False
    body: bool = False
    procs: int = 1
    decode: int = 0
    upload_hz: dict[str, float] = field(default_factory=dict)  # sent by the simulator / received by the server
    sim_cpu_us_per_bot_s: float | None = None  # simulator CPU per bot per second of the window (µs)
    # cores the simulator would need with every bot at the full send rate (see Shard._projection)
    projected_cores_at_full_rate: float | None = None
    lean_cpu_us_per_bot_s: float | None = None  # the same without the sampled bots' decoding
    decode_errors: int = 0
    error_codes: dict[str, int] = field(default_factory=dict)
    processes: list[dict] = field(default_factory=list)
    # snapshots per bot in the window (min/max/sum) and the largest excess of a bot's count over the span of
    # snapshot ticks it saw in the window (0 or less: nothing counted that was not delivered in the window)
    receive_frames: dict[str, int] = field(default_factory=dict)
    saturated: bool = False
    saturation: list[str] = field(default_factory=list)
    connect_s: float | None = None  # seconds from the first join to the last bot's welcome
    social: dict | None = None  # --group-size: groups, and chat / pointing / shared-bag event latency
    notes: list[str] = field(default_factory=list)  # why a figure is missing

    def summary(self) -> str:
        s = self.server
        tick = s.get("tick_work_ms", {})
        up = self.upload_hz
        lines = [
            f"room {self.room}: {self.connected}/{self.bots} bots connected for {self.seconds:.1f} s "
            f"({'hands ' if self.hands else ''}{'body ' if self.body else ''}poses at {self.send_hz:g} Hz, "
            f"{self.procs} simulator process{'es' if self.procs > 1 else ''}, {self.decode} decoding; "
            f"connected in {_num(self.connect_s)} s)",
            f"  receive rate per client   min {self.receive_hz['min']:.1f}  p5 {self.receive_hz['p5']:.1f}  "
            f"p50 {self.receive_hz['p50']:.1f}  mean {self.receive_hz['mean']:.1f} Hz",
            f"  uploads per bot           sent {_num(up.get('sent_per_bot'))} Hz  "
            f"server received {_num(up.get('server_per_bot'))} Hz  "
            f"(total {_num(up.get('sent'))} / {_num(up.get('server'))} per s)",
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
            f"  disconnects               {self.disconnects} {self.close_codes or ''}"
            f"{'  errors ' + str(self.error_codes) if self.error_codes else ''}"
            f"{'  decode errors ' + str(self.decode_errors) if self.decode_errors else ''}",
            f"  simulator CPU             {self.sim_cpu_s:.1f} s ({self.sim_cpu_share * 100:.0f}% of one core; "
            f"{_num(self.sim_cpu_us_per_bot_s)} us per bot per s, lean bots {_num(self.lean_cpu_us_per_bot_s)}; "
            f"projected at the full {self.send_hz:g} Hz: {_num((self.projected_cores_at_full_rate or 0) * 100)}%)",
        ]
        for p in self.processes:
            lag = p["lag_ms"]
            lines.append(
                f"    process {p['index']}: {p['bots']} bots ({p['decode']} decoding)  CPU {p['cpu_share'] * 100:.0f}% "
                f"tick lag p50 {_ms(lag['p50'])} p99 {_ms(lag['p99'])}  "
                f"skipped ticks {p['ticks_missed']}/{p['ticks'] + p['ticks_missed']}")
            parts = p.get("cpu_parts_s", {})
            cpu_parts = (("decode", p["decode_s"]), *parts.items())
            lines.append("      CPU s: " + "  ".join(f"{k} {v:.2f}" for k, v in cpu_parts)
                         + f"  (uploads sent {p['uploads_sent']}, blocked {p['uploads_blocked']})")
        if self.social:
            soc = self.social
            lines.append(f"  groups                    {soc['groups']} of {soc['group_size']} "
                         f"({soc['members']} shoppers){'  errors ' + str(soc['errors']) if soc['errors'] else ''}")
            for name, label in (("chat", "chat line"), ("point", "pointing ray"), ("bag", "shared-bag edit")):
                k = soc[name]
                lines.append(f"  {label + ' latency':25s} p50 {_ms(k['p50_ms'])}  p99 {_ms(k['p99_ms'])}  "
                             f"({k['delivered']}/{k['deliveries_expected']} deliveries of {k['sent']} sent)")
        for note in self.notes:
            lines.append(f"  note: {note}")
        if self.saturated:
            lines.append("  SIMULATOR SATURATED: " + "; ".join(self.saturation)
                         + " (its rates and latencies describe the simulator, not the server)")
        return "\n".join(lines)


def _ms(v: float | None) -> str:
    return "n/a" if v is None else f"{v:.2f} ms"


def _num(v: float | None) -> str:
    return "n/a" if v is None else f"{v:.1f}"


def _pct(values, p) -> float | None:
    return float(np.percentile(values, p)) if len(values) else None


def _ms_or_none(seconds: float | None) -> float | None:
    return None if seconds is None else seconds * 1000.0


def _cpu_s() -> tuple[float, float]:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime, r.ru_stime


# ---------------------------------------------------------------------------------------------- one process
@dataclass
class ShardConfig:
    """The bots one simulator process runs."""

    url: str
    room: str
    index: int  # process number (0 hosts the sampled bots)
    lean: int
    decode: int
    first_bot: int  # names are bot{first_bot + i}
    hands: bool = False
    body: bool = False
    send_hz: float = 60.0
    seed: int = 1
    operator_token: str | None = None
    connect_concurrency: int = 32
    group_size: int = 0  # > 0: the decoding bots shop in groups of this size (sim/social.py)


@dataclass
class Schedule:
    """Times on the shared monotonic clock: uploads start at `go`, the window is [open, close]."""

    go: float
    open: float
    close: float


class _Sampled:
    """A decoding bot on the reference client."""

    def __init__(self, client: PlazaClient) -> None:
        self.client = client
        self.frames = 0
        self.bytes = 0
        self.decode_errors = 0
        self.prev_heads: dict[int, tuple[int, int]] = {}


class Shard:
    """The bots of one process: lean bots first (crowd rows 0..L-1), then the sampled ones."""

    def __init__(self, cfg: ShardConfig) -> None:
        self.cfg = cfg
        self.lean = LeanBots()
        self.sampled: list[_Sampled] = []
        self.join_errors: list[str] = []
        self.sent: dict[tuple[int, int, int], float] = {}  # (avatar, x mm, z mm) -> send time (probes only)
        self.latencies: list[float] = []
        self.decode_s = 0.0
        self.uploading = False
        self._sampled_sent = 0
        self._ackers: asyncio.Task | None = None
        self.floor = None
        self.social = None  # sim.social.SocialBots with --group-size
        self.social_members: dict[int, object] = {}  # id(sampled bot) -> its sim.social.Member
        self.sampled_heads: np.ndarray | None = None  # the decoding bots' newest uploaded head positions
        # thread CPU of the tick loop's steps ("sampled": the decoding bots' uploads and the latency probes)
        self.cpu_parts = {"motion": 0.0, "encode": 0.0, "send": 0.0, "sampled": 0.0}

    # ------------------------------------------------------------------ connecting
    async def connect(self) -> None:
        cfg = self.cfg
        await self._prepare_floor()
        parsed = urllib.parse.urlsplit(cfg.url)
        host, port = parsed.hostname or "127.0.0.1", parsed.port or 80
        sem = asyncio.Semaphore(cfg.connect_concurrency)
        join_url = f"{cfg.url.rstrip('/')}/api/rooms/{cfg.room}/join"
        ackers = asyncio.create_task(self.lean.ack_while(lambda: not self.uploading))

        async def lean_bot(i: int) -> None:
            async with sem:
                try:
                    status, reply = await asyncio.to_thread(http_json, "POST", join_url, {"name": f"bot{i}"},
                                                            operator_token=cfg.operator_token)
                    if status != 200:
                        raise ConnectionError(f"join refused ({status}): {reply}")
                    await self.lean.connect(host, port, reply["ws_url"], reply["token"])
                except Exception as exc:
                    self.join_errors.append(f"bot {i}: {exc}")

        async def sampled_bot(i: int) -> _Sampled | None:
            async with sem:
                try:
                    shopper = None
                    if cfg.group_size:
                        from sim.social import make_shopper

                        shopper = await make_shopper(cfg.url, f"bot{i}", cfg.operator_token)
                    client = await PlazaClient.join(cfg.url, room=cfg.room, name=f"bot{i}", decode=True,
                                                    queue_events=False, operator_token=cfg.operator_token,
                                                    shopper_key=shopper[1] if shopper else None)
                except Exception as exc:
                    self.join_errors.append(f"bot {i}: {exc}")
                    return None
                bot = _Sampled(client)
                if shopper is not None:
                    from sim.social import Member

                    self.social_members[id(bot)] = Member(client, *shopper)
                client.ws.on_binary = self._sampled_handler(bot)
                return bot

        first = cfg.first_bot
        sampled = asyncio.gather(*(sampled_bot(first + i) for i in range(cfg.decode)))
        await asyncio.gather(*(lean_bot(first + cfg.decode + i) for i in range(cfg.lean)))
        self.sampled = [b for b in await sampled if b is not None]
        self._ackers = ackers
        if cfg.group_size and self.sampled:
            from sim.social import SocialBots

            members = [self.social_members[id(b)] for b in self.sampled]
            self.social = SocialBots(cfg.url, members, cfg.group_size, cfg.operator_token)
            await self.social.form_groups(cfg.room)

    def _sampled_handler(self, bot: _Sampled):
        session, sent, latencies = bot.client.session, self.sent, self.latencies
        client = bot.client

        def on_binary(data: bytes) -> None:
            now = time.monotonic()
            is_snapshot = data[0] == 2
            bot.frames += is_snapshot
            bot.bytes += len(data)
            t0 = time.thread_time()
            try:
                kind, snap = session.receive(data)
            except Exception:
                bot.decode_errors += 1
                return
            finally:
                self.decode_s += time.thread_time() - t0
            if kind == "control" and self.social is not None:
                self.social.on_control(self.social_members[id(bot)], snap, now)
                return
            if kind == "snapshot" and snap is not None:
                for avatar_id, state in snap.avatars.items():
                    key = (state.components[0], state.components[2])
                    if bot.prev_heads.get(avatar_id) != key:
                        bot.prev_heads[avatar_id] = key
                        t_sent = sent.get((avatar_id, *key))
                        if t_sent is not None:
                            latencies.append(now - t_sent)
                if client.auto_ack and not self.uploading:
                    client._ack_if_quiet()
        return on_binary

    @property
    def connected(self) -> int:
        return len(self.lean) + len(self.sampled)

    # ------------------------------------------------------------------ running
    def _counters(self) -> dict:
        self.lean.drain(passes=4)  # what has arrived by now counts in this window, and nothing later does
        user, system = _cpu_s()
        return {
            "t": time.monotonic(), "user": user, "system": system, "decode_s": self.decode_s,
            "parts": {**self.cpu_parts, "receive": self.lean.receive_cpu_s},
            "frames": list(self.lean.frames) + [b.frames for b in self.sampled],
            "bytes": list(self.lean.bytes) + [b.bytes for b in self.sampled],
            "ticks": list(self.lean.last_tick) + [b.client.session.last_tick for b in self.sampled],
            "sent": self.lean.uploads_sent + self._sampled_sent, "blocked": self.lean.uploads_blocked,
            "lean_sent": self.lean.uploads_sent,
        }

    async def _prepare_floor(self) -> None:
        """The scene's walkable floor for the motion model (before any bot connects: it takes a while and
        blocks the loop, and connected bots must keep acknowledging)."""
        from server.realtime.rules import RoomRules
        from sim.motion import Floor

        cfg = self.cfg
        status, info = await asyncio.to_thread(http_json, "GET", f"{cfg.url}/api/rooms/{cfg.room}")
        rules = (_scene_rules(info["scene"]) if status == 200 else None) or RoomRules()
        self.floor = Floor.from_scene(rules.waypoints, rules.spawn_points, rules.walkable_mask,
                                      rules.bounds_min, rules.bounds_max)

    async def run(self, schedule: Schedule) -> dict:
        from sim.motion import Crowd

        cfg, floor = self.cfg, self.floor
        n_lean, sampled = len(self.lean), self.sampled
        spawn = np.array(self.lean.spawn + [b.client.session.welcome["spawn"] for b in sampled],
                         dtype=np.float64).reshape(-1, 3)
        n = len(spawn)
        rng = np.random.default_rng(cfg.seed + 7919 * cfg.index)
        crowd = Crowd(n, floor, spawn, rng, hands=cfg.hands, body=cfg.body)
        ids = np.array(self.lean.avatar + [b.client.session.avatar_id for b in sampled], dtype=np.int64)
        probes = list(range(n_lean, n)) + list(range(min(n_lean, max(0, PROBES - len(sampled)))))
        probes = np.array(probes if cfg.index == 0 else [], dtype=np.int64)
        prev_keys = np.full((len(probes), 2), -10**9, dtype=np.int64)
        encoder: UploadEncoder | None = None
        dt = 1.0 / cfg.send_hz
        k, last_k, ticks, missed = 0, -1, 0, 0
        lags: list[float] = []
        start = end = None
        await asyncio.sleep(max(0.0, schedule.go - time.monotonic()))
        self.uploading = True
        social = None
        if self.social is not None:
            heads = lambda j: None if self.sampled_heads is None else self.sampled_heads[j]  # noqa: E731
            social = asyncio.create_task(self.social.run(schedule.open, schedule.close, heads))
        while True:
            now = time.monotonic()
            due = schedule.go + k * dt
            behind = int((now - due) / dt)
            if behind > MAX_CATCH_UP:  # far behind: skip ticks (counted) rather than send a burst of uploads
                k += behind - MAX_CATCH_UP
                if start is not None:
                    missed += behind - MAX_CATCH_UP
                due = schedule.go + k * dt
            if start is None and now >= schedule.open:
                start = self._counters()
                lags.clear()
            if now >= schedule.close:
                end = self._counters()
                break
            if start is not None:
                lags.append(now - due)
                ticks += 1
            c0 = time.thread_time()
            crowd.step(due - schedule.go, (k - last_k) * dt if last_k >= 0 else dt)
            last_k = k
            parts = crowd.parts()
            c1 = time.thread_time()
            if encoder is None:
                encoder = UploadEncoder(n_lean, tuple(sorted(parts)))
            if len(probes):
                head = parts[0][probes]
                keys = np.rint(head[:, [0, 2]].astype("<f4").astype(np.float64) * 1000).astype(np.int64)
                moved = np.flatnonzero(np.any(keys != prev_keys, axis=1))
                prev_keys[:] = keys
                for j in moved:
                    self.sent[(int(ids[probes[j]]), int(keys[j, 0]), int(keys[j, 1]))] = now
            if sampled:
                self.sampled_heads = parts[0][n_lean:, :3].copy()
                presence, payloads = upload_rows({p: v[n_lean:] for p, v in parts.items()})
                for j, bot in enumerate(sampled):
                    if bot.client.ws.closed.done():
                        continue
                    with contextlib.suppress(ConnectionError):
                        bot.client.send_pose_payload(presence, payloads[j])
                        self._sampled_sent += 1
            c2 = time.thread_time()
            if n_lean:
                encoder.encode(k, self.lean.last_tick, {p: v[:n_lean] for p, v in parts.items()})
                c3 = time.thread_time()
                self.lean.send_rows(encoder.rows)
                self.cpu_parts["send"] += time.thread_time() - c3
                self.cpu_parts["encode"] += c3 - c2
            self.cpu_parts["motion"] += c1 - c0
            self.cpu_parts["sampled"] += c2 - c1
            if k % int(cfg.send_hz) == 0 and self.sent:  # forget send times older than two seconds
                cutoff = now - 2.0
                for key in [key for key, t in self.sent.items() if t < cutoff]:
                    del self.sent[key]
            k += 1
            await asyncio.sleep(max(0.0, schedule.go + k * dt - time.monotonic()))
        result = self._result(start, end, ticks, missed, lags)
        if social is not None:
            await social
            result["social"] = self.social.report()
        return result

    def _result(self, start: dict, end: dict, ticks: int, missed: int, lags: list[float]) -> dict:
        window = end["t"] - start["t"]
        cpu = (end["user"] + end["system"]) - (start["user"] + start["system"])
        frames = [b - a for a, b in zip(start["frames"], end["frames"], strict=True)]
        nbytes = [b - a for a, b in zip(start["bytes"], end["bytes"], strict=True)]
        # one snapshot per client per tick: a bot cannot have received more frames in the window than the
        # ticks between the newest it had at the opening and the newest at the closing
        span = [b - a for a, b in zip(start["ticks"], end["ticks"], strict=True)]
        excess = max((f - t for f, t in zip(frames, span, strict=True)), default=0)
        parts = {k: end["parts"][k] - start["parts"][k] for k in end["parts"]}
        decode_s = end["decode_s"] - start["decode_s"]
        projected = self._projection(parts, decode_s, cpu, frames, end["lean_sent"] - start["lean_sent"], ticks)
        close_codes: dict[str, int] = {}
        for code in self.lean.close_codes:
            if code is not None:
                close_codes[str(code)] = close_codes.get(str(code), 0) + 1
        for b in self.sampled:
            if b.client.ws.closed.done():
                code = str(b.client.ws.closed.result()[0])
                close_codes[code] = close_codes.get(code, 0) + 1
        errors = dict(self.lean.error_codes)
        for b in self.sampled:
            for e in b.client.session.errors:
                errors[str(e.get("code"))] = errors.get(str(e.get("code")), 0) + 1
        per_avatar, per_frame = _bytes_per_avatar(self.sampled)
        lag_ms = [x * 1000 for x in lags]
        return {
            "index": self.cfg.index, "bots": self.connected, "lean": len(self.lean), "decode": len(self.sampled),
            "join_errors": len(self.join_errors), "window_s": window,
            "cpu_s": cpu, "cpu_user_s": end["user"] - start["user"], "cpu_system_s": end["system"] - start["system"],
            "cpu_share": cpu / window if window > 0 else 0.0, "decode_s": end["decode_s"] - start["decode_s"],
            "cpu_parts_s": parts, "projected_cores_at_full_rate": projected,
            "frames": frames, "bytes": nbytes, "frames_over_tick_span": excess,
            "uploads_sent": end["sent"] - start["sent"],
            "uploads_blocked": end["blocked"] - start["blocked"], "ticks": ticks, "ticks_missed": missed,
            "lag_ms": {"p50": _pct(lag_ms, 50), "p99": _pct(lag_ms, 99), "max": max(lag_ms) if lag_ms else None},
            "latencies_s": self.latencies[-20000:], "close_codes": close_codes, "error_codes": errors,
            "protocol_errors": self.lean.protocol_errors,
            "decode_errors": sum(b.decode_errors for b in self.sampled),
            "bytes_per_avatar_per_tick": per_avatar, "avatars_per_frame": per_frame,
        }

    def _projection(self, parts: dict, decode_s: float, cpu: float, frames: list[int], lean_sent: int,
                    ticks: int) -> float | None:
        """Cores this process would use with every bot uploading and receiving at the send rate: each step's
        CPU per unit of work in the window (per upload sent, per snapshot read, per tick, per snapshot
        decoded), scaled to one upload and one snapshot per bot per tick. A model, for a simulator that the
        machine did not let run at full rate; the measured figures stand next to it."""
        n_lean = len(self.lean)
        lean_frames, sampled_frames = sum(frames[:n_lean]), sum(frames[n_lean:])
        if ticks <= 0 or (n_lean and (lean_sent <= 0 or lean_frames <= 0)):
            return None
        hz = self.cfg.send_hz
        per_bot_tick = (parts["send"] / lean_sent + parts["receive"] / lean_frames) if n_lean else 0.0
        rest = max(0.0, cpu - sum(parts.values()) - decode_s)  # the loop, the sampled bots' transport, timers
        per_tick = (parts["motion"] + parts["encode"] + parts.get("sampled", 0.0) + rest) / ticks
        decode = decode_s / sampled_frames * len(self.sampled) * hz if sampled_frames else 0.0
        return hz * (n_lean * per_bot_tick + per_tick) + decode

    async def close(self) -> None:
        self.uploading = True
        if self._ackers is not None:
            self._ackers.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ackers
        self.lean.close()
        await asyncio.gather(*(b.client.close() for b in self.sampled), return_exceptions=True)


def _bytes_per_avatar(decoded: list[_Sampled]) -> tuple[float | None, float | None]:
    """Average snapshot bytes (headers included) per avatar carried, over the decoding bots' frames."""
    total_bytes = sum(b.bytes for b in decoded)
    frames = sum(b.frames for b in decoded)
    if not total_bytes or not frames:
        return None, None
    mean_avatars = float(np.mean([len(b.client.session.latest) for b in decoded]))
    return total_bytes / frames / max(mean_avatars, 1), mean_avatars


# ---------------------------------------------------------------------------------------------- processes
def _worker_entry(cfg: ShardConfig, conn) -> None:
    asyncio.run(_worker(cfg, conn))


async def _worker(cfg: ShardConfig, conn) -> None:
    shard = Shard(cfg)
    try:
        await shard.connect()
        conn.send(("ready", shard.connected, shard.join_errors[:20]))
        message = await asyncio.to_thread(conn.recv)
        if message[0] == "go":
            conn.send(("result", await shard.run(message[1])))
    except Exception as exc:  # reported to the parent, which fails the run
        conn.send(("failed", repr(exc)))
    finally:
        await shard.close()
        conn.close()


class _Workers:
    def __init__(self, configs: list[ShardConfig]) -> None:
        import multiprocessing

        ctx = multiprocessing.get_context("spawn")
        self.pipes, self.procs = [], []
        for cfg in configs:
            parent, child = ctx.Pipe()
            proc = ctx.Process(target=_worker_entry, args=(cfg, child), daemon=True)
            proc.start()
            child.close()
            self.pipes.append(parent)
            self.procs.append(proc)

    async def expect(self, kind: str, timeout: float) -> list:
        async def one(pipe):
            message = await asyncio.to_thread(pipe.recv)
            if message[0] != kind:
                raise RuntimeError(f"simulator process failed: {message}")
            return message
        return await asyncio.wait_for(asyncio.gather(*(one(p) for p in self.pipes)), timeout)

    def send(self, message) -> None:
        for pipe in self.pipes:
            pipe.send(message)

    def stop(self) -> None:
        for proc in self.procs:
            proc.join(10)
            if proc.is_alive():
                proc.terminate()


# ---------------------------------------------------------------------------------------------- the run
def http_text(url: str, timeout: float = 10.0, operator_token: str | None = None) -> str:
    headers = {"Authorization": f"Bearer {operator_token}"} if operator_token else {}
    with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=timeout) as response:
        return response.read().decode()


def parse_metrics(text: str) -> dict[str, float]:
    """Prometheus text -> {'name{labels}': value} (comments skipped)."""
    out: dict[str, float] = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            with contextlib.suppress(ValueError):
                out[name] = float(value)
    return out


async def _server_sample(url: str, token: str | None, reset: bool = False) -> dict | None:
    """The server's counters, with the local time half-way through the requests; None if it did not answer
    (a saturated server can take longer than the timeout)."""
    t0 = time.monotonic()
    try:
        if reset:
            await asyncio.to_thread(http_json, "POST", f"{url}/api/stats/reset", {}, 30.0, operator_token=token)
        stats = (await asyncio.to_thread(http_json, "GET", f"{url}/api/stats", None, 30.0, operator_token=token))[1]
        metrics = parse_metrics(await asyncio.to_thread(http_text, f"{url}/metrics", 30.0, operator_token=token))
    except OSError as exc:
        print(f"server stats unavailable: {exc}", file=sys.stderr)
        return None
    t1 = time.monotonic()
    return {"t": (t0 + t1) / 2, "t_start": t0, "t_end": t1, "stats": stats, "metrics": metrics}


def _split(total: int, parts: int) -> list[int]:
    return [total // parts + (i < total % parts) for i in range(parts)]


async def run_load(url: str, room: str, bots: int, seconds: float, hands: bool = False, body: bool = False,
                   decode: int = 4, warmup: float = 3.0, send_hz: float = 60.0, seed: int = 1,
                   progress: bool = True, operator_token: str | None = None, procs: int = 1,
                   group_size: int = 0) -> LoadReport:
    """Connect `bots` bots to `room`, upload for `warmup` + `seconds`, measure over the last `seconds`.
    The waits are the schedule's, not the progress display's: `progress=False` measures the same."""
    url = url.rstrip("/")
    status, info = await asyncio.to_thread(http_json, "GET", f"{url}/api/rooms/{room}")
    if status != 200:
        raise SystemExit(f"room {room!r} not found at {url}: {info}")
    procs = max(1, min(procs, bots))
    decode = max(0, min(decode, bots))
    shares = _split(bots, procs)
    configs, first = [], 0
    for i, share in enumerate(shares):
        d = decode if i == 0 else 0
        d = min(d, share)
        configs.append(ShardConfig(url, room, i, share - d, d, first, hands, body, send_hz, seed, operator_token,
                                   group_size=group_size if i == 0 else 0))
        first += share
    workers = _Workers(configs[1:]) if procs > 1 else None
    shard = Shard(configs[0])
    try:
        connecting = asyncio.create_task(_show(progress, "connect", lambda: None, shard, bots))
        t_connect = time.monotonic()
        await shard.connect()
        ready = await workers.expect("ready", 60 + bots * 0.5) if workers else []
        connecting.cancel()
        connected = shard.connected + sum(r[1] for r in ready)
        connect_s = time.monotonic() - t_connect
        for e in shard.join_errors[:5] + [e for r in ready for e in r[2][:5]]:
            print(e, file=sys.stderr)
        if connected == 0:
            raise SystemExit("no bot could connect")
        go = time.monotonic() + 0.5
        schedule = Schedule(go, go + warmup, go + warmup + seconds)
        if workers:
            workers.send(("go", schedule))

        async def server_window() -> tuple[dict, dict]:
            await asyncio.sleep(max(0.0, schedule.open - 0.3 - time.monotonic()))
            before = await _server_sample(url, operator_token, reset=True)
            await asyncio.sleep(max(0.0, schedule.close + 0.05 - time.monotonic()))
            return before, await _server_sample(url, operator_token)

        window = asyncio.create_task(server_window())
        shown = asyncio.create_task(_show(progress, "run", lambda: schedule, shard, bots))
        own = await shard.run(schedule)
        results = [own] + ([r[1] for r in await workers.expect("result", seconds + warmup + 60)] if workers else [])
        before, after = await window
        shown.cancel()
    finally:
        if workers:
            with contextlib.suppress(Exception):
                workers.send(("stop",))
        await shard.close()
        if workers:
            workers.stop()
    report = _report(bots, room, connected, results, before, after, send_hz, hands, body, procs, decode, schedule)
    report.connect_s = connect_s
    report.social = own.get("social")
    return report


async def _show(progress: bool, phase: str, schedule, shard: Shard, bots: int) -> None:
    """The progress display: it only prints (the run's waits do not live here)."""
    if not progress:
        return
    with contextlib.suppress(asyncio.CancelledError):
        while True:
            s = schedule()
            now = time.monotonic()
            if s is None:
                text = f"connect  {shard.connected} bots of this process connected"
            else:
                name, begin, stop = ("warmup", s.go, s.open) if now < s.open else ("measure", s.open, s.close)
                done = min(1.0, max(0.0, (now - begin) / max(stop - begin, 1e-9)))
                text = f"{name:8s} [{'#' * int(done * 30):30s}] {done * 100:3.0f}%  {bots} bots"
            print(f"\r{text}", end="", file=sys.stderr, flush=True)
            await asyncio.sleep(0.5)
    print(file=sys.stderr)


def _report(bots: int, room: str, connected: int, results: list[dict], before: dict | None, after: dict | None,
            send_hz: float, hands: bool, body: bool, procs: int, decode: int,
            schedule: Schedule | None = None) -> LoadReport:
    hz = np.concatenate([np.asarray(r["frames"], dtype=np.float64) / r["window_s"] for r in results])
    frames = np.concatenate([np.asarray(r["frames"], dtype=np.int64) for r in results])
    byte_rates = np.concatenate([np.asarray(r["bytes"], dtype=np.float64) / r["window_s"] for r in results])
    window = float(np.mean([r["window_s"] for r in results]))
    latencies = [x for r in results for x in r["latencies_s"]]
    cpu = sum(r["cpu_s"] for r in results)
    decode_s = sum(r["decode_s"] for r in results)
    lean_bots = sum(r["lean"] for r in results)
    sent = sum(r["uploads_sent"] / r["window_s"] for r in results)
    server: dict = {}
    frames_in = server_window = None
    notes: list[str] = []
    if schedule is not None and before is not None and after is not None:
        # a starved server answers late: counters read well inside the window do not describe it
        slack = max(1.0, 0.25 * (schedule.close - schedule.open))
        if before["t_end"] > schedule.open + slack or after["t_start"] < schedule.close:
            notes.append(f"the server answered its stats requests late (in {before['t_end'] - before['t_start']:.1f} s "
                         f"and {after['t_end'] - after['t_start']:.1f} s): its counters do not cover the window")
            before = after = None
    if before is not None and after is not None:
        sb, sa = before["stats"], after["stats"]
        server_window = after["t"] - before["t"]
        frames_in = (sa.get("frames_in") or 0) - (sb.get("frames_in") or 0)
        server = dict(sa)
        cpu_delta = sa["cpu_s"] - sb["cpu_s"]
        frames_out = (sa.get("frames_out") or 0) - (sb.get("frames_out") or 0)
        server["window_s"] = server_window
        server["stats_request_s"] = [before["t_end"] - before["t_start"], after["t_end"] - after["t_start"]]
        server["cpu_share"] = cpu_delta / server_window
        server["cpu_us_per_frame"] = cpu_delta / frames_out * 1e6 if frames_out else None
        server["frames_in_per_s"] = frames_in / server_window
        server["frames_out_per_s"] = frames_out / server_window
        server["ticks_in_window"] = sa["ticks"] - sb["ticks"]
        server["rejected_in_window"] = {
            k: v - before["metrics"].get(k, 0.0) for k, v in after["metrics"].items()
            if k.startswith("plaza_rejected_total") and v - before["metrics"].get(k, 0.0) > 0}
    close_codes: dict[str, int] = {}
    errors: dict[str, int] = {}
    for r in results:
        for src, dst in ((r["close_codes"], close_codes), (r["error_codes"], errors)):
            for k, v in src.items():
                dst[k] = dst.get(k, 0) + v
    processes = []
    saturation = []
    for r in results:
        p = {k: v for k, v in r.items() if k not in ("frames", "bytes", "latencies_s")}
        processes.append(p)
        missed_share = r["ticks_missed"] / max(1, r["ticks"] + r["ticks_missed"])
        busy = r["cpu_share"] > SATURATED_CPU
        why = "" if busy else f" while using only {r['cpu_share'] * 100:.0f}% of a core (the machine is overloaded)"
        if busy:
            saturation.append(f"process {r['index']} used {r['cpu_share'] * 100:.0f}% of a core")
        if missed_share > MISSED_SHARE:
            saturation.append(f"process {r['index']} skipped {missed_share * 100:.1f}% of its ticks{why}")
        lag99 = r["lag_ms"]["p99"]
        if lag99 is not None and lag99 > LAG_TICKS * 1000.0 / send_hz:
            saturation.append(f"process {r['index']} tick lag p99 {lag99:.1f} ms{why}")
    missing = before is None or after is None
    saturation_notes = (notes or ["the server's stats were not available"]) if missing else []
    first = results[0]
    bot_seconds = connected * window
    return LoadReport(
        bots=bots, seconds=window, room=room, connected=connected,
        disconnects=sum(close_codes.values()), close_codes=close_codes,
        receive_hz={"min": float(hz.min()), "p5": float(np.percentile(hz, 5)), "p50": float(np.median(hz)),
                    "mean": float(hz.mean()), "max": float(hz.max())},
        latency_ms={"p50": _ms_or_none(_pct(latencies, 50)), "p99": _ms_or_none(_pct(latencies, 99)),
                    "samples": float(len(latencies))},
        receive_frames={"min": int(frames.min()), "max": int(frames.max()), "sum": int(frames.sum()),
                        "over_tick_span": max(r["frames_over_tick_span"] for r in results)},
        bytes_per_s_per_client=float(byte_rates.mean()),
        bytes_per_avatar_per_tick=first["bytes_per_avatar_per_tick"], avatars_per_frame=first["avatars_per_frame"],
        server=server, sim_cpu_s=cpu, sim_cpu_share=cpu / window, send_hz=send_hz, hands=hands, body=body,
        procs=procs, decode=sum(r["decode"] for r in results),
        upload_hz={"sent": sent, "sent_per_bot": sent / connected,
                   "server": frames_in / server_window if server_window else None,
                   "server_per_bot": frames_in / server_window / connected if server_window else None},
        sim_cpu_us_per_bot_s=cpu / bot_seconds * 1e6 if bot_seconds else None,
        lean_cpu_us_per_bot_s=max(0.0, cpu - decode_s) / (lean_bots * window) * 1e6 if lean_bots else None,
        projected_cores_at_full_rate=None if any(r["projected_cores_at_full_rate"] is None for r in results)
        else sum(r["projected_cores_at_full_rate"] for r in results),
        decode_errors=sum(r["decode_errors"] for r in results), error_codes=errors,
        processes=processes, saturated=bool(saturation), saturation=saturation, notes=saturation_notes,
    )


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


HELP = """Fill a room with bots that move like shoppers and report whether the server held.

Most bots are lean (raw sockets, bulk-encoded uploads, only snapshot headers read: they ack the newest tick
and count deliveries); --decode of them run the reference client and decode every snapshot (latency, bytes
per avatar, decode errors). Reported: per-bot receive rate, uploads sent and received by the server, latency,
server CPU and tick work, and the simulator's own CPU per process, with a SATURATED flag when a process used
more than 85% of a core or its tick loop fell behind (then the figures describe the simulator)."""


def main(argv: list[str]) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m sim load", description=HELP,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default="http://127.0.0.1:8000", help="server base URL")
    parser.add_argument("--room", default="main", help="room id (default main)")
    parser.add_argument("--new-room", action="store_true", help="create a fresh public room sized for the bots")
    parser.add_argument("--scene", default=None, help="scene of a --new-room")
    parser.add_argument("--interest", default="auto", choices=["auto", "all", "nearby"],
                        help="interest mode of a --new-room (see POST /api/rooms)")
    parser.add_argument("--bots", type=int, default=20, help="bots in total (default 20)")
    parser.add_argument("--seconds", type=float, default=10.0, help="measured seconds (default 10)")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds of uploads before measuring (default 3)")
    parser.add_argument("--hands", action="store_true", help="bots stream 25-joint tracked hands")
    parser.add_argument("--body", action="store_true", help="bots stream a full-body skeleton")
    parser.add_argument("--decode", type=int, default=4,
                        help="bots that run the full reference client and decode every snapshot (latency, bytes "
                             "per avatar, decode errors); the others are lean (default 4)")
    parser.add_argument("--procs", type=int, default=1,
                        help="simulator processes to spread the bots over (default 1; the decoding bots stay in "
                             "the first)")
    parser.add_argument("--send-hz", type=float, default=60.0, help="pose upload rate per bot (default 60)")
    parser.add_argument("--group-size", type=int, default=0,
                        help="the decoding bots shop in groups of this size: they chat, point and edit a shared "
                             "bag, and the report gives those events' latency next to the pose latency")
    parser.add_argument("--seed", type=int, default=1, help="motion seed")
    parser.add_argument("--no-progress", action="store_true", help="no progress display on stderr")
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
                                  args.decode, args.warmup, args.send_hz, seed=args.seed,
                                  progress=not args.no_progress, operator_token=token, procs=args.procs,
                                  group_size=args.group_size))
    print(report.summary())
    if args.json:
        with open(args.json, "w") as f:
            json.dump(asdict(report), f, indent=2)
    return 0
