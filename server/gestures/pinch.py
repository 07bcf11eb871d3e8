"""Pinch-and-hold recognition from the hands the server already has (sans-I/O, numpy for the features).

Input per tick and hand: is the hand tracked, its 20 angle codes and scale code as the room stores them (the
server's own fit of the uploaded joints, docs/HAND_MODEL.md), and the wrist position. The recogniser decodes
the hand model, measures the thumb-tip to index-tip distance in canonical units (divided by the hand's scale,
so a small and a large hand pinch alike) and runs a small state machine per hand:

- **pinch on** below `on_m`, **off** above `off_m` (hysteresis: tracking noise near one threshold cannot
  flicker the state);
- a pinch counts only if it **starts after arming** (a hand already pinching when checkout opens must open
  first), with the middle, ring and little fingers not clenched (a fist or a grab is not a pinch), and while
  the wrist stays within `max_drift_m` of where the pinch began; a pinch that travels or clenches is a grip
  on something (a lipstick being carried), and cannot confirm until the hand has opened again;
- **progress** = held time / `hold_s`; letting go early resets it; tracking lost for longer than `max_gap_s`
  cancels, never confirms; a shorter gap pauses the clock.

Thresholds are chosen with the benchmark (`python -m server.gestures.bench`, docs/GESTURES.md).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from enum import StrEnum

import numpy as np

from server.realtime import hand_model as hm

THUMB_TIP, INDEX_TIP = 4, 9
CLENCH_FINGERS = (2, 3, 4)  # middle, ring, pinky (finger f's angles start at 4 + 4 * (f - 1))


@dataclass(frozen=True)
class PinchConfig:
    on_m: float = 0.022  # filtered tip distance (canonical hand) below which a pinch can start
    off_m: float = 0.026  # ... and above which it ends (hysteresis)
    rise_m: float = 0.015  # ... or when it opens this much from the closest it came during the hold
    approach_m: float = 0.015  # a pinch starts only if the tips closed by this much ...
    approach_s: float = 1.0  # ... within this long: a deliberate closing, not a resting thumb drifting near
    close_ratio: float = 0.5  # ... and to at most this fraction of the widest they were in that time
    open_m: float = 0.035  # a hand that must open first (after a grip, a long gap, or armed mid-pinch) opens past
    open_s: float = 0.1  # ... this, for this long (a tracking flicker of a grip that stays closed is not opening)
    hold_s: float = 1.6
    max_gap_s: float = 0.25  # tracking may drop this long without ending the hold (the clock pauses)
    max_drift_m: float = 0.08  # wrist movement allowed during the hold
    settle_m: float = 0.05  # a pinch starts only if the wrist stayed within this of where it is ...
    settle_s: float = 1.0  # ... for this long before, closing included (closing on a product while reaching: a grip)
    clench_rad: float = 2.6  # mean flexion (proximal + intermediate) above which the other fingers are a fist
    smooth_s: float = 0.1  # time constant of the tip-distance filter (tracking jitter is frame to frame)


@dataclass(frozen=True)
class HandFeatures:
    tip_m: np.ndarray  # (M,) thumb-index tip distance, canonical metres
    clench: np.ndarray  # (M,) mean proximal + intermediate flexion of middle, ring, pinky (radians)


def hand_features(angle_codes: np.ndarray, scale_codes: np.ndarray) -> HandFeatures:
    """Features of M hands from their wire codes (uint8 (M, 20) and (M,))."""
    angles = hm.dequantize_angles(np.asarray(angle_codes, dtype=np.uint8))
    m = angles.shape[0]
    # Canonical scale 1 in the wrist frame: the distance is then already normalised for hand size.
    params = hm.HandParams(np.zeros((m, 3)), np.tile((0.0, 0.0, 0.0, 1.0), (m, 1)), angles, np.ones(m))
    pos, _ = hm.joints_from_hand_params(params, np.ones(m))
    tip = np.linalg.norm(pos[:, THUMB_TIP] - pos[:, INDEX_TIP], axis=1)
    flex = np.stack([angles[:, 4 * f] + angles[:, 4 * f + 2] for f in CLENCH_FINGERS], axis=1)
    _ = scale_codes  # the scale is divided out by decoding at scale 1
    return HandFeatures(tip, flex.mean(axis=1))


class Phase(StrEnum):
    WAIT_OPEN = "wait_open"  # armed while pinching: open the hand first
    OPEN = "open"
    HOLDING = "holding"
    CONFIRMED = "confirmed"


@dataclass
class HoldEvent:
    kind: str  # "progress" | "confirmed" | "reset"
    progress: float


class PinchHold:
    """One hand's pinch-and-hold state; `update` once per tick with that tick's features (or absent)."""

    def __init__(self, cfg: PinchConfig | None = None) -> None:
        self.cfg = cfg or PinchConfig()
        self.phase = Phase.OPEN
        self.armed = False
        self.held_s = 0.0
        self.last_seen: float | None = None
        self.last_t: float | None = None
        self.anchor: np.ndarray | None = None
        self.pinched = False  # hysteresis state of the filtered pinch signal
        self.tip: float | None = None  # filtered tip distance
        self.recent: deque[tuple[float, float]] = deque()  # (time, filtered tip) of the last approach_s
        self.wrists: deque[tuple[float, np.ndarray]] = deque()  # (time, wrist) of the last settle_s
        self.open_since: float | None = None  # WAIT_OPEN: since when the hand has been clearly open
        self.hold_min = 1.0  # HOLDING: the closest the tips came (filtered)

    def arm(self, pinching_now: bool = False) -> None:
        self.armed = True
        self.phase = Phase.WAIT_OPEN if pinching_now or self.pinched else Phase.OPEN
        self.held_s, self.open_since = 0.0, None

    def disarm(self) -> None:
        self.armed = False
        self.phase = Phase.OPEN
        self.held_s = 0.0

    def progress(self) -> float:
        return min(1.0, self.held_s / self.cfg.hold_s)

    def update(self, now: float, present: bool, tip_m: float = 1.0, clench: float = 0.0,
               wrist: np.ndarray | None = None) -> HoldEvent | None:
        cfg = self.cfg
        dt = 0.0 if self.last_t is None else max(0.0, now - self.last_t)
        self.last_t = now
        if not present:
            if self.last_seen is not None and now - self.last_seen > cfg.max_gap_s:
                self.recent.clear()  # an approach seen before a long gap does not count after it
                self.wrists.clear()
                self.open_since = None
                if self.phase is Phase.HOLDING:
                    return self._reset(Phase.WAIT_OPEN)
            return None  # a short gap pauses the hold (no time is counted while unseen)
        gap = 0.0 if self.last_seen is None else now - self.last_seen
        self.last_seen = now
        if self.tip is None or gap > cfg.max_gap_s:
            self.tip = float(tip_m)
        else:
            self.tip += (float(tip_m) - self.tip) * (1.0 - np.exp(-gap / cfg.smooth_s))
        tip = self.tip
        recent = self.recent
        recent.append((now, tip))
        while recent[0][0] < now - cfg.approach_s:
            recent.popleft()
        if wrist is not None:
            wrists = self.wrists
            wrists.append((now, np.asarray(wrist, dtype=np.float64)))
            while wrists[0][0] < now - cfg.settle_s:
                wrists.popleft()
        self.pinched = tip < (cfg.off_m if self.pinched else cfg.on_m)
        if not self.armed or self.phase is Phase.CONFIRMED:
            return None
        if self.phase is Phase.WAIT_OPEN:
            if tip <= cfg.open_m:
                self.open_since = None
            elif self.open_since is None:
                self.open_since = now
            elif now - self.open_since >= cfg.open_s:  # clearly and steadily open, not a flicker of a grip
                self.phase, self.open_since = Phase.OPEN, None
            return None
        if self.phase is Phase.OPEN:
            if (self.pinched and tip < cfg.on_m and clench < cfg.clench_rad
                    and self._approached(tip) and self._settled(wrist)):
                self.phase, self.held_s, self.hold_min = Phase.HOLDING, 0.0, tip
                self.anchor = None if wrist is None else np.array(wrist, dtype=np.float64)
                return HoldEvent("progress", 0.0)
            return None
        # holding
        self.hold_min = min(self.hold_min, tip)
        if not self.pinched or tip - self.hold_min > cfg.rise_m:
            self.pinched = False
            return self._reset(Phase.OPEN)  # let go early: a new pinch (a new closing of the tips) starts again
        moved = (wrist is not None and self.anchor is not None
                 and np.linalg.norm(np.asarray(wrist) - self.anchor) > cfg.max_drift_m)
        if moved or clench >= cfg.clench_rad:
            # A pinch that travels (or closes into a fist) is a grip on something, not a confirmation: it
            # cannot become one until the hand opens.
            return self._reset(Phase.WAIT_OPEN)
        self.held_s += min(dt, gap) if gap <= cfg.max_gap_s else 0.0
        if self.held_s >= cfg.hold_s:
            self.phase = Phase.CONFIRMED
            return HoldEvent("confirmed", 1.0)
        return HoldEvent("progress", self.progress())

    def _approached(self, tip: float) -> bool:
        widest = max(d for _, d in self.recent)
        return widest - tip >= self.cfg.approach_m and tip <= self.cfg.close_ratio * widest

    def _settled(self, wrist: np.ndarray | None) -> bool:
        if wrist is None:
            return True
        here = np.asarray(wrist, dtype=np.float64)
        return all(np.linalg.norm(w - here) <= self.cfg.settle_m for _, w in self.wrists)

    def _reset(self, phase: Phase) -> HoldEvent:
        self.phase, self.held_s, self.anchor, self.open_since = phase, 0.0, None, None
        return HoldEvent("reset", 0.0)
