"""Sans-I/O mocap ingest: which source drives which avatar, and turning its packets/clips into body poses.

An operator creates a source (gets a random key) and binds it to (room_id, avatar_id) with placement
options. A packet is attributed to a source either by the key it carries (an OSC message
``/plaza/key <key>`` in the bundle, what ``sim/mocap_sender.py`` sends) or, for off-the-shelf VMC senders
that cannot add one, by the UDP sender address the operator pinned to the source. Everything else is
dropped and counted by reason. Poses go to a sink callable:
``sink(room_id, avatar_id, hips_pos (3,), local_rots (22, 4), now)``.

Work is bounded per datagram and per source (limits table): at most `vmc_messages_per_datagram` OSC messages
of a datagram are read (the rest is skipped and counted), and at most `vmc_datagrams_per_source_per_s`
datagrams of one source are handled (token bucket, one second of burst; the excess is dropped and counted).

Seats: a binding is (room, performer name, placement). With a `seats` keeper, a bound source whose seat has had
no data for `mocap_idle_release_s` gives the seat up (the avatar leaves the room) and keeps its binding; its next
data (or a running playback) takes a seat again. `snapshot()`/`restore()` carry sources, key hashes and bindings
across a restart (seats are not carried: they are taken again when data comes).
"""

from __future__ import annotations

import hashlib
import logging
import math
import secrets
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from server import limits
from server.mocap.bvh import BvhClip, LoopingTrack, drop_synthetic_tpose
from server.mocap.fk import body_offsets
from server.mocap.osc import OscError, parse_packet_limited
from server.mocap.retarget import retarget_clip
from server.mocap.vmc import VmcAssembler, VmcFrame, _quat_mul
from server.realtime.skeleton import BODY_INDEX, REST_HEIGHT_M

log = logging.getLogger(__name__)

KEY_ADDRESS = "/plaza/key"
MAX_DATAGRAM = 65_507
MAX_SOURCES = int(limits.get("mocap_sources_total"))
SEAT_RETRY_S = 1.0  # a source whose room is full (or gone) tries for a seat again at most this often
Sink = Callable[[str, int, np.ndarray, np.ndarray, float], None]
Address = tuple[str, int]


class MocapInputError(ValueError):
    """An operator request that cannot be honoured (unknown source, bad option ...)."""


class TooManySources(MocapInputError):
    """The server holds `mocap_sources_total` sources already."""


class SeatKeeper(Protocol):
    """Takes and gives back the room seats of bound sources (the adapter around the real-time rooms)."""

    def take(self, room_id: str, name: str, now: float) -> int: ...  # raises when no seat can be had

    def release(self, room_id: str, avatar_id: int, now: float) -> None: ...


