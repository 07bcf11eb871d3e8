"""Pay with a pinch: the server watches the hands of shoppers whose checkout waits for confirmation.

A seat is linked to a shopper when the join request carries `X-Shopper-Key`. When that shopper's checkout
is awaiting confirmation, each of the seat's hands gets a `PinchHold`; every tick the hands are read from the
room's own state (the server's fit of what the client uploaded: a client cannot send "confirmed"), progress
goes to that seat only (`{"t": "confirm_progress", ...}`), and a completed hold confirms the checkout through
the shop, once, under the checkout's idempotency key. Sans-I/O apart from `confirm`, an async callable.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from server.gestures.pinch import PinchConfig, PinchHold, hand_features
from server.realtime.pose import LEFT_HAND, PART_OFFSETS, RIGHT_HAND
from server.realtime.room import Room

log = logging.getLogger(__name__)
HANDS = (("left", LEFT_HAND), ("right", RIGHT_HAND))
PROGRESS_EVERY = 3  # ticks between progress messages while holding (20 a second)


@dataclass
class Watch:
    room_id: str
    avatar_id: int
    shopper_id: str
    checkout_id: str
    hands: dict[str, PinchHold] = field(default_factory=dict)
    sent_at: int = -PROGRESS_EVERY
    sent_progress: float = 0.0
    done: bool = False


class GestureConfirmations:
    def __init__(self, confirm: Callable[[str, str], Awaitable[dict[str, Any]]],
                 send: Callable[[str, int, dict[str, Any]], None], cfg: PinchConfig | None = None) -> None:
        self.confirm, self.send, self.cfg = confirm, send, cfg or PinchConfig()
        self.watches: dict[tuple[str, int], Watch] = {}
        self.pending: list[Awaitable[Any]] = []  # confirmations to run (the adapter awaits them)
        self.on_tick: Callable[[float], None] | None = None  # set by the adapter that registered it

    def arm(self, room: Room, avatar_id: int, shopper_id: str, checkout_id: str) -> None:
        key = (room.id, avatar_id)
        watch = self.watches.get(key)
        if watch is not None and watch.checkout_id == checkout_id:
            return
        watch = self.watches[key] = Watch(room.id, avatar_id, shopper_id, checkout_id)
        features = self._features(room, avatar_id)
        for name, _part in HANDS:
            hold = watch.hands[name] = PinchHold(self.cfg)
            hold.arm(pinching_now=bool(features.get(name) is not None and features[name][0] < self.cfg.off_m))

    def disarm(self, room_id: str, avatar_id: int) -> None:
        self.watches.pop((room_id, avatar_id), None)

    def disarm_checkout(self, checkout_id: str) -> None:
        for key in [k for k, w in self.watches.items() if w.checkout_id == checkout_id]:
            del self.watches[key]

    def _features(self, room: Room, avatar_id: int) -> dict[str, tuple[float, float, np.ndarray] | None]:
        """(tip distance, clench, wrist world position) per tracked hand of one avatar."""
        avatar = room.avatars.get(avatar_id)
        found: dict[str, tuple[float, float, np.ndarray] | None] = {"left": None, "right": None}
        if avatar is None:
            return found
        slot = avatar.slot
        for name, part in HANDS:
            if not room.presence[slot] >> part & 1:
                continue
            o = PART_OFFSETS[part]
            codes = room.state[slot, o + 7:o + 27].astype(np.uint8)[None, :]
            scale = room.state[slot, o + 27:o + 28].astype(np.uint8)
            f = hand_features(codes, scale)
            wrist = room.head_pos[slot] + room.state[slot, o:o + 3] / 1000.0
            found[name] = (float(f.tip_m[0]), float(f.clench[0]), wrist)
        return found

    def step(self, rooms: dict[str, Room], now: float) -> None:
        """Once per tick, after the rooms ticked."""
        for key, watch in list(self.watches.items()):
            room = rooms.get(watch.room_id)
            if room is None or watch.avatar_id not in room.avatars:
                del self.watches[key]
                continue
            if watch.done:
                continue
            features = self._features(room, watch.avatar_id)
            best = 0.0
            for name, hold in watch.hands.items():
                f = features[name]
                event = hold.update(now, f is not None, *(f if f is not None else ()))
                if event is not None and event.kind == "confirmed":
                    watch.done = True
                    self.send(watch.room_id, watch.avatar_id, {"t": "confirm_progress", "checkout": watch.checkout_id,
                                                               "progress": 1.0, "hand": name, "done": True})
                    self.pending.append(self._confirm(watch))
                    break
                best = max(best, hold.progress() if hold.phase == "holding" else 0.0)
            # While a hold runs, 20 progress messages a second; one 0 when it stops; nothing while idle.
            due = room.tick_no - watch.sent_at >= PROGRESS_EVERY
            if not watch.done and (best > 0 or watch.sent_progress > 0) and due:
                watch.sent_at, watch.sent_progress = room.tick_no, best
                self.send(watch.room_id, watch.avatar_id, {"t": "confirm_progress", "checkout": watch.checkout_id,
                                                           "progress": round(best, 3), "done": False})

    async def _confirm(self, watch: Watch) -> None:
        try:
            view = await self.confirm(watch.shopper_id, watch.checkout_id)
        except Exception as exc:  # e.g. the bag changed or the time ran out: say so, never crash the tick
            message = {"t": "checkout", "checkout": watch.checkout_id, "error": getattr(exc, "code", "failed"),
                       "msg": getattr(exc, "message", str(exc))}
        else:
            message = {"t": "checkout", "checkout": watch.checkout_id, "state": view["state"],
                       "reason": view.get("reason")}
        self.watches.pop((watch.room_id, watch.avatar_id), None)
        self.send(watch.room_id, watch.avatar_id, message)
