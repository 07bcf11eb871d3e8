"""Quaternion helpers and vectorised forward kinematics (many frames at once, numpy).

Quaternions are (x, y, z, w) arrays with any leading shape: the convention of the wire protocol and of
three.js. Every function broadcasts over leading dimensions, so a whole clip is one call per joint.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from server.realtime.quat import IDENTITY, quat_conj, quat_mul, quat_normalize, quat_rotate  # noqa: F401
from server.realtime.skeleton import BODY_PARENTS, BODY_REST_OFFSETS, REST_HEIGHT_M


def quat_from_axis_angle(axis: np.ndarray, angle: np.ndarray | float) -> np.ndarray:
    axis = np.asarray(axis, dtype=np.float64)
    axis = axis / np.linalg.norm(axis, axis=-1, keepdims=True)
    half = 0.5 * np.asarray(angle, dtype=np.float64)[..., None]
    return np.concatenate((axis * np.sin(half), np.cos(half)), axis=-1)


def quat_from_two_vectors(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Shortest rotation taking direction a onto direction b (handles parallel and opposite vectors)."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    a = a / np.linalg.norm(a, axis=-1, keepdims=True)
    b = b / np.linalg.norm(b, axis=-1, keepdims=True)
    d = np.sum(a * b, axis=-1, keepdims=True)
    c = np.cross(a, b)
    q = np.concatenate((c, 1.0 + d), axis=-1)
    opposite = (d[..., 0] < -1.0 + 1e-9)
    if np.any(opposite):
        # 180 degrees about any axis perpendicular to a.
        helper = np.where(np.abs(a[..., :1]) < 0.9, [1.0, 0.0, 0.0], [0.0, 1.0, 0.0])
        perp = np.cross(a, helper)
        perp = perp / np.linalg.norm(perp, axis=-1, keepdims=True)
        q = np.where(opposite[..., None], np.concatenate((perp, np.zeros_like(d)), axis=-1), q)
    return quat_normalize(q)


def quat_from_frame(x_axis: np.ndarray, y_axis: np.ndarray) -> np.ndarray:
    """Rotation whose image of +X is x_axis and of +Y is y_axis (y wins, x is orthogonalised)."""
    y = np.asarray(y_axis, dtype=np.float64)
    y = y / np.linalg.norm(y, axis=-1, keepdims=True)
    x = np.asarray(x_axis, dtype=np.float64)
    x = x - np.sum(x * y, axis=-1, keepdims=True) * y
    x = x / np.linalg.norm(x, axis=-1, keepdims=True)
    z = np.cross(x, y)
    return quat_from_matrix(np.stack((x, y, z), axis=-1))


def quat_from_matrix(m: np.ndarray) -> np.ndarray:
    """Unit quaternions from rotation matrices (..., 3, 3) (columns are the images of the axes)."""
    m = np.asarray(m, dtype=np.float64)
    m00, m11, m22 = m[..., 0, 0], m[..., 1, 1], m[..., 2, 2]
    # Compute all four candidate forms and keep the numerically best one per matrix.
    t = np.stack((1 + m00 - m11 - m22, 1 - m00 + m11 - m22, 1 - m00 - m11 + m22, 1 + m00 + m11 + m22), -1)
    k = np.argmax(t, axis=-1)
    s = 0.5 / np.sqrt(np.maximum(np.take_along_axis(t, k[..., None], -1)[..., 0], 1e-300))
    cand = np.stack(
        (
            np.stack((t[..., 0], m[..., 0, 1] + m[..., 1, 0], m[..., 0, 2] + m[..., 2, 0],
                      m[..., 2, 1] - m[..., 1, 2]), -1),
            np.stack((m[..., 0, 1] + m[..., 1, 0], t[..., 1], m[..., 1, 2] + m[..., 2, 1],
                      m[..., 0, 2] - m[..., 2, 0]), -1),
            np.stack((m[..., 0, 2] + m[..., 2, 0], m[..., 1, 2] + m[..., 2, 1], t[..., 2],
                      m[..., 1, 0] - m[..., 0, 1]), -1),
            np.stack((m[..., 2, 1] - m[..., 1, 2], m[..., 0, 2] - m[..., 2, 0], m[..., 1, 0] - m[..., 0, 1],
                      t[..., 3]), -1),
        ),
        axis=-2,
    )
    q = np.take_along_axis(cand, k[..., None, None], -2)[..., 0, :] * s[..., None]
    return quat_normalize(q)


def quat_angle(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Angle in radians between two rotations (0..pi), sign of the quaternions ignored."""
    d = np.abs(np.sum(np.asarray(a, dtype=np.float64) * np.asarray(b, dtype=np.float64), axis=-1))
    return 2.0 * np.arccos(np.clip(d, 0.0, 1.0))


