"""Generate the wire-protocol test vectors (docs/protocol_vectors.json) and the annotated hex examples of
docs/PROTOCOL.md from the real server code: the room core, the snapshot codec and the quantizer.

    .venv/bin/python tools/make_protocol_vectors.py          # rewrite both files
    .venv/bin/python tools/make_protocol_vectors.py --check  # exit 1 if either is stale

Everything is deterministic: rooms are driven with fixed times, inputs are short decimals that sit far from
quantization rounding boundaries. The byte annotator below is a second, independent reading of the layouts
(written from docs/PROTOCOL.md); tests/test_protocol_vectors.py checks that it agrees with the reference decoder.
"""

from __future__ import annotations

import argparse
import json
import struct
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(REPO))

from server.realtime import codec, hand_model  # noqa: E402
from server.realtime.driver import RoomDriver  # noqa: E402
from server.realtime.pose import (  # noqa: E402
    BODY,
    CONTROLLERS,
    HEAD,
    KIND_POSE_UPLOAD,
    KIND_SNAPSHOT,
    LEFT_CONTROLLER,
    LEFT_HAND,
    N_BODY_JOINTS,
    N_HAND_JOINTS,
    N_PARTS,
    PART_ABSOLUTE_BYTES,
    PART_COMPONENTS,
    PART_FLOATS,
    PART_MASK_BYTES,
    PART_NAMES,
    PART_OFFSETS,
    RIGHT_CONTROLLER,
    RIGHT_HAND,
    UPLOAD_HEADER,
    UPLOAD_TRIGGERS,
)
from server.realtime.quantize import (  # noqa: E402
    dequantize_positions_mm,
    dequantize_quats,
    pack_quats,
    quantize_positions_mm,
    quantize_quats,
)
from server.realtime.room import Room  # noqa: E402
from server.realtime.skeleton import BODY_JOINTS, HAND_JOINTS  # noqa: E402

VECTORS_PATH = REPO / "docs" / "protocol_vectors.json"
DOC_PATH = REPO / "docs" / "PROTOCOL.md"
BEGIN_MARK = "<!-- BEGIN GENERATED EXAMPLES (tools/make_protocol_vectors.py) -->"
END_MARK = "<!-- END GENERATED EXAMPLES -->"
TICK_S = 1.0 / 60.0
DIGITS = 9  # decimals kept for derived floats (quaternions); positions are exact millimetres


# ---------------------------------------------------------------------------------------------------
# Inputs: short decimals, rotations built from axis-angle so that they are easy to read back.


def quat(axis: tuple[float, float, float], degrees: float) -> list[float]:
    """Unit quaternion xyzw for a rotation about `axis`, rounded to 6 decimals (a plausible client value)."""
    a = np.asarray(axis, dtype=np.float64)
    a = a / np.linalg.norm(a)
    half = np.radians(degrees) / 2.0
    return [round(float(v), 6) + 0.0 for v in (*(a * np.sin(half)), np.cos(half))]  # + 0.0: no "-0"


def tracked(pos: tuple[float, float, float], rot: list[float]) -> list[float]:
    return [*pos, *rot]


def body_floats(hips: tuple[float, float, float], bend_deg: float) -> list[float]:
    """Hips world position + 22 rotations: hips turned 30 deg about +Y, elbows and knees bent by bend_deg,
    everything else at rest (identity = T-pose, see server/realtime/skeleton.py)."""
    rots = [[0.0, 0.0, 0.0, 1.0] for _ in BODY_JOINTS]
    rots[0] = quat((0, 1, 0), 30.0)
    for name, axis in (("leftLowerArm", (0, 1, 0)), ("rightLowerArm", (0, -1, 0)),
                       ("leftLowerLeg", (1, 0, 0)), ("rightLowerLeg", (1, 0, 0))):
        rots[BODY_JOINTS.index(name)] = quat(axis, bend_deg)
    rots[BODY_JOINTS.index("leftUpperArm")] = quat((0, 0, 1), -70.0)
    rots[BODY_JOINTS.index("rightUpperArm")] = quat((0, 0, 1), 70.0)
    return [*hips, *(v for r in rots for v in r)]


