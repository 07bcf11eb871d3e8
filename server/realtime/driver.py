"""A room with its clients' sync state, driven in-process: what the hub and the sessions do for one room,
without sockets. Tests, the protocol test vectors and benchmarks use it; `tick` returns every connected
client's frame. Anything else is the room's own (`driver.add_avatar`, `driver.state`...)."""

from __future__ import annotations

from dataclasses import dataclass

from server.realtime.pose import UPLOAD_HEADER
from server.realtime.room import Avatar, Rejection, Room
from server.realtime.snapshots import SnapshotPlanner
from server.realtime.sync import ClientSync


@dataclass
class DrivenTick:
    tick: int
    frames: list[tuple[int, bytes]]  # (avatar id, frame) for every connected client
    rejections: list[Rejection]
    removed: list[int]
    appeared: list[int]


class RoomDriver:
    def __init__(self, room: Room) -> None:
        self.room = room
        self.planner = SnapshotPlanner()
        self.syncs: dict[int, ClientSync] = {}

    def __getattr__(self, name: str):
        return getattr(self.room, name)

    def connect(self, avatar_id: int, now: float) -> Avatar:
        """A (re)connecting client: a new transport shares no baselines."""
        avatar = self.room.connect(avatar_id, now)
        self.syncs[avatar_id] = ClientSync(avatar_id, avatar.slot)
        return avatar

    def disconnect(self, avatar_id: int, now: float) -> None:
        self.syncs.pop(avatar_id, None)
        self.room.disconnect(avatar_id, now)

    def receive_pose(self, avatar_id: int, data: bytes, now: float) -> Rejection | None:
        """As a session does: the upload's ack field acknowledges snapshots, then the room takes the pose."""
        if len(data) >= UPLOAD_HEADER.size and avatar_id in self.syncs:
            ack = UPLOAD_HEADER.unpack_from(data)[3]
            if ack:
                self.ack(avatar_id, ack)
        return self.room.receive_pose(avatar_id, data, now)

    def ack(self, avatar_id: int, tick: int) -> None:
        self.syncs[avatar_id].ack(tick, self.room.tick_no)

    def pin(self, avatar_id: int, pinned: list[int]) -> None:
        self.syncs[avatar_id].pin(pinned)

    def frame_dropped(self, avatar_id: int, tick: int) -> None:
        sync = self.syncs.get(avatar_id)
        if sync is not None:
            sync.dropped(tick)

    def tick(self, now: float, server_time_ms: int = 0) -> DrivenTick:
        out = self.room.tick(now)
        for avatar_id in out.removed:
            self.syncs.pop(avatar_id, None)
        clients = [s for s in self.syncs.values() if self.room.avatars[s.avatar_id].connected]
        frames = self.planner.frames(self.room, clients, out.tick, server_time_ms)
        return DrivenTick(out.tick, [(s.avatar_id, f) for s, f in frames], out.rejections, out.removed, out.appeared)
