"""Rooms of a server process: create, list, reserve seats, dispose of empty rooms. Sans-I/O (times are
passed in). `now` is the monotonic clock of the tick; `wall` is time.time() for token expiry."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field

from server.realtime.interest import InterestConfig
from server.realtime.room import Room, RoomFull
from server.realtime.rules import RoomRules
from server.realtime.tokens import JOIN, RESUME, SeatToken, sign

MAX_ROOM_SIZE = 2000
JOIN_TOKEN_TTL_S = 60.0
RESUME_TOKEN_TTL_S = 24 * 3600.0


class RoomError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


@dataclass
class RoomInfo:
    room: Room
    name: str
    scene: str
    private: bool
    invite_code: str | None
    persistent: bool  # the default room of a store is never disposed
    empty_since: float | None = None
    reservations: dict[int, float] = field(default_factory=dict)  # avatar id -> reserved-until (monotonic)

    def public_view(self) -> dict:
        room = self.room
        return {
            "id": room.id, "name": self.name, "scene": self.scene, "private": self.private,
            "capacity": room.capacity, "occupants": sum(1 for a in room.avatars.values() if a.visible),
        }


class RoomRegistry:
    def __init__(self, secret: bytes, rules_for_scene=None, empty_room_grace_s: float = 60.0) -> None:
        self.secret = secret
        self.rooms: dict[str, RoomInfo] = {}
        self._rules_for_scene = rules_for_scene or (lambda scene: RoomRules())
        self.empty_room_grace_s = empty_room_grace_s

    def get(self, room_id: str) -> Room | None:
        info = self.rooms.get(room_id)
        return info.room if info else None

    def create(self, name: str, scene: str, now: float, private: bool = False, capacity: int = 50,
               persistent: bool = False, room_id: str | None = None,
               interest: InterestConfig | None = None) -> RoomInfo:
        if not 1 <= capacity <= MAX_ROOM_SIZE:
            raise RoomError(422, "bad_capacity", f"capacity must be between 1 and {MAX_ROOM_SIZE}")
        room_id = room_id or secrets.token_urlsafe(6)
        if room_id in self.rooms:
            raise RoomError(409, "room_exists", f"room {room_id} already exists")
        rules = self._rules_for_scene(scene)
        info = RoomInfo(Room(room_id, rules, capacity, interest), name, scene, private,
                        secrets.token_urlsafe(8) if private else None, persistent, empty_since=now)
        self.rooms[room_id] = info
        return info

    def list_public(self) -> list[dict]:
        return [info.public_view() for info in self.rooms.values() if not info.private]

    def reserve(self, room_id: str, name: str, now: float, wall: float, invite_code: str | None = None
                ) -> tuple[RoomInfo, int, str]:
        """Reserve a seat; returns the room, the avatar id and a join token for the websocket."""
        info = self.rooms.get(room_id)
        if info is None or (info.private and invite_code is None):
            # a private room is indistinguishable from a missing one without its code
            raise RoomError(404, "room_not_found", "no such room (private rooms need their invite code)")
        if info.private and not secrets.compare_digest(invite_code or "", info.invite_code or ""):
            raise RoomError(403, "bad_invite_code", "the invite code does not match this room")
        try:
            avatar = info.room.add_avatar(name, now)
        except RoomFull as exc:
            raise RoomError(409, "room_full", str(exc)) from exc
        info.reservations[avatar.id] = now + JOIN_TOKEN_TTL_S
        token = sign(self.secret, SeatToken(JOIN, room_id, avatar.id, wall + JOIN_TOKEN_TTL_S))
        return info, avatar.id, token

    def resume_token(self, room_id: str, avatar_id: int, wall: float) -> str:
        return sign(self.secret, SeatToken(RESUME, room_id, avatar_id, wall + RESUME_TOKEN_TTL_S))

    def housekeeping(self, now: float) -> list[str]:
        """Free unused reservations and dispose of rooms empty for longer than the grace period."""
        disposed = []
        for room_id, info in list(self.rooms.items()):
            for avatar_id, until in list(info.reservations.items()):
                avatar = info.room.avatars.get(avatar_id)
                if avatar is None or avatar.visible:
                    del info.reservations[avatar_id]
                elif now > until:
                    info.room.remove_avatar(avatar_id)
                    del info.reservations[avatar_id]
            if info.room.avatars:
                info.empty_since = None
            elif info.empty_since is None:
                info.empty_since = now
            elif not info.persistent and now - info.empty_since > self.empty_room_grace_s:
                del self.rooms[room_id]
                disposed.append(room_id)
        return disposed