def hand_floats(side: int, wrist: tuple[float, float, float]) -> list[float]:
    """25 joints x (position, rotation) of a relaxed hand posed by the hand model, rounded to 0.1 mm / 1e-4."""
    angles = np.radians(np.array([[10, 0, 15, 10] + [20, 0, 25, 15] * 4], dtype=np.float64))
    params = hand_model.HandParams(
        wrist_pos=np.array([wrist]), wrist_rot=np.array([quat((1, 0, 0), -20.0)]), angles=angles, scale=np.ones(1)
    )
    pos, rot = hand_model.joints_from_hand_params(params, np.array([side]))
    joints = np.concatenate([np.round(pos[0], 4), np.round(rot[0], 4)], axis=1)
    return [float(v) for v in joints.reshape(-1)]


# ---------------------------------------------------------------------------------------------------
# Component names (delta masks address components by index inside a part).


def component_names(part: int) -> list[str]:
    if part <= RIGHT_CONTROLLER:
        return ["x", "y", "z", "rot.i", "rot.a", "rot.b", "rot.c"]
    if part in (LEFT_HAND, RIGHT_HAND):
        return ["wrist.x", "wrist.y", "wrist.z", "wrist.rot.i", "wrist.rot.a", "wrist.rot.b", "wrist.rot.c",
                *(f"angle[{k}] {name}" for k, name in enumerate(hand_model.ANGLE_NAMES)), "scale"]
    names = ["hips.x", "hips.y", "hips.z"]
    for joint in BODY_JOINTS:
        names += [f"{joint}.rot.{c}" for c in "iabc"]
    return names


# ---------------------------------------------------------------------------------------------------
# Byte annotation: rows of (offset, bytes, field, meaning).

Row = tuple[int, bytes, str, str]


def _zigzag_decode(v: int) -> int:
    return (v >> 1) ^ -(v & 1)


def _quat_text(packed: int) -> str:
    i, a, b, c = packed >> 30, (packed >> 20) & 0x3FF, (packed >> 10) & 0x3FF, packed & 0x3FF
    return f"i={i} ({'xyzw'[i]} dropped) a={a} b={b} c={c}"


def annotate_upload(data: bytes) -> list[Row]:
    kind, presence, seq, ack = UPLOAD_HEADER.unpack_from(data)
    parts = [PART_NAMES[p] for p in range(N_PARTS) if presence >> p & 1]
    flags = [" + trigger bytes (bit 6)"] if presence & UPLOAD_TRIGGERS else []
    rows: list[Row] = [
        (0, data[0:1], "kind", f"{kind} (pose upload)"),
        (1, data[1:2], "presence", f"{presence:#04x} = {' + '.join(parts)}{''.join(flags)}"),
        (2, data[2:4], "seq u16", str(seq)),
        (4, data[4:8], "ack u32", f"{ack} (newest snapshot tick received; 0 = none)"),
    ]
    at = UPLOAD_HEADER.size
    for part in range(N_PARTS):
        if not presence >> part & 1:
            continue
        labels = _float_labels(part)
        for label in labels:
            (value,) = struct.unpack_from("<f", data, at)
            rows.append((at, data[at : at + 4], f"{PART_NAMES[part]}.{label} f32", f"{value:.7g}"))
            at += 4
    if presence & UPLOAD_TRIGGERS:
        for part in CONTROLLERS:
            if presence >> part & 1:
                value = f"{data[at]} (= {data[at] / 255:.4g})"
                rows.append((at, data[at : at + 1], f"{PART_NAMES[part]}.trigger u8", value))
                at += 1
    return rows


def _float_labels(part: int) -> list[str]:
    if part <= RIGHT_CONTROLLER:
        return ["px", "py", "pz", "qx", "qy", "qz", "qw"]
    if part in (LEFT_HAND, RIGHT_HAND):
        return [f"{j}.{c}" for j in HAND_JOINTS for c in ("px", "py", "pz", "qx", "qy", "qz", "qw")]
    return ["hips.px", "hips.py", "hips.pz", *(f"{j}.{c}" for j in BODY_JOINTS for c in ("qx", "qy", "qz", "qw"))]


def annotate_frame(data: bytes) -> list[Row]:
    """Annotate a snapshot frame field by field (an independent reading of the layout, no baselines needed)."""
    kind, flags, tick, server_ms, n_sections = codec.FRAME_HEADER.unpack_from(data)
    rows: list[Row] = [
        (0, data[0:1], "kind", f"{kind} (snapshot)"),
        (1, data[1:2], "flags", f"{flags} (reserved)"),
        (2, data[2:6], "tick u32", str(tick)),
        (6, data[6:10], "server time u32", f"{server_ms} ms"),
        (10, data[10:11], "sections", str(n_sections)),
    ]
    at = codec.FRAME_HEADER.size
    for s in range(n_sections):
        offset, count, length = codec.SECTION_HEADER.unpack_from(data, at)
        what = "absolute" if offset == 0 else f"delta against tick {tick} - {offset} = {tick - offset}"
        rows += [
            (at, data[at : at + 1], f"section {s} baseline offset", f"{offset} ({what})"),
            (at + 1, data[at + 1 : at + 3], f"section {s} blocks u16", str(count)),
            (at + 3, data[at + 3 : at + 7], f"section {s} bytes u32", str(length)),
        ]
        at += codec.SECTION_HEADER.size
        for _ in range(count):
            at = (_annotate_absolute if offset == 0 else _annotate_delta)(data, at, rows)
    return rows


