"""Retarget a source skeleton (BVH: CMU, MotionBuilder, Mixamo, Blender/rigify, Unity/VRM names) onto the
22-joint body: hips position + local rotations relative to our T-pose, scaled to the avatar's height.

How (in words, because the details matter):
1. Map joints by *structure anchored on names*: the knees and elbows are found by name on each side
   (knee/shin/calf/lowerleg/leg, elbow/forearm/lowerarm); upper leg/arm are their parents, foot/hand their
   children, the clavicle is the upper arm's parent when that is a sided joint. The spine is the path from
   the hips to the joint the clavicles hang from (1 to n joints -> spine, chest, upperChest); neck and
   head are on the path from there to the joint named head/face. This survives names we never saw.
2. Align frames: G rotates the source's rest frame (up = hips->head, left = right hip->left hip) onto ours
   (+Y up, +X left, +Z forward).
3. Rest corrections: the source's rest pose is rarely a T-pose (CMU's arms hang down). For each mapped
   joint, A_t rotates our T-pose bone direction onto the source's rest bone direction, so
   world_t = G W_source G^-1 A_t makes our bone point where the source bone points. Trunk joints align a
   full frame (bone direction + the body's left) so they do not pick up a spurious twist.
   The head's rest direction is its End Site only when that points up the neck; a forward site (a nose,
   ReActIdle's `face`) gives way to the neck -> head direction.
4. Missing joints (no upperChest, no toes, no hands) keep the identity local rotation: their children's
   locals absorb the motion, so world directions are still right.
5. Scale: leg length along the bones (hip drop + thigh + shin) maps to ours (0.87 m at 1.70 m, scaled with
   height), as for VMC; the rest pose's vertical leg height would undercount splayed rest legs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from server.mocap.bvh import BvhClip
from server.mocap.fk import (
    body_fk,
    body_offsets,
    quat_conj,
    quat_from_frame,
    quat_from_two_vectors,
    quat_mul,
    quat_rotate,
)
from server.realtime.skeleton import BODY_INDEX, BODY_JOINTS, BODY_PARENTS, BODY_REST_OFFSETS, REST_HEIGHT_M

CMU_UNIT_M = (1.0 / 0.45) * 2.54 / 100.0  # CMU FAQ: ASF length units to metres (0.056444)
J = BODY_INDEX
TRUNK = ("hips", "spine", "chest", "upperChest", "neck", "head")
# Child that gives a joint's bone direction; None = leaf (direction from an End Site, see LEAF_DIRECTION).
PRIMARY_CHILD: dict[str, str | None] = {
    "hips": "spine", "spine": "chest", "chest": "upperChest", "upperChest": "neck", "neck": "head", "head": None,
    "leftShoulder": "leftUpperArm", "leftUpperArm": "leftLowerArm", "leftLowerArm": "leftHand", "leftHand": None,
    "rightShoulder": "rightUpperArm", "rightUpperArm": "rightLowerArm", "rightLowerArm": "rightHand",
    "rightHand": None,
    "leftUpperLeg": "leftLowerLeg", "leftLowerLeg": "leftFoot", "leftFoot": "leftToes", "leftToes": None,
    "rightUpperLeg": "rightLowerLeg", "rightLowerLeg": "rightFoot", "rightFoot": "rightToes", "rightToes": None,
}
LEAF_DIRECTION: dict[str, tuple[float, float, float]] = {
    "head": (0.0, 1.0, 0.0), "leftHand": (1.0, 0.0, 0.0), "rightHand": (-1.0, 0.0, 0.0),
    "leftToes": (0.0, 0.0, 1.0), "rightToes": (0.0, 0.0, 1.0), "leftFoot": (0.0, -0.05, 0.13),
    "rightFoot": (0.0, -0.05, 0.13),
}
KNEE_NAMES = {"knee", "shin", "calf", "lowerleg", "leg", "tibia", "crus"}
ELBOW_NAMES = {"elbow", "forearm", "lowerarm", "radius", "ulna"}
HEAD_NAMES = {"head", "face", "skull"}
HIPS_NAMES = {"hips", "hip", "pelvis"}
# CMU-style lower-case prefix words: lhand, lfemur, lhumerus, rtoes ...
_CMU_SIDE_WORDS = ("hand", "femur", "tibia", "foot", "toes", "humerus", "radius", "wrist", "clavicle",
                   "hipjoint", "fingers", "thumb", "collar", "shoulder", "elbow", "knee", "ankle", "toe", "hip")


_TPOSE = body_fk(np.zeros(3), np.tile([0.0, 0.0, 0.0, 1.0], (22, 1)), REST_HEIGHT_M)[0]


class RetargetError(ValueError):
    """The source skeleton cannot be mapped onto the body (the message names what is missing)."""


def split_side(name: str) -> tuple[str | None, str]:
    """('L' | 'R' | None, normalised base name) of a joint name in any common convention."""
    n = name.split(":")[-1].split("|")[-1].strip()
    n = re.sub(r"^(DEF|ORG|MCH)[-_.]", "", n, flags=re.I)
    n = re.sub(r"^(mixamorig|bip0?1|j_bip|bip)[_ ]?", "", n, flags=re.I)
    side = None
    low = n.lower()
    m = re.match(r"^(.*?)[ ._-](l|r|left|right)$", low)
    if m:
        side, low = m.group(2)[0].upper(), m.group(1)
    elif (m := re.match(r"^(left|right)[ ._-]?(.*)$", low)) and m.group(2):
        side, low = m.group(1)[0].upper(), m.group(2)
    elif (m := re.match(r"^(.*?)[_.](l|r)[_.](.*)$", low)):  # J_Bip_L_UpperArm -> "l"
        side, low = m.group(2).upper(), m.group(1) + m.group(3)
    elif (m := re.match(r"^(l|r)[ ._-](.+)$", low)):
        side, low = m.group(1).upper(), m.group(2)
    elif len(n) > 2 and n[0] in "LR" and n[1].isupper():  # LHipJoint, RThumb
        side, low = n[0], n[1:].lower()
    elif low[:1] in ("l", "r") and low[1:] in _CMU_SIDE_WORDS:
        side, low = low[0].upper(), low[1:]
    return side, re.sub(r"[ ._\-]", "", low)


def _children(parents: list[int]) -> list[list[int]]:
    kids: list[list[int]] = [[] for _ in parents]
    for j, p in enumerate(parents):
        if p >= 0:
            kids[p].append(j)
    return kids


def _path(parents: list[int], ancestor: int, joint: int) -> list[int]:
    """Joints from ancestor (exclusive) down to joint (inclusive); [] if joint is not below ancestor."""
    out = []
    while joint >= 0 and joint != ancestor:
        out.append(joint)
        joint = parents[joint]
    return out[::-1] if joint == ancestor else []


def map_joints(names: list[str], parents: list[int]) -> dict[str, int]:
    """Body joint name -> source joint index, for every body joint the source has."""
    kids = _children(parents)
    sides = [split_side(n) for n in names]

    def subtree_size(j: int) -> int:
        return 1 + sum(subtree_size(c) for c in kids[j])

    def main_child(j: int) -> int | None:
        return max(kids[j], key=subtree_size) if kids[j] else None

    out: dict[str, int] = {}
    hips = next((j for j, (s, b) in enumerate(sides) if s is None and b in HIPS_NAMES), None)
    if hips is None:
        hips = 0
        while len(kids[hips]) == 1:  # skip a reference/root node above the real hips
            hips = kids[hips][0]
    out["hips"] = hips
    for side, word in (("L", "left"), ("R", "right")):
        knee = next((j for j, (s, b) in enumerate(sides) if s == side and b in KNEE_NAMES), None)
        if knee is not None:
            out[f"{word}LowerLeg"] = knee
            if parents[knee] >= 0:
                out[f"{word}UpperLeg"] = parents[knee]
            if (foot := main_child(knee)) is not None:
                out[f"{word}Foot"] = foot
                if (toes := main_child(foot)) is not None:
                    out[f"{word}Toes"] = toes
        elbow = next((j for j, (s, b) in enumerate(sides) if s == side and b in ELBOW_NAMES), None)
        if elbow is not None:
            out[f"{word}LowerArm"] = elbow
            upper = parents[elbow]
            if upper >= 0:
                out[f"{word}UpperArm"] = upper
                clavicle = parents[upper]
                if clavicle >= 0 and sides[clavicle][0] == side:
                    out[f"{word}Shoulder"] = clavicle
            if (hand := main_child(elbow)) is not None:
                out[f"{word}Hand"] = hand
    # Trunk: the joint the arms hang from is the top of the spine.
    arm_root = out.get("leftShoulder", out.get("leftUpperArm", out.get("rightShoulder", out.get("rightUpperArm"))))
    top = parents[arm_root] if arm_root is not None else None
    spine = _path(parents, hips, top) if top is not None else []
    if spine:
        if len(spine) == 1:
            out["spine"] = spine[0]
        elif len(spine) == 2:
            out["spine"], out["chest"] = spine
        else:
            out["spine"], out["chest"], out["upperChest"] = spine[0], spine[-2], spine[-1]
    neck_root = top if top is not None else hips
    head = next((j for j, (s, b) in enumerate(sides) if s is None and b in HEAD_NAMES and _path(parents, neck_root, j)),
                None)
    if head is not None:
        out["head"] = head
        path = _path(parents, neck_root, head)
        if len(path) >= 2:
            out["neck"] = path[0]
    return out


@dataclass
class Retargeter:
    """Precomputed mapping and rest corrections for one source skeleton; apply to any number of frames."""

    source_names: list[str]
    source_parents: list[int]
    mapping: dict[str, int]
    frame_align: np.ndarray  # G (4,): source world frame -> ours
    rest_correction: np.ndarray  # A (22, 4)
    source_rest_m: np.ndarray  # (J, 3) source rest positions, our frame, metres
    unit_scale: float  # source units -> metres
    scale: float  # source metres -> avatar metres
    height_m: float

    @classmethod
    def for_bvh(cls, clip: BvhClip, height_m: float = REST_HEIGHT_M, unit_scale: float | None = None) -> Retargeter:
        mapping = map_joints(clip.names, clip.parents)
        rest = clip.rest_positions()
        end_rest = {j: clip.end_site_rest_position(j) for j in clip.end_sites}
        return cls.build(clip.names, clip.parents, mapping, rest, end_rest, height_m, unit_scale)

    @classmethod
    def build(
        cls,
        names: list[str],
        parents: list[int],
        mapping: dict[str, int],
        rest: np.ndarray,
        end_rest: dict[int, np.ndarray | None],
        height_m: float,
        unit_scale: float | None,
    ) -> Retargeter:
        missing = [n for n in ("hips", "leftUpperLeg", "rightUpperLeg") if n not in mapping]
        if "head" not in mapping and "neck" not in mapping:
            missing.append("head or neck")
        if missing:
            raise RetargetError(f"cannot find {', '.join(missing)} in the source skeleton ({len(names)} joints)")
        hips = rest[mapping["hips"]]
        up = rest[mapping.get("head", mapping.get("neck"))] - hips
        left = rest[mapping["leftUpperLeg"]] - rest[mapping["rightUpperLeg"]]
        g = quat_conj(quat_from_frame(left, up))
        rest_ours = quat_rotate(g, rest)
        if unit_scale is None:
            unit_scale = guess_unit_scale(float(np.dot(up, up) ** 0.5))
        rest_m = rest_ours * unit_scale
        # Scale: leg length from bone lengths (hip drop below the hips + thigh + shin), ours vs the source's, the
        # rule VMC uses. The rest pose's vertical hips-over-ankles height undercounts splayed rest legs (CMU's:
        # feet floated ~5 cm); bone lengths do not depend on the rest pose.
        target_off = body_offsets(height_m)
        legs = [_leg_length(rest_m, mapping, side) for side in ("left", "right")]
        legs = [v for v in legs if v is not None]
        if legs:
            src_len = float(np.mean(legs))
            tgt_len = (abs(target_off[J["leftUpperLeg"], 1]) + float(np.linalg.norm(target_off[J["leftLowerLeg"]]))
                       + float(np.linalg.norm(target_off[J["leftFoot"]])))
        else:
            src_len = float(np.linalg.norm(up)) * unit_scale
            tgt_len = float(np.sum(target_off[[J["spine"], J["chest"], J["upperChest"], J["neck"], J["head"]], 1]))
        if src_len <= 1e-6:
            raise RetargetError("the source's rest pose has no height (hips at the feet)")
        tpose, _ = body_fk(np.zeros(3), np.tile([0.0, 0.0, 0.0, 1.0], (22, 1)), REST_HEIGHT_M)
        corr = np.tile([0.0, 0.0, 0.0, 1.0], (22, 1))
        for t, name in enumerate(BODY_JOINTS):
            s = mapping.get(name)
            if s is None:
                continue
            pair = _rest_directions(name, s, mapping, rest_m, tpose, end_rest, g, unit_scale)
            if pair is None:
                p = BODY_PARENTS[t]
                corr[t] = corr[p] if p >= 0 else corr[t]
                continue
            d_ours, d_src = pair
            if name in TRUNK:
                left = np.array([1.0, 0.0, 0.0])  # after G the body's left is +X for both skeletons
                corr[t] = quat_mul(quat_from_frame(left, d_src), quat_conj(quat_from_frame(left, d_ours)))
            else:
                corr[t] = quat_from_two_vectors(d_ours, d_src)
        return cls(list(names), list(parents), mapping, g, corr, rest_m, float(unit_scale), tgt_len / src_len,
                   float(height_m))

    def retarget(self, world_pos: np.ndarray, world_rot: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Source world positions (N, J, 3, file units) and rotations (N, J, 4) -> hips (N, 3), locals (N, 22, 4)."""
        n = world_rot.shape[0]
        g, gi = self.frame_align, quat_conj(self.frame_align)
        world = np.empty((n, 22, 4))
        for t, name in enumerate(BODY_JOINTS):
            s = self.mapping.get(name)
            if s is None:
                world[:, t] = world[:, BODY_PARENTS[t]] if t else np.array([0.0, 0.0, 0.0, 1.0])
            else:
                world[:, t] = quat_mul(quat_mul(quat_mul(g, world_rot[:, s]), gi), self.rest_correction[t])
                if name not in TRUNK or name == "neck":
                    world[:, t] = self._aim(t, name, world[:, t], world_pos)
        local = np.empty_like(world)
        local[:, 0] = world[:, 0]
        parents = np.array(BODY_PARENTS[1:])
        local[:, 1:] = quat_mul(quat_conj(world[:, parents]), world[:, 1:])
        local *= np.where(local[..., 3:] < 0.0, -1.0, 1.0)  # w >= 0: one canonical sign for the wire
        hips = self.normalize_positions(world_pos[:, self.mapping["hips"]])
        return hips, local

    def _aim(self, t: int, name: str, world_t: np.ndarray, world_pos: np.ndarray) -> np.ndarray:
        """Swing a limb (or the neck) so its bone points at the source's next mapped joint.

        Needed where the source has joints we drop in between (CMU's upper neck between lowerneck and Head,
        a hip or clavicle helper): their rotation bends the real bone, which the joint's own rotation misses.
        """
        child = PRIMARY_CHILD[name]
        s = self.mapping[name]
        while child is not None:
            c = self.mapping.get(child)
            if c is not None and np.linalg.norm(self.source_rest_m[c] - self.source_rest_m[s]) > 1e-4:
                break
            child = PRIMARY_CHILD[child]
        if child is None:
            return world_t
        c = self.mapping[child]
        tpose_dir = _TPOSE[J[child]] - _TPOSE[t]
        ours = quat_rotate(world_t, tpose_dir)
        target = quat_rotate(self.frame_align, world_pos[:, c] - world_pos[:, s])
        ok = np.linalg.norm(target, axis=-1) > 1e-9
        if not np.all(ok):
            target = np.where(ok[:, None], target, ours)
        return quat_mul(quat_from_two_vectors(ours, target), world_t)

    def normalize_positions(self, pos: np.ndarray) -> np.ndarray:
        """Source positions (file units) -> our frame, scaled to the avatar (what our FK should reproduce)."""
        return quat_rotate(self.frame_align, pos) * (self.unit_scale * self.scale)

    def source_proportion_offsets(self) -> np.ndarray:
        """Body offsets (22, 3) with the source's bone lengths, in each parent's T-pose frame.

        FK with these offsets reproduces the source's joint positions exactly when the rotations are right,
        so errors measured on them are retargeting errors, not differences in body proportions.
        """
        out = np.zeros((22, 3))
        rest = self.source_rest_m * self.scale
        for t, name in enumerate(BODY_JOINTS[1:], start=1):
            s = self.mapping.get(name)
            a = BODY_PARENTS[t]
            while a > 0 and BODY_JOINTS[a] not in self.mapping:
                a = BODY_PARENTS[a]  # missing joints sit on their mapped ancestor (zero offset)
            if s is None:
                continue
            out[t] = quat_rotate(quat_conj(self.rest_correction[a]), rest[s] - rest[self.mapping[BODY_JOINTS[a]]])
        return out


