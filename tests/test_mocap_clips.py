"""Retargeting and playback of the real clips as a viewer sees them: feet on the floor, head upright, loop seam.

The clips are read from the shared data folder exactly as tests/test_mocap_bvh.py does (DATA, needs_clips).
"""

from __future__ import annotations

import numpy as np
import pytest

from server.mocap.bvh import load_bvh
from server.mocap.fk import body_fk, body_offsets
from server.mocap.retarget import retarget_clip
from server.realtime.skeleton import BODY_INDEX as J
from tests.test_mocap_bvh import DATA, needs_clips

HEIGHT = 1.70


def _planted_ankle_heights(pos: np.ndarray, fps: float) -> np.ndarray:
    """Height of the lowest ankle in frames where it stands still (< 0.2 m/s horizontally): the stance foot."""
    ankles = pos[:, [J["leftFoot"], J["rightFoot"]]]
    low = ankles[np.arange(len(ankles)), ankles[..., 1].argmin(axis=1)]
    speed = np.zeros(len(low))
    speed[1:] = np.linalg.norm(np.diff(low[:, [0, 2]], axis=0), axis=1) * fps
    return low[speed < 0.2, 1]


@needs_clips
@pytest.mark.parametrize("name", ["cmu131_01_walk_start_stop.bvh", "reactidle003_genuine_idle.bvh"])
def test_planted_foot_touches_the_floor(name):
    clip = load_bvh(DATA / name)
    _, hips, local = retarget_clip(clip, HEIGHT)
    pos, _ = body_fk(hips, local, HEIGHT)
    planted = _planted_ankle_heights(pos, clip.fps)
    assert len(planted) > clip.frame_count // 3
    # Our ankle stands 0.08 m above the floor (hips 0.95 - 0.05 - 0.42 - 0.40 at 1.70 m).
    standing_ankle = float(body_offsets(HEIGHT)[[0, J["leftUpperLeg"], J["leftLowerLeg"], J["leftFoot"]], 1].sum())
    assert abs(float(np.median(planted)) - standing_ankle) < 0.015