def _annotate_absolute(data: bytes, at: int, rows: list[Row]) -> int:
    avatar_id, presence = struct.unpack_from("<HB", data, at)
    rows.append((at, data[at : at + 2], "avatar id u16", str(avatar_id)))
    parts = [PART_NAMES[p] for p in range(N_PARTS) if presence >> p & 1]
    rows.append((at + 2, data[at + 2 : at + 3], "presence", f"{presence:#04x} = {' + '.join(parts)}"))
    at += 3
    for part in range(N_PARTS):
        if not presence >> part & 1:
            continue
        name = PART_NAMES[part]
        where = "hips" if part == BODY else ("wrist" if part in (LEFT_HAND, RIGHT_HAND) else "")
        frame_of = "world" if part == HEAD else "relative to head"
        x, y, z = struct.unpack_from("<3h", data, at)
        label = f"{name}.{where + '.' if where else ''}position 3 x i16"
        rows.append((at, data[at : at + 6], label, f"({x}, {y}, {z}) mm, {frame_of}"))
        at += 6
        labels = [f"{name}.{j}" for j in BODY_JOINTS] if part == BODY else [f"{name}.{where or ''}".rstrip(".")]
        for label in labels:
            (packed,) = struct.unpack_from("<I", data, at)
            rows.append((at, data[at : at + 4], f"{label} rotation u32", _quat_text(packed)))
            at += 4
        if part in (LEFT_HAND, RIGHT_HAND):
            codes = " ".join(str(b) for b in data[at : at + 20])
            rows.append((at, data[at : at + 20], f"{name}.angles 20 x u8", codes))
            rows.append((at + 20, data[at + 20 : at + 21], f"{name}.scale u8", str(data[at + 20])))
            at += 21
    return at


def _annotate_delta(data: bytes, at: int, rows: list[Row]) -> int:
    avatar_id, bits = struct.unpack_from("<HB", data, at)
    rows.append((at, data[at : at + 2], "avatar id u16", str(avatar_id)))
    changed = [PART_NAMES[p] for p in range(N_PARTS) if bits >> p & 1]
    meaning = f"{bits:#04x}: parts with changes = {', '.join(changed) or 'none'}"
    if bits & codec.PRESENCE_CHANGED:
        meaning += "; bit 7 = presence changed"
    rows.append((at + 2, data[at + 2 : at + 3], "part bits", meaning))
    at += 3
    if bits & codec.PRESENCE_CHANGED:
        presence = data[at]
        parts = [PART_NAMES[p] for p in range(N_PARTS) if presence >> p & 1]
        rows.append((at, data[at : at + 1], "new presence", f"{presence:#04x} = {' + '.join(parts)}"))
        at += 1
    for part in range(N_PARTS):
        if not bits >> part & 1:
            continue
        n_mask = PART_MASK_BYTES[part]
        mask = int.from_bytes(data[at : at + n_mask], "little")
        names = component_names(part)
        listed = [names[j] for j in range(PART_COMPONENTS[part]) if mask >> j & 1]
        rows.append((at, data[at : at + n_mask], f"{PART_NAMES[part]} mask {n_mask} byte(s)",
                     f"components {', '.join(listed)}"))
        at += n_mask
        for j in range(PART_COMPONENTS[part]):
            if not mask >> j & 1:
                continue
            start = at
            value, at = codec.read_varint(data, at)
            diff = _zigzag_decode(value)
            rows.append((start, data[start:at], f"{PART_NAMES[part]}.{names[j]} varint",
                         f"zigzag {value} -> {diff:+d}"))
    return at


def render_rows(rows: list[Row]) -> str:
    lines = [f"{'offset':>6}  {'bytes':<24}  {'field':<44}  value"]
    for offset, raw, field, meaning in rows:
        chunks = [raw[i : i + 8] for i in range(0, len(raw), 8)] or [b""]
        for k, chunk in enumerate(chunks):
            hex_text = chunk.hex(" ")
            if k == 0:
                lines.append(f"{offset:>6}  {hex_text:<24}  {field:<44}  {meaning}")
            else:
                lines.append(f"{offset + 8 * k:>6}  {hex_text:<24}")
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------------
# Decoded forms in the JSON.


