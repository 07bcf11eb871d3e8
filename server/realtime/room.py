"""A room: seats, the authoritative pose state of every avatar and its history, validated. Sans-I/O.

Adapters call `receive_pose`, `teleport`, `connect`/`disconnect` as messages arrive and `tick(now)` on the
clock. What each client was sent and acknowledged is not the room's business: it lives in the client's
`ClientSync` (server/realtime/sync.py), and server/realtime/snapshots.py cuts the frames from the room's state.
Nothing here touches sockets, clocks or storage.
"""

from __future__ import annotations

import functools
import itertools
import secrets
from collections import deque
from dataclasses import dataclass, field

import numpy as np

from server.realtime import codec, kernels
from server.realtime.interest import InterestConfig
from server.realtime.pose import (
    BODY,
    HEAD,
    KIND_POSE_UPLOAD,
    LEFT_CONTROLLER,
    LEFT_HAND,
    N_BODY_JOINTS,
    N_COMPONENTS,
    N_HAND_JOINTS,
    PART_FLOATS,
    PART_OFFSETS,
    RIGHT_CONTROLLER,
    RIGHT_HAND,
    UPLOAD_HEADER,
    UPLOAD_TRIGGERS,
    VALID_PRESENCE_MASK,
    part_float_offsets,
    upload_size,
    valid_upload_presence,
)
from server.realtime.quantize import quantize_positions_mm, quantize_quats
from server.realtime.quat import quat_mul
from server.realtime.rules import RoomRules
from server.realtime.sync import HISTORY  # ticks of past states kept for delta baselines

_FACE_MINUS_Z = np.array([0.0, 1.0, 0.0, 0.0])  # half a turn about +Y
_UPLOAD_SIZES = {p: upload_size(p) for p in range(256) if valid_upload_presence(p)}

_NON_FINITE = ("pose_non_finite", "pose has NaN or infinite values; it was ignored")
_BAD_ROTATION = ("pose_bad_rotation", "pose rotations must be unit quaternions (x, y, z, w); it was ignored")
# head and controllers only: the presence bits the compiled tick handles (server/realtime/kernels.py)
_SIMPLE_PRESENCE = (1 << HEAD) | (1 << LEFT_CONTROLLER) | (1 << RIGHT_CONTROLLER)
_SIMPLE_COMPONENTS = PART_OFFSETS[LEFT_HAND]  # their state columns: the first 21

MAX_AVATAR_ID = 0x7FFF
INITIAL_SLOTS = 8
NONCE_BYTES = 8
DEFAULT_EYE_HEIGHT = 1.6


class RoomFull(Exception):
    pass


class UnknownAvatar(KeyError):
    pass


@dataclass
class Rejection:
    """A pose the room refused or corrected; `code` is a stable string (docs/PROTOCOL.md, errors)."""

    avatar_id: int
    code: str
    message: str


@dataclass
class Avatar:
    id: int
    slot: int
    name: str
    external: bool  # driven by a mocap source, not a websocket client
    joined_tick: int
    connected: bool = False
    visible: bool = False
    # Drawn when the seat is reserved; seat tokens carry it, so they die with the seat (ids are reused).
    nonce: bytes = field(default_factory=lambda: secrets.token_bytes(NONCE_BYTES))
    ever_connected: bool = False  # a join token opens a seat once; reconnects present the resume token
    dropped_at: float | None = None
    height: float | None = None  # metres, as the shopper's client reported it (`profile`)
    held: str | None = None  # the product id in its hand (`hold`)


@dataclass
class TickOutput:
    tick: int
    rejections: list[Rejection]
    removed: list[int]  # avatars whose grace period ran out this tick
    appeared: list[int] = field(default_factory=list)  # external (mocap) avatars visible from this tick


