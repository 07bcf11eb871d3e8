"""Retargeting and playback of the real clips as a viewer sees them: feet on the floor, head upright, loop seam.

The clips are read from the shared data folder exactly as tests/test_mocap_bvh.py does (DATA, needs_clips).
"""

from __future__ import annotations

import numpy as np
import pytest

from server.mocap.bvh import BvhClip, LoopingTrack, drop_synthetic_tpose, load_bvh, parse_bvh
from server.mocap.fk import body_fk, body_offsets, quat_angle, quat_rotate
from server.mocap.ingest import BindOptions, MocapSources
from server.mocap.retarget import retarget_clip
from server.realtime.skeleton import BODY_INDEX as J
from tests.test_mocap_bvh import ARMS_DOWN, DATA, _bvh_from_tree, needs_clips

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


def _tilt_deg(v: np.ndarray) -> np.ndarray:
    return np.degrees(np.arccos(np.clip(v[..., 1] / np.linalg.norm(v, axis=-1), -1.0, 1.0)))


@needs_clips
def test_head_with_a_forward_pointing_site_stays_upright():
    # ReActIdle's head (`face`) ends in a nose site in front of it, not above it.
    clip = load_bvh(DATA / "reactidle003_genuine_idle.bvh")
    rt, hips, local = retarget_clip(clip, HEIGHT)
    pos, rot = body_fk(hips, local, HEIGHT)
    head_rot = rot[:, J["head"]]
    up = quat_rotate(head_rot, np.array([0.0, 1.0, 0.0]))
    forward = quat_rotate(head_rot, np.array([0.0, 0.0, 1.0]))
    # Our head's up is the source head's up (its rest neck -> head direction carried by the head's rotation).
    _, src_rot = clip.fk()
    face = rt.mapping["head"]
    src_up = quat_rotate(rt.frame_align, quat_rotate(src_rot[:, face], clip.offsets[face]))
    cos = np.sum(up * src_up, axis=-1) / np.linalg.norm(src_up, axis=-1)
    assert np.degrees(np.arccos(np.clip(cos, -1, 1))).max() < 3.0
    # Upright and looking forward (was ~134 degrees off: the face turned down and back). The ~21 degrees left
    # are the performer's: the neck channel pitches 18 degrees forward and the face barely counter-rotates.
    assert np.median(_tilt_deg(up)) < 25.0 and _tilt_deg(up).max() < 30.0
    body_forward = quat_rotate(rot[:, J["hips"]], np.array([0.0, 0.0, 1.0]))
    flat = forward[:, [0, 2]] / np.linalg.norm(forward[:, [0, 2]], axis=-1, keepdims=True)
    flat_body = body_forward[:, [0, 2]] / np.linalg.norm(body_forward[:, [0, 2]], axis=-1, keepdims=True)
    assert np.min(np.sum(flat * flat_body, axis=-1)) > 0.8
    # The eyes (0.07 m up the head at 1.70 m) stay above the skull base and the neck in every frame.
    eye = pos[:, J["head"]] + 0.07 * up
    assert np.all(eye[:, 1] > pos[:, J["head"], 1] + 0.03)
    assert np.all(eye[:, 1] > pos[:, J["neck"], 1] + 0.1)


@needs_clips
def test_head_with_an_upward_site_is_unchanged():
    # CMU's Head End Site points up the skull: it stays the head's rest direction (tilt as before, ~9 degrees).
    clip = load_bvh(DATA / "cmu131_01_walk_start_stop.bvh")
    _, hips, local = retarget_clip(clip, HEIGHT)
    _, rot = body_fk(hips, local, HEIGHT)
    up = quat_rotate(rot[:, J["head"]], np.array([0.0, 1.0, 0.0]))
    assert np.median(_tilt_deg(up)) < 15.0


def test_synthetic_rig_with_a_nose_site_keeps_the_head_upright():
    # The Mixamo-named rig of test_mocap_bvh with its head's End Site moved in front of the head (a nose).
    zero = [0.0] * (6 + 3 * (len(ARMS_DOWN) - 1))
    text = _bvh_from_tree(ARMS_DOWN, [zero])
    assert text.count("OFFSET 0.0 5.0 0.0") == 1
    clip = parse_bvh(text.replace("OFFSET 0.0 5.0 0.0", "OFFSET 0.0 -1.0 4.0"))
    _, hips, local = retarget_clip(clip, HEIGHT)
    _, rot = body_fk(hips, local, HEIGHT)
    up = quat_rotate(rot[0, J["head"]], np.array([0.0, 1.0, 0.0]))
    assert up == pytest.approx([0.0, 1.0, 0.0], abs=1e-6)


def _with_tpose_first(clip: BvhClip) -> BvhClip:
    """The clip with a synthetic T-pose frame put first (every rotation zero, the root where frame 0 has it),
    as many CMU conversions have; the shared walk has none."""
    rest = clip.motion[0].copy()
    col = 0
    for chans in clip.channels:
        for i, c in enumerate(chans):
            if c.endswith("rotation"):
                rest[col + i] = 0.0
        col += len(chans)
    return BvhClip(clip.names, clip.parents, clip.offsets, clip.channels, clip.end_sites, clip.frame_time,
                   np.vstack((rest, clip.motion)))