def _round(values: np.ndarray) -> list[float]:
    return [round(float(v), DIGITS) + 0.0 for v in np.asarray(values).reshape(-1)]


def dequantized_pose(presence: int, comps: list[int]) -> dict[str, Any]:
    """Floats a client derives from one avatar state (world metres, unit quaternions xyzw, radians)."""
    c = np.asarray(comps, dtype=np.int64)
    head_pos = dequantize_positions_mm(c[0:3])
    pose: dict[str, Any] = {"head": {"position": _round(head_pos), "rotation": _round(dequantize_quats(c[3:7]))}}
    for part in range(1, N_PARTS):
        if not presence >> part & 1:
            continue
        o = PART_OFFSETS[part]
        world = head_pos + dequantize_positions_mm(c[o : o + 3])
        if part == BODY:
            rots = dequantize_quats(c[o + 3 : o + 3 + 4 * N_BODY_JOINTS].reshape(-1, 4))
            pose["body"] = {"hips_position": _round(world), "rotations": [_round(r) for r in rots]}
        elif part in (LEFT_HAND, RIGHT_HAND):
            pose[PART_NAMES[part]] = {
                "wrist_position": _round(world),
                "wrist_rotation": _round(dequantize_quats(c[o + 3 : o + 7])),
                "angles_rad": _round(hand_model.dequantize_angles(c[None, o + 7 : o + 27])),
                "scale": _round(hand_model.dequantize_scale(c[None, o + 27]))[0],
            }
        else:
            pose[PART_NAMES[part]] = {"position": _round(world), "rotation": _round(dequantize_quats(c[o + 3 : o + 7]))}
    return pose


def describe_frame(data: bytes, history: dict[tuple[int, int], codec.AvatarState]) -> dict[str, Any]:
    """Decode with the reference decoder (baselines from `history`, which is then updated)."""
    snap = codec.decode_frame(data, lambda avatar_id, tick: history.get((avatar_id, tick)))
    sections, at = [], codec.FRAME_HEADER.size
    for _ in range(data[10]):
        offset, count, length = codec.SECTION_HEADER.unpack_from(data, at)
        sections.append({"baseline_offset": offset, "baseline_tick": snap.tick - offset if offset else None,
                         "blocks": count, "bytes": length})
        at += codec.SECTION_HEADER.size + length
    avatars = []
    for avatar_id, state in snap.avatars.items():
        history[(avatar_id, snap.tick)] = state
        avatars.append({"id": avatar_id, "presence": state.presence, "components": list(state.components),
                        "pose": dequantized_pose(state.presence, state.components)})
    return {"tick": snap.tick, "server_time_ms": snap.server_time_ms, "size": len(data), "hex": data.hex(),
            "sections": sections, "avatars": avatars}


def upload_vector(name: str, description: str, seq: int, ack: int, parts: dict[int, list[float]],
                  triggers: dict[int, float] | None = None) -> dict[str, Any]:
    from sim.client import encode_pose_upload  # the reference client's encoder

    data = encode_pose_upload(seq, ack, {p: np.array(v) for p, v in parts.items()}, triggers)
    kind, presence, seq_read, ack_read = UPLOAD_HEADER.unpack_from(data)
    floats = struct.unpack_from(f"<{(len(data) - UPLOAD_HEADER.size) // 4}f", data, UPLOAD_HEADER.size)
    decoded, at = {}, 0
    for part in range(N_PARTS):
        if presence >> part & 1:
            decoded[PART_NAMES[part]] = list(floats[at : at + PART_FLOATS[part]])
            at += PART_FLOATS[part]
    vector = {
        "name": name, "description": description,
        "input": {"seq": seq, "ack": ack, "parts": {PART_NAMES[p]: v for p, v in sorted(parts.items())}},
        "size": len(data), "hex": data.hex(),
        "decoded": {"kind": kind, "presence": presence, "seq": seq_read, "ack": ack_read, "float32": decoded},
    }
    if triggers:
        vector["input"]["triggers"] = {PART_NAMES[p]: v for p, v in sorted(triggers.items())}
        trailer = data[UPLOAD_HEADER.size + 4 * at:]
        present = [p for p in CONTROLLERS if presence >> p & 1]
        vector["decoded"]["triggers_u8"] = {PART_NAMES[p]: b for p, b in zip(present, trailer, strict=True)}
    return vector


