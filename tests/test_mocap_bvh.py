"""BVH parsing against hand-computed forward kinematics, 60 Hz resampling, and retargeting onto the body."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from server.mocap.bvh import BvhError, LoopingTrack, load_bvh, parse_bvh
from server.mocap.fk import (
    body_fk,
    quat_angle,
    quat_from_axis_angle,
    quat_from_euler_deg,
    quat_from_matrix,
    quat_mul,
    quat_rotate,
    quat_slerp,
)
from server.mocap.retarget import (
    CMU_UNIT_M,
    Retargeter,
    RetargetError,
    map_joints,
    position_errors,
    retarget_clip,
    split_side,
)
from server.realtime.skeleton import BODY_INDEX, BODY_REST_OFFSETS
from tests.support import needs

DATA = Path(os.environ.get("PLAZA_MOCAP_DATA", Path(__file__).resolve().parents[1].parent / "shared/data/mocap"))
CLIPS = ["cmu131_01_walk_start_stop.bvh", "cmu131_03_hop_start_stop.bvh", "reactidle003_genuine_idle.bvh"]
needs_clips = needs(
    all((DATA / c).is_file() for c in CLIPS),
    reason="the real mocap clips are not in the repo; they are read from ../shared/data/mocap next to the "
    "checkout (or PLAZA_MOCAP_DATA), which is missing here",
)

# Root with 6 channels (ZYX), a spine with a different order (ZXY), an "arm" with 6 channels (XYZ)
# whose position channels replace its OFFSET, and an End Site. Half CRLF, half LF, like the CMU files.
TINY = (
    "HIERARCHY\r\nROOT Hips\r\n{\r\n  OFFSET 0 0 0\r\n"
    "  CHANNELS 6 Xposition Yposition Zposition Zrotation Yrotation Xrotation\r\n"
    "  JOINT Spine\r\n  {\r\n    OFFSET 0 10 0\r\n    CHANNELS 3 Zrotation Xrotation Yrotation\n"
    "    JOINT Arm\n    {\n      OFFSET 0 0 5\n"
    "      CHANNELS 6 Xposition Yposition Zposition Xrotation Yrotation Zrotation\n"
    "      End Site\n      {\n        OFFSET 3 0 0\n      }\n    }\n  }\n}\n"
    "MOTION\nFrames: 4\nFrame Time: 0.5\n"
    "1 2 3 0 0 0   0 0 0   0 0 5 0 0 0\n"
    "0 0 0 90 0 0  0 0 0   0 0 5 0 0 90\n"
    "0 0 0 0 0 0   90 90 0 0 0 5 0 0 0\n"
    "0 0 0 0 0 0   0 0 0   0 0 7 0 0 0\n"
)


def test_tiny_bvh_matches_hand_computed_fk():
    clip = parse_bvh(TINY)
    assert clip.names == ["Hips", "Spine", "Arm"]
    assert clip.parents == [-1, 0, 1]
    assert clip.frame_count == 4 and clip.fps == pytest.approx(2.0)
    pos, rot = clip.fk()
    end = pos[:, 2] + quat_rotate(rot[:, 2], clip.end_sites[2])
    # frame 0: pure translation of the root
    np.testing.assert_allclose(pos[0], [[1, 2, 3], [1, 12, 3], [1, 12, 8]], atol=1e-9)
    np.testing.assert_allclose(end[0], [4, 12, 8], atol=1e-9)
    # frame 1: root turned 90 deg about Z takes the spine to -X; the arm adds its own 90 deg about Z
    np.testing.assert_allclose(pos[1], [[0, 0, 0], [-10, 0, 0], [-10, 0, 5]], atol=1e-9)
    np.testing.assert_allclose(end[1], [-13, 0, 5], atol=1e-9)
    # frame 2: spine "Zrotation 90 Xrotation 90" = Rz * Rx: (0,0,5) -> Rx -> (0,-5,0) -> Rz -> (5,0,0)
    np.testing.assert_allclose(pos[2, 2], [5, 10, 0], atol=1e-9)
    np.testing.assert_allclose(end[2], [5, 13, 0], atol=1e-9)
    # frame 3: a non-root position channel replaces the OFFSET
    np.testing.assert_allclose(pos[3, 2], [0, 10, 7], atol=1e-9)


def test_euler_order_matters():
    zx = quat_from_euler_deg(np.array([90.0, 90.0]), "ZX")
    xz = quat_from_euler_deg(np.array([90.0, 90.0]), "XZ")
    v = np.array([0.0, 0.0, 5.0])
    np.testing.assert_allclose(quat_rotate(zx, v), [5, 0, 0], atol=1e-9)
    np.testing.assert_allclose(quat_rotate(xz, v), [0, -5, 0], atol=1e-9)


def test_quaternion_helpers_agree():
    rng = np.random.default_rng(1)
    q = rng.normal(size=(50, 4))
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    # matrix round trip: columns are the images of the axes
    m = np.stack([quat_rotate(q, np.eye(3)[i]) for i in range(3)], axis=-1)
    assert np.all(quat_angle(quat_from_matrix(m), q) < 1e-6)
    # slerp half way between identity and a 90 deg turn is a 45 deg turn
    a = quat_from_axis_angle(np.array([0, 0, 1.0]), 0.0)
    b = quat_from_axis_angle(np.array([0, 0, 1.0]), np.pi / 2)
    assert quat_angle(quat_slerp(a, b, 0.5), quat_from_axis_angle(np.array([0, 0, 1.0]), np.pi / 4)) < 1e-9
    # composition: rotating twice = rotating by the product
    v = rng.normal(size=(50, 3))
    np.testing.assert_allclose(quat_rotate(quat_mul(q, q[::-1]), v), quat_rotate(q, quat_rotate(q[::-1], v)),
                               atol=1e-9)


def test_body_fk_tpose_and_height_scaling():
    ident = np.tile([0, 0, 0, 1.0], (22, 1))
    pos, _ = body_fk(np.array([0, 0.95, 0]), ident, 1.70)
    # joint world positions are the accumulated rest offsets
    assert pos[BODY_INDEX["leftHand"]] == pytest.approx([0.03 + 0.12 + 0.27 + 0.25, 0.95 + 0.1 + 0.12 + 0.12 + 0.1, 0])
    pos2, _ = body_fk(np.array([0, 0.95 * 2, 0]), ident, 3.40)
    np.testing.assert_allclose(pos2, pos * 2, atol=1e-12)
    # turning the hips 90 deg about +Y swings the left hand from +X to -Z
    q = quat_from_axis_angle(np.array([0, 1.0, 0]), np.pi / 2)
    rots = ident.copy()
    rots[0] = q
    pos3, _ = body_fk(np.zeros(3), rots)
    hand = pos3[BODY_INDEX["leftHand"]]
    assert hand[0] == pytest.approx(0, abs=1e-9) and hand[2] < -0.6


def test_looping_track_resamples_with_slerp_and_loops():
    rots = np.stack([quat_from_axis_angle(np.array([0, 0, 1.0]), a) for a in (0.0, np.pi / 2, np.pi)])[:, None]
    track = LoopingTrack(np.array([[0, 0, 0], [1, 0, 0], [2, 0, 0.0]]), rots, frame_time=0.5)
    assert track.duration == pytest.approx(1.0)
    pos, r = track.sample(0.25)
    assert pos == pytest.approx([0.5, 0, 0])
    assert quat_angle(r[0], quat_from_axis_angle(np.array([0, 0, 1.0]), np.pi / 4)) < 1e-9
    # the second loop starts where the first ended (re-anchored, no jump back to x = 0), turned around
    # because the clip travels 2 m: it walks back ...
    sharp = LoopingTrack(track.root_pos, rots, 0.5, seam_fade_s=0.0)
    pos, _ = sharp.sample(1.1)
    assert pos == pytest.approx([1.8, 0, 0])
    # ... and by default fades in from the last frame over 0.25 s (smoothstep: 35% of the way at 0.1 s)
    pos, r = track.sample(np.array([1.0, 1.1, 1.3]))
    assert pos[:, 0] == pytest.approx([2.0, 2.0 - 0.2 * 0.352, 1.4])
    assert quat_angle(r[0, 0], rots[-1, 0]) < 1e-9
    times_pos, times_rots = track.resample(60.0)
    assert times_pos.shape == (61, 3) and times_rots.shape == (61, 1, 4)
    once = LoopingTrack(track.root_pos, rots, 0.5, loop=False)
    assert once.finished(1.01) and not once.finished(0.99)


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("", "MOTION"),
        ("HIERARCHY\nROOT a\n{\nOFFSET 0 0 0\nCHANNELS 1 Xrotation\n}\nMOTION\nFrames: 2\nFrame Time: 0.1\n1\n",
         "expected 2 frames"),
        ("HIERARCHY\nROOT a\n{\nOFFSET 0 0 0\nCHANNELS 1 Wrotation\n}\nMOTION\nFrames: 1\nFrame Time: 0.1\n1\n",
         "unknown channel"),
        ("HIERARCHY\nROOT a\n{\nOFFSET 0 0 0\nCHANNELS 1 Xrotation\n}\nMOTION\nFrames: 1\nFrame Time: 0.1\nnan\n",
         "NaN"),
        ("HIERARCHY\nROOT a\n{\nOFFSET 0 0\nCHANNELS 1 Xrotation\n}\nMOTION\nFrames: 1\nFrame Time: 0.1\n1\n",
         "number"),
        ("HIERARCHY\nROOT a\n{\nOFFSET 0 0 0\nCHANNELS 1 Xrotation\nMOTION\nFrames: 1\nFrame Time: 0.1\n1\n",
         "unclosed"),
        ("HIERARCHY\nROOT a\n{\nOFFSET 0 0 0\nCHANNELS 1 Xrotation\n}\nMOTION\nFrames: 1\nFrame Time: 0\n1\n",
         "Frame Time"),
    ],
)
def test_malformed_bvh_gives_a_readable_error(text, words):
    with pytest.raises(BvhError, match=words):
        parse_bvh(text)


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_fuzzed_bvh_only_raises_bvh_error(data):
    text = TINY
    cut = data.draw(st.integers(0, len(text)))
    junk = data.draw(st.text(max_size=20))
    try:
        clip = parse_bvh(text[:cut] + junk + text[cut:][len(junk):])
    except BvhError as exc:
        assert str(exc)  # a reason a user can read
    else:
        assert clip.motion.shape == (clip.frame_count, sum(len(c) for c in clip.channels))


@pytest.mark.parametrize(
    ("name", "side", "base"),
    [
        ("thigh.L", "L", "thigh"), ("upper_arm.R", "R", "upperarm"), ("LeftUpLeg", "L", "upleg"),
        ("mixamorig:LeftForeArm", "L", "forearm"), ("J_Bip_L_UpperArm", "L", "upperarm"), ("RightHand", "R", "hand"),
        ("LHipJoint", "L", "hipjoint"), ("lhand", "L", "hand"), ("rfemur", "R", "femur"), ("Hips", None, "hips"),
        ("spine.001", None, "spine001"), ("DEF-forearm.L", "L", "forearm"), ("Left Arm", "L", "arm"),
        ("lowerback", None, "lowerback"),
    ],
)
def test_split_side_understands_common_conventions(name, side, base):
    assert split_side(name) == (side, base)


def _bvh_from_tree(tree: list[tuple[str, int, tuple[float, float, float]]], frames: list[list[float]]) -> str:
    """BVH text for (name, parent, offset) joints with ZXY rotation channels (root: 6 channels)."""
    lines = ["HIERARCHY"]
    kids = {i: [j for j, t in enumerate(tree) if t[1] == i] for i in range(len(tree))}

    def emit(i: int, ind: str) -> None:
        name, parent, off = tree[i]
        lines.append(f"{ind}{'ROOT' if parent < 0 else 'JOINT'} {name}")
        lines.append(f"{ind}{{")
        lines.append(f"{ind}  OFFSET {off[0]} {off[1]} {off[2]}")
        lines.append(f"{ind}  CHANNELS " + ("6 Xposition Yposition Zposition " if parent < 0 else "3 ")
                     + "Zrotation Xrotation Yrotation")
        for k in kids[i]:
            emit(k, ind + "  ")
        if not kids[i]:  # the End Site continues the bone (toes point forward)
            e = (0, 0, 5) if "Toe" in name else tuple(v / 2 for v in off)
            lines.append(f"{ind}  End Site\n{ind}  {{\n{ind}    OFFSET {e[0]} {e[1]} {e[2]}\n{ind}  }}")
        lines.append(f"{ind}}}")

    emit(0, "")
    lines += ["MOTION", f"Frames: {len(frames)}", "Frame Time: 0.0333333"]
    lines += [" ".join(str(v) for v in f) for f in frames]
    return "\n".join(lines) + "\n"


# A Mixamo-named rig whose rest pose has the arms hanging down (like CMU), in centimetres.
ARMS_DOWN = [
    ("mixamorig:Hips", -1, (0, 95, 0)), ("mixamorig:Spine", 0, (0, 10, 0)), ("mixamorig:Spine1", 1, (0, 12, 0)),
    ("mixamorig:Spine2", 2, (0, 12, 0)), ("mixamorig:Neck", 3, (0, 14, 0)), ("mixamorig:Head", 4, (0, 10, 0)),
    ("mixamorig:LeftShoulder", 3, (3, 10, 0)), ("mixamorig:LeftArm", 6, (12, 0, 0)),
    ("mixamorig:LeftForeArm", 7, (0, -27, 0)), ("mixamorig:LeftHand", 8, (0, -25, 0)),
    ("mixamorig:RightShoulder", 3, (-3, 10, 0)), ("mixamorig:RightArm", 10, (-12, 0, 0)),
    ("mixamorig:RightForeArm", 11, (0, -27, 0)), ("mixamorig:RightHand", 12, (0, -25, 0)),
    ("mixamorig:LeftUpLeg", 0, (9, -5, 0)), ("mixamorig:LeftLeg", 14, (0, -42, 0)),
    ("mixamorig:LeftFoot", 15, (0, -40, 0)), ("mixamorig:LeftToeBase", 16, (0, -5, 13)),
    ("mixamorig:RightUpLeg", 0, (-9, -5, 0)), ("mixamorig:RightLeg", 18, (0, -42, 0)),
    ("mixamorig:RightFoot", 19, (0, -40, 0)), ("mixamorig:RightToeBase", 20, (0, -5, 13)),
]


def test_arms_down_rest_pose_is_corrected_to_our_t_pose():
    rest = [0.0] * (6 + 3 * (len(ARMS_DOWN) - 1))
    # the root's position channels add to its OFFSET (0, 95, 0): zero channels = standing on the floor
    raised = list(rest)
    # LeftArm is joint 7 -> its channels start at 6 + 3 * 6; Zrotation +90 lifts (0,-1,0) to (+1,0,0);
    # RightArm (joint 11) needs -90.
    raised[6 + 3 * 6] = 90.0
    raised[6 + 3 * 10] = -90.0
    clip = parse_bvh(_bvh_from_tree(ARMS_DOWN, [rest, raised]))
    rt, hips, local = retarget_clip(clip)
    assert rt.unit_scale == 0.01
    assert set(rt.mapping) == set(BODY_INDEX)  # every body joint found by structure + names
    # In the rest frame our upper arm must point down; in the raised frame the whole body is our T-pose.
    pos, _ = body_fk(hips, local)
    arm = pos[0, BODY_INDEX["leftLowerArm"]] - pos[0, BODY_INDEX["leftUpperArm"]]
    assert arm / np.linalg.norm(arm) == pytest.approx([0, -1, 0], abs=1e-6)
    assert np.all(quat_angle(local[1], np.array([0, 0, 0, 1.0])) < 1e-6)
    assert hips[1] == pytest.approx([0, 0.95, 0], abs=1e-6)  # same proportions as ours -> same hip height


def test_mapping_of_rigify_unity_and_asf_names():
    rigify = ["pelvis", "spine", "spine.001", "neck", "face", "shoulder.L", "upper_arm.L", "forearm.L",
              "shoulder.R", "upper_arm.R", "forearm.R", "thigh.L", "shin.L", "foot.L", "thigh.R", "shin.R", "foot.R"]
    parents = [-1, 0, 1, 2, 3, 2, 5, 6, 2, 8, 9, 0, 11, 12, 0, 14, 15]
    m = map_joints(rigify, parents)
    assert {k: rigify[v] for k, v in m.items()} == {
        "hips": "pelvis", "spine": "spine", "chest": "spine.001", "neck": "neck", "head": "face",
        "leftShoulder": "shoulder.L", "leftUpperArm": "upper_arm.L", "leftLowerArm": "forearm.L",
        "rightShoulder": "shoulder.R", "rightUpperArm": "upper_arm.R", "rightLowerArm": "forearm.R",
        "leftUpperLeg": "thigh.L", "leftLowerLeg": "shin.L", "leftFoot": "foot.L",
        "rightUpperLeg": "thigh.R", "rightLowerLeg": "shin.R", "rightFoot": "foot.R",
    }
    asf = ["root", "lhipjoint", "lfemur", "ltibia", "lfoot", "ltoes", "rhipjoint", "rfemur", "rtibia", "rfoot",
           "rtoes", "lowerback", "upperback", "thorax", "lowerneck", "upperneck", "head", "lclavicle", "lhumerus",
           "lradius", "lwrist", "rclavicle", "rhumerus", "rradius", "rwrist"]
    parents = [-1, 0, 1, 2, 3, 4, 0, 6, 7, 8, 9, 0, 11, 12, 13, 14, 15, 13, 17, 18, 19, 13, 21, 22, 23]
    m = {k: asf[v] for k, v in map_joints(asf, parents).items()}
    assert m["hips"] == "root" and m["leftUpperLeg"] == "lfemur" and m["leftToes"] == "ltoes"
    assert (m["spine"], m["chest"], m["upperChest"], m["neck"]) == ("lowerback", "upperback", "thorax", "lowerneck")
    assert (m["leftShoulder"], m["leftUpperArm"], m["leftHand"]) == ("lclavicle", "lhumerus", "lwrist")


def test_retarget_refuses_a_skeleton_without_legs():
    clip = parse_bvh(TINY)
    with pytest.raises(RetargetError, match="cannot find"):
        Retargeter.for_bvh(clip)


@needs_clips
@pytest.mark.parametrize("name", CLIPS)
def test_real_clips_parse_and_retarget_close_to_the_source(name):
    clip = load_bvh(DATA / name)
    assert np.all(np.isfinite(clip.motion))
    rt, hips, local = retarget_clip(clip, height_m=1.70)
    assert np.all(np.abs(np.linalg.norm(local, axis=-1) - 1) < 1e-9)
    assert len(rt.mapping) >= 17 and {"hips", "leftUpperArm", "rightLowerLeg", "head"} <= set(rt.mapping)
    if name.startswith("cmu"):
        assert rt.unit_scale == pytest.approx(CMU_UNIT_M)
    # On the source's own bone lengths our FK must land on the source's joints: this isolates retargeting
    # error (lost intermediate joints such as CMU's upper neck) from differences in body proportions.
    err = position_errors(rt, clip, hips, local, source_proportions=True)
    assert err.mean() < 0.001 and np.percentile(err, 99) < 0.005
    # On our avatar's proportions the body still stands where the source stands (within bone-length slack).
    err_avatar = position_errors(rt, clip, hips, local, source_proportions=False)
    assert err_avatar.mean() < 0.15
    # Hips are at a standing height for a 1.70 m avatar.
    assert 0.7 < np.median(hips[:, 1]) < 1.1
    # Feet end near the floor: the lowest foot joint over the clip is within 15 cm of y = 0.
    pos, _ = body_fk(hips, local, 1.70)
    assert abs(pos[:, [BODY_INDEX["leftFoot"], BODY_INDEX["rightFoot"]], 1].min()) < 0.15
    assert BODY_REST_OFFSETS.shape == (22, 3)


def test_unity_humanoid_names_map_one_to_one():
    names = ["Hips", "Spine", "Chest", "UpperChest", "Neck", "Head", "LeftShoulder", "LeftUpperArm", "LeftLowerArm",
             "LeftHand", "RightShoulder", "RightUpperArm", "RightLowerArm", "RightHand", "LeftUpperLeg",
             "LeftLowerLeg", "LeftFoot", "LeftToes", "RightUpperLeg", "RightLowerLeg", "RightFoot", "RightToes"]
    parents = [-1, 0, 1, 2, 3, 4, 3, 6, 7, 8, 3, 10, 11, 12, 0, 14, 15, 16, 0, 18, 19, 20]
    m = map_joints(names, parents)
    assert {k: names[v] for k, v in m.items()} == {k: k[0].upper() + k[1:] for k in BODY_INDEX}