class _Sink:
    def __init__(self) -> None:
        self.hips: list[np.ndarray] = []
        self.rots: list[np.ndarray] = []

    def __call__(self, room_id, avatar_id, hips, rots, now) -> None:
        self.hips.append(np.array(hips))
        self.rots.append(np.array(rots))


def test_synthetic_tpose_detection():
    zero = [0.0] * (6 + 3 * (len(ARMS_DOWN) - 1))
    bent = list(zero)
    bent[6 + 3 * 6] = 60.0  # frame 1 lifts the left arm 60 degrees: frame 0 is a synthetic rest frame
    clip = parse_bvh(_bvh_from_tree(ARMS_DOWN, [zero, bent, bent]))
    assert drop_synthetic_tpose(clip).frame_count == 2
    slow = list(zero)
    slow[6 + 3 * 6] = 3.0  # a capture that starts at rest and moves on slowly keeps its first frame
    clip = parse_bvh(_bvh_from_tree(ARMS_DOWN, [zero, slow, slow]))
    assert drop_synthetic_tpose(clip) is clip


@needs_clips
def test_cmu_walk_loops_without_a_jump_or_a_tpose():
    clip = load_bvh(DATA / "cmu131_01_walk_start_stop.bvh")
    assert drop_synthetic_tpose(clip) is clip  # the shared walk starts in motion
    tposed = _with_tpose_first(clip)
    assert drop_synthetic_tpose(tposed).frame_count == clip.frame_count
    _, _, local = retarget_clip(tposed, HEIGHT)
    tpose = local[0]
    sink = _Sink()
    reg = MocapSources(sink)
    sid, _ = reg.create()
    reg.bind(sid, "r", 1, BindOptions(height_m=HEIGHT))
    duration = reg.start_playback(sid, tposed, now=0.0)
    assert duration == pytest.approx((clip.frame_count - 1) * clip.frame_time)
    ticks = np.arange(0.0, duration + 1.0, 1 / 60)  # through the loop seam and one second on
    for now in ticks:
        reg.tick(float(now))
    hips, rots = np.array(sink.hips), np.array(sink.rots)
    assert len(hips) == len(ticks)
    step = np.linalg.norm(np.diff(hips, axis=0), axis=1)
    assert step.max() < 0.1  # was 2.7 m at the seam: the walk jumped back to its start
    # The body walks on from where the first loop ended (~3 m from the start), it is not sent back.
    end_of_loop = hips[ticks < duration][-1]
    assert np.linalg.norm(hips[-1, [0, 2]] - end_of_loop[[0, 2]]) < 1.0
    assert np.linalg.norm(end_of_loop[[0, 2]] - hips[0, [0, 2]]) > 2.0
    # No tick shows the synthetic T-pose (CMU's rest: arms hanging, legs apart).
    differs = np.degrees(quat_angle(rots[:, 1:], tpose[1:])).max(axis=1)
    assert differs.min() > 5.0


def _straight_walk(metres: float, seconds: float = 2.0, rate: float = 30.0) -> LoopingTrack:
    n = int(seconds * rate) + 1
    root = np.zeros((n, 3))
    root[:, 1] = 0.95
    root[:, 2] = np.linspace(0.0, metres, n)
    rots = np.tile([0.0, 0.0, 0.0, 1.0], (n, 22, 1))
    return LoopingTrack(root, rots, 1.0 / rate)


def test_a_travelling_loop_paces_within_its_length_and_turns_smoothly():
    track = _straight_walk(3.0)
    t = np.arange(0.0, 10 * track.duration, 1 / 60)
    hips, rots = track.sample(t)
    assert np.linalg.norm(np.diff(hips, axis=0), axis=1).max() < 0.1
    # Ten loops walking straight on would end 30 m away; turned at every seam it stays on its 3 m line.
    assert np.abs(hips[:, 2]).max() < 3.0 + 1e-6 and np.abs(hips[:, 0]).max() < 1e-6
    turn = np.degrees(quat_angle(rots[1:, 0], rots[:-1, 0]))
    assert turn.max() < 6.0  # 180 degrees over one second (smoothstep), not in one tick
    assert quat_angle(rots[int(1.5 * track.duration * 60), 0], np.array([0.0, 1.0, 0.0, 0.0])) < 1e-6  # back


def test_an_idle_loop_does_not_drift():
    track = _straight_walk(0.03)  # ends 3 cm from its start, like the ReActIdle clip
    hips, _ = track.sample(np.arange(0.0, 100 * track.duration, 1 / 60))
    assert np.abs(hips[:, 2]).max() < 0.03 + 1e-6  # carried, 100 loops would have drifted 3 m
    assert np.linalg.norm(np.diff(hips, axis=0), axis=1).max() < 0.01
