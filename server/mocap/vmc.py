"""VMC protocol layer (Virtual Motion Capture, OSC over UDP): messages -> body frames.

Coordinates: VMC carries Unity transforms, left-handed, +Y up, +Z forward, +X to the avatar's right.
Ours are right-handed, +Y up, the avatar faces +Z and its left is +X. Mirroring X maps one onto the other:
position (x, y, z) -> (-x, y, z), quaternion (x, y, z, w) -> (x, -y, -z, w) (a reflection keeps the
rotation axis component along the mirror normal and flips the others). Unity's LeftUpperArm sits at -X in
Unity and lands at +X, our left. Bone rotations are the humanoid's local rotations; VRM-normalised senders
(VSeeFace, VMagicMirror, Warudo, our sender) send them relative to a T-pose, which is our convention.

Frames tolerate loss (a bone not in this packet keeps its last value), duplicates and reordering: each
packet's time is its bundle timetag, else its /VMC/Ext/T; a packet older than the newest one seen is
dropped ("stale"); a jump back of more than RESTART_GAP_S is a sender restart and is accepted.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from server.mocap.osc import IMMEDIATELY, OscMessage, timetag_to_seconds
from server.realtime.skeleton import BODY_JOINTS

BONE_POS = "/VMC/Ext/Bone/Pos"
ROOT_POS = "/VMC/Ext/Root/Pos"
BLEND_VAL = "/VMC/Ext/Blend/Val"
BLEND_APPLY = "/VMC/Ext/Blend/Apply"
OK = "/VMC/Ext/OK"
TIME = "/VMC/Ext/T"
RESTART_GAP_S = 2.0
MAX_BONE_OFFSET_M = 5.0  # a bone's local position beyond this is an absurd scale, not a human
MAX_ROOT_POS_M = 1000.0
SCALE_RANGE = (0.01, 100.0)  # VMC 2.1 root scale outside this is absurd
MAX_BLENDSHAPES = 256
MAX_BLEND_NAME = 64

# Unity HumanBodyBones names: ours are the same in lowerCamelCase.
UNITY_TO_BODY: dict[str, int] = {n[0].upper() + n[1:]: i for i, n in enumerate(BODY_JOINTS)}
_LOWER_TO_BODY = {k.lower(): v for k, v in UNITY_TO_BODY.items()}
_FINGERS = [f"{s}{f}{p}" for s in ("Left", "Right") for f in ("Thumb", "Index", "Middle", "Ring", "Little")
            for p in ("Proximal", "Intermediate", "Distal")]
UNUSED_BONES = frozenset(["LeftEye", "RightEye", "Jaw", "LastBone", *_FINGERS])


def unity_to_ours_pos(x: float, y: float, z: float) -> tuple[float, float, float]:
    return (-x, y, z)


def unity_to_ours_quat(x: float, y: float, z: float, w: float) -> tuple[float, float, float, float]:
    return (x, -y, -z, w)


ours_to_unity_pos = unity_to_ours_pos  # the mirror is its own inverse
ours_to_unity_quat = unity_to_ours_quat


def _quat_mul(a: tuple, b: tuple) -> tuple[float, float, float, float]:
    ax, ay, az, aw = a
    bx, by, bz, bw = b
    return (aw * bx + ax * bw + ay * bz - az * by, aw * by - ax * bz + ay * bw + az * bx,
            aw * bz + ax * by - ay * bx + az * bw, aw * bw - ax * bx - ay * by - az * bz)


def _rotate(q: tuple, v: tuple) -> tuple[float, float, float]:
    x, y, z, _ = _quat_mul(_quat_mul(q, (v[0], v[1], v[2], 0.0)), (-q[0], -q[1], -q[2], q[3]))
    return (x, y, z)


@dataclass
class VmcFrame:
    """One body pose out of the stream, in our coordinates (metres of the sender's model)."""

    sender_time: float | None
    hips_pos: np.ndarray  # (3,) world: root transform applied
    local_rots: np.ndarray  # (22, 4) xyzw; joint 0 is the hips' world rotation
    bone_offsets: dict[int, tuple[float, float, float]]  # local positions the sender reported (for scale)
    blendshapes: dict[str, float]
    ok: bool | None


@dataclass
class VmcAssembler:
    """Sans-I/O: feed the parsed messages of one packet with the arrival time; get a frame or None."""

    counters: Counter = field(default_factory=Counter)
    root_pos: tuple[float, float, float] = (0.0, 0.0, 0.0)
    root_rot: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 1.0)
    bones: dict[int, tuple[tuple[float, float, float], tuple[float, float, float, float]]] = field(
        default_factory=dict)
    blend_pending: dict[str, float] = field(default_factory=dict)
    blendshapes: dict[str, float] = field(default_factory=dict)
    ok: bool | None = None
    latest: dict[str, float] = field(default_factory=dict)  # newest time per clock ("bundle", "T")
    last_seen: float | None = None

    def _packet_time(self, messages: list[OscMessage]) -> tuple[str, float] | None:
        tt = messages[0][0]
        if tt is not None and tt != IMMEDIATELY:
            return "bundle", timetag_to_seconds(tt)
        for _, address, args in messages:
            if address == TIME and len(args) == 1 and isinstance(args[0], float) and math.isfinite(args[0]):
                return "T", args[0]
        return None

    def feed(self, messages: list[OscMessage], now: float) -> VmcFrame | None:
        if not messages:
            return None
        stamp = self._packet_time(messages)
        if stamp is not None:
            clock, t = stamp
            newest = self.latest.get(clock)
            if newest is not None and t < newest:
                if newest - t <= RESTART_GAP_S:
                    self.counters["stale"] += 1
                    return None
                self.counters["sender_restart"] += 1
            elif newest is not None and t == newest:
                self.counters["same_time"] += 1  # a duplicate, or a frame split over several packets
            self.latest[clock] = t
        changed = False
        c = self.counters
        for _, address, args in messages:
            if address == BONE_POS:
                changed |= self._bone(args)
            elif address == ROOT_POS:
                changed |= self._root(args)
            elif address == BLEND_VAL:
                self._blend(args)
            elif address == BLEND_APPLY:
                self.blendshapes.update(self.blend_pending)
                self.blend_pending.clear()
                c["blend_apply"] += 1
            elif address == OK:
                if args and isinstance(args[0], int) and not isinstance(args[0], bool):
                    self.ok = args[0] == 1
                    c["ok"] += 1
                else:
                    c["bad_arguments"] += 1
            elif address == TIME:
                c["time"] += 1
            elif address.startswith("/plaza/"):
                continue  # ingest's own messages (the source key)
            else:
                c["other_address"] += 1
        if not changed:
            return None
        self.last_seen = now
        c["frames"] += 1
        return self.frame(None if stamp is None else stamp[1])

    def frame(self, sender_time: float | None = None) -> VmcFrame:
        identity = (0.0, 0.0, 0.0, 1.0)
        bones = self.bones
        rows = [bones[i][1] if i in bones else identity for i in range(len(BODY_JOINTS))]
        hips_local_pos, hips_rot = bones.get(0, ((0.0, 0.0, 0.0), identity))
        rows[0] = _quat_mul(self.root_rot, hips_rot)
        p = _rotate(self.root_rot, hips_local_pos)
        hips = np.array([self.root_pos[0] + p[0], self.root_pos[1] + p[1], self.root_pos[2] + p[2]])
        return VmcFrame(sender_time, hips, np.array(rows), {i: b[0] for i, b in bones.items()},
                        dict(self.blendshapes), self.ok)

    def _floats(self, args: tuple, start: int, count: int) -> tuple[float, ...] | None:
        vals = args[start:start + count]
        try:
            # One pass: a str/bytes/None argument raises TypeError; NaN or inf anywhere makes the sum
            # non-finite (float32 values cannot overflow a float64 sum of a few terms). Ints pass as numbers.
            total = math.fsum(vals) if len(vals) == count else None
        except TypeError:
            total = None
        if total is None:
            self.counters["bad_arguments"] += 1
            return None
        if not math.isfinite(total):
            self.counters["non_finite"] += 1
            return None
        return vals

    def _quat(self, vals: tuple[float, ...]) -> tuple[float, float, float, float] | None:
        x, y, z, w = vals
        n = math.sqrt(x * x + y * y + z * z + w * w)
        if not 0.5 < n < 1.5:  # a sender bug, not rounding: refuse rather than guess
            self.counters["bad_quaternion"] += 1
            return None
        return unity_to_ours_quat(x / n, y / n, z / n, w / n)

    def _bone(self, args: tuple) -> bool:
        if len(args) != 8 or type(args[0]) is not str:
            self.counters["bad_arguments"] += 1
            return False
        name = args[0]
        idx = UNITY_TO_BODY.get(name)
        if idx is None:
            idx = _LOWER_TO_BODY.get(name.lower())
            if idx is None:
                self.counters["unused_bone" if name in UNUSED_BONES else "unknown_bone"] += 1
                return False
        vals = self._floats(args, 1, 7)
        if vals is None:
            return False
        if abs(vals[0]) > MAX_BONE_OFFSET_M or abs(vals[1]) > MAX_BONE_OFFSET_M or abs(vals[2]) > MAX_BONE_OFFSET_M:
            self.counters["absurd_scale"] += 1
            return False
        q = self._quat(vals[3:])
        if q is None:
            return False
        self.bones[idx] = (unity_to_ours_pos(*vals[:3]), q)
        self.counters["bones"] += 1
        return True

    def _root(self, args: tuple) -> bool:
        if len(args) not in (8, 11, 14) or type(args[0]) is not str:
            self.counters["bad_arguments"] += 1
            return False
        vals = self._floats(args, 1, len(args) - 1)
        if vals is None:
            return False
        if max(abs(vals[0]), abs(vals[1]), abs(vals[2])) > MAX_ROOT_POS_M:
            self.counters["out_of_range"] += 1
            return False
        if len(vals) >= 10 and not all(SCALE_RANGE[0] <= s <= SCALE_RANGE[1] for s in vals[7:10]):
            self.counters["absurd_scale"] += 1
            return False
        q = self._quat(vals[3:7])
        if q is None:
            return False
        self.root_pos = unity_to_ours_pos(*vals[:3])
        self.root_rot = q
        self.counters["roots"] += 1
        return True

    def _blend(self, args: tuple) -> None:
        if len(args) != 2 or type(args[0]) is not str or type(args[1]) is not float:
            self.counters["bad_arguments"] += 1
            return
        name, value = args
        if not math.isfinite(value):
            self.counters["non_finite"] += 1
            return
        if len(name) > MAX_BLEND_NAME or (name not in self.blendshapes and name not in self.blend_pending
                                          and len(self.blendshapes) + len(self.blend_pending) >= MAX_BLENDSHAPES):
            self.counters["too_many_blendshapes"] += 1
            return
        self.blend_pending[name] = min(max(value, 0.0), 1.0)
        self.counters["blend_values"] += 1


def encode_body_bundle(
    hips_pos: np.ndarray, local_rots: np.ndarray, offsets: np.ndarray, timetag: int, sender_time: float,
    extra: list[bytes] | None = None,
) -> bytes:
    """A VMC bundle for one body pose in our coordinates (the sender tool's and the benchmark's packet)."""
    from server.mocap.osc import encode_bundle, encode_message

    msgs = list(extra or [])
    msgs.append(encode_message(ROOT_POS, ["root", 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0]))
    for i, name in enumerate(BODY_JOINTS):
        pos = hips_pos if i == 0 else offsets[i]
        px, py, pz = ours_to_unity_pos(*(float(v) for v in pos))
        qx, qy, qz, qw = ours_to_unity_quat(*(float(v) for v in local_rots[i]))
        msgs.append(encode_message(BONE_POS, [name[0].upper() + name[1:], px, py, pz, qx, qy, qz, qw]))
    msgs.append(encode_message(TIME, [float(sender_time)]))
    msgs.append(encode_message(OK, [1]))
    return encode_bundle(timetag, msgs)
