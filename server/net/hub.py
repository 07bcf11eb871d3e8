"""The process's real-time hub: the room registry, live connections and the fixed-timestep tick loop."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from server import limits
from server.config import Settings
from server.metrics import Metrics
from server.net.close_codes import REPLACED, ROOM_CLOSED
from server.net.connection import Connection, TokenBucket, binary_frame
from server.realtime.registry import RoomInfo, RoomRegistry
from server.realtime.rules import RoomRules
from server.storage.local_state import JsonState

log = logging.getLogger(__name__)
MAX_CATCH_UP_TICKS = 5  # further behind than this, ticks are skipped (counted), not bunched up
ERROR_REPEAT_S = 1.0  # the same pose error is reported to a client at most once a second


def rules_for_scene(scene_id: str) -> RoomRules:
    """Room rules from the store scene, or open bounds when the scene loader is not available."""
    try:
        from server import scenes
    except ImportError:
        return RoomRules()
    return RoomRules.from_scene(scenes.load_scene(scene_id))


class Hub:
    def __init__(self, settings: Settings, metrics: Metrics) -> None:
        self.settings = settings
        self.metrics = metrics
        self.registry = RoomRegistry(settings.secret, rules_for_scene)
        self.connections: dict[tuple[str, int], Connection] = {}
        self.tick_hz = settings.tick_hz
        self.epoch = time.monotonic()
        self.ticks = 0
        self.late_ticks = 0
        self.skipped_ticks = 0
        self._task: asyncio.Task | None = None
        # Called after every step with its time (the gesture recogniser; later: mocap playback, deadlines).
        self.tick_listeners: list[Callable[[float], None]] = []
        self._join_buckets: dict[str, TokenBucket] = {}
        self._create_buckets: dict[str, TokenBucket] = {}
        self._state = JsonState(settings.data_dir, "rooms.json") if settings.persist_state else None
        self._restored = False
        self._save_lock = threading.Lock()
        self._saved_version = 0
        metrics.gauges["plaza_rooms"] = lambda: len(self.registry.rooms)
        metrics.gauges["plaza_clients"] = lambda: len(self.connections)
        metrics.gauges["plaza_avatars"] = lambda: sum(len(i.room.avatars) for i in self.registry.rooms.values())

    def now(self) -> float:
        return time.monotonic()

    def server_time_ms(self, now: float | None = None) -> int:
        return int(((now if now is not None else time.monotonic()) - self.epoch) * 1000) & 0xFFFFFFFF

    def ensure_default_room(self) -> RoomInfo:
        """The default store's own room, `main`, plus the rooms kept from before a restart."""
        if self._state is not None and not self._restored:
            self._restored = True
            self.registry.restore(self._state.load([]), self.now())
            self._saved_version = self.registry.version
        return self.store_room(self.settings.scene)

    def store_room(self, scene: str) -> RoomInfo:
        """A store's own persistent room (created on first use): `main` for the default store, else
        `store-<scene>`. Raises KeyError/ValueError/OSError for a scene that does not exist."""
        room_id = "main" if scene == self.settings.scene else f"store-{scene}"
        info = self.registry.rooms.get(room_id)
        if info is None:
            from server.scenes.loader import load_scene

            title = load_scene(scene).name if scene != self.settings.scene else "Main floor"
            info = self.registry.create(title, scene, self.now(), capacity=200, persistent=True, room_id=room_id)
        return info

    def _allow(self, buckets: dict[str, TokenBucket], key: str, rate: float, burst: float) -> bool:
        now = self.now()
        if len(buckets) > 10_000:  # forget idle addresses rather than grow without bound
            buckets_copy = {k: b for k, b in buckets.items() if now - b.at < 120}
            buckets.clear()
            buckets.update(buckets_copy)
        bucket = buckets.get(key)
        if bucket is None:
            bucket = buckets[key] = TokenBucket(rate=rate, burst=burst, now=now)
        return bucket.take(now)

    def allow_join(self, client_host: str) -> bool:
        """Seat reservations per client address (limits: joins_per_address_per_s, join_burst_per_address)."""
        return self._allow(self._join_buckets, client_host, limits.get("joins_per_address_per_s"),
                           limits.get("join_burst_per_address"))

    def allow_room_creation(self, client_host: str) -> bool:
        per_min = limits.get("room_creations_per_address_per_min")
        return self._allow(self._create_buckets, client_host, per_min / 60.0, per_min)

    def rooms_to_save(self) -> tuple[int, list[dict]] | None:
        """(version, records) of the kept rooms when they changed since the last write; read on the loop."""
        if self._state is None or self.registry.version == self._saved_version:
            return None
        return self.registry.version, self.registry.kept()

    def write_rooms(self, pending: tuple[int, list[dict]] | None) -> None:
        """Write a room list from rooms_to_save (any thread); an older version never overwrites a newer."""
        if pending is None or self._state is None:
            return
        version, records = pending
        with self._save_lock:
            if version <= self._saved_version:
                return
            try:
                self._state.save(records)
                self._saved_version = version
            except OSError:
                log.exception("could not save the room list")

    # -------------------------------------------------------------- connections
    def attach(self, conn: Connection) -> None:
        key = (conn.room_id, conn.avatar_id)
        old = self.connections.get(key)
        if old is not None:
            old.request_close(REPLACED, "this seat connected again from elsewhere")
        self.connections[key] = conn

    def detach(self, conn: Connection) -> None:
        key = (conn.room_id, conn.avatar_id)
        if self.connections.get(key) is conn:
            del self.connections[key]
            room = self.registry.get(conn.room_id)
            if room is not None:
                room.disconnect(conn.avatar_id, self.now())

    def broadcast(self, room_id: str, message: dict[str, Any], exclude: int | None = None) -> None:
        for (rid, avatar_id), conn in self.connections.items():
            if rid == room_id and avatar_id != exclude:
                conn.send_control(message)

    def send_to(self, room_id: str, avatar_id: int, message: dict[str, Any]) -> None:
        conn = self.connections.get((room_id, avatar_id))
        if conn is not None:
            conn.send_control(message)

    def frame_dropped(self, room_id: str, avatar_id: int, tick: int) -> None:
        room = self.registry.get(room_id)
        if room is not None:
            room.frame_dropped(avatar_id, tick)
        self.metrics.inc("plaza_frames_replaced_total")

    def bytes_out(self, n: int) -> None:
        self.metrics.inc("plaza_bytes_out_total", n)
        self.metrics.inc("plaza_frames_out_total")

    # -------------------------------------------------------------- the tick loop
    def step(self, now: float) -> None:
        """One 1/60 s step of every room: tick, send the frames, report rejections and departures."""
        ms = self.server_time_ms(now)
        for room_id, info in list(self.registry.rooms.items()):
            out = info.room.tick(now, ms)
            framed: dict[int, bytes] = {}  # one websocket frame per distinct snapshot, shared by its clients
            avatars = info.room.avatars
            for avatar_id, frame in out.frames:
                conn = self.connections.get((room_id, avatar_id))
                if conn is not None:
                    wire = framed.get(id(frame))
                    if wire is None:
                        wire = framed[id(frame)] = binary_frame(frame)
                    conn.offer_snapshot(out.tick, frame, now, wire, avatars[avatar_id].acked_tick)
            for rejection in out.rejections:
                self.metrics.inc("plaza_rejected_total", reason=rejection.code)
                conn = self.connections.get((room_id, rejection.avatar_id))
                if conn is not None and now - conn.last_error_sent.get(rejection.code, -1e9) >= ERROR_REPEAT_S:
                    conn.last_error_sent[rejection.code] = now
                    conn.send_control({"t": "error", "code": rejection.code, "msg": rejection.message})
            for avatar_id in out.removed:
                self.broadcast(room_id, {"t": "left", "avatar": avatar_id})
            for avatar_id in out.appeared:
                avatar = info.room.avatars[avatar_id]
                self.broadcast(room_id, {"t": "joined", "avatar": {"id": avatar_id, "name": avatar.name,
                                                                   "external": True}})
        for listener in self.tick_listeners:
            listener(now)
        if self.ticks % self.tick_hz == 0:  # once a second
            for room_id in self.registry.housekeeping(now):
                for (rid, _), conn in list(self.connections.items()):
                    if rid == room_id:
                        conn.request_close(ROOM_CLOSED, "room closed")
            if (pending := self.rooms_to_save()) is not None:
                asyncio.get_running_loop().run_in_executor(None, self.write_rooms, pending)

    async def run(self) -> None:
        """Fixed timestep: accumulate real time and step in exact 1/60 s increments, never drifting. When
        steps fall behind, at most MAX_CATCH_UP_TICKS run back to back and the rest are skipped (counted):
        network I/O always gets its turn between batches."""
        dt = 1.0 / self.tick_hz
        next_at = time.monotonic()
        while True:
            now = time.monotonic()
            behind = int((now - next_at) / dt)
            if behind > MAX_CATCH_UP_TICKS:
                skipped = behind - MAX_CATCH_UP_TICKS
                self.skipped_ticks += skipped
                self.metrics.inc("plaza_ticks_skipped_total", skipped)
                next_at += skipped * dt
            for _ in range(MAX_CATCH_UP_TICKS + 1):
                if now < next_at:
                    break
                if now - next_at > dt / 2:
                    self.late_ticks += 1
                    self.metrics.inc("plaza_ticks_late_total")
                started = time.perf_counter()
                try:
                    self.step(next_at)
                except Exception:  # a bug in one step must not stop the store
                    log.exception("tick failed")
                    self.metrics.inc("plaza_tick_errors_total")
                self.metrics.observe_tick((time.perf_counter() - started) * 1000.0)
                self.ticks += 1
                next_at += dt
                now = time.monotonic()
            await asyncio.sleep(max(0.0, next_at - time.monotonic()))

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self.run())

    async def stop(self) -> None:
        self.write_rooms(self.rooms_to_save())
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