# ---------------------------------------------------------------------------------------------------
# Scenarios driven through the real room core.


class Scenario:
    """A room, a few connected avatars, and the frames one observing client receives."""

    def __init__(self, name: str, description: str, observer: str) -> None:
        self.name, self.description = name, description
        self.room = RoomDriver(Room(name, capacity=8))
        self.ids: dict[str, int] = {}
        self.observer = observer
        self.uploads: list[dict[str, Any]] = []
        self.steps: list[dict[str, Any]] = []
        self.history: dict[tuple[int, int], codec.AvatarState] = {}
        self.frames: list[bytes] = []

    def join(self, who: str) -> None:
        now = self.room.tick_no * TICK_S
        avatar = self.room.add_avatar(who, now)
        self.room.connect(avatar.id, now)
        self.ids[who] = avatar.id

    def upload(self, who: str, seq: int, ack: int, parts: dict[int, list[float]], description: str) -> None:
        vector = upload_vector(f"{self.name}/{who}/seq{seq}", description, seq, ack, parts)
        now = self.room.tick_no * TICK_S + 0.005  # arrives 5 ms into the tick interval
        rejection = self.room.receive_pose(self.ids[who], bytes.fromhex(vector["hex"]), now)
        if rejection is not None:
            raise RuntimeError(f"vector upload refused: {rejection}")
        vector["avatar"] = self.ids[who]
        self.uploads.append(vector)

    def tick(self, description: str) -> bytes:
        now = (self.room.tick_no + 1) * TICK_S
        out = self.room.tick(now, server_time_ms=round(now * 1000))
        if out.rejections:
            raise RuntimeError(f"vector pose rejected: {out.rejections}")
        data = dict(out.frames)[self.ids[self.observer]]
        step = describe_frame(data, self.history)
        step["description"] = description
        self.steps.append(step)
        self.frames.append(data)
        return data

    def as_json(self) -> dict[str, Any]:
        return {"name": self.name, "description": self.description, "observer": self.ids[self.observer],
                "avatars": self.ids, "uploads": self.uploads, "frames": self.steps}


HEAD_1 = tracked((0.05, 1.62, -0.03), quat((0, 1, 0), 30.0))
LEFT_1 = tracked((-0.2, 1.2, -0.3), quat((1, 0, 0), -40.0))
RIGHT_1 = tracked((0.25, 1.25, -0.35), quat((1, 1, 0), -35.0))
HEAD_2 = tracked((0.053, 1.621, -0.034), quat((0, 1, 0), 31.0))
LEFT_2 = tracked((-0.198, 1.2, -0.3), quat((1, 0, 0), -40.0))
RIGHT_2 = tracked((0.26, 1.27, -0.36), quat((1, 1, 0), -36.0))


def vr_avatar_scenario() -> Scenario:
    s = Scenario("one_vr_avatar", "One VR client (head + two controllers) alone in a room: it receives its own "
                 "avatar. Tick 1 is absolute, tick 2 a delta against tick 1 (the client acked it in its upload), "
                 "tick 3 a delta in which the right controller disappears (presence change).", "ada")
    s.join("ada")
    s.upload("ada", 1, 0, {HEAD: HEAD_1, LEFT_CONTROLLER: LEFT_1, RIGHT_CONTROLLER: RIGHT_1},
             "head + two controllers, nothing received yet (ack 0)")
    s.tick("absolute: the client has no baseline yet")
    s.upload("ada", 2, 1, {HEAD: HEAD_2, LEFT_CONTROLLER: LEFT_2, RIGHT_CONTROLLER: RIGHT_2},
             "moved a little; acknowledges tick 1")
    s.tick("delta against tick 1: only the components that changed")
    s.upload("ada", 3, 2, {HEAD: HEAD_2, LEFT_CONTROLLER: LEFT_2}, "right controller put down; acknowledges tick 2")
    s.tick("delta against tick 2 with a presence change (right controller gone)")
    return s


