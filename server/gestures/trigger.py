"""Trigger-and-hold recognition for controllers (sans-I/O): the controller users' way to confirm a payment.

Input per tick and controller: is the controller present in the room's state, and its trigger value 0..1 from the
newest accepted upload (protocol: upload presence bit 6, docs/PROTOCOL.md section 7), or None when the client
sends no trigger values. The state machine:

- **pressed** above `press` (0.8), **released** below `release` (0.4): a trigger resting half way, or noise about
  one threshold, cannot flicker the state;
- a hold counts only if the press **starts after arming** (a trigger already held when checkout opens must be let
  go first: below `release`);
- **progress** = held time / `hold_s` (the server's clock); letting go early resets it; the controller lost
  (not in the upload, dropped by the server's checks) or its trigger value missing **cancels**, never confirms,
  and the trigger must be let go before a new hold.
"""

from __future__ import annotations

from dataclasses import dataclass

from server.gestures.pinch import HoldEvent, Phase


@dataclass(frozen=True)
class TriggerConfig:
    press: float = 0.8
    release: float = 0.4
    hold_s: float = 1.5


class TriggerHold:
    """One controller's trigger-hold state; `update` once per tick."""

    def __init__(self, cfg: TriggerConfig | None = None) -> None:
        self.cfg = cfg or TriggerConfig()
        self.phase = Phase.OPEN
        self.armed = False
        self.held_s = 0.0
        self.started: float | None = None
        self.pressed = False  # hysteresis state of the trigger

    def arm(self, pressed_now: bool = False) -> None:
        self.armed = True
        self.phase = Phase.WAIT_OPEN if pressed_now or self.pressed else Phase.OPEN
        self.held_s, self.started = 0.0, None

    def disarm(self) -> None:
        self.armed, self.phase, self.held_s, self.started = False, Phase.OPEN, 0.0, None

    def progress(self) -> float:
        return min(1.0, self.held_s / self.cfg.hold_s)

    def update(self, now: float, present: bool, value: float | None) -> HoldEvent | None:
        cfg = self.cfg
        if not present or value is None:
            self.pressed = False
            if self.phase is Phase.HOLDING:
                return self._reset(Phase.WAIT_OPEN)  # controller lost: cancel, and let go before trying again
            if self.phase is Phase.OPEN and self.armed:
                self.phase = Phase.WAIT_OPEN
            return None
        self.pressed = value > (cfg.release if self.pressed else cfg.press)
        if not self.armed or self.phase is Phase.CONFIRMED:
            return None
        if self.phase is Phase.WAIT_OPEN:
            if value < cfg.release:
                self.phase = Phase.OPEN
            return None
        if self.phase is Phase.OPEN:
            if self.pressed:
                self.phase, self.held_s, self.started = Phase.HOLDING, 0.0, now
                return HoldEvent("progress", 0.0)
            return None
        if not self.pressed:
            return self._reset(Phase.OPEN)  # let go early
        self.held_s = now - (self.started if self.started is not None else now)
        if self.held_s >= cfg.hold_s:
            self.phase = Phase.CONFIRMED
            return HoldEvent("confirmed", 1.0)
        return HoldEvent("progress", self.progress())

    def _reset(self, phase: Phase) -> HoldEvent:
        self.phase, self.held_s, self.started = phase, 0.0, None
        return HoldEvent("reset", 0.0)
