"""Just enough forward kinematics to place a full-body avatar's head (for interest and the head part)."""

from __future__ import annotations

import numpy as np

from server.realtime.quat import quat_mul, quat_rotate
from server.realtime.skeleton import BODY_INDEX, BODY_PARENTS, BODY_REST_OFFSETS

_HEAD_CHAIN = []
_j = BODY_INDEX["head"]
while _j != -1:
    _HEAD_CHAIN.append(_j)
    _j = BODY_PARENTS[_j]
_HEAD_CHAIN.reverse()  # hips ... head
_EYE_OFFSET = np.array([0.0, 0.07, 0.08])  # from the head joint to between the eyes


def head_from_body(hips: np.ndarray, rots: np.ndarray, scale: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """World eye position and head rotation of a body pose (hips world position, local rotations)."""
    pos, rot = np.asarray(hips, dtype=np.float64), rots[_HEAD_CHAIN[0]]
    for j in _HEAD_CHAIN[1:]:
        pos = pos + quat_rotate(rot, BODY_REST_OFFSETS[j] * scale)
        rot = quat_mul(rot, rots[j])
    return pos + quat_rotate(rot, _EYE_OFFSET * scale), rot
