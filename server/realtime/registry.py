"""Rooms of a server process: create, list, reserve seats, open seats with tokens, dispose of empty rooms.
Sans-I/O (times are passed in). `now` is the monotonic clock of the tick; `wall` is time.time() for token
expiry. Per-address limits come from server/limits.py; `exempt` callers (the operator) skip them."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field

from server import limits
from server.realtime.interest import InterestConfig
from server.realtime.room import Avatar, Room, RoomFull
from server.realtime.rules import RoomRules
from server.realtime.tokens import JOIN, RESUME, SeatToken, TokenError, sign, verify

MAX_ROOM_SIZE = int(limits.get("max_room_size"))
JOIN_TOKEN_TTL_S = limits.get("join_token_ttl_s")
RESUME_TOKEN_TTL_S = limits.get("resume_token_ttl_s")


class RoomError(Exception):
    def __init__(self, status: int, code: str, message: str, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.retry_after = status, code, message, retry_after


class SeatRefused(Exception):
    """A websocket `auth` that cannot open a seat; `code` names the close code to use (close_codes)."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind  # "token_invalid" | "token_expired" | "room_closed"


@dataclass
class RoomInfo:
    room: Room
    name: str
    scene: str
    private: bool
    invite_code: str | None
    persistent: bool  # a store's own room is never disposed
    empty_since: float | None = None
    created_by: str | None = None  # client address that created it (None: the server itself)
    interest_limit: int = 250
    reservations: dict[int, float] = field(default_factory=dict)  # avatar id -> reserved-until (monotonic)
    seat_address: dict[int, str] = field(default_factory=dict)  # avatar id -> address that reserved it
    seat_shopper: dict[int, str] = field(default_factory=dict)  # avatar id -> shopper id (X-Shopper-Key at join)

    def public_view(self) -> dict:
        room = self.room
        return {
            "id": room.id, "name": self.name, "scene": self.scene, "private": self.private,
            "capacity": room.capacity, "occupants": sum(1 for a in room.avatars.values() if a.visible),
        }

    def record(self) -> dict:
        """What is kept across a restart (seats are not: their tokens die with them)."""
        return {"id": self.room.id, "name": self.name, "scene": self.scene, "private": self.private,
                "invite_code": self.invite_code, "capacity": self.room.capacity,
                "interest_limit": self.interest_limit, "created_by": self.created_by}