def body_scenario() -> Scenario:
    s = Scenario("full_body_and_sections", "Observer ada (VR) and bo (full-body tracking: head + body). Tick 1 is "
                 "absolute with two avatars; tick 2 a delta where bo's body moves; before tick 3 cy joins, so tick 3 "
                 "has a delta section (ada, bo) and an absolute section (cy), and bo picks up a left controller "
                 "(presence change, a part appears).", "ada")
    s.join("ada")
    s.join("bo")
    s.upload("ada", 1, 0, {HEAD: HEAD_1, LEFT_CONTROLLER: LEFT_1, RIGHT_CONTROLLER: RIGHT_1}, "ada: VR pose")
    bo_head = tracked((1.0, 1.55, 2.0), quat((0, 1, 0), 180.0))
    s.upload("bo", 1, 0, {HEAD: bo_head, BODY: body_floats((1.0, 0.95, 2.02), 20.0)}, "bo: head + full body")
    s.tick("absolute: ada and bo")
    s.upload("ada", 2, 1, {HEAD: HEAD_2, LEFT_CONTROLLER: LEFT_2, RIGHT_CONTROLLER: RIGHT_2}, "ada acks tick 1")
    s.upload("bo", 2, 1, {HEAD: bo_head, BODY: body_floats((1.0, 0.95, 2.02), 25.0)}, "bo bends elbows and knees")
    s.tick("delta against tick 1: ada moved, bo's elbows and knees bent further")
    s.join("cy")
    s.upload("ada", 3, 2, {HEAD: HEAD_2, LEFT_CONTROLLER: LEFT_2, RIGHT_CONTROLLER: RIGHT_2}, "ada acks tick 2")
    s.upload("bo", 3, 2, {HEAD: bo_head, LEFT_CONTROLLER: tracked((0.8, 1.1, 1.8), quat((0, 0, 1), 10.0)),
                          BODY: body_floats((1.0, 0.95, 2.02), 25.0)}, "bo picks up a left controller")
    s.upload("cy", 1, 0, {HEAD: tracked((-2.0, 1.7, 0.5), quat((0, 1, 0), -90.0))}, "cy: head only (no controllers)")
    s.tick("two sections: delta (ada, bo) against tick 2, absolute (cy, new to this client)")
    return s


# ---------------------------------------------------------------------------------------------------
# Codec-level vectors (hands are fitted by the hand model in the room; here their integers are given).


def hands_vectors() -> dict[str, Any]:
    avatar_id = 5
    presence = (1 << HEAD) | (1 << LEFT_HAND) | (1 << RIGHT_HAND)
    state = np.zeros((1, PART_OFFSETS[-1]), dtype=np.int32)
    state[0, 0:3] = quantize_positions_mm(np.array([0.4, 1.65, -1.2]))
    state[0, 3:7] = quantize_quats(np.array(quat((0, 1, 0), 90)))
    for part, wrist, angle_base in ((LEFT_HAND, (-0.18, -0.35, 0.3), 60), (RIGHT_HAND, (0.2, -0.33, 0.28), 90)):
        o = PART_OFFSETS[part]
        state[0, o : o + 3] = quantize_positions_mm(np.array(wrist))
        state[0, o + 3 : o + 7] = quantize_quats(np.array(quat((1, 0, 0), -25)))
        state[0, o + 7 : o + 27] = [angle_base + 7 * k for k in range(20)]
        state[0, o + 27] = 128
    moved = state.copy()
    o = PART_OFFSETS[RIGHT_HAND]
    moved[0, o + 7 + 4] += 40  # index finger proximal flex: the index curls
    moved[0, o + 7 + 6] += 35
    moved[0, o + 7 + 7] += 30
    moved[0, o + 1] -= 4  # wrist 4 mm down
    ids, pres = np.array([avatar_id]), np.array([presence], dtype=np.uint8)
    first = codec.frame(200, 3333, [(0, 1, codec.encode_absolute(ids, state, pres).all_bytes())])
    second = codec.frame(202, 3366, [(2, 1, codec.encode_delta(ids, moved, pres, state, pres).all_bytes())])
    history: dict[tuple[int, int], codec.AvatarState] = {}
    frames = [describe_frame(first, history), describe_frame(second, history)]
    frames[0]["description"] = "absolute: head + both hands (wrist relative to head, 20 angle codes, scale code)"
    frames[1]["description"] = "delta against tick 200 (offset 2): the right index finger curls, the wrist drops 4 mm"
    return {"name": "hands", "description": "Codec-level: an avatar with two articulated hands (integer states given "
            "directly, as the room's hand model would produce them).", "observer": None,
            "avatars": {"hands": avatar_id}, "uploads": [], "frames": frames}


