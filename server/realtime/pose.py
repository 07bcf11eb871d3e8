"""Pose model and wire layouts shared by uploads and snapshots (docs/PROTOCOL.md, "Poses").

An avatar has up to six parts; bit p of the presence byte says part p is present:
  0 head (always), 1 left controller, 2 right controller, 3 left hand, 4 right hand, 5 body.
Uploads carry float32 values; snapshots carry the quantized integer components listed in PART_COMPONENTS.
In an upload (only), presence bit 6 (UPLOAD_TRIGGERS) says that after the floats comes one u8 trigger value per
present controller (left first): the controllers' trigger (gamepad button 0) 0..255 = 0..1, for a trigger-hold
confirmation. Uploads without it are the same as before (protocol version 2 grows by addition).
"""

from __future__ import annotations

import struct
from typing import Final

from server.realtime.skeleton import BODY_JOINTS, HAND_JOINTS

HEAD, LEFT_CONTROLLER, RIGHT_CONTROLLER, LEFT_HAND, RIGHT_HAND, BODY = range(6)
PART_NAMES: Final = ("head", "left_controller", "right_controller", "left_hand", "right_hand", "body")
N_PARTS: Final = 6
N_HAND_JOINTS: Final = len(HAND_JOINTS)  # 25
N_BODY_JOINTS: Final = len(BODY_JOINTS)  # 22
N_HAND_ANGLES: Final = 20

# Float32 values per part in an upload.
#   head / controller: position xyz (m, world) + rotation xyzw (world)
#   hand: 25 joints x (position xyz + rotation xyzw), world, WebXR joint order
#   body: hips position xyz (m, world) + 22 rotations xyzw (hips: world, others: local to parent)
PART_FLOATS: Final = (7, 7, 7, N_HAND_JOINTS * 7, N_HAND_JOINTS * 7, 3 + N_BODY_JOINTS * 4)

# Integer components per part in the quantized state (what snapshots carry).
#   head: x y z (mm, world) + rotation [i a b c]
#   controller: x y z (mm, relative to the head position) + rotation
#   hand: wrist x y z (mm, relative to head) + wrist rotation + 20 angles (u8) + scale (u8)
#   body: hips x y z (mm, relative to head) + 22 rotations
PART_COMPONENTS: Final = (7, 7, 7, 3 + 4 + N_HAND_ANGLES + 1, 3 + 4 + N_HAND_ANGLES + 1, 3 + N_BODY_JOINTS * 4)
PART_OFFSETS: Final = tuple(sum(PART_COMPONENTS[:p]) for p in range(N_PARTS + 1))
N_COMPONENTS: Final = PART_OFFSETS[-1]  # 168
# Bytes of each part in an absolute snapshot block (int16 positions, uint32 packed rotations, uint8 angles).
PART_ABSOLUTE_BYTES: Final = (10, 10, 10, 6 + 4 + N_HAND_ANGLES + 1, 6 + 4 + N_HAND_ANGLES + 1, 6 + N_BODY_JOINTS * 4)
PART_MASK_BYTES: Final = tuple((k + 7) // 8 for k in PART_COMPONENTS)

KIND_POSE_UPLOAD: Final = 0x01
KIND_SNAPSHOT: Final = 0x02
UPLOAD_HEADER = struct.Struct("<BBHI")  # kind, presence, seq, ack tick
VALID_PRESENCE_MASK: Final = 0x3F
UPLOAD_TRIGGERS: Final = 0x40  # upload presence bit 6: trigger bytes follow the floats
CONTROLLERS: Final = (LEFT_CONTROLLER, RIGHT_CONTROLLER)


def upload_float_count(presence: int) -> int:
    return sum(PART_FLOATS[p] for p in range(N_PARTS) if presence >> p & 1)


def upload_trigger_count(presence: int) -> int:
    """Trigger bytes after the floats: one per present controller when bit 6 is set."""
    return sum(presence >> p & 1 for p in CONTROLLERS) if presence & UPLOAD_TRIGGERS else 0


def upload_size(presence: int) -> int:
    return UPLOAD_HEADER.size + 4 * upload_float_count(presence) + upload_trigger_count(presence)


def valid_upload_presence(presence: int) -> bool:
    """Head set, only bits 0-6, and bit 6 only with a controller."""
    return (bool(presence & 1 << HEAD) and not presence & ~(VALID_PRESENCE_MASK | UPLOAD_TRIGGERS)
            and (not presence & UPLOAD_TRIGGERS or upload_trigger_count(presence) > 0))


def quantize_trigger(value: float) -> int:
    return round(min(1.0, max(0.0, float(value))) * 255)


def part_float_offsets(presence: int) -> dict[int, int]:
    """Float index where each present part starts in an upload with this presence byte."""
    offsets, at = {}, 0
    for p in range(N_PARTS):
        if presence >> p & 1:
            offsets[p] = at
            at += PART_FLOATS[p]
    return offsets
