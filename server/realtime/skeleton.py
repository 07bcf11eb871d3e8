"""Joint sets of the pose model: WebXR hand joints and the humanoid body skeleton.

The order of these tuples is part of the wire protocol (docs/PROTOCOL.md): joints are sent by index.
"""

from __future__ import annotations

import numpy as np

# WebXR XRHand joint order (https://www.w3.org/TR/webxr-hand-input-1/#skeleton-joints-section).
HAND_JOINTS: tuple[str, ...] = (
    "wrist",
    "thumb-metacarpal", "thumb-phalanx-proximal", "thumb-phalanx-distal", "thumb-tip",
    "index-finger-metacarpal", "index-finger-phalanx-proximal", "index-finger-phalanx-intermediate",
    "index-finger-phalanx-distal", "index-finger-tip",
    "middle-finger-metacarpal", "middle-finger-phalanx-proximal", "middle-finger-phalanx-intermediate",
    "middle-finger-phalanx-distal", "middle-finger-tip",
    "ring-finger-metacarpal", "ring-finger-phalanx-proximal", "ring-finger-phalanx-intermediate",
    "ring-finger-phalanx-distal", "ring-finger-tip",
    "pinky-finger-metacarpal", "pinky-finger-phalanx-proximal", "pinky-finger-phalanx-intermediate",
    "pinky-finger-phalanx-distal", "pinky-finger-tip",
)
# Parent of each hand joint (-1 for the wrist): every chain starts at the wrist.
HAND_PARENTS: tuple[int, ...] = (
    -1,
    0, 1, 2, 3,
    0, 5, 6, 7, 8,
    0, 10, 11, 12, 13,
    0, 15, 16, 17, 18,
    0, 20, 21, 22, 23,
)

# Humanoid body joints (VRM 1.0 humanoid bone names, the 22 that mocap suits and VMC senders provide).
BODY_JOINTS: tuple[str, ...] = (
    "hips", "spine", "chest", "upperChest", "neck", "head",
    "leftShoulder", "leftUpperArm", "leftLowerArm", "leftHand",
    "rightShoulder", "rightUpperArm", "rightLowerArm", "rightHand",
    "leftUpperLeg", "leftLowerLeg", "leftFoot", "leftToes",
    "rightUpperLeg", "rightLowerLeg", "rightFoot", "rightToes",
)
BODY_PARENTS: tuple[int, ...] = (
    -1, 0, 1, 2, 3, 4,
    3, 6, 7, 8,
    3, 10, 11, 12,
    0, 14, 15, 16,
    0, 18, 19, 20,
)
BODY_INDEX: dict[str, int] = {name: i for i, name in enumerate(BODY_JOINTS)}

# Rest pose (T-pose, +Y up, the avatar faces +Z so its left is +X), offsets from the parent in metres
# for an avatar 1.70 m tall. The hips offset is from the floor. Local rotations on the wire are
# relative to this rest pose (identity everywhere = T-pose), the VRM 1.0 "normalized" convention.
REST_HEIGHT_M = 1.70
BODY_REST_OFFSETS: np.ndarray = np.array(
    [
        (0.0, 0.95, 0.0),     # hips (from the floor)
        (0.0, 0.10, 0.0),     # spine
        (0.0, 0.12, 0.0),     # chest
        (0.0, 0.12, 0.0),     # upperChest
        (0.0, 0.14, 0.0),     # neck
        (0.0, 0.10, 0.0),     # head (skull base; eyes ~0.07 m higher)
        (0.03, 0.10, 0.0),    # leftShoulder
        (0.12, 0.0, 0.0),     # leftUpperArm
        (0.27, 0.0, 0.0),     # leftLowerArm
        (0.25, 0.0, 0.0),     # leftHand
        (-0.03, 0.10, 0.0),   # rightShoulder
        (-0.12, 0.0, 0.0),    # rightUpperArm
        (-0.27, 0.0, 0.0),    # rightLowerArm
        (-0.25, 0.0, 0.0),    # rightHand
        (0.09, -0.05, 0.0),   # leftUpperLeg
        (0.0, -0.42, 0.0),    # leftLowerLeg
        (0.0, -0.40, 0.0),    # leftFoot
        (0.0, -0.05, 0.13),   # leftToes
        (-0.09, -0.05, 0.0),  # rightUpperLeg
        (0.0, -0.42, 0.0),    # rightLowerLeg
        (0.0, -0.40, 0.0),    # rightFoot
        (0.0, -0.05, 0.13),   # rightToes
    ],
    dtype=np.float64,
)
