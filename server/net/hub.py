"""The process's real-time hub: the room registry, the live sessions, and each tick's delivery.

Every clock step (server/clock.py) ticks each room's world, lets the snapshot planner cut every connected
client's frame from it, and hands the frames to the clients' sessions; one websocket frame per distinct
snapshot, shared by the clients that get it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from server import limits
from server.clock import AFTER_WORLD, WORLD, Clock
from server.config import Settings
from server.metrics import Metrics
from server.net import paced_loop
from server.net.close_codes import REPLACED, ROOM_CLOSED, SERVICE_RESTART
from server.net.rate import TokenBucket
from server.net.ws_frames import binary_frame
from server.realtime.registry import RoomInfo, RoomRegistry
from server.realtime.room import warm_compiled_tick
from server.realtime.rules import RoomRules
from server.realtime.snapshots import SnapshotPlanner
from server.storage.local_state import JsonState

if TYPE_CHECKING:
    from server.net.session import Session

log = logging.getLogger(__name__)
READ_BUFFER_BYTES = 64 * 1024
ERROR_REPEAT_S = 1.0  # the same pose error is reported to a client at most once a second


def rules_for_scene(scene_id: str) -> RoomRules:
    """Room rules from the store scene, or open bounds when the scene loader is not available."""
    try:
        from server import scenes
    except ImportError:
        return RoomRules()
    return RoomRules.from_scene(scenes.load_scene(scene_id))


_warm = threading.Lock()
_warmed = False


def _warm_once() -> None:
    """The compiled tick, ready before the first room ticks (once per process)."""
    global _warmed
    with _warm:
        if not _warmed:
            warm_compiled_tick()
            _warmed = True


class Hub:
    def __init__(self, settings: Settings, metrics: Metrics, clock: Clock | None = None) -> None:
        self.settings = settings
        self.metrics = metrics
        _warm_once()
        self.clock = clock or Clock(settings.tick_hz)
        self.registry = RoomRegistry(settings.secret, rules_for_scene)
        self.sessions: dict[tuple[str, int], Session] = {}
        self.planners: dict[str, SnapshotPlanner] = {}
        self._room_sessions: dict[str, list[Session]] = {}  # open sessions per room, rebuilt on change
        self._deliveries: dict[str, tuple[list[Session], list, dict[int, Callable]]] = {}  # see _delivery
        self._task: asyncio.Task | None = None
        # Where every session's socket reads land (asyncio.BufferedProtocol); one per hub, as a hub runs on one
        # event loop and each read is copied out before the next one.
        self.read_buffer = memoryview(bytearray(READ_BUFFER_BYTES))
        # Told when a session opens (True) or ends (False): the co-shopping layer's presence and pins.
        self.seat_listeners: list[Callable[[Session, bool], None]] = []
        self.social: Any = None  # server.social.live.GroupLive once the shop is up (docs/SOCIAL.md)
        # Many nodes: what every connection must hear goes to the other nodes too (server/cluster/node.py).
        self.relay_all: Callable[[dict[str, Any]], None] | None = None
        self._join_buckets: dict[str, TokenBucket] = {}
        self._create_buckets: dict[str, TokenBucket] = {}
        self._state = JsonState(settings.data_dir, "rooms.json") if settings.persist_state else None
        self._restored = False
        self._save_lock = threading.Lock()
        self._saved_version = 0
        self._retired = {"bytes_in": 0, "frames_in": 0, "pose_uploads": 0, "bytes_out": 0, "frames_out": 0}
        self.clock.every("rooms", self.step, order=WORLD)
        self.clock.every_seconds("housekeeping", self.each_second, 1.0, order=AFTER_WORLD)
        self.clock.on_step = lambda seconds: metrics.observe_tick(seconds * 1000.0)
        metrics.gauges["plaza_rooms"] = lambda: len(self.registry.rooms)
        metrics.gauges["plaza_clients"] = lambda: len(self.sessions)
        metrics.gauges["plaza_avatars"] = lambda: sum(len(i.room.avatars) for i in self.registry.rooms.values())
        for name in self._retired:
            metrics.counter_callbacks[f"plaza_{name}_total"] = lambda name=name: self._traffic(name)
        metrics.counter_callbacks["plaza_ticks_late_total"] = lambda: self.clock.late_ticks
        metrics.counter_callbacks["plaza_ticks_skipped_total"] = lambda: self.clock.skipped_ticks
        metrics.counter_callbacks["plaza_tick_errors_total"] = lambda: self.clock.errors

    @property
    def tick_hz(self) -> int:
        return self.clock.hz

    @property
    def ticks(self) -> int:
        return self.clock.ticks

    def now(self) -> float:
        return self.clock.time_fn()

    def server_time_ms(self, now: float | None = None) -> int:
        return self.clock.server_time_ms(self.clock.time_fn() if now is None else now)

    def _traffic(self, name: str) -> int:
        live = sum(getattr(s.outbox if name.endswith("_out") else s, name) for s in self.sessions.values())
        return self._retired[name] + live

    # -------------------------------------------------------------- rooms
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

    # -------------------------------------------------------------- sessions
    def attach(self, session: Session) -> None:
        key = (session.room_id, session.avatar_id)
        old = self.sessions.get(key)
        if old is not None:
            old.close(REPLACED, "this seat connected again from elsewhere")
            self._retire(old)
        self.sessions[key] = session
        paced_loop.pacing.sessions = len(self.sessions)
        self._room_sessions.pop(session.room_id, None)
        self._tell_seat_listeners(session, True)

    def _tell_seat_listeners(self, session: Session, opened: bool) -> None:
        for listener in self.seat_listeners:
            try:
                listener(session, opened)
            except Exception:
                log.exception("seat listener failed")

    def detach(self, session: Session) -> None:
        """The session's transport is gone (dropped or closed)."""
        key = (session.room_id, session.avatar_id)
        if self.sessions.get(key) is not session:
            return
        del self.sessions[key]
        paced_loop.pacing.sessions = len(self.sessions)
        self._retire(session)
        self._room_sessions.pop(session.room_id, None)
        self._tell_seat_listeners(session, False)
        info = self.registry.rooms.get(session.room_id)
        if info is None:
            return
        info.room.disconnect(session.avatar_id, self.now())
        if session.left_on_purpose:
            self.registry.release(session.room_id, session.avatar_id)
            self.broadcast(session.room_id, {"t": "left", "avatar": session.avatar_id})

    def _retire(self, session: Session) -> None:
        """Keep a finished session's traffic in the process totals (counters never go down)."""
        if getattr(session, "_retired", False):
            return
        session._retired = True
        for name in ("bytes_in", "frames_in", "pose_uploads"):
            self._retired[name] += getattr(session, name)
        self._retired["bytes_out"] += session.outbox.bytes_out
        self._retired["frames_out"] += session.outbox.frames_out

    def room_sessions(self, room_id: str) -> list[Session]:
        found = self._room_sessions.get(room_id)
        if found is None:
            found = self._room_sessions[room_id] = [s for (rid, _), s in self.sessions.items() if rid == room_id]
        return found

    def _delivery(self, room_id: str, sessions: list[Session]) -> tuple[list, dict[int, Callable]]:
        """The room's clients' sync states and, by id of each, its outbox's offer_snapshot; rebuilt only when the
        room's list of open sessions is rebuilt (a join or a leave), not every tick."""
        cached = self._deliveries.get(room_id)
        if cached is None or cached[0] is not sessions:
            syncs = [s.sync for s in sessions]
            cached = self._deliveries[room_id] = (
                sessions, syncs, {id(s.sync): s.outbox.offer_snapshot for s in sessions})
        return cached[1], cached[2]

    def broadcast(self, room_id: str, message: dict[str, Any], exclude: int | None = None) -> None:
        for session in self.room_sessions(room_id):
            if session.avatar_id != exclude:
                session.send(message)

    def broadcast_all(self, message: dict[str, Any], relay: bool = True) -> None:
        for session in list(self.sessions.values()):
            session.send(message)
        if relay and self.relay_all is not None:
            self.relay_all(message)

    def send_to(self, room_id: str, avatar_id: int, message: dict[str, Any]) -> None:
        session = self.sessions.get((room_id, avatar_id))
        if session is not None:
            session.send(message)

    # -------------------------------------------------------------- the tick
    def step(self, now: float) -> None:
        """One step of every room: tick the world, cut and send the frames, report rejections and departures."""
        ms = self.clock.server_time_ms(now)
        for room_id, info in list(self.registry.rooms.items()):
            room = info.room
            out = room.tick(now)
            sessions = self.room_sessions(room_id)
            if sessions:
                planner = self.planners.get(room_id)
                if planner is None:
                    planner = self.planners[room_id] = SnapshotPlanner()
                syncs, outbox_of = self._delivery(room_id, sessions)
                framed: dict[int, bytes] = {}  # one websocket frame per distinct snapshot, shared by its clients
                tick = out.tick
                for sync, frame in planner.frames(room, syncs, tick, ms):
                    wire = framed.get(id(frame))
                    if wire is None:
                        wire = framed[id(frame)] = binary_frame(frame)
                    outbox_of[id(sync)](tick, wire, now, sync.acked_tick)
            for rejection in out.rejections:
                self.metrics.inc("plaza_rejected_total", reason=rejection.code)
                session = self.sessions.get((room_id, rejection.avatar_id))
                if session is not None and now - session.last_error_sent.get(rejection.code, -1e9) >= ERROR_REPEAT_S:
                    session.last_error_sent[rejection.code] = now
                    session.send({"t": "error", "code": rejection.code, "msg": rejection.message})
            for avatar_id in out.removed:
                self.broadcast(room_id, {"t": "left", "avatar": avatar_id})
            for avatar_id in out.appeared:
                self.broadcast(room_id, {"t": "joined", "avatar": room.describe(room.avatars[avatar_id])})

    def each_second(self, now: float) -> None:
        for room_id in self.registry.housekeeping(now):
            self.planners.pop(room_id, None)
            self._deliveries.pop(room_id, None)
            for session in list(self.room_sessions(room_id)):
                session.close(ROOM_CLOSED, "room closed")
        wall = self.clock.time_fn()
        for session in list(self.sessions.values()):
            session.keepalive(wall)
        if (pending := self.rooms_to_save()) is not None:
            asyncio.get_running_loop().run_in_executor(None, self.write_rooms, pending)

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self.clock.run())

    async def stop(self) -> None:
        """Shutdown: every client hears 1012 (reconnect later), the room list is written, the clock stops."""
        for session in list(self.sessions.values()):
            session.close(SERVICE_RESTART, "the server is restarting; reconnect with your resume token")
        self.write_rooms(self.rooms_to_save())
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