@dataclass(frozen=True)
class BindOptions:
    """Where and how big the performer appears: avatar height, stage origin (m) and heading (degrees)."""

    height_m: float = REST_HEIGHT_M
    origin: tuple[float, float, float] = (0.0, 0.0, 0.0)
    yaw_deg: float = 0.0

    def __post_init__(self) -> None:
        if not (isinstance(self.height_m, int | float) and 0.5 <= self.height_m <= 2.5):
            raise MocapInputError(f"height_m must be between 0.5 and 2.5 metres, got {self.height_m!r}")
        if len(self.origin) != 3 or not all(math.isfinite(v) and abs(v) <= 10_000 for v in self.origin):
            raise MocapInputError("origin must be three finite numbers (metres, within 10 km)")
        if not math.isfinite(self.yaw_deg):
            raise MocapInputError("yaw_deg must be a finite number")

    def place(self, hips: np.ndarray, rots: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Rotate the performance about +Y by yaw and move it to the stage origin (hot path: plain floats)."""
        yaw = math.radians(self.yaw_deg)
        c, s = math.cos(yaw), math.sin(yaw)
        x, y, z = float(hips[0]), float(hips[1]), float(hips[2])
        ox, oy, oz = self.origin
        placed = np.array([c * x + s * z + ox, y + oy, -s * x + c * z + oz])
        if self.yaw_deg == 0.0:
            return placed, rots
        rots = rots.copy()
        rots[0] = _quat_mul((0.0, math.sin(yaw / 2), 0.0, math.cos(yaw / 2)), tuple(rots[0]))
        return placed, rots


@dataclass
class MocapSource:
    source_id: str
    name: str
    key_digest: bytes
    allow_addr: str | None  # "host" or "host:port" that may send without a key (pinned sender)
    room_id: str | None = None  # the binding; avatar_id is its seat, None while released (idle) or not yet taken
    avatar_id: int | None = None
    avatar_name: str = "performer"
    options: BindOptions = field(default_factory=BindOptions)
    assembler: VmcAssembler = field(default_factory=VmcAssembler)
    playback: LoopingTrack | None = None
    playback_start: float = 0.0
    last_data: bytes | None = None
    poses: int = 0
    last_pose_at: float | None = None
    active_at: float = 0.0  # last data (or bind, or seat taken): the idle clock of the seat
    next_seat_try: float = 0.0
    tokens: float = -1.0  # datagram budget (token bucket); < 0 = full, not yet used
    tokens_at: float = 0.0

    @property
    def bound(self) -> bool:
        return self.room_id is not None

    @property
    def seated(self) -> bool:
        return self.room_id is not None and self.avatar_id is not None

    def info(self) -> dict:
        return {
            "source_id": self.source_id, "name": self.name, "allow_addr": self.allow_addr,
            "room_id": self.room_id, "avatar_id": self.avatar_id, "avatar_name": self.avatar_name if self.bound
            else None, "seated": self.seated, "height_m": self.options.height_m,
            "origin": list(self.options.origin), "yaw_deg": self.options.yaw_deg,
            "playing": self.playback is not None, "poses": self.poses, "counters": dict(self.assembler.counters),
        }


def _digest(key: str) -> bytes:
    return hashlib.sha256(key.encode("utf-8", "replace")).digest()


def _leg_length(off: dict, side: str) -> float | None:
    ids = [BODY_INDEX[f"{side}UpperLeg"], BODY_INDEX[f"{side}LowerLeg"], BODY_INDEX[f"{side}Foot"]]
    if not all(i in off for i in ids):
        return None
    return abs(off[ids[0]][1]) + math.dist(off[ids[1]], (0.0, 0.0, 0.0)) + math.dist(off[ids[2]], (0.0, 0.0, 0.0))


_OUR_LEG_AT_REST_HEIGHT = _leg_length({i: tuple(v) for i, v in enumerate(body_offsets(REST_HEIGHT_M))}, "left")


def _vmc_scale(frame: VmcFrame, height_m: float) -> float:
    """Avatar leg length / sender model's leg length, from the bone offsets the sender reports (else 1)."""
    src = _leg_length(frame.bone_offsets, "left") or _leg_length(frame.bone_offsets, "right")
    if src is None or src <= 0.05:
        return 1.0
    return _OUR_LEG_AT_REST_HEIGHT * (height_m / REST_HEIGHT_M) / src  # type: ignore[operator]


def make_track(clip: BvhClip, height_m: float, loop: bool = True) -> LoopingTrack:
    """Retarget a clip once to an avatar height; the track starts on the stage origin (height kept).

    A leading synthetic T-pose frame is not played (it would flash a rest pose at the start of every loop).
    """
    _, hips, local = retarget_clip(drop_synthetic_tpose(clip), height_m)
    hips = hips - np.array([hips[0, 0], 0.0, hips[0, 2]])
    return LoopingTrack(hips, local, clip.frame_time, loop)


class MocapSources:
    """Registry of mocap sources and the conversion of their input to poses (no sockets, no clocks)."""

    def __init__(self, sink: Sink, seats: SeatKeeper | None = None, *,
                 messages_per_datagram: int | None = None, datagrams_per_source_per_s: float | None = None,
                 idle_release_s: float | None = None) -> None:
        self.sink = sink
        self.seats = seats
        self.sources: dict[str, MocapSource] = {}
        self._by_digest: dict[bytes, MocapSource] = {}
        self.counters: Counter = Counter()
        self.messages_per_datagram = int(messages_per_datagram or limits.get("vmc_messages_per_datagram"))
        # math.inf lifts the per-source rate (the ingest benchmark measures raw throughput)
        self.datagrams_per_s = float(datagrams_per_source_per_s or limits.get("vmc_datagrams_per_source_per_s"))
        self.idle_release_s = float(idle_release_s or limits.get("mocap_idle_release_s"))

    # ---- operator side -------------------------------------------------------------------------------
    def create(self, name: str = "", allow_addr: str | None = None) -> tuple[str, str]:
        """New unbound source: (source_id, key). The key is shown once; only its hash is kept."""
        if len(self.sources) >= MAX_SOURCES:
            raise TooManySources(f"too many mocap sources (limit {MAX_SOURCES}); delete unused ones")
        if allow_addr is not None and not (0 < len(allow_addr) <= 64):
            raise MocapInputError("allow_addr must be 'host' or 'host:port'")
        source_id = secrets.token_hex(6)
        key = secrets.token_urlsafe(24)
        src = MocapSource(source_id, name[:64] or source_id, _digest(key), allow_addr)
        self.sources[source_id] = src
        self._by_digest[src.key_digest] = src
        return source_id, key

    def get(self, source_id: str) -> MocapSource:
        src = self.sources.get(source_id)
        if src is None:
            raise MocapInputError(f"no mocap source {source_id!r}")
        return src

    def bind(
        self, source_id: str, room_id: str, avatar_id: int | None, options: BindOptions | None = None, *,
        avatar_name: str = "performer", now: float = 0.0,
    ) -> tuple[str, int] | None:
        """Bind (or rebind) a source to a room, seated on `avatar_id` (None: a seat is taken with the first data).
        Returns the previous seat for the caller to free."""
        src = self.get(source_id)
        previous = (src.room_id, src.avatar_id) if src.seated else None
        src.room_id, src.avatar_id = room_id, None if avatar_id is None else int(avatar_id)
        src.avatar_name = avatar_name
        src.options = options or BindOptions()
        src.assembler = VmcAssembler()  # a new seat starts from a clean stream state
        src.playback = None
        src.active_at, src.next_seat_try = now, 0.0
        return previous  # type: ignore[return-value]

    def stop(self, source_id: str) -> tuple[str, int] | None:
        """Unbind and stop playback; the key stays valid so the source can be bound again."""
        src = self.get(source_id)
        previous = (src.room_id, src.avatar_id) if src.seated else None
        src.room_id = src.avatar_id = None
        src.playback = None
        return previous  # type: ignore[return-value]

    def delete(self, source_id: str) -> tuple[str, int] | None:
        previous = self.stop(source_id)
        src = self.sources.pop(source_id)
        self._by_digest.pop(src.key_digest, None)
        return previous

    def start_playback(self, source_id: str, clip: BvhClip, now: float, loop: bool = True) -> float:
        """Play a BVH clip on a bound source from `now`. Returns the loop length in seconds."""
        src = self.get(source_id)
        if not src.bound:
            raise MocapInputError("bind the source to a room seat before starting a playback")
        return self.play(source_id, make_track(clip, src.options.height_m, loop), now)

    def play(self, source_id: str, track: LoopingTrack, now: float) -> float:
        """Play an already retargeted track (see make_track; the API builds it off the event loop)."""
        src = self.get(source_id)
        if not src.bound:
            raise MocapInputError("bind the source to a room seat before starting a playback")
        src.playback = track
        src.playback_start = now
        return track.duration

    def metrics(self) -> dict[str, int]:
        """Flat counters for /metrics: ingest-level reasons plus the sum of every source's stream counters."""
        total = Counter(self.counters)
        for src in self.sources.values():
            total.update({f"vmc_{k}": v for k, v in src.assembler.counters.items()})
        total["sources"] = len(self.sources)
        total["sources_bound"] = sum(1 for s in self.sources.values() if s.bound)
        total["sources_seated"] = sum(1 for s in self.sources.values() if s.seated)
        return dict(total)

    # ---- persistence ---------------------------------------------------------------------------------
    def snapshot(self) -> list[dict[str, Any]]:
        """What survives a restart: each source, its key's hash (never the key) and its binding."""
        out = []
        for src in self.sources.values():
            entry: dict[str, Any] = {"source_id": src.source_id, "name": src.name, "allow_addr": src.allow_addr,
                                     "key_sha256": src.key_digest.hex()}
            if src.bound:
                o = src.options
                entry["binding"] = {"room_id": src.room_id, "avatar_name": src.avatar_name, "height_m": o.height_m,
                                    "origin": list(o.origin), "yaw_deg": o.yaw_deg}
            out.append(entry)
        return out

    def restore(self, entries: list[dict[str, Any]], room_exists: Callable[[str], bool], now: float) -> int:
        """Recreate sources from snapshot(); a binding is kept when its room exists. Returns sources restored."""
        restored = 0
        for entry in entries:
            try:
                src = MocapSource(str(entry["source_id"]), str(entry["name"]), bytes.fromhex(entry["key_sha256"]),
                                  entry.get("allow_addr"))
                binding = entry.get("binding")
                if binding and room_exists(str(binding["room_id"])):
                    src.options = BindOptions(float(binding["height_m"]), tuple(binding["origin"]),
                                              float(binding["yaw_deg"]))
                    src.room_id, src.avatar_name = str(binding["room_id"]), str(binding["avatar_name"])
                    src.active_at = now
                elif binding:
                    log.warning("mocap: source %s was bound to a room that is gone; it is unbound", src.source_id)
            except (KeyError, TypeError, ValueError) as exc:
                log.warning("mocap: a stored source is unreadable and was skipped (%s)", type(exc).__name__)
                continue
            if len(self.sources) >= MAX_SOURCES:
                break
            self.sources[src.source_id] = src
            self._by_digest[src.key_digest] = src
            restored += 1
        return restored

    # ---- seats ---------------------------------------------------------------------------------------
    def _take_seat(self, src: MocapSource, now: float) -> bool:
        """A seat for a bound source that has none (released when idle, or after a restart)."""
        if self.seats is None or now < src.next_seat_try:
            self.counters["dropped_no_seat"] += 1
            return False
        try:
            src.avatar_id = int(self.seats.take(src.room_id, src.avatar_name, now))  # type: ignore[arg-type]
        except Exception as exc:  # room full or gone: the room says why; try again a little later
            src.next_seat_try = now + SEAT_RETRY_S
            self.counters["dropped_no_seat"] += 1
            log.info("mocap: no seat for source %s in room %s: %s", src.source_id, src.room_id, exc)
            return False
        src.active_at = now
        self.counters["seats_taken"] += 1
        return True

    def _release_idle(self, now: float) -> None:
        if self.seats is None:
            return
        for src in self.sources.values():
            if src.seated and now - src.active_at > self.idle_release_s:
                room_id, avatar_id = src.room_id, src.avatar_id
                src.avatar_id = None
                self.counters["seats_released_idle"] += 1
                try:
                    self.seats.release(room_id, avatar_id, now)  # type: ignore[arg-type]
                except Exception:
                    log.exception("mocap: releasing the idle seat of source %s failed", src.source_id)

    def _within_rate(self, src: MocapSource, now: float) -> bool:
        rate = self.datagrams_per_s
        if math.isinf(rate):
            return True
        tokens = rate if src.tokens < 0 else min(rate, src.tokens + (now - src.tokens_at) * rate)
        src.tokens_at = now
        if tokens < 1.0:
            src.tokens = tokens
            return False
        src.tokens = tokens - 1.0
        return True

    # ---- data side -----------------------------------------------------------------------------------
    def _source_for(self, messages: list, addr: Address) -> MocapSource | None:
        key = next((m[2] for m in messages if m[1] == KEY_ADDRESS), None)
        if key is not None:
            if len(key) != 1 or type(key[0]) is not str:
                self.counters["dropped_bad_key"] += 1
                return None
            src = self._by_digest.get(_digest(key[0]))
            if src is None:
                self.counters["dropped_bad_key"] += 1
                return None
            if src.allow_addr is not None and src.allow_addr not in (addr[0], f"{addr[0]}:{addr[1]}"):
                self.counters["dropped_address_mismatch"] += 1
                return None
            return src
        for src in self.sources.values():  # few pinned sources per server; a dict would be needed past ~100
            if src.allow_addr is not None and src.allow_addr in (addr[0], f"{addr[0]}:{addr[1]}"):
                return src
        self.counters["dropped_unknown_sender"] += 1
        return None

    def feed_datagram(self, data: bytes, addr: Address, now: float) -> int:
        """One UDP datagram from addr at time now. Returns the number of poses handed to the sink (0 or 1)."""
        self.counters["packets"] += 1
        if not 4 <= len(data) <= MAX_DATAGRAM:
            self.counters["dropped_malformed"] += 1
            return 0
        try:
            messages, skipped = parse_packet_limited(data, self.messages_per_datagram)
        except OscError:
            self.counters["dropped_malformed"] += 1
            return 0
        if skipped:
            self.counters["datagrams_over_message_cap"] += 1
            self.counters["messages_over_cap"] += skipped
        src = self._source_for(messages, addr)
        if src is None:
            return 0
        if not src.bound:
            self.counters["dropped_unbound"] += 1
            return 0
        if not self._within_rate(src, now):
            self.counters["dropped_over_rate"] += 1
            return 0
        src.active_at = now
        if not src.seated and not self._take_seat(src, now):
            return 0
        if data == src.last_data:
            self.counters["dropped_duplicate"] += 1
            return 0
        src.last_data = data
        frame = src.assembler.feed(messages, now)
        if frame is None:
            return 0
        k = _vmc_scale(frame, src.options.height_m)
        hips, rots = src.options.place(frame.hips_pos * k, frame.local_rots)
        return self._emit(src, hips, rots, now)

    def tick(self, now: float) -> int:
        """Advance every BVH playback to `now` (call at the 60 Hz tick) and release idle seats. Returns poses
        emitted."""
        emitted = 0
        for src in list(self.sources.values()):
            track = src.playback
            if track is None or not src.bound:
                continue
            t = now - src.playback_start
            if track.finished(t):
                src.playback = None
                self.counters["playbacks_finished"] += 1
                continue
            src.active_at = now  # a running playback is data
            if not src.seated and not self._take_seat(src, now):
                continue
            hips, rots = track.sample(t)
            hips, rots = src.options.place(hips, rots)
            emitted += self._emit(src, hips, rots, now)
        self._release_idle(now)
        return emitted

    def _emit(self, src: MocapSource, hips: np.ndarray, rots: np.ndarray, now: float) -> int:
        if not (math.isfinite(float(hips.sum())) and math.isfinite(float(rots.sum()))):
            self.counters["dropped_non_finite_pose"] += 1
            return 0
        try:
            self.sink(src.room_id, src.avatar_id, hips, rots, now)  # type: ignore[arg-type]
        except (ValueError, KeyError) as exc:  # invalid pose, or the seat is gone
            self.counters["rejected_by_room"] += 1
            log.debug("room rejected a mocap pose from %s: %s", src.source_id, exc)
            return 0
        except Exception:  # the room's problem must not kill the listener
            self.counters["sink_errors"] += 1
            log.exception("mocap sink failed for source %s", src.source_id)
            return 0
        src.poses += 1
        src.last_pose_at = now
        self.counters["poses"] += 1
        return 1