class RoomRegistry:
    def __init__(self, secret: bytes, rules_for_scene=None, empty_room_grace_s: float = 60.0) -> None:
        self.secret = secret
        self.rooms: dict[str, RoomInfo] = {}
        self._rules_for_scene = rules_for_scene or (lambda scene: RoomRules())
        self.empty_room_grace_s = empty_room_grace_s
        self.version = 0  # counts changes to the set of kept rooms (the owner saves when it moves)

    def get(self, room_id: str) -> Room | None:
        info = self.rooms.get(room_id)
        return info.room if info else None

    def create(self, name: str, scene: str, now: float, private: bool = False, capacity: int = 50,
               persistent: bool = False, room_id: str | None = None, interest: InterestConfig | None = None,
               created_by: str | None = None, exempt: bool = False, invite_code: str | None = None) -> RoomInfo:
        if not 1 <= capacity <= MAX_ROOM_SIZE:
            raise RoomError(422, "bad_capacity", f"capacity must be between 1 and {MAX_ROOM_SIZE}")
        if not persistent:
            if sum(1 for i in self.rooms.values() if not i.persistent) >= limits.get("rooms_total"):
                raise RoomError(503, "too_many_rooms", "this server holds as many rooms as it can; try later",
                                retry_after=60)
            mine = sum(1 for i in self.rooms.values() if created_by is not None and i.created_by == created_by)
            if not exempt and created_by is not None and mine >= limits.get("rooms_per_address"):
                raise RoomError(429, "too_many_rooms_from_address",
                                f"at most {int(limits.get('rooms_per_address'))} live rooms per address; "
                                "an empty room closes a minute after its last shopper leaves", retry_after=60)
        if room_id is None:
            room_id = secrets.token_urlsafe(6)
            while room_id in self.rooms:
                room_id = secrets.token_urlsafe(6)
        elif room_id in self.rooms:
            raise RoomError(409, "room_exists", f"room {room_id} already exists")
        rules = self._rules_for_scene(scene)
        interest = interest or InterestConfig()
        code = invite_code or (secrets.token_urlsafe(8) if private else None)
        info = RoomInfo(Room(room_id, rules, capacity, interest), name, scene, private, code, persistent,
                        empty_since=now, created_by=created_by, interest_limit=interest.all_to_all_limit)
        self.rooms[room_id] = info
        self.version += 1
        return info

    def list_public(self) -> list[dict]:
        return [info.public_view() for info in self.rooms.values() if not info.private]

    # -------------------------------------------------------------- seats
    def _pending_of(self, address: str) -> int:
        return sum(1 for info in self.rooms.values() for avatar_id in info.reservations
                   if info.seat_address.get(avatar_id) == address)

    def reserve(self, room_id: str, name: str, now: float, wall: float, invite_code: str | None = None,
                address: str = "?", exempt: bool = False, shopper_id: str | None = None) -> tuple[RoomInfo, int, str]:
        """Reserve a seat; returns the room, the avatar id and a join token for the websocket."""
        info = self.rooms.get(room_id)
        if info is None or (info.private and invite_code is None):
            # a private room is indistinguishable from a missing one without its code
            raise RoomError(404, "room_not_found", "no such room (private rooms need their invite code)")
        if info.private and not secrets.compare_digest(invite_code or "", info.invite_code or ""):
            raise RoomError(403, "bad_invite_code", "the invite code does not match this room")
        if not exempt:
            held = sum(1 for a in info.seat_address.values() if a == address)
            if held >= limits.get("seats_per_address_per_room"):
                raise RoomError(429, "too_many_seats_from_address",
                                f"one address may hold at most {int(limits.get('seats_per_address_per_room'))} "
                                "seats in a room", retry_after=10)
            if self._pending_of(address) >= limits.get("pending_seats_per_address"):
                raise RoomError(429, "too_many_pending_seats",
                                "connect the seats you reserved before reserving more", retry_after=5)
        try:
            avatar = info.room.add_avatar(name, now)
        except RoomFull as exc:
            raise RoomError(409, "room_full", str(exc)) from exc
        info.reservations[avatar.id] = now + JOIN_TOKEN_TTL_S
        info.seat_address[avatar.id] = address
        if shopper_id is not None:
            info.seat_shopper[avatar.id] = shopper_id
        token = sign(self.secret, SeatToken(JOIN, room_id, avatar.id, avatar.nonce, wall + JOIN_TOKEN_TTL_S))
        return info, avatar.id, token

    def resume_token(self, room_id: str, avatar_id: int, wall: float) -> str:
        avatar = self.rooms[room_id].room.avatars[avatar_id]
        return sign(self.secret, SeatToken(RESUME, room_id, avatar_id, avatar.nonce, wall + RESUME_TOKEN_TTL_S))

    def open_seat(self, token_text: object, wall: float, room_id: str | None = None) -> tuple[RoomInfo, Avatar]:
        """The seat a websocket `auth` token opens, or SeatRefused. A token opens only the seat it was
        issued for (its nonce), a join token only before the seat's first connection."""
        try:
            token = verify(self.secret, token_text, wall, room_id)  # type: ignore[arg-type]
        except TokenError as exc:
            raise SeatRefused("token_expired" if exc.code == "token_expired" else "token_invalid", str(exc)) from exc
        info = self.rooms.get(token.room_id)
        if info is None:
            raise SeatRefused("room_closed", "no such room (it may have been closed)")
        avatar = info.room.avatars.get(token.avatar_id)
        if avatar is None or not secrets.compare_digest(avatar.nonce, token.nonce):
            raise SeatRefused("room_closed", "this seat no longer exists (it was released); join again")
        if token.kind == JOIN and avatar.ever_connected:
            raise SeatRefused("token_invalid", "a join token opens its seat once; reconnect with the resume token")
        return info, avatar

    def release(self, room_id: str, avatar_id: int) -> None:
        info = self.rooms.get(room_id)
        if info is not None:
            info.room.remove_avatar(avatar_id)
            info.reservations.pop(avatar_id, None)
            info.seat_address.pop(avatar_id, None)
            info.seat_shopper.pop(avatar_id, None)

    def housekeeping(self, now: float) -> list[str]:
        """Free unused reservations, forget released seats, dispose of rooms empty past the grace period."""
        disposed = []
        for room_id, info in list(self.rooms.items()):
            for avatar_id, until in list(info.reservations.items()):
                avatar = info.room.avatars.get(avatar_id)
                if avatar is None or avatar.visible:
                    del info.reservations[avatar_id]
                elif now > until:
                    info.room.remove_avatar(avatar_id)
                    del info.reservations[avatar_id]
            for avatar_id in [a for a in info.seat_address if a not in info.room.avatars]:
                del info.seat_address[avatar_id]
                info.seat_shopper.pop(avatar_id, None)
            if info.room.avatars:
                info.empty_since = None
            elif info.empty_since is None:
                info.empty_since = now
            elif not info.persistent and now - info.empty_since > self.empty_room_grace_s:
                del self.rooms[room_id]
                disposed.append(room_id)
                self.version += 1
        return disposed

    def seats_of(self, shopper_id: str) -> list[tuple[RoomInfo, int]]:
        """Every seat (room, avatar id) that this shopper joined with."""
        return [(info, avatar_id) for info in self.rooms.values()
                for avatar_id, owner in info.seat_shopper.items() if owner == shopper_id]

    def kept(self) -> list[dict]:
        """Rooms created over the API that a restart must bring back (store rooms are made at startup)."""
        return [info.record() for info in self.rooms.values() if not info.persistent]

    def restore(self, records: list[dict], now: float) -> None:
        for r in records:
            if r.get("id") in self.rooms:
                continue
            try:
                self.create(r["name"], r["scene"], now, private=r["private"], capacity=r["capacity"],
                            room_id=r["id"], interest=InterestConfig(all_to_all_limit=r["interest_limit"]),
                            created_by=r.get("created_by"), exempt=True, invite_code=r.get("invite_code"))
            except (KeyError, TypeError, ValueError, OSError, RoomError):
                continue  # a scene that no longer exists, or a damaged record: skip it, keep the rest