def quantize_vectors() -> dict[str, Any]:
    positions = [0.0, 0.0004, 0.0006, -0.0015, 1.6185, -29.9994, 32.767, 40.0, -40.0]
    rotations = [
        [0.0, 0.0, 0.0, 1.0], [0.0, 0.0, 0.0, -1.0], quat((0, 1, 0), 30.0), quat((1, 0, 0), 180.0),
        [0.5, -0.5, 0.5, 0.5], [0.1, -0.7, 0.2, -0.677], quat((1, 2, 3), 123.0),
    ]
    rot_out = []
    for q in rotations:
        qi = quantize_quats(np.array(q))
        rot_out.append({"xyzw": q, "components": [int(v) for v in qi], "packed": int(pack_quats(qi)),
                        "packed_le_hex": struct.pack("<I", int(pack_quats(qi))).hex(),
                        "dequantized": _round(dequantize_quats(qi))})
    return {
        "positions": [{"metres": m, "mm": int(quantize_positions_mm(np.array(m))),
                       "int16_le_hex": struct.pack("<h", int(quantize_positions_mm(np.array(m)))).hex()}
                      for m in positions],
        "rotations": rot_out,
    }


def varint_vectors() -> list[dict[str, Any]]:
    out = []
    for diff in (0, -1, 1, -2, 63, -64, 64, 8191, -8192, 8192, 65534, -65534):
        z = (diff << 1) ^ (diff >> 31)
        raw, v = bytearray(), z
        while True:
            raw.append((v & 0x7F) | (0x80 if v >= 0x80 else 0))
            v >>= 7
            if not v:
                break
        out.append({"difference": diff, "zigzag": z & 0xFFFFFFFF, "varint_hex": raw.hex()})
    return out


def layout_constants() -> dict[str, Any]:
    return {
        "part_names": list(PART_NAMES), "part_floats": list(PART_FLOATS), "part_components": list(PART_COMPONENTS),
        "part_component_offsets": list(PART_OFFSETS), "part_absolute_bytes": list(PART_ABSOLUTE_BYTES),
        "part_mask_bytes": list(PART_MASK_BYTES), "hand_joints": list(HAND_JOINTS), "body_joints": list(BODY_JOINTS),
        "hand_angle_names": list(hand_model.ANGLE_NAMES),
        "hand_angle_ranges_rad": [_round(r) for r in hand_model.ANGLE_RANGES],
        "hand_scale_range": list(hand_model.SCALE_RANGE),
        "kind_pose_upload": KIND_POSE_UPLOAD, "kind_snapshot": KIND_SNAPSHOT,
        "n_hand_joints": N_HAND_JOINTS, "n_body_joints": N_BODY_JOINTS,
        "max_baseline_age_ticks": codec.MAX_BASELINE_AGE,
    }


def build() -> tuple[dict[str, Any], str]:
    """(the vectors JSON object, the generated markdown block of docs/PROTOCOL.md)."""
    vr, body = vr_avatar_scenario(), body_scenario()
    hand_upload = upload_vector("hands/seq7", "head + both tracked hands (25 joints each, WebXR order)", 7, 1234, {
        HEAD: HEAD_1, LEFT_HAND: hand_floats(0, (-0.15, 1.3, -0.3)), RIGHT_HAND: hand_floats(1, (0.15, 1.3, -0.3)),
    })
    trigger_upload = upload_vector(
        "triggers/seq4", "head + two controllers with their trigger values (presence bit 6: one u8 each, left first)",
        4, 3, {HEAD: HEAD_2, LEFT_CONTROLLER: LEFT_2, RIGHT_CONTROLLER: RIGHT_2},
        {LEFT_CONTROLLER: 0.0, RIGHT_CONTROLLER: 0.9})
    vectors = {
        "format": "plaza-protocol-vectors/1",
        "protocol_version": 1,
        "generated_by": "tools/make_protocol_vectors.py (do not edit by hand)",
        "notes": "Hex strings are the exact websocket binary message payloads. Floats derived from quantized values "
                 f"are rounded to {DIGITS} decimals. Avatar components are the integer state of docs/PROTOCOL.md "
                 "(168 per avatar, absent parts zero).",
        "layout": layout_constants(),
        "quantization": quantize_vectors(),
        "zigzag_varints": varint_vectors(),
        "uploads": [*vr.uploads, hand_upload, trigger_upload],
        "snapshot_sequences": [vr.as_json(), body.as_json(), hands_vectors()],
    }
    return vectors, render_examples(vr)