_AXES = {"X": np.array([1.0, 0.0, 0.0]), "Y": np.array([0.0, 1.0, 0.0]), "Z": np.array([0.0, 0.0, 1.0])}


def quat_from_euler_deg(angles_deg: np.ndarray, order: str) -> np.ndarray:
    """BVH-style Euler angles: angles[..., i] rotates about axis order[i]; R = R_order[0] * R_order[1] * ...

    This is the BVH convention: channels listed first are outermost (applied last to a child vector).
    """
    angles = np.radians(np.asarray(angles_deg, dtype=np.float64))
    q = np.broadcast_to(IDENTITY, (*angles.shape[:-1], 4)).copy()
    for i, axis in enumerate(order):
        q = quat_mul(q, quat_from_axis_angle(_AXES[axis], angles[..., i]))
    return q


def quat_slerp(a: np.ndarray, b: np.ndarray, t: np.ndarray | float) -> np.ndarray:
    """Spherical interpolation along the short arc; t broadcasts against the leading shape."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    t = np.asarray(t, dtype=np.float64)[..., None]
    d = np.sum(a * b, axis=-1, keepdims=True)
    b = np.where(d < 0.0, -b, b)  # q and -q are the same rotation: take the short way
    d = np.abs(d)
    theta = np.arccos(np.clip(d, -1.0, 1.0))
    sin_theta = np.sin(theta)
    close = sin_theta < 1e-6
    safe = np.where(close, 1.0, sin_theta)
    wa = np.where(close, 1.0 - t, np.sin((1.0 - t) * theta) / safe)
    wb = np.where(close, t, np.sin(t * theta) / safe)
    return quat_normalize(wa * a + wb * b)


def chain_fk(
    parents: Sequence[int], offsets: np.ndarray, root_pos: np.ndarray, local_rots: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Forward kinematics for any tree whose parents come before their children.

    offsets: (J, 3) or (N, J, 3) translation of each joint in its parent's frame (the root's is ignored:
    root_pos (N, 3) is its world position). local_rots: (N, J, 4). Returns world positions (N, J, 3) and
    world rotations (N, J, 4).
    """
    local_rots = np.asarray(local_rots, dtype=np.float64)
    n, j = local_rots.shape[:2]
    offsets = np.broadcast_to(np.asarray(offsets, dtype=np.float64), (n, j, 3))
    pos = np.empty((n, j, 3))
    rot = np.empty((n, j, 4))
    for k, p in enumerate(parents):
        if p < 0:
            pos[:, k] = root_pos
            rot[:, k] = local_rots[:, k]
        else:
            pos[:, k] = pos[:, p] + quat_rotate(rot[:, p], offsets[:, k])
            rot[:, k] = quat_mul(rot[:, p], local_rots[:, k])
    return pos, rot


def body_offsets(height_m: float) -> np.ndarray:
    """Rest offsets of the 22-joint body scaled to an avatar of this height."""
    return BODY_REST_OFFSETS * (float(height_m) / REST_HEIGHT_M)


def body_fk(
    hips_pos: np.ndarray, local_rots: np.ndarray, height_m: float = REST_HEIGHT_M, offsets: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """World positions (N, 22, 3) and rotations (N, 22, 4) of the body joints.

    hips_pos (N, 3) or (3,), local_rots (N, 22, 4) or (22, 4). offsets overrides the scaled rest offsets
    (used to evaluate a pose on another skeleton's proportions).
    """
    single = np.ndim(local_rots) == 2
    rots = np.asarray(local_rots, dtype=np.float64).reshape(-1, len(BODY_PARENTS), 4)
    hips = np.asarray(hips_pos, dtype=np.float64).reshape(-1, 3)
    pos, rot = chain_fk(BODY_PARENTS, body_offsets(height_m) if offsets is None else offsets, hips, rots)
    if single:
        return pos[0], rot[0]
    return pos, rot