def _rest_directions(
    name: str, s: int, mapping: dict[str, int], rest_m: np.ndarray, tpose: np.ndarray,
    end_rest: dict[int, np.ndarray | None], g: np.ndarray, unit: float,
) -> tuple[np.ndarray, np.ndarray] | None:
    """(our T-pose bone direction, the source's rest bone direction) for one joint, or None if unknown."""
    t = J[name]
    child = PRIMARY_CHILD[name]
    while child is not None:
        c = mapping.get(child)
        if c is not None and np.linalg.norm(rest_m[c] - rest_m[s]) > 1e-4:
            return tpose[J[child]] - tpose[t], rest_m[c] - rest_m[s]
        child = PRIMARY_CHILD[child]
    end = end_rest.get(s)
    if end is not None:
        d_src = quat_rotate(g, end) * unit - rest_m[s]
        if name == "head":
            d_src = _head_up(d_src, s, mapping, rest_m)
        if np.linalg.norm(d_src) > 1e-4:
            first = PRIMARY_CHILD[name]
            d_ours = BODY_REST_OFFSETS[J[first]] if first else np.array(LEAF_DIRECTION[name])
            return d_ours, d_src
    return None


def _head_up(site: np.ndarray, s: int, mapping: dict[str, int], rest_m: np.ndarray) -> np.ndarray:
    """The head's rest up direction: its End Site if that points up the neck, else the neck -> head direction.

    Some rigs (ReActIdle's `face`) end the head in a nose/eye site in front of it. Aligning our up-pointing
    head bone with that pitched the head ~45 degrees down (the eyes below the skull base).
    """
    below = next((mapping[n] for n in ("neck", "upperChest", "chest", "spine", "hips")
                  if n in mapping and np.linalg.norm(rest_m[s] - rest_m[mapping[n]]) > 1e-4), None)
    if below is None:
        return site
    neck_dir = rest_m[s] - rest_m[below]
    cos = float(np.dot(site, neck_dir)) / (float(np.linalg.norm(site) * np.linalg.norm(neck_dir)) + 1e-12)
    return site if cos > np.cos(np.radians(45.0)) else neck_dir


