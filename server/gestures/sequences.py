"""Synthetic hand sequences for the pinch recogniser's tests and benchmark, made the way the server sees hands.

Each sequence is 60 Hz frames of one right hand: joint angles move between key poses (relaxed, pinch, fist,
point, open), each pose jittered per sequence; the hand has a random size (scale ~ N(1, 0.07)); the wrist
rests, trembles, waves or carries. Joints come from the hand model and get tracking error of about 1.3 cm
per fingertip (rms of the 3-D error), made as headset hand tracking errs: mostly an offset of the whole hand
for a given session (7 mm per axis, shared by all joints), plus per-joint parts: a fixed offset (1.5 mm per
axis), a slow drift (AR(1), 0.3 s time constant, 1.5 mm) and frame-to-frame jitter (1.5 mm).
`noise="independent"` gives every joint its own 1 cm (4.5 mm fixed, 2.5 mm drift, 2 mm jitter per axis) and
`noise="white"` 1 cm of pure frame jitter (6 mm per axis): harder cases than trackers produce, reported too.
Then they go through the server's own path: fitted by `hand_params_from_joints` and quantized to the wire
codes. Frames are dropped (3 % at random plus, in a third of the sequences, one burst of 50-200 ms) and the
whole stream is 45 ms late.

Kinds: `confirm` (a deliberate pinch held to the end) and the non-confirm kinds `rest`, `wave`, `grab`
(clench and carry), `point`, `short_pinch` (0.2-0.9 s), `near_pinch` (the tips stop 3-4.5 cm apart, canonical hand) and
`carry_pinch` (a pinch grip that moves, as when picking up a lipstick). Seeded: the same seed, the same data.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from server.realtime import hand_model as hm

HZ = 60
LATENCY_S = 0.045
DRIFT_TAU_S = 0.3
NOISE_MODELS = {  # (whole-hand offset, per-joint offset, per-joint drift, per-joint jitter), metres per axis
    "tracking": (0.007, 0.0015, 0.0015, 0.0015),
    "independent": (0.0, 0.0045, 0.0025, 0.002),
    "white": (0.0, 0.0, 0.0, 0.006),
}
# The classes do not overlap in truth (before tracking error): a hand that is not pinching keeps the thumb and index
# tips at least APART_M apart (canonical hand; near_pinch covers 3-4.5 cm), and a pinch brings them within TOUCH_M.
# Poses breaking the rule are drawn again: without it, 0.1 % of resting hands closed to a 1 cm pinch and 5 % of
# pinches stayed 1.5-2.3 cm open, sequences no recogniser should be asked to call the other way.
APART_M = 0.03
TOUCH_M = 0.015
NON_CONFIRM_KINDS = ("rest", "wave", "grab", "point", "short_pinch", "near_pinch", "carry_pinch")


def _pose(thumb: tuple[float, ...], fingers: list[tuple[float, float, float]]) -> np.ndarray:
    a = np.zeros(hm.N_ANGLES)
    a[0:4] = np.radians(thumb)
    for f, (p, i, d) in enumerate(fingers):
        a[4 + 4 * f], a[6 + 4 * f], a[7 + 4 * f] = np.radians((p, i, d))
    return a


RELAXED = _pose((12, 0, 12, 12), [(20, 30, 20)] * 4)
PINCH = _pose((17.7, 13.6, 20.4, 55.5), [(43.7, 54.8, 38.3), (35, 45, 30), (35, 45, 30), (35, 45, 30)])
FIST = _pose((50, 0, 45, 45), [(90, 100, 70)] * 4)
POINT = _pose((45, 10, 35, 35), [(0, 0, 0), (90, 100, 70), (90, 100, 70), (90, 100, 70)])
OPEN = _pose((0, -10, 0, 0), [(0, 0, 0)] * 4)


@dataclass
class Sequences:
    kind: list[str]
    t: np.ndarray  # (T,) seconds, when the server has each frame
    present: np.ndarray  # (N, T) bool
    angle_codes: np.ndarray  # (N, T, 20) uint8
    scale_codes: np.ndarray  # (N, T) uint8
    wrist: np.ndarray  # (N, T, 3) as tracked (the wrist joint with its tracking error), as the server has it
    pinch_at: np.ndarray  # (N,) when the hand reached the pinch (confirm kind), else nan
    true_tip_m: np.ndarray  # (N, T) thumb-index tip distance before tracking error (canonical hand), for reports


def _jitter(rng: np.random.Generator, pose: np.ndarray, deg: float = 6.0) -> np.ndarray:
    return pose + np.radians(rng.normal(0, deg, pose.shape))


def _clip(angles: np.ndarray) -> np.ndarray:
    return np.clip(angles, hm.ANGLE_RANGES[:, 0], hm.ANGLE_RANGES[:, 1])


def _draw(rng: np.random.Generator, pose: np.ndarray, deg: float, keep: Callable[[np.ndarray], bool]) -> np.ndarray:
    """A jittered copy of `pose` for which `keep(angles)` holds (drawn again until it does)."""
    for _ in range(1000):
        angles = _clip(_jitter(rng, pose, deg))
        if keep(angles):
            return angles
    raise RuntimeError("no pose satisfies the rule")


def _apart(angles: np.ndarray) -> bool:
    return float(tip_distance(angles[None])[0]) >= APART_M


def _touching(angles: np.ndarray) -> bool:
    return float(tip_distance(angles[None])[0]) <= TOUCH_M


def _stays_apart(a: np.ndarray) -> Callable[[np.ndarray], bool]:
    """A rule for a second pose b: the tips stay APART_M apart all the way from a to b."""
    w = np.linspace(0.0, 1.0, 11)
    return lambda b: bool(tip_distance(_blend(a, b, w)).min() >= APART_M)


def _blend(a: np.ndarray, b: np.ndarray, w: np.ndarray) -> np.ndarray:
    return a[None, :] + (b - a)[None, :] * w[:, None]


def _ramp(t: np.ndarray, start: float, length: float) -> np.ndarray:
    return np.clip((t - start) / length, 0.0, 1.0)


def tip_distance(angles: np.ndarray) -> np.ndarray:
    """Thumb tip to index tip of hands with these angles (M, 20), canonical scale, metres."""
    m = len(angles)
    params = hm.HandParams(np.zeros((m, 3)), np.tile((0.0, 0.0, 0.0, 1.0), (m, 1)), angles, np.ones(m))
    pos, _ = hm.joints_from_hand_params(params, np.ones(m))
    return np.linalg.norm(pos[:, 4] - pos[:, 9], axis=1)


def _stop_short(a: np.ndarray, b: np.ndarray, distance: float) -> float:
    """The largest blend weight w (steps of 0.01) such that the tips stay at least `distance` apart on the way from
    pose a to a + w (b - a)."""
    w = np.linspace(0.0, 1.0, 101)
    far = tip_distance(_blend(a, b, w)) >= distance
    return 0.0 if not far[0] else float(w[np.argmin(far) - 1]) if not far.all() else 1.0


def _one(rng: np.random.Generator, kind: str, t: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """Angles (T, 20), wrist (T, 3) and the pinch time of one sequence."""
    n = len(t)
    relaxed = _draw(rng, RELAXED, 6.0, _apart)
    wrist = np.tile((0.2, 1.1, -0.35), (n, 1)) + rng.normal(0, 0.003, (n, 3))  # resting tremor
    pinch_at = np.nan
    if kind == "confirm":
        start, length = rng.uniform(0.2, 0.6), rng.uniform(0.15, 0.35)
        angles = _blend(relaxed, _draw(rng, PINCH, 3.0, _touching), _ramp(t, start, length))
        pinch_at = start + length
    elif kind == "rest":
        other = _draw(rng, RELAXED, 10.0, _stays_apart(relaxed))
        angles = _blend(relaxed, other, 0.5 + 0.5 * np.sin(t * rng.uniform(0.5, 2)))
        wrist += np.cumsum(rng.normal(0, 0.002, (n, 3)), axis=0)
    elif kind == "wave":
        angles = _blend(relaxed, _jitter(rng, OPEN), _ramp(t, 0.1, 0.3))
        wrist[:, 0] += 0.15 * np.sin(2 * np.pi * rng.uniform(1.5, 3.0) * t)
    elif kind == "grab":
        start = rng.uniform(0.2, 0.8)
        angles = _blend(relaxed, _jitter(rng, FIST), _ramp(t, start, rng.uniform(0.2, 0.5)))
        wrist += _ramp(t, start + 0.4, 1.0)[:, None] * rng.normal(0, 0.25, 3)
    elif kind == "point":
        angles = _blend(relaxed, _jitter(rng, POINT), _ramp(t, rng.uniform(0.1, 0.6), 0.3))
        wrist += _ramp(t, 0.3, 1.0)[:, None] * rng.normal(0, 0.1, 3)
    elif kind == "short_pinch":
        start, hold = rng.uniform(0.2, 0.8), rng.uniform(0.2, 0.9)
        w = _ramp(t, start, 0.2) - _ramp(t, start + 0.2 + hold, 0.2)
        angles = _blend(relaxed, _draw(rng, PINCH, 3.0, _touching), w)
    elif kind == "near_pinch":
        # Part of the way from relaxed towards the pinch: the tips stop 3-4.5 cm apart (canonical hand). The way is
        # cut where the tips come within that distance; a relaxed hand already closer does not move.
        target = _draw(rng, PINCH, 3.0, _touching)
        angles = _blend(relaxed, target, _stop_short(relaxed, target, rng.uniform(0.03, 0.045)) * _ramp(t, 0.3, 0.3))
    elif kind == "carry_pinch":
        start = rng.uniform(0.2, 0.6)
        angles = _blend(relaxed, _draw(rng, PINCH, 3.0, _touching), _ramp(t, start, 0.2))
        direction = rng.normal(0, 1, 3)
        wrist += _ramp(t, start + 0.3, 0.8)[:, None] * direction / np.linalg.norm(direction) * rng.uniform(0.2, 0.5)
    else:
        raise ValueError(f"unknown kind {kind!r}")
    return np.clip(angles, hm.ANGLE_RANGES[:, 0], hm.ANGLE_RANGES[:, 1]), wrist, pinch_at


def _tracking_error(rng: np.random.Generator, n: int, m: int, noise: str) -> np.ndarray:
    """(n, m, 25, 3) metres."""
    hand_sd, bias_sd, drift_sd, jitter_sd = NOISE_MODELS[noise]
    err = (rng.normal(0, hand_sd, (n, 1, 1, 3)) + rng.normal(0, bias_sd, (n, 1, hm.N_JOINTS, 3))
           + rng.normal(0, jitter_sd, (n, m, hm.N_JOINTS, 3)))
    if drift_sd:
        keep = np.exp(-1.0 / (HZ * DRIFT_TAU_S))
        drift = rng.normal(0, drift_sd, (n, hm.N_JOINTS, 3))
        step_sd = drift_sd * np.sqrt(1 - keep**2)
        for k in range(m):
            drift = keep * drift + rng.normal(0, step_sd, drift.shape)
            err[:, k] += drift
    return err


def make_sequences(kinds: list[str], seconds: float = 3.5, seed: int = 0, noise: str = "tracking") -> Sequences:
    rng = np.random.default_rng(seed)
    t_true = np.arange(int(seconds * HZ)) / HZ
    n, m = len(kinds), len(t_true)
    angles = np.empty((n, m, hm.N_ANGLES))
    wrist = np.empty((n, m, 3))
    pinch_at = np.full(n, np.nan)
    for i, kind in enumerate(kinds):
        angles[i], wrist[i], pinch_at[i] = _one(rng, kind, t_true)
    scale = np.clip(rng.normal(1.0, 0.07, n), *hm.SCALE_RANGE)
    yaw = rng.uniform(-np.pi, np.pi, n)  # which way the hand faces (the model is invariant; the fit sees it)
    rot = np.stack([np.zeros(n), np.sin(yaw / 2), np.zeros(n), np.cos(yaw / 2)], axis=1)
    flat = hm.HandParams(wrist.reshape(-1, 3), np.repeat(rot, m, axis=0), angles.reshape(-1, hm.N_ANGLES),
                         np.repeat(scale, m))
    side = np.ones(n * m)
    pos, joint_rot = hm.joints_from_hand_params(flat, side)
    pos = pos + _tracking_error(rng, n, m, noise).reshape(pos.shape)
    fitted = hm.hand_params_from_joints(pos, joint_rot, side)
    present = rng.random((n, m)) > 0.03
    for i in np.flatnonzero(rng.random(n) < 1 / 3):  # one dropout burst
        start, length = rng.integers(0, m), int(rng.uniform(0.05, 0.2) * HZ)
        present[i, start:start + length] = False
    return Sequences(list(kinds), t_true + LATENCY_S, present,
                     hm.quantize_angles(fitted.angles).reshape(n, m, hm.N_ANGLES),
                     hm.quantize_scale(fitted.scale).reshape(n, m), fitted.wrist_pos.reshape(n, m, 3),
                     pinch_at + LATENCY_S, tip_distance(angles.reshape(-1, hm.N_ANGLES)).reshape(n, m))
