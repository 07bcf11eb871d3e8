"""Pay with a pinch (or a trigger hold): the server watches the hands and controllers of shoppers whose checkout
waits for confirmation.

A seat is linked to a shopper when the join request carries `X-Shopper-Key`. When that shopper's checkout
is awaiting confirmation, each of the seat's hands gets a `PinchHold` and each controller a `TriggerHold`
(its trigger value travels with the pose upload); every tick the hands are read from the
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
from server.gestures.trigger import TriggerConfig, TriggerHold
from server.realtime.pose import LEFT_CONTROLLER, LEFT_HAND, PART_OFFSETS, RIGHT_CONTROLLER, RIGHT_HAND
from server.realtime.room import Room

log = logging.getLogger(__name__)
HANDS = (("left", LEFT_HAND), ("right", RIGHT_HAND))
CONTROLLERS = (("left", LEFT_CONTROLLER), ("right", RIGHT_CONTROLLER))
PROGRESS_EVERY = 3  # ticks between progress messages while holding (20 a second)
STALE_S = 0.5  # a seat whose newest upload is older than this is not tracked (a frozen pose never confirms)


@dataclass
class Watch:
    room_id: str
    avatar_id: int
    shopper_id: str
    checkout_id: str
    hands: dict[str, PinchHold] = field(default_factory=dict)
    triggers: dict[str, TriggerHold] = field(default_factory=dict)
    sent_at: int = -PROGRESS_EVERY
    sent_progress: float = 0.0
    done: bool = False


class GestureConfirmations:
    def __init__(self, confirm: Callable[[str, str], Awaitable[dict[str, Any]]],
                 send: Callable[[str, int, dict[str, Any]], None], cfg: PinchConfig | None = None,
                 trigger_cfg: TriggerConfig | None = None) -> None:
        self.confirm, self.send, self.cfg = confirm, send, cfg or PinchConfig()
        self.trigger_cfg = trigger_cfg or TriggerConfig()
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
        triggers = self._triggers(room, avatar_id, None)
        for name, _part in CONTROLLERS:
            trigger = watch.triggers[name] = TriggerHold(self.trigger_cfg)
            value = triggers[name]
            trigger.arm(pressed_now=value is not None and value >= self.trigger_cfg.release)

    def disarm(self, room_id: str, avatar_id: int) -> None:
        self.watches.pop((room_id, avatar_id), None)

    def disarm_checkout(self, checkout_id: str) -> None:
        for key in [k for k, w in self.watches.items() if w.checkout_id == checkout_id]:
            del self.watches[key]

    def _triggers(self, room: Room, avatar_id: int, now: float | None) -> dict[str, float | None]:
        """Trigger value 0..1 per present controller that sent one (None: absent, stale or no value)."""
        avatar = room.avatars.get(avatar_id)
        found: dict[str, float | None] = {"left": None, "right": None}
        if avatar is None or (now is not None and now - room.last_pose_time[avatar.slot] > STALE_S):
            return found
        for side, (name, part) in enumerate(CONTROLLERS):
            value = int(room.trigger[avatar.slot, side])
            if room.presence[avatar.slot] >> part & 1 and value >= 0:
                found[name] = value / 255.0
        return found

    def _features(self, room: Room, avatar_id: int,
                  now: float | None = None) -> dict[str, tuple[float, float, np.ndarray] | None]:
        """(tip distance, clench, wrist world position) per tracked hand of one avatar (none if its newest upload
        is older than STALE_S at `now`: a client that stopped sending leaves a frozen pose behind)."""
        avatar = room.avatars.get(avatar_id)
        found: dict[str, tuple[float, float, np.ndarray] | None] = {"left": None, "right": None}
        if avatar is None or (now is not None and now - room.last_pose_time[avatar.slot] > STALE_S):
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
            features = self._features(room, watch.avatar_id, now)
            triggers = self._triggers(room, watch.avatar_id, now)
            best = 0.0
            holds = [(name, hold, hold.update(now, f is not None, *(f if f is not None else ())))
                     for name, hold in watch.hands.items() for f in (features[name],)]
            holds += [(name, trigger, trigger.update(now, triggers[name] is not None, triggers[name]))
                      for name, trigger in watch.triggers.items()]
            for name, hold, event in holds:
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
