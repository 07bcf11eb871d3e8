"""Compact articulated hand model: 25 WebXR hand joint poses <-> wrist pose + 20 joint angles + 1 scale.

A tracked hand costs 25 x (position + rotation) as reported by `XRFrame.getJointPose`; the wire budget is 40 bytes.
This module turns those poses into a few anatomical parameters (and back) so that a snapshot carries 8-bit angles.
The exact parameter order, ranges, canonical skeleton and conventions are in docs/HAND_MODEL.md: a JavaScript
decoder is written from that document, so any change here must change it too.

Conventions (WebXR Hand Input, "XRJointSpace"): each joint's -Z axis points along the bone that follows it (towards
the fingertip), -Y points out of the palm (so +Y out of the back of the hand), X = Y x Z. Tips copy the distal
joint's orientation. The model is defined for the RIGHT hand; a left hand is its mirror image through the wrist's
local YZ plane (x -> -x), which keeps every joint frame a proper rotation (R_left = S R_right S, S = diag(-1, 1, 1)).

Everything is vectorised over M hands; the only Python loops run over the 5 fingers and their fixed joint chains.
The module is sans-I/O: arrays in, arrays out.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from server.realtime.skeleton import HAND_JOINTS

N_JOINTS = len(HAND_JOINTS)  # 25
N_ANGLES = 20

# ---------------------------------------------------------------------------------------------------------------
# Canonical right-hand skeleton at scale 1, in the wrist joint's frame, metres.
# Scale 1 = an average adult hand: wrist to middle fingertip of the flat hand 187.5 mm, the mean of the ANSUR II
# men's (193.4 mm) and women's (181.3 mm) mean `handlength` (see docs/HAND_MODEL.md for how it was computed).
# Proportions are typical adult phalanx proportions; the WebXR wrist joint sits at the wrist crease and its -Z axis
# points towards the middle of the palm, which is why the proximal knuckles lie close to the -Z axis.
# ---------------------------------------------------------------------------------------------------------------
FINGERS: tuple[str, ...] = ("thumb", "index", "middle", "ring", "pinky")
# First joint index of each chain in HAND_JOINTS (metacarpal), chain length 4 (thumb) or 5 (fingers).
CHAIN_START: tuple[int, ...] = (1, 5, 10, 15, 20)

# Finger metacarpal joints (fixed relative to the wrist) and proximal knuckles (the first articulated joint).
FINGER_METACARPAL_POS = np.array(
    [
        (-0.020, -0.009, -0.036),  # index
        (-0.003, -0.008, -0.034),  # middle
        (0.015, -0.006, -0.035),   # ring
        (0.023, -0.009, -0.034),   # pinky
    ]
)
FINGER_PROXIMAL_POS = np.array(
    [
        (-0.023, -0.007, -0.093),
        (-0.002, -0.003, -0.0925),
        (0.018, -0.006, -0.087),
        (0.035, -0.013, -0.077),
    ]
)
# Bone lengths proximal->intermediate, intermediate->distal, distal->tip.
FINGER_BONE_LENGTHS = np.array(
    [
        (0.038, 0.024, 0.022),
        (0.043, 0.027, 0.025),
        (0.039, 0.026, 0.024),
        (0.031, 0.020, 0.022),
    ]
)
# Rest splay of each finger (rotation about the wrist's +Y, radians): positive turns the finger towards the thumb.
FINGER_REST_SPLAY = np.radians([6.0, 0.0, -6.0, -12.0])

# Thumb: its 2-DOF (flex, abduct) rotation turns the whole thumb ray about a pivot at the base of the palm (the
# carpometacarpal rotation centre lies deeper in the carpus than the "thumb-metacarpal" joint that hand-tracking
# runtimes report: with a fixed metacarpal joint the reported thumb could not be reproduced to better than ~1 cm).
# The metacarpal joint sits on the first bone, THUMB_METACARPAL_OFFSET from the pivot.
THUMB_PIVOT_POS = np.array((-0.014, -0.014, -0.022))
THUMB_METACARPAL_OFFSET = 0.021
# Bone lengths pivot->proximal (through the metacarpal joint), proximal->distal, distal->tip.
THUMB_BONE_LENGTHS = np.array((0.053, 0.034, 0.025))
# Rest direction of the thumb ray (its -Z axis at zero angles) and the rough direction of the thumb nail (its +Y
# axis before orthogonalisation): a relaxed thumb pointing forward and out from the palm.
THUMB_REST_FORWARD = np.array((-0.70, -0.24, -0.67))
THUMB_REST_UP = np.array((-0.77, 0.33, 0.55))


def _frame_from_forward_up(forward: np.ndarray, up: np.ndarray) -> np.ndarray:
    """Rotation matrix (columns X, Y, Z) with -Z along `forward` and +Y as close to `up` as possible."""
    z = -forward / np.linalg.norm(forward)
    y = up - np.dot(up, z) * z
    y = y / np.linalg.norm(y)
    x = np.cross(y, z)
    return np.stack([x, y, z], axis=1)


def _ry_single(a: float) -> np.ndarray:
    c, s = np.cos(a), np.sin(a)
    return np.array([[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]])


# Rest frames (rotation relative to the wrist): finger metacarpals point at their knuckle, proximal rest frames are
# the wrist frame turned by the rest splay, the thumb rest frame comes from the directions above.
FINGER_METACARPAL_ROT = np.stack(
    [
        _frame_from_forward_up(FINGER_PROXIMAL_POS[f] - FINGER_METACARPAL_POS[f], np.array((0.0, 1.0, 0.0)))
        for f in range(4)
    ]
)
FINGER_REST_ROT = np.stack([_ry_single(a) for a in FINGER_REST_SPLAY])
THUMB_REST_ROT = _frame_from_forward_up(THUMB_REST_FORWARD, THUMB_REST_UP)

# Lengths compared with the measured ones to fit the scale (least squares): distances from the wrist to the fixed
# joints and every articulated bone. Order matches `_measured_lengths`.
_CANONICAL_LENGTHS = np.concatenate(
    [
        [THUMB_BONE_LENGTHS[0] - THUMB_METACARPAL_OFFSET],
        THUMB_BONE_LENGTHS[1:],
        np.linalg.norm(FINGER_PROXIMAL_POS, axis=1),
        FINGER_BONE_LENGTHS.reshape(-1),
    ]
)

# ---------------------------------------------------------------------------------------------------------------
# Parameters, ranges and quantization.
# ---------------------------------------------------------------------------------------------------------------
ANGLE_NAMES: tuple[str, ...] = (
    "thumb-metacarpal-flex", "thumb-metacarpal-abduct", "thumb-proximal-flex", "thumb-distal-flex",
    "index-proximal-flex", "index-proximal-abduct", "index-intermediate-flex", "index-distal-flex",
    "middle-proximal-flex", "middle-proximal-abduct", "middle-intermediate-flex", "middle-distal-flex",
    "ring-proximal-flex", "ring-proximal-abduct", "ring-intermediate-flex", "ring-distal-flex",
    "pinky-proximal-flex", "pinky-proximal-abduct", "pinky-intermediate-flex", "pinky-distal-flex",
)
_THUMB_RANGES_DEG = [(-50.0, 70.0), (-50.0, 50.0), (-30.0, 90.0), (-40.0, 100.0)]
_FINGER_RANGES_DEG = [(-45.0, 100.0), (-35.0, 35.0), (-20.0, 120.0), (-30.0, 100.0)]
# Documented min/max of each angle (radians); values outside are clamped by the quantizer.
ANGLE_RANGES: np.ndarray = np.radians(np.array(_THUMB_RANGES_DEG + _FINGER_RANGES_DEG * 4))
SCALE_RANGE: tuple[float, float] = (0.7, 1.3)
_LEVELS = 255  # 8 bits: q in 0..255, both range ends representable


@dataclass
class HandParams:
    """Parameters of M hands. Angles in ANGLE_NAMES order, radians; scale 1 = the canonical skeleton."""

    wrist_pos: np.ndarray  # (M, 3) world metres
    wrist_rot: np.ndarray  # (M, 4) unit quaternion x, y, z, w (world)
    angles: np.ndarray  # (M, 20) radians
    scale: np.ndarray  # (M,)


def quantize_angles(angles: np.ndarray) -> np.ndarray:
    """Angles (M, 20) radians -> uint8 codes (M, 20), each over its ANGLE_RANGES row; out-of-range values clamp."""
    a = _as_float_array(angles, "angles", (None, N_ANGLES))
    lo, hi = ANGLE_RANGES[:, 0], ANGLE_RANGES[:, 1]
    t = (np.clip(a, lo, hi) - lo) / (hi - lo)
    return np.rint(t * _LEVELS).astype(np.uint8)


def dequantize_angles(q: np.ndarray) -> np.ndarray:
    """uint8 codes (M, 20) -> angles (M, 20) radians: lo + q * (hi - lo) / 255."""
    codes = _as_codes(q, "angle codes", (None, N_ANGLES))
    lo, hi = ANGLE_RANGES[:, 0], ANGLE_RANGES[:, 1]
    return lo + codes * ((hi - lo) / _LEVELS)


def quantize_scale(scale: np.ndarray) -> np.ndarray:
    """Scale (M,) -> uint8 codes over SCALE_RANGE; out-of-range values clamp."""
    s = _as_float_array(scale, "scale", (None,))
    lo, hi = SCALE_RANGE
    return np.rint((np.clip(s, lo, hi) - lo) / (hi - lo) * _LEVELS).astype(np.uint8)


def dequantize_scale(q: np.ndarray) -> np.ndarray:
    """uint8 codes (M,) -> scale: 0.7 + q * 0.6 / 255."""
    codes = _as_codes(q, "scale codes", (None,))
    lo, hi = SCALE_RANGE
    return lo + codes * ((hi - lo) / _LEVELS)


# ---------------------------------------------------------------------------------------------------------------
# Encoder: joints -> parameters.
# ---------------------------------------------------------------------------------------------------------------
def hand_params_from_joints(pos: np.ndarray, rot: np.ndarray, side: np.ndarray) -> HandParams:
    """Fit the model to M hands of 25 WebXR joint poses.

    pos (M, 25, 3) world metres, rot (M, 25, 4) quaternions xyzw, side (M,) 0 = left, 1 = right.
    The wrist pose is copied (quaternion normalised). The scale is the least-squares ratio of measured to canonical
    bone lengths, clamped to SCALE_RANGE. Each articulated joint then aims its bone from the already *reconstructed*
    parent at the measured child joint, so model errors do not accumulate along a finger; one-DOF joints keep the
    in-plane part of that direction. Only the wrist rotation is read from `rot`: finger orientations follow from the
    positions (the model has no twist), which is what keeps the fingertips - and pinch distances - accurate.
    """
    p = _as_float_array(pos, "joint positions", (None, N_JOINTS, 3))
    m = p.shape[0]
    r = _as_float_array(rot, "joint rotations", (m, N_JOINTS, 4))
    s_sign = _side_sign(side, m)
    wrist_q = _normalised_quat(r[:, 0], "wrist rotation")
    wrist_m = _quat_to_mat(wrist_q)

    # Joint positions in the wrist frame, mirrored into the right-hand model.
    local = np.einsum("mji,mkj->mki", wrist_m, p - p[:, :1])
    local[..., 0] *= s_sign[:, None]

    scale = np.clip(_fit_scale(local), *SCALE_RANGE)
    angles = np.empty((m, N_ANGLES))
    base_m = np.broadcast_to(THUMB_REST_ROT, (m, 3, 3))
    base_p = scale[:, None] * THUMB_PIVOT_POS
    angles[:, 0:4] = _fit_chain(base_p, base_m, local[:, 2:5], scale[:, None] * THUMB_BONE_LENGTHS)
    for f in range(4):
        start = CHAIN_START[f + 1]
        base_m = np.broadcast_to(FINGER_REST_ROT[f], (m, 3, 3))
        base_p = scale[:, None] * FINGER_PROXIMAL_POS[f]
        targets = local[:, start + 2 : start + 5]
        angles[:, 4 + 4 * f : 8 + 4 * f] = _fit_chain(base_p, base_m, targets, scale[:, None] * FINGER_BONE_LENGTHS[f])
    return HandParams(wrist_pos=p[:, 0].copy(), wrist_rot=wrist_q, angles=angles, scale=scale)


def _measured_lengths(local: np.ndarray) -> np.ndarray:
    """Lengths matching _CANONICAL_LENGTHS, measured on joint positions (M, 25, 3) in the wrist frame."""
    thumb = local[:, 1:5]  # metacarpal, proximal, distal, tip
    fingers = np.stack([local[:, s + 1 : s + 5] for s in CHAIN_START[1:]], axis=1)  # (M, 4, 4, 3)
    return np.concatenate(
        [
            np.linalg.norm(np.diff(thumb, axis=1), axis=-1),
            np.linalg.norm(fingers[:, :, 0], axis=-1),
            np.linalg.norm(np.diff(fingers, axis=2), axis=-1).reshape(local.shape[0], -1),
        ],
        axis=1,
    )


def _fit_scale(local: np.ndarray) -> np.ndarray:
    measured = _measured_lengths(local)
    return measured @ _CANONICAL_LENGTHS / (_CANONICAL_LENGTHS @ _CANONICAL_LENGTHS)


def _fit_chain(base_p: np.ndarray, base_m: np.ndarray, targets: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Angles (M, 4) of one chain: a 2-DOF joint (flex, abduct) then two 1-DOF flex joints.

    base_p (M, 3) / base_m (M, 3, 3): position and rest frame of the 2-DOF joint; targets (M, 3, 3): the measured
    positions of the next three joints; lengths (M, 3): model bone lengths.
    """
    d = _unit(np.einsum("mji,mj->mi", base_m, targets[:, 0] - base_p))
    # Frame = rest * Rx(-flex) * Ry(abduct): -Z becomes (-sin a, -cos a sin f, -cos a cos f) in the rest frame.
    abduct = np.arcsin(np.clip(-d[:, 0], -1.0, 1.0))
    flex = np.arctan2(-d[:, 1], -d[:, 2])
    frame = base_m @ _rx(-flex) @ _ry(abduct)
    joint = base_p + _bone(frame, lengths[:, 0])
    out = [flex, abduct]
    for k in (1, 2):
        v = np.einsum("mji,mj->mi", frame, targets[:, k] - joint)
        bend = np.arctan2(-v[:, 1], -v[:, 2])
        frame = frame @ _rx(-bend)
        joint = joint + _bone(frame, lengths[:, k])
        out.append(bend)
    return np.stack(out, axis=1)