def _leg_length(rest_m: np.ndarray, mapping: dict[str, int], side: str) -> float | None:
    """Hips-to-ankle length along the bones (hip drop + thigh + shin) of one side, or None if unmapped."""
    names = ("hips", f"{side}UpperLeg", f"{side}LowerLeg", f"{side}Foot")
    if not all(n in mapping for n in names):
        return None
    hips, hip, knee, ankle = (rest_m[mapping[n]] for n in names)
    return abs(float(hips[1] - hip[1])) + float(np.linalg.norm(knee - hip) + np.linalg.norm(ankle - knee))


def guess_unit_scale(hips_to_head: float) -> float:
    """Metres per file unit from the rest pose's hips-to-head distance (an adult's is ~0.5-0.8 m)."""
    if 0.2 <= hips_to_head <= 1.5:
        return 1.0  # metres
    if 4.0 <= hips_to_head <= 20.0:
        return CMU_UNIT_M  # CMU ASF units (~0.056 m)
    if 20.0 < hips_to_head <= 150.0:
        return 0.01  # centimetres
    if 200.0 <= hips_to_head <= 1500.0:
        return 0.001  # millimetres
    raise RetargetError(f"cannot tell the unit of this file (hips to head is {hips_to_head:.3g} units)")


def retarget_clip(clip: BvhClip, height_m: float = REST_HEIGHT_M) -> tuple[Retargeter, np.ndarray, np.ndarray]:
    """Retarget every frame of a clip: (retargeter, hips (N, 3), local rotations (N, 22, 4))."""
    rt = Retargeter.for_bvh(clip, height_m)
    pos, rot = clip.fk()
    hips, local = rt.retarget(pos, rot)
    return rt, hips, local


def position_errors(
    rt: Retargeter, clip: BvhClip, hips: np.ndarray, local: np.ndarray, source_proportions: bool
) -> np.ndarray:
    """Per frame and mapped joint, distance (m) between our FK and the source's FK scaled to the avatar."""
    pos, _ = clip.fk()
    src = rt.normalize_positions(pos)
    offsets = rt.source_proportion_offsets() if source_proportions else None
    ours, _ = body_fk(hips, local, rt.height_m, offsets=offsets)
    cols = [(J[n], s) for n, s in rt.mapping.items()]
    return np.linalg.norm(ours[:, [c[0] for c in cols]] - src[:, [c[1] for c in cols]], axis=-1)