class Room:
    def __init__(
        self,
        room_id: str,
        rules: RoomRules | None = None,
        capacity: int = 64,
        interest: InterestConfig | None = None,
        drop_grace_s: float = 20.0,
    ) -> None:
        if not 1 <= capacity <= MAX_AVATAR_ID:
            raise ValueError("capacity must be between 1 and 32767")
        self.id = room_id
        self.rules = rules or RoomRules()
        self.capacity = capacity
        self.interest = interest or InterestConfig()
        self.drop_grace_s = drop_grace_s
        self.tick_no = 0
        self.avatars: dict[int, Avatar] = {}
        # Per-slot arrays are allocated for the seats in use and grow by doubling up to `capacity`, so an
        # empty room costs kilobytes whatever capacity it was created with.
        self.allocated = 0
        self._by_slot: list[Avatar | None] = []
        self._ids = itertools.count(1)
        self._released_ids: deque[tuple[int, int]] = deque()  # (tick released, id), reused once stale
        self._spawn_cycle = itertools.cycle(range(len(self.rules.spawn_points)))
        self._grow(min(capacity, INITIAL_SLOTS))
        self._pending: dict[int, tuple[int, bytes, float]] = {}  # slot -> latest upload this tick
        self._pending_triggers: dict[int, bytes] = {}  # slot -> its trigger bytes (uploads with presence bit 6)
        self._external: dict[int, tuple[np.ndarray, np.ndarray, float]] = {}
        self._teleports: dict[int, np.ndarray] = {}
        self.counters: dict[str, int] = {}
        self._visible_slots: np.ndarray | None = None  # sorted slots of visible avatars, rebuilt on change
        # Whether any avatar ever had hands or a body here (state columns past the first 21): until then the
        # tick copies and checks only the head and controller columns
        self._wide = False
        lo, hi = np.asarray(self.rules.bounds_min), np.asarray(self.rules.bounds_max)
        # where a head may be: inside the store, between head_min_y and head_max_y above its floor
        self._head_box = (lo + (0, self.rules.head_min_y, 0), np.array([hi[0], lo[1] + self.rules.head_max_y, hi[2]]))
        usable, area = self.rules.kernel_walkable()
        self._walk = kernels.walk_arrays(area) if kernels.ENABLED and usable else None  # None: numpy path only

    def _grow(self, size: int) -> None:
        """Reallocate every per-slot array for `size` slots, keeping what is there."""
        old = self.allocated

        def grown(array: np.ndarray | None, shape: tuple[int, ...], dtype, axes: tuple[int, ...]) -> np.ndarray:
            new = np.zeros(shape, dtype=dtype)
            if array is not None and old:
                new[tuple(slice(0, old) if i in axes else slice(None) for i in range(len(shape)))] = array
            return new

        n = N_COMPONENTS
        self.state = grown(getattr(self, "state", None), (size, n), np.int32, (0,))
        self.presence = grown(getattr(self, "presence", None), (size,), np.uint8, (0,))
        self.head_pos = grown(getattr(self, "head_pos", None), (size, 3), np.float64, (0,))
        self.last_pose_time = grown(getattr(self, "last_pose_time", None), (size,), np.float64, (0,))
        self.slot_ids = grown(getattr(self, "slot_ids", None), (size,), np.int32, (0,))
        self.slot_joined = grown(getattr(self, "slot_joined", None), (size,), np.int64, (0,))
        # controllers' trigger values 0..255 from the newest accepted upload (-1: not sent); never in snapshots
        self.trigger = grown(getattr(self, "trigger", None), (size, 2), np.int16, (0,))
        self.trigger[old:] = -1
        self._hist_state = grown(getattr(self, "_hist_state", None), (HISTORY, size, n), np.int32, (1,))
        self._hist_presence = grown(getattr(self, "_hist_presence", None), (HISTORY, size), np.uint8, (1,))
        self._by_slot.extend([None] * (size - old))
        self.allocated = size

    def _visible_changed(self) -> None:
        self._visible_slots = None

    def _becomes_visible(self, avatar: Avatar) -> None:
        # From the next frame on; no earlier frame carried it, so no earlier tick can be its baseline.
        avatar.visible = True
        self.slot_joined[avatar.slot] = self.tick_no + 1
        self._visible_changed()

    # ------------------------------------------------------------------ seats
    def __len__(self) -> int:
        return len(self.avatars)

    def add_avatar(self, name: str, now: float, external: bool = False) -> Avatar:
        """Reserve a seat. The avatar becomes visible to others when it connects (or, if external,
        with its first pose)."""
        free = next((s for s, a in enumerate(self._by_slot) if a is None), None)
        if free is None:
            if self.allocated >= self.capacity:
                raise RoomFull(f"room {self.id} is full ({self.capacity} seats)")
            free = self.allocated
            self._grow(min(self.capacity, 2 * self.allocated))
        avatar_id = self._next_avatar_id()
        avatar = Avatar(avatar_id, free, name, external, joined_tick=self.tick_no + 1)
        self.avatars[avatar_id] = avatar
        self._by_slot[free] = avatar
        self.slot_ids[free] = avatar_id
        self.slot_joined[free] = self.tick_no + 1
        self._place_at_spawn(free, now)
        return avatar

    def _next_avatar_id(self) -> int:
        """A fresh id, or one released longer ago than any client keeps history (clients key their delta
        baselines by avatar id, and a `left` message has reached them long before)."""
        if self._released_ids and self._released_ids[0][0] < self.tick_no - HISTORY:
            return self._released_ids.popleft()[1]
        avatar_id = next(self._ids)
        if avatar_id > MAX_AVATAR_ID:
            raise RoomFull("this room has no free avatar ids right now; try again in a few seconds")
        return avatar_id

    def _place_at_spawn(self, slot: int, now: float) -> None:
        spawn = np.array(self.rules.spawn_points[next(self._spawn_cycle)], dtype=np.float64)
        head = spawn + (0.0, DEFAULT_EYE_HEIGHT, 0.0)
        self.head_pos[slot] = head
        self.last_pose_time[slot] = now
        self.state[slot] = 0
        self.state[slot, 0:3] = quantize_positions_mm(head)
        self.state[slot, 3:7] = quantize_quats(np.array([0.0, 0.0, 0.0, 1.0]))
        self.presence[slot] = 1 << HEAD
        self.trigger[slot] = -1

    def spawn_position(self, avatar_id: int) -> tuple[float, float, float]:
        head = self.head_pos[self._avatar(avatar_id).slot]
        return (float(head[0]), float(head[1]) - DEFAULT_EYE_HEIGHT, float(head[2]))

    def remove_avatar(self, avatar_id: int) -> None:
        avatar = self.avatars.pop(avatar_id, None)
        if avatar is None:
            return
        self._by_slot[avatar.slot] = None
        self._released_ids.append((self.tick_no, avatar_id))
        self.presence[avatar.slot] = 0
        self.slot_ids[avatar.slot] = 0
        self._pending.pop(avatar.slot, None)
        self._external.pop(avatar.slot, None)
        self._visible_changed()

    def connect(self, avatar_id: int, now: float) -> Avatar:
        """Attach a websocket client to its avatar (first connect or resume within the grace period)."""
        avatar = self._avatar(avatar_id)
        if not avatar.visible:
            self._becomes_visible(avatar)
        avatar.connected, avatar.dropped_at = True, None
        avatar.ever_connected = True
        self._visible_changed()
        return avatar

    def disconnect(self, avatar_id: int, now: float) -> None:
        """The transport dropped: the avatar stays (frozen) until the grace period ends."""
        avatar = self.avatars.get(avatar_id)
        if avatar is not None and avatar.connected:
            avatar.connected, avatar.dropped_at = False, now
            self._pending.pop(avatar.slot, None)

    def _avatar(self, avatar_id: int) -> Avatar:
        try:
            return self.avatars[avatar_id]
        except KeyError:
            raise UnknownAvatar(avatar_id) from None

    def roster(self) -> list[dict]:
        return [self.describe(a) for a in self.avatars.values() if a.visible]

    @staticmethod
    def describe(avatar: Avatar) -> dict:
        """An avatar as the roster and `joined` carry it."""
        entry = {"id": avatar.id, "name": avatar.name, "external": avatar.external, "height": avatar.height}
        if avatar.held is not None:
            entry["held"] = avatar.held
        return entry

    def set_name(self, avatar_id: int, name: str) -> None:
        self._avatar(avatar_id).name = name

    def set_height(self, avatar_id: int, height: float) -> None:
        self._avatar(avatar_id).height = height

    def set_held(self, avatar_id: int, product: str | None) -> bool:
        """Whether it changed."""
        avatar = self._avatar(avatar_id)
        changed = avatar.held != product
        avatar.held = product
        return changed

    # ------------------------------------------------------------------ inputs
    def receive_pose(self, avatar_id: int, data: bytes, now: float) -> Rejection | None:
        """A pose upload from the avatar's own client. Only cheap framing checks happen here; values
        are validated in bulk at the next tick. The newest upload per tick wins."""
        avatar = self.avatars.get(avatar_id)
        if avatar is None:
            raise UnknownAvatar(avatar_id)
        if len(data) < UPLOAD_HEADER.size:
            return self._reject(avatar_id, "pose_malformed", "pose upload shorter than its 8-byte header")
        kind, presence, _seq, _ack = UPLOAD_HEADER.unpack_from(data)
        if kind != KIND_POSE_UPLOAD:
            return self._reject(avatar_id, "pose_malformed", f"unknown binary frame kind {kind}")
        expected = _UPLOAD_SIZES.get(presence)
        if expected is None:
            return self._reject(avatar_id, "pose_malformed",
                                "presence byte must set bit 0 (head) and only bits 0-5 (bit 6 with a controller)")
        if len(data) != expected:
            return self._reject(
                avatar_id, "pose_malformed",
                f"pose upload with presence {presence:#04x} must be {upload_size(presence)} bytes, got {len(data)}",
            )
        if presence & UPLOAD_TRIGGERS:  # trigger bytes after the floats: the floats are laid out as without them
            presence &= VALID_PRESENCE_MASK
            cut = upload_size(presence)
            data, self._pending_triggers[avatar.slot] = data[:cut], data[cut:]
        elif self._pending_triggers:
            self._pending_triggers.pop(avatar.slot, None)
        self._pending[avatar.slot] = (presence, data, now)
        return None

    def teleport(self, avatar_id: int, target: tuple[float, float, float]) -> Rejection | None:
        """Move an avatar's floor position instantly, within range and onto walkable floor. It takes effect
        with the avatar's next pose upload, which should already be at the target."""
        avatar = self._avatar(avatar_id)
        to = np.asarray(target, dtype=np.float64)
        if to.shape != (3,) or not np.isfinite(to).all():
            return self._reject(avatar_id, "teleport_invalid", "teleport target must be three finite numbers")
        here = self.head_pos[avatar.slot]
        if np.hypot(to[0] - here[0], to[2] - here[2]) > self.rules.teleport_range_m:
            return self._reject(avatar_id, "teleport_too_far", f"teleport at most {self.rules.teleport_range_m} m")
        if not self._inside(to[None, :])[0] or not self.rules.walkable_mask(to[None, [0, 2]])[0]:
            return self._reject(avatar_id, "teleport_blocked", "teleport target is not walkable floor")
        self._teleports[avatar.slot] = to
        return None

    def head_of(self, avatar_id: int) -> np.ndarray:
        """The avatar's head position as the server last accepted it (metres)."""
        return self.head_pos[self._avatar(avatar_id).slot].copy()

    def place_beside(self, avatar_id: int, other_id: int) -> tuple[float, float, float] | Rejection:
        """Teleport an avatar next to another (a friend's "jump to"), whatever the distance: the first walkable
        floor point on rings of 1.0 and 1.6 m around the other's head. The floor point, or a rejection."""
        avatar, other = self._avatar(avatar_id), self._avatar(other_id)
        centre = self.head_pos[other.slot]
        floor_y = float(centre[1]) - DEFAULT_EYE_HEIGHT
        angles = np.linspace(0.0, 2 * np.pi, 12, endpoint=False)
        for radius in (1.0, 1.6):
            spots = np.stack([centre[0] + radius * np.cos(angles), np.full_like(angles, floor_y),
                              centre[2] + radius * np.sin(angles)], axis=1)
            ok = self._inside(spots) & self.rules.walkable_mask(spots[:, [0, 2]])
            if ok.any():
                spot = spots[int(np.argmax(ok))]
                self._teleports[avatar.slot] = spot
                return (float(spot[0]), float(spot[1]), float(spot[2]))
        return self._reject(avatar_id, "teleport_blocked", "no walkable floor next to them")

    def apply_external_pose(self, avatar_id: int, now: float, hips_pos: np.ndarray, body_rots: np.ndarray) -> None:
        """A full-body pose from a mocap source bound to this avatar (hips world position, 22 local
        rotations xyzw). Raises ValueError when the pose is not usable."""
        avatar = self._avatar(avatar_id)
        hips = np.asarray(hips_pos, dtype=np.float64).reshape(3)
        rots = np.asarray(body_rots, dtype=np.float64).reshape(N_BODY_JOINTS, 4)
        if not (np.isfinite(hips).all() and np.isfinite(rots).all()):
            raise ValueError("body pose has non-finite values")
        norms = np.linalg.norm(rots, axis=1)
        if np.any(np.abs(norms - 1.0) > 0.1):
            raise ValueError("body rotations must be unit quaternions")
        if not self._inside(hips[None, :])[0]:
            raise ValueError("hips are outside the store's bounds")
        self._external[avatar.slot] = (hips, rots / norms[:, None], now)

    def _reject(self, avatar_id: int, code: str, message: str) -> Rejection:
        self.counters[code] = self.counters.get(code, 0) + 1
        return Rejection(avatar_id, code, message)

    # ------------------------------------------------------------------ the tick
    def tick(self, now: float) -> TickOutput:
        """Advance the world one step; the snapshot planner then cuts the clients' frames from it."""
        self.tick_no += 1
        t = self.tick_no
        rejections = self._apply_uploads(now)
        appeared = self._apply_external(now)
        removed = self._expire_dropped(now)
        h = t % HISTORY
        if self._wide:
            self._hist_state[h] = self.state
        else:  # only heads and controllers so far: the other columns are zero everywhere, history included
            self._hist_state[h, :, :_SIMPLE_COMPONENTS] = self.state[:, :_SIMPLE_COMPONENTS]
        self._hist_presence[h] = self.presence
        return TickOutput(t, rejections, removed, appeared)

    def _expire_dropped(self, now: float) -> list[int]:
        gone = [
            a.id for a in self.avatars.values()
            if a.dropped_at is not None and now - a.dropped_at > self.drop_grace_s
        ]
        for avatar_id in gone:
            self.remove_avatar(avatar_id)
        return gone

    def _inside(self, pos: np.ndarray) -> np.ndarray:
        lo, hi = np.asarray(self.rules.bounds_min), np.asarray(self.rules.bounds_max)
        return np.all((pos >= lo - 1e-9) & (pos <= hi + 1e-9), axis=1)

    def _apply_uploads(self, now: float) -> list[Rejection]:
        if not self._pending:
            return []
        pending, self._pending = self._pending, {}
        triggers, self._pending_triggers = self._pending_triggers, {}
        groups: dict[int, list[tuple[int, bytes, float]]] = {}
        for slot, (presence, data, received) in pending.items():
            groups.setdefault(presence, []).append((slot, data, received))
        rejections: list[Rejection] = []
        for presence, items in groups.items():
            rejections += self._apply_group(presence, items, now, triggers)
        return rejections

    def _apply_group(self, presence: int, items: list[tuple[int, bytes, float]], now: float,
                     triggers: dict[int, bytes] | None = None) -> list[Rejection]:
        """Validate and quantize every upload with the same layout at once."""
        slot_list, uploads, received_list = zip(*items, strict=True)
        slots = np.array(slot_list, dtype=np.intp)
        received = np.array(received_list)
        # whole uploads side by side, then the 8-byte header (two floats' worth) cut off every row
        n_floats = (len(uploads[0]) - UPLOAD_HEADER.size) // 4
        raw = np.frombuffer(b"".join(uploads), dtype="<f4").reshape(len(items), n_floats + UPLOAD_HEADER.size // 4)
        raw = raw[:, UPLOAD_HEADER.size // 4 :].copy()  # C-contiguous and writable, whatever the row count
        if presence > _SIMPLE_PRESENCE:
            self._wide = True
        elif self._walk is not None and not self._teleports:
            return self._apply_simple(presence, slots, raw, received, triggers)
        values = raw.astype(np.float64)
        layout = _layout(presence)
        offsets = layout.offsets
        rejections: list[Rejection] = []

        ok = np.isfinite(values).all(axis=1)
        quats = values[:, layout.quat_floats].reshape(len(items), -1, 4)  # every rotation of every part
        norms = np.sqrt(np.einsum("nki,nki->nk", quats, quats))
        quat_ok = (np.abs(norms - 1.0) <= 0.05).all(axis=1)
        good = ok & quat_ok
        if not good.all():
            for i in np.flatnonzero(~ok):
                rejections.append(self._reject(int(self.slot_ids[slots[i]]), *_NON_FINITE))
            for i in np.flatnonzero(ok & ~quat_ok):
                rejections.append(self._reject(int(self.slot_ids[slots[i]]), *_BAD_ROTATION))
            if not good.any():
                return rejections
            slots, values, received = slots[good], values[good], received[good]

        # Head: bounds, speed, walkable floor. The server's answer is what everyone sees.
        head = values[:, 0:3].copy()
        if self._teleports:
            for slot in slots:
                to = self._teleports.pop(int(slot), None)
                if to is not None:  # the floor position moved; keep the headset's height above it
                    self.head_pos[slot, [0, 2]] = to[[0, 2]]
        prev = self.head_pos[slots]
        clamped = np.clip(head, *self._head_box)
        step = clamped[:, [0, 2]] - prev[:, [0, 2]]
        dist = np.hypot(step[:, 0], step[:, 1])
        dt = np.maximum(received - self.last_pose_time[slots], 1.0 / 60.0)
        max_step = self.rules.max_speed_mps * dt + 0.05
        too_fast = dist > max_step
        scale = np.where(too_fast, max_step / np.maximum(dist, 1e-9), 1.0)
        clamped[:, [0, 2]] = prev[:, [0, 2]] + step * scale[:, None]
        blocked = ~self.rules.walkable_mask(clamped[:, [0, 2]])
        clamped[blocked, 0] = prev[blocked, 0]
        clamped[blocked, 2] = prev[blocked, 2]
        corrected = too_fast | blocked | np.any(np.abs(clamped - head) > 1e-6, axis=1)
        if corrected.any():
            self.counters["pose_corrected"] = self.counters.get("pose_corrected", 0) + int(corrected.sum())
        self.head_pos[slots] = clamped
        self.last_pose_time[slots] = received

        new_presence = np.full(len(slots), presence, dtype=np.uint8)
        states = np.zeros((len(slots), N_COMPONENTS), dtype=np.int32)
        n = len(slots)
        states[:, 0:3] = quantize_positions_mm(clamped)
        # The head's and the controllers' rotations in one go (their layouts are the same)
        states[:, layout.simple_quat_comps] = quantize_quats(
            values[:, layout.simple_quat_floats].reshape(n, -1, 4)).reshape(n, -1)
        if layout.controllers:
            rel = values[:, layout.controller_pos_floats].reshape(n, -1, 3) - head[:, None, :]
            states[:, layout.controller_pos_comps] = quantize_positions_mm(rel).reshape(n, -1)
            out_of_reach = np.einsum("nki,nki->nk", rel, rel) > self.rules.reach_m ** 2
            for i, part in enumerate(layout.controllers):
                self._drop_part(new_presence, states, part, out_of_reach[:, i], "controller_out_of_reach")
        for part, at in offsets.items():
            if part <= 2:  # head and controllers: done above
                continue
            block = values[:, at : at + PART_FLOATS[part]]
            if part in (LEFT_HAND, RIGHT_HAND):
                self._quantize_hands(part, block, head, states, new_presence)
            else:  # body
                rel = block[:, 0:3] - head
                reach = np.linalg.norm(rel, axis=1) <= self.rules.reach_m + 0.5
                o = PART_OFFSETS[BODY]
                states[:, o : o + 3] = quantize_positions_mm(rel)
                states[:, o + 3 : o + 3 + 4 * N_BODY_JOINTS] = quantize_quats(
                    block[:, 3:].reshape(-1, N_BODY_JOINTS, 4)
                ).reshape(len(slots), -1)
                self._drop_part(new_presence, states, BODY, ~reach, "body_out_of_reach")
        self.state[slots] = states
        self.presence[slots] = new_presence
        self._store_triggers(slots, presence, new_presence, triggers or {})
        self.counters["poses_accepted"] = self.counters.get("poses_accepted", 0) + len(slots)
        return rejections

    def _apply_simple(self, presence: int, slots: np.ndarray, values: np.ndarray, received: np.ndarray,
                      triggers: dict[int, bytes] | None) -> list[Rejection]:
        """_apply_group's work in one compiled loop (server/realtime/kernels.py), for heads and controllers."""
        layout = _layout(presence)
        status = np.empty(len(slots), dtype=np.int8)
        rules = self.rules
        accepted, corrected, left_dropped, right_dropped = kernels.apply_simple(
            values, slots, received, layout.controller_parts, layout.controller_at, presence, self.head_pos,
            self.last_pose_time, self.state, self.presence, self._head_box[0], self._head_box[1],
            float(rules.max_speed_mps), float(rules.reach_m) ** 2, *self._walk, status)
        rejections: list[Rejection] = []
        if accepted < len(slots):
            for code, message in ((kernels.NON_FINITE, _NON_FINITE), (kernels.BAD_ROTATION, _BAD_ROTATION)):
                for i in np.flatnonzero(status == code):
                    rejections.append(self._reject(int(self.slot_ids[slots[i]]), *message))
            slots = slots[status == kernels.OK]
        counters = self.counters
        for name, count in (("pose_corrected", corrected), ("controller_out_of_reach", left_dropped + right_dropped)):
            if count:
                counters[name] = counters.get(name, 0) + int(count)
        if accepted:
            self._store_triggers(slots, presence, self.presence[slots], triggers or {})
            counters["poses_accepted"] = counters.get("poses_accepted", 0) + int(accepted)
        return rejections

    def _store_triggers(self, slots: np.ndarray, uploaded: int, presence: np.ndarray,
                        triggers: dict[int, bytes]) -> None:
        """Trigger values of the accepted uploads (one byte per uploaded controller, left first), kept for the
        controllers still present after the checks; -1 where none was sent."""
        self.trigger[slots] = -1
        if not triggers:
            return
        sides = [side for side, part in enumerate((LEFT_CONTROLLER, RIGHT_CONTROLLER)) if uploaded >> part & 1]
        for i, slot in enumerate(slots.tolist()):
            sent = triggers.get(slot)
            if sent:
                for side, value in zip(sides, sent, strict=True):
                    if presence[i] >> (LEFT_CONTROLLER + side) & 1:
                        self.trigger[slot, side] = value

    def _drop_part(self, presence: np.ndarray, states: np.ndarray, part: int, bad: np.ndarray, code: str) -> None:
        if bad.any():
            presence[bad] &= ~np.uint8(1 << part)
            states[bad, PART_OFFSETS[part] : PART_OFFSETS[part + 1]] = 0
            self.counters[code] = self.counters.get(code, 0) + int(bad.sum())

    def _quantize_hands(
        self, part: int, block: np.ndarray, head: np.ndarray, states: np.ndarray, presence: np.ndarray
    ) -> None:
        joints = block.reshape(-1, N_HAND_JOINTS, 7)
        pos, rot = joints[:, :, 0:3], joints[:, :, 3:7]
        wrist = pos[:, 0]
        span_ok = np.all(np.linalg.norm(pos - wrist[:, None, :], axis=2) <= self.rules.hand_span_m, axis=1)
        reach_ok = np.linalg.norm(wrist - head, axis=1) <= self.rules.reach_m
        try:
            from server.realtime import hand_model
        except ImportError:  # articulated hands not available in this build: keep the wrist only
            hand_model = None
        o = PART_OFFSETS[part]
        side = np.full(len(block), 0 if part == LEFT_HAND else 1)
        params = None
        if hand_model is not None:
            try:
                params = hand_model.hand_params_from_joints(pos, rot, side)
            except ValueError:  # degenerate joints the finite/unit checks let through: drop these hands
                self._drop_part(presence, states, part, np.ones(len(block), dtype=bool), "hand_unusable")
                return
        if params is not None:
            states[:, o : o + 3] = quantize_positions_mm(params.wrist_pos - head)
            states[:, o + 3 : o + 7] = quantize_quats(params.wrist_rot)
            states[:, o + 7 : o + 27] = hand_model.quantize_angles(params.angles)
            states[:, o + 27] = hand_model.quantize_scale(params.scale)
        else:
            states[:, o : o + 3] = quantize_positions_mm(wrist - head)
            states[:, o + 3 : o + 7] = quantize_quats(rot[:, 0])
        self._drop_part(presence, states, part, ~(span_ok & reach_ok), "hand_out_of_reach")

    def _apply_external(self, now: float) -> list[int]:
        if not self._external:
            return []
        self._wide = True
        from server.realtime.body import head_from_body

        appeared = []  # small FK; only mocap avatars need it

        for slot, (hips, rots, _t) in self._external.items():
            avatar = self._by_slot[slot]
            if avatar is None:
                continue
            head_pos, head_rot = head_from_body(hips, rots)
            # the head joint faces +Z (T-pose); a head part looks down its -Z, as a VR headset's does
            head_rot = quat_mul(head_rot, _FACE_MINUS_Z)
            self.head_pos[slot] = head_pos
            st = np.zeros(N_COMPONENTS, dtype=np.int32)
            st[0:3] = quantize_positions_mm(head_pos)
            st[3:7] = quantize_quats(head_rot)
            o = PART_OFFSETS[BODY]
            st[o : o + 3] = quantize_positions_mm(hips - head_pos)
            st[o + 3 : o + 3 + 4 * N_BODY_JOINTS] = quantize_quats(rots).reshape(-1)
            self.state[slot] = st
            self.presence[slot] = (1 << HEAD) | (1 << BODY)
            if not avatar.visible:
                self._becomes_visible(avatar)
                appeared.append(avatar.id)
        self._external.clear()
        return appeared

    # ------------------------------------------------------------------ snapshots
    def visible_slots(self) -> np.ndarray:
        """Sorted slots of the visible avatars (the same array object until the set changes)."""
        if self._visible_slots is None:
            self._visible_slots = np.array(sorted(a.slot for a in self.avatars.values() if a.visible), dtype=np.intp)
        return self._visible_slots

    def encode(self, slots: np.ndarray, baseline: int) -> codec.EncodedBlocks:
        """The blocks of these avatars at the current tick: absolute (baseline 0) or against that tick."""
        if baseline == 0:
            return codec.encode_absolute(self.slot_ids[slots], self.state[slots], self.presence[slots])
        h = baseline % HISTORY
        base_presence = self._hist_presence[h]
        # compiled (kernels.ENABLED) when no avatar has hands or a body (bits 3-5), now or at the baseline
        if self._walk is not None and (
                not self._wide or int((self.presence[slots] | base_presence[slots]).max(initial=0)) <= 7):
            return kernels.encode_delta_simple(slots, self.slot_ids, self.state, self.presence, self._hist_state[h],
                                               base_presence)
        return codec.encode_delta(self.slot_ids[slots], self.state[slots], self.presence[slots],
                                  self._hist_state[h, slots], base_presence[slots])


def warm_compiled_tick() -> None:
    """Compile (or load from numba's cache) the kernels a tick uses, by running one tiny room: done at startup so
    that the first shopper's tick does not stall for the seconds a first compilation takes."""
    if not kernels.ENABLED:
        return
    room = Room("warm-up", RoomRules(), capacity=1)
    avatar = room.add_avatar("warm-up", 0.0)
    room.connect(avatar.id, 0.0)
    pose = np.array([0, 1.6, 0, 0, 0, 0, 1, -0.2, 1.2, 0.3, 0, 0, 0, 1, 0.2, 1.2, 0.3, 0, 0, 0, 1], dtype="<f4")
    for tick in (1, 2):
        room.receive_pose(avatar.id, UPLOAD_HEADER.pack(KIND_POSE_UPLOAD, 7, tick, 0) + pose.tobytes(), tick / 60)
        room.tick(tick / 60)
    room.encode(room.visible_slots(), 1)


@dataclass(frozen=True)
class _Layout:
    """Where things are in an upload with one presence byte, as index arrays (built once per presence)."""

    offsets: dict[int, int]  # part -> first float
    quat_floats: np.ndarray  # float columns of every rotation of every present part, 4 by 4
    simple_quat_floats: np.ndarray  # the head's and the controllers' rotations
    simple_quat_comps: np.ndarray  # where their quantized rotations go in the state
    controllers: tuple[int, ...]
    controller_pos_floats: np.ndarray
    controller_pos_comps: np.ndarray
    controller_parts: np.ndarray  # the controllers present (1 left, 2 right), for kernels.apply_simple
    controller_at: np.ndarray  # the first float of each


@functools.cache
def _layout(presence: int) -> _Layout:
    offsets = part_float_offsets(presence)
    quat_floats, simple_q, simple_qc, ctrl_p, ctrl_pc = [], [], [], [], []
    for part, at in offsets.items():
        if part <= 2:
            simple_q += range(at + 3, at + 7)
            simple_qc += range(PART_OFFSETS[part] + 3, PART_OFFSETS[part] + 7)
            quat_floats += range(at + 3, at + 7)
            if part:
                ctrl_p += range(at, at + 3)
                ctrl_pc += range(PART_OFFSETS[part], PART_OFFSETS[part] + 3)
        elif part in (LEFT_HAND, RIGHT_HAND):
            quat_floats += [at + 7 * j + c for j in range(N_HAND_JOINTS) for c in range(3, 7)]
        else:
            quat_floats += range(at + 3, at + 3 + 4 * N_BODY_JOINTS)
    def index(values: list[int]) -> np.ndarray:
        return np.array(values, dtype=np.intp)
    controllers = tuple(p for p in offsets if p in (1, 2))
    return _Layout(offsets, index(quat_floats), index(simple_q), index(simple_qc), controllers, index(ctrl_p),
                   index(ctrl_pc), np.array(controllers, dtype=np.int64),
                   np.array([offsets[p] for p in controllers], dtype=np.int64))