# ---------------------------------------------------------------------------------------------------------------
# Decoder: parameters -> joints.
# ---------------------------------------------------------------------------------------------------------------
def joints_from_hand_params(p: HandParams, side: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pose M hands: returns joint positions (M, 25, 3) world metres and rotations (M, 25, 4) xyzw."""
    wrist_pos = _as_float_array(p.wrist_pos, "wrist_pos", (None, 3))
    m = wrist_pos.shape[0]
    wrist_q = _normalised_quat(_as_float_array(p.wrist_rot, "wrist_rot", (m, 4)), "wrist_rot")
    angles = _as_float_array(p.angles, "angles", (m, N_ANGLES))
    scale = _as_float_array(p.scale, "scale", (m,))
    if np.any(scale <= 0):
        raise ValueError("hand scale must be positive")
    return _pose(wrist_pos, wrist_q, angles, scale, _side_sign(side, m), None)


@dataclass
class HandNoise:
    """Deviations from the model, for generating realistic test and benchmark poses (not used on the wire).

    length_factor (M, 25): multiplies the bone ending at each joint (and the fixed offsets of the metacarpals);
    extra_rot (M, 25, 3, 3): a rotation applied in each articulated joint's own frame after the model's (twist
    about the bone, off-axis bend); base_offset (M, 25, 3): added to the fixed joints (metacarpals, knuckles) in
    the wrist frame, metres.
    """

    length_factor: np.ndarray
    extra_rot: np.ndarray
    base_offset: np.ndarray


def _pose(
    wrist_pos: np.ndarray,
    wrist_q: np.ndarray,
    angles: np.ndarray,
    scale: np.ndarray,
    s_sign: np.ndarray,
    noise: HandNoise | None,
) -> tuple[np.ndarray, np.ndarray]:
    m = wrist_pos.shape[0]
    lp = np.zeros((m, N_JOINTS, 3))  # local positions (right-hand model, wrist frame)
    lr = np.zeros((m, N_JOINTS, 3, 3))  # local rotations
    lr[:, 0] = np.eye(3)
    sc = scale[:, None]
    lf = np.ones((m, N_JOINTS)) if noise is None else noise.length_factor

    def fixed(j: int, offset: np.ndarray) -> np.ndarray:
        if noise is None:
            return sc * offset
        return sc * offset * lf[:, j, None] + noise.base_offset[:, j]

    def turn(frame: np.ndarray, j: int) -> np.ndarray:
        return frame if noise is None else frame @ noise.extra_rot[:, j]

    for f in range(5):
        start = CHAIN_START[f]
        a = angles[:, 4 * f : 4 * f + 4]
        if f == 0:
            # Thumb: the 2-DOF frame sits at the pivot; the metacarpal joint rides on the first bone.
            rest, base, lengths, out = THUMB_REST_ROT, fixed(1, THUMB_PIVOT_POS), THUMB_BONE_LENGTHS, (2, 3, 4)
            frame = turn(rest @ _rx(-a[:, 0]) @ _ry(a[:, 1]), 1)
            lp[:, 1] = base + _bone(frame, sc[:, 0] * THUMB_METACARPAL_OFFSET * lf[:, 1])
            lr[:, 1] = frame
        else:
            rest, lengths = FINGER_REST_ROT[f - 1], FINGER_BONE_LENGTHS[f - 1]
            lp[:, start] = fixed(start, FINGER_METACARPAL_POS[f - 1])
            lr[:, start] = FINGER_METACARPAL_ROT[f - 1]
            base, out = fixed(start + 1, FINGER_PROXIMAL_POS[f - 1]), (start + 2, start + 3, start + 4)
            frame = turn(rest @ _rx(-a[:, 0]) @ _ry(a[:, 1]), start + 1)
            lp[:, start + 1], lr[:, start + 1] = base, frame
        joint = base
        for k, j in enumerate(out):
            joint = joint + _bone(frame, sc[:, 0] * lengths[k] * lf[:, j])
            if k < 2:  # the tip keeps the distal joint's frame
                frame = turn(frame @ _rx(-a[:, k + 2]), j)
            lp[:, j], lr[:, j] = joint, frame

    # Mirror into a left hand where needed (x -> -x on positions, S R S on rotations), then into the world.
    lp[..., 0] *= s_sign[:, None]
    lr[..., 0, 1:] *= s_sign[:, None, None]
    lr[..., 1:, 0] *= s_sign[:, None, None]
    wrist_m = _quat_to_mat(wrist_q)
    world_p = wrist_pos[:, None] + np.einsum("mij,mkj->mki", wrist_m, lp)
    world_r = np.einsum("mij,mkjl->mkil", wrist_m, lr)
    world_q = _mat_to_quat(world_r)
    world_q[:, 0] = wrist_q
    return world_p, world_q


def synthetic_hand_poses(
    rng: np.random.Generator, m: int, noise: bool = True
) -> tuple[np.ndarray, np.ndarray, np.ndarray, HandParams]:
    """Plausible random hands for tests and benchmarks: (pos, rot, side, the parameters they were made from).

    Fingers curl with coupled joints (distal ~ 0.7 x intermediate), as real hands do. With `noise`, the joints
    deviate from the model the way real tracking data does (see NOISE_* below): the returned parameters are then
    only the generator's intent, not the best fit.
    """
    side = rng.integers(0, 2, m).astype(np.float64)
    curl = rng.uniform(0.0, 1.0, (m, 4))
    angles = np.empty((m, N_ANGLES))
    angles[:, 0] = rng.uniform(-0.5, 0.9, m)
    angles[:, 1] = rng.uniform(-0.5, 0.6, m)
    angles[:, 2] = rng.uniform(-0.2, 1.0, m)
    angles[:, 3] = rng.uniform(-0.3, 1.2, m)
    angles[:, 4::4] = np.radians(-10 + 95 * curl) + rng.normal(0, 0.15, (m, 4))
    angles[:, 5::4] = rng.normal(0, np.radians(8), (m, 4))
    angles[:, 6::4] = np.radians(100 * curl) + rng.normal(0, 0.12, (m, 4))
    angles[:, 7::4] = 0.7 * angles[:, 6::4] + rng.normal(0, 0.1, (m, 4))
    angles = np.clip(angles, ANGLE_RANGES[:, 0], ANGLE_RANGES[:, 1])
    q = rng.normal(size=(m, 4))
    params = HandParams(
        wrist_pos=rng.uniform(-2.0, 2.0, (m, 3)),
        wrist_rot=q / np.linalg.norm(q, axis=1, keepdims=True),
        angles=angles,
        scale=np.clip(rng.normal(1.0, 0.07, m), *SCALE_RANGE),
    )
    hand_noise = None
    if noise:
        twist = rng.normal(0, NOISE_TWIST_SD, (m, N_JOINTS))
        bend = rng.normal(0, NOISE_OFF_AXIS_SD, (m, N_JOINTS))
        hand_noise = HandNoise(
            length_factor=1.0 + np.clip(rng.normal(0, NOISE_LENGTH_SD, (m, N_JOINTS)), -0.1, 0.1),
            extra_rot=_rz(twist) @ _ry(bend),
            base_offset=rng.normal(0, NOISE_BASE_SD, (m, N_JOINTS, 3)),
        )
    pos, rot = _pose(params.wrist_pos, params.wrist_rot, params.angles, params.scale, np.where(side == 1, 1.0, -1.0),
                     hand_noise)
    return pos, rot, side, params


# Deviation of synthetic hands from the model (1 standard deviation): twist of each joint about its bone, bend
# off the joint's flexion plane, relative bone-length error, position jitter of the fixed joints (metres).
NOISE_TWIST_SD = np.radians(5.0)
NOISE_OFF_AXIS_SD = np.radians(3.0)
NOISE_LENGTH_SD = 0.04
NOISE_BASE_SD = 0.0015


# ---------------------------------------------------------------------------------------------------------------
# Rotation helpers (batched).
# ---------------------------------------------------------------------------------------------------------------
def _rx(a: np.ndarray) -> np.ndarray:
    c, s = np.cos(a), np.sin(a)
    r = np.zeros(a.shape + (3, 3))
    r[..., 0, 0] = 1.0
    r[..., 1, 1], r[..., 1, 2], r[..., 2, 1], r[..., 2, 2] = c, -s, s, c
    return r


def _ry(a: np.ndarray) -> np.ndarray:
    c, s = np.cos(a), np.sin(a)
    r = np.zeros(a.shape + (3, 3))
    r[..., 1, 1] = 1.0
    r[..., 0, 0], r[..., 0, 2], r[..., 2, 0], r[..., 2, 2] = c, s, -s, c
    return r


def _rz(a: np.ndarray) -> np.ndarray:
    c, s = np.cos(a), np.sin(a)
    r = np.zeros(a.shape + (3, 3))
    r[..., 2, 2] = 1.0
    r[..., 0, 0], r[..., 0, 1], r[..., 1, 0], r[..., 1, 1] = c, -s, s, c
    return r


def _bone(frame: np.ndarray, length: np.ndarray) -> np.ndarray:
    """Offset of `length` along each frame's -Z axis."""
    return -frame[:, :, 2] * length[:, None]


def _unit(v: np.ndarray) -> np.ndarray:
    n = np.linalg.norm(v, axis=-1, keepdims=True)
    # A zero-length bone has no direction: fall back to the rest direction (-Z) instead of dividing by zero.
    return np.where(n > 1e-12, v / np.maximum(n, 1e-12), np.array((0.0, 0.0, -1.0)))


def _quat_to_mat(q: np.ndarray) -> np.ndarray:
    x, y, z, w = np.moveaxis(q, -1, 0)
    r = np.empty(q.shape[:-1] + (3, 3))
    r[..., 0, 0] = 1 - 2 * (y * y + z * z)
    r[..., 0, 1] = 2 * (x * y - z * w)
    r[..., 0, 2] = 2 * (x * z + y * w)
    r[..., 1, 0] = 2 * (x * y + z * w)
    r[..., 1, 1] = 1 - 2 * (x * x + z * z)
    r[..., 1, 2] = 2 * (y * z - x * w)
    r[..., 2, 0] = 2 * (x * z - y * w)
    r[..., 2, 1] = 2 * (y * z + x * w)
    r[..., 2, 2] = 1 - 2 * (x * x + y * y)
    return r


def _mat_to_quat(r: np.ndarray) -> np.ndarray:
    """Rotation matrices (..., 3, 3) -> unit quaternions xyzw with w >= 0 (Shepperd's method, branch-free)."""
    m00, m11, m22 = r[..., 0, 0], r[..., 1, 1], r[..., 2, 2]
    # Four candidate solutions; the one with the largest 4*component^2 is numerically safe.
    cand = np.stack(
        [
            np.stack([1 + m00 - m11 - m22, r[..., 0, 1] + r[..., 1, 0], r[..., 0, 2] + r[..., 2, 0],
                      r[..., 2, 1] - r[..., 1, 2]], -1),
            np.stack([r[..., 0, 1] + r[..., 1, 0], 1 - m00 + m11 - m22, r[..., 1, 2] + r[..., 2, 1],
                      r[..., 0, 2] - r[..., 2, 0]], -1),
            np.stack([r[..., 0, 2] + r[..., 2, 0], r[..., 1, 2] + r[..., 2, 1], 1 - m00 - m11 + m22,
                      r[..., 1, 0] - r[..., 0, 1]], -1),
            np.stack([r[..., 2, 1] - r[..., 1, 2], r[..., 0, 2] - r[..., 2, 0], r[..., 1, 0] - r[..., 0, 1],
                      1 + m00 + m11 + m22], -1),
        ],
        axis=-2,
    )
    diag = np.stack([cand[..., 0, 0], cand[..., 1, 1], cand[..., 2, 2], cand[..., 3, 3]], -1)
    best = np.argmax(diag, axis=-1)
    q = np.take_along_axis(cand, best[..., None, None], axis=-2)[..., 0, :]
    q = q / np.linalg.norm(q, axis=-1, keepdims=True)
    return np.where(q[..., 3:4] < 0, -q, q)


# ---------------------------------------------------------------------------------------------------------------
# Input validation: bad input raises ValueError with a sentence a caller can act on.
# ---------------------------------------------------------------------------------------------------------------
def _as_float_array(x: object, what: str, shape: tuple[int | None, ...]) -> np.ndarray:
    try:
        a = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{what} must be numbers, got {type(x).__name__}") from exc
    if a.ndim != len(shape) or any(want is not None and got != want for got, want in zip(a.shape, shape, strict=True)):
        want_txt = "(" + ", ".join("M" if s is None else str(s) for s in shape) + ")"
        raise ValueError(f"{what} must have shape {want_txt}, got {a.shape}")
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{what} contain NaN or infinite values")
    return a


def _as_codes(x: object, what: str, shape: tuple[int | None, ...]) -> np.ndarray:
    a = _as_float_array(x, what, shape)
    if np.any((a < 0) | (a > _LEVELS) | (a != np.rint(a))):
        raise ValueError(f"{what} must be whole numbers from 0 to {_LEVELS}")
    return a


def _normalised_quat(q: np.ndarray, what: str) -> np.ndarray:
    n = np.linalg.norm(q, axis=-1, keepdims=True)
    if np.any(n < 1e-6):
        raise ValueError(f"{what} contains a zero quaternion; expected unit quaternions (x, y, z, w)")
    return q / n


def _side_sign(side: object, m: int) -> np.ndarray:
    """+1 for right hands, -1 for left hands (the mirror factor on local x)."""
    s = _as_float_array(side, "side", (m,))
    if np.any((s != 0) & (s != 1)):
        raise ValueError("side must be 0 (left hand) or 1 (right hand) for every hand")
    return np.where(s == 1, 1.0, -1.0)