def render_examples(vr: Scenario) -> str:
    upload = bytes.fromhex(vr.uploads[0]["hex"])
    absolute, delta = vr.frames[0], vr.frames[1]
    moved = vr.uploads[1]["input"]["parts"]
    parts = [
        BEGIN_MARK,
        "",
        "### Example 1: a pose upload (head + two controllers)",
        "",
        f"Client `ada` (avatar {vr.ids['ada']}) sends its first pose: seq 1, nothing received yet (ack 0). "
        f"Inputs (metres, quaternions x y z w): head {_fmt(HEAD_1)}, left controller {_fmt(LEFT_1)}, "
        f"right controller {_fmt(RIGHT_1)}. {len(upload)} bytes:",
        "",
        "```",
        upload.hex(" "),
        "```",
        "",
        "```",
        render_rows(annotate_upload(upload)),
        "```",
        "",
        "### Example 2: an absolute snapshot with one avatar",
        "",
        f"The server accepts the pose and, at tick 1, sends `ada` its own avatar (avatar 1 is the only one in the "
        f"room). Controller positions are relative to the head (left: {_fmt(LEFT_1[:3])} - {_fmt(HEAD_1[:3])} = "
        f"(-250, -420, -270) mm). {len(absolute)} bytes:",
        "",
        "```",
        absolute.hex(" "),
        "```",
        "",
        "```",
        render_rows(annotate_frame(absolute)),
        "```",
        "",
        "### Example 3: the same avatar one tick later, delta-coded",
        "",
        f"`ada` sends seq 2 with ack = 1 (it decoded tick 1) and a slightly moved pose: head {_fmt(moved['head'])}, "
        f"left {_fmt(moved['left_controller'])}, right {_fmt(moved['right_controller'])}. "
        f"At tick 2 the server codes the avatar against tick 1 (baseline offset 1). {len(delta)} bytes instead of "
        f"{len(absolute)}:",
        "",
        "```",
        delta.hex(" "),
        "```",
        "",
        "```",
        render_rows(annotate_frame(delta)),
        "```",
        "",
        "Decoded (baseline + differences, then dequantized):",
        "",
        "```",
        *_pose_lines(vr.steps[1]["avatars"][0]),
        "```",
        "",
        END_MARK,
    ]
    return "\n".join(parts)


def _fmt(values: list[float]) -> str:
    return "(" + ", ".join(f"{v:g}" for v in values) + ")"


def _pose_lines(avatar: dict[str, Any]) -> list[str]:
    lines = [f"avatar {avatar['id']} presence {avatar['presence']:#04x}"]
    for name, part in avatar["pose"].items():
        lines.append(f"  {name:<16} position {_fmt(part['position'])} m  rotation {_fmt(part['rotation'])}")
    return lines


# ---------------------------------------------------------------------------------------------------


def dumps(value: Any, indent: int = 0) -> str:
    """JSON with one key per line but lists of plain numbers/strings on one line (readable, diff-friendly)."""
    pad, inner = " " * indent, " " * (indent + 1)
    if isinstance(value, dict) and value:
        items = [f"{inner}{json.dumps(k)}: {dumps(v, indent + 1)}" for k, v in value.items()]
        return "{\n" + ",\n".join(items) + "\n" + pad + "}" + ("\n" if indent == 0 else "")
    if isinstance(value, list) and any(isinstance(v, dict | list) for v in value):
        items = [inner + dumps(v, indent + 1) for v in value]
        return "[\n" + ",\n".join(items) + "\n" + pad + "]"
    return json.dumps(value)


def splice_doc(doc: str, block: str) -> str:
    """Replace the generated block of PROTOCOL.md (between the markers) with `block`."""
    start, end = doc.find(BEGIN_MARK), doc.find(END_MARK)
    if start < 0 or end < start:
        raise ValueError(f"{DOC_PATH.name} lacks the markers {BEGIN_MARK!r} ... {END_MARK!r}")
    return doc[:start] + block + doc[end + len(END_MARK) :]


def main(argv: list[str] | None = None, write: Callable[[Path, str], None] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="only check that the committed files are up to date")
    args = parser.parse_args(argv)
    vectors, block = build()
    wanted = {VECTORS_PATH: dumps(vectors), DOC_PATH: splice_doc(DOC_PATH.read_text(encoding="utf-8"), block)}
    stale = [p for p, text in wanted.items() if not p.exists() or p.read_text(encoding="utf-8") != text]
    if args.check:
        for path in stale:
            print(f"{path.relative_to(REPO)} is out of date: run tools/make_protocol_vectors.py", file=sys.stderr)
        return 1 if stale else 0
    for path in stale:
        (write or (lambda p, t: p.write_text(t, encoding="utf-8")))(path, wanted[path])
        print(f"wrote {path.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
