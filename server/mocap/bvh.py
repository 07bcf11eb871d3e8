"""BVH motion files: parser, forward kinematics of the file's own skeleton, looping 60 Hz playback.

Conventions handled (all seen in real files): CRLF, LF and mixed line endings; any rotation order per
joint (``Zrotation Xrotation Yrotation`` ...); 3- and 6-channel joints; End Sites; joint names with dots.
Translation: the root's position channels are added to its OFFSET (CMU roots have OFFSET 0, ReActIdle's
OFFSET is the hip height and the channels are a small drift); a non-root joint's position channels
replace its OFFSET (files that have them repeat the offset there, adding would double every bone).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from server.mocap.fk import chain_fk, quat_from_euler_deg, quat_mul, quat_slerp

MAX_JOINTS = 1024
MAX_FRAMES = 2_000_000
MAX_FILE_BYTES = 200 * 1024 * 1024
_ROTATION_CHANNELS = {"Xrotation": "X", "Yrotation": "Y", "Zrotation": "Z"}
_POSITION_CHANNELS = {"Xposition": 0, "Yposition": 1, "Zposition": 2}


class BvhError(ValueError):
    """The text is not a BVH file this parser can use; the message says where and why."""


@dataclass
class BvhClip:
    names: list[str]
    parents: list[int]
    offsets: np.ndarray  # (J, 3) from the HIERARCHY
    channels: list[tuple[str, ...]]
    end_sites: dict[int, np.ndarray]  # joint index -> End Site offset (3,) in that joint's frame
    frame_time: float
    motion: np.ndarray  # (N, total channels) raw values, degrees for rotations
    _cache: dict[str, np.ndarray] = field(default_factory=dict, repr=False)

    @property
    def frame_count(self) -> int:
        return int(self.motion.shape[0])

    @property
    def fps(self) -> float:
        return 1.0 / self.frame_time

    def index(self, name: str) -> int:
        return self.names.index(name)

    def local_transforms(self) -> tuple[np.ndarray, np.ndarray]:
        """Per-frame local translations (N, J, 3) and local rotations (N, J, 4) of every joint."""
        if "t" not in self._cache:
            n = self.frame_count
            trans = np.broadcast_to(self.offsets, (n, len(self.names), 3)).copy()
            rots = np.zeros((n, len(self.names), 4))
            rots[..., 3] = 1.0
            col = 0
            for j, chans in enumerate(self.channels):
                order = "".join(_ROTATION_CHANNELS[c] for c in chans if c in _ROTATION_CHANNELS)
                rot_cols = [col + i for i, c in enumerate(chans) if c in _ROTATION_CHANNELS]
                pos_cols = [(col + i, _POSITION_CHANNELS[c]) for i, c in enumerate(chans) if c in _POSITION_CHANNELS]
                if rot_cols:
                    rots[:, j] = quat_from_euler_deg(self.motion[:, rot_cols], order)
                for c, axis in pos_cols:
                    base = self.offsets[j, axis] if self.parents[j] < 0 else 0.0
                    trans[:, j, axis] = base + self.motion[:, c]
                col += len(chans)
            self._cache["t"], self._cache["r"] = trans, rots
        return self._cache["t"], self._cache["r"]

    def fk(self) -> tuple[np.ndarray, np.ndarray]:
        """World positions (N, J, 3) in file units and world rotations (N, J, 4) of all frames."""
        trans, rots = self.local_transforms()
        return chain_fk(self.parents, trans, trans[:, 0], rots)

    def rest_positions(self) -> np.ndarray:
        """World positions (J, 3) with every rotation zero and the root at its OFFSET (the rest pose)."""
        pos = np.zeros((len(self.names), 3))
        for j, p in enumerate(self.parents):
            pos[j] = self.offsets[j] if p < 0 else pos[p] + self.offsets[j]
        return pos

    def end_site_rest_position(self, joint: int) -> np.ndarray | None:
        if joint not in self.end_sites:
            return None
        return self.rest_positions()[joint] + self.end_sites[joint]


def _number(tok: str, what: str) -> float:
    try:
        value = float(tok)
    except ValueError:
        raise BvhError(f"{what}: expected a number, found {tok[:40]!r}") from None
    if not math.isfinite(value):
        raise BvhError(f"{what}: value {tok[:40]!r} is not finite")
    return value


def parse_bvh(text: str) -> BvhClip:
    """Parse BVH text. Raises BvhError with a readable reason on anything malformed."""
    motion_at = text.find("MOTION")
    if motion_at < 0:
        raise BvhError("no MOTION section: this is not a complete BVH file")
    tokens = text[:motion_at].split()
    if not tokens or tokens[0] != "HIERARCHY":
        raise BvhError("a BVH file starts with HIERARCHY")
    names: list[str] = []
    parents: list[int] = []
    offsets: list[tuple[float, float, float]] = []
    channels: list[tuple[str, ...]] = []
    end_sites: dict[int, np.ndarray] = {}
    stack: list[int] = []  # open joints; -2 marks an open End Site
    i = 1

    def take() -> str:
        nonlocal i
        if i >= len(tokens):
            raise BvhError("HIERARCHY ends in the middle of a joint (missing '}' or values)")
        i += 1
        return tokens[i - 1]

    while i < len(tokens):
        tok = take()
        if tok in ("ROOT", "JOINT"):
            if tok == "ROOT" and names:
                raise BvhError("more than one ROOT: only one skeleton per file is supported")
            if tok == "JOINT" and (not stack or stack[-1] < 0):
                raise BvhError("JOINT outside of a joint")
            parts = []
            while (t := take()) != "{":
                parts.append(t)
            if not parts:
                raise BvhError(f"{tok} without a name")
            if len(names) >= MAX_JOINTS:
                raise BvhError(f"more than {MAX_JOINTS} joints")
            parents.append(stack[-1] if stack else -1)
            names.append(" ".join(parts))
            offsets.append((math.nan, math.nan, math.nan))
            channels.append(())
            stack.append(len(names) - 1)
        elif tok == "End":
            if take() != "Site" or take() != "{" or not stack or stack[-1] < 0:
                raise BvhError("malformed End Site")
            if take() != "OFFSET":
                raise BvhError(f"End Site of {names[stack[-1]]!r} has no OFFSET")
            end_sites[stack[-1]] = np.array([_number(take(), "End Site OFFSET") for _ in range(3)])
            stack.append(-2)
        elif tok == "OFFSET":
            if not stack or stack[-1] < 0:
                raise BvhError("OFFSET outside of a joint")
            offsets[stack[-1]] = tuple(_number(take(), f"OFFSET of {names[stack[-1]]!r}") for _ in range(3))
        elif tok == "CHANNELS":
            if not stack or stack[-1] < 0:
                raise BvhError("CHANNELS outside of a joint")
            name = names[stack[-1]]
            count = int(_number(take(), f"CHANNELS count of {name!r}"))
            if not 0 <= count <= 6:
                raise BvhError(f"joint {name!r} declares {count} channels (0 to 6 allowed)")
            chans = tuple(take() for _ in range(count))
            for c in chans:
                if c not in _ROTATION_CHANNELS and c not in _POSITION_CHANNELS:
                    raise BvhError(f"joint {name!r} has unknown channel {c[:40]!r}")
            if len(set(chans)) != len(chans):
                raise BvhError(f"joint {name!r} repeats a channel")
            channels[stack[-1]] = chans
        elif tok == "}":
            if not stack:
                raise BvhError("unbalanced '}' in HIERARCHY")
            stack.pop()
        else:
            raise BvhError(f"unexpected {tok[:40]!r} in HIERARCHY")
    if stack:
        raise BvhError("HIERARCHY ends with unclosed joints (missing '}')")
    if not names:
        raise BvhError("HIERARCHY has no ROOT joint")
    for name, off in zip(names, offsets, strict=True):
        if math.isnan(off[0]):
            raise BvhError(f"joint {name!r} has no OFFSET")

    head, _, body = text[motion_at + len("MOTION"):].partition("Frame Time:")
    head_tokens = head.split()
    if len(head_tokens) != 2 or head_tokens[0] != "Frames:":
        raise BvhError("MOTION must be followed by 'Frames: <count>' and 'Frame Time: <seconds>'")
    n_frames = int(_number(head_tokens[1], "Frames"))
    if not 1 <= n_frames <= MAX_FRAMES:
        raise BvhError(f"Frames: {n_frames} is out of range (1 to {MAX_FRAMES})")
    values = body.split()
    if not values:
        raise BvhError("Frame Time has no value")
    frame_time = _number(values[0], "Frame Time")
    if not 1e-4 <= frame_time <= 10.0:
        raise BvhError(f"Frame Time {frame_time} s is not a usable frame period")
    n_channels = sum(len(c) for c in channels)
    expected = n_frames * n_channels
    if len(values) - 1 != expected:
        raise BvhError(
            f"MOTION has {len(values) - 1} values, expected {n_frames} frames x {n_channels} channels = {expected}"
        )
    try:
        motion = np.array(values[1:], dtype=np.float64).reshape(n_frames, n_channels)
    except ValueError as exc:
        raise BvhError(f"MOTION contains something that is not a number ({exc})") from None
    if not np.all(np.isfinite(motion)):
        raise BvhError("MOTION contains NaN or infinite values")
    return BvhClip(names, parents, np.array(offsets), channels, end_sites, frame_time, motion)


def load_bvh(path: str | Path) -> BvhClip:
    path = Path(path)
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise BvhError(f"{path.name} is {size} bytes, larger than the {MAX_FILE_BYTES} byte limit")
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        raise BvhError(f"{path.name} is not UTF-8/ASCII text") from None
    return parse_bvh(text)


def drop_synthetic_tpose(clip: BvhClip, still_deg: float = 0.5, jump_deg: float = 10.0) -> BvhClip:
    """The clip without a leading synthetic T-pose: frame 0 with every rotation ~zero (the rest pose some
    converters put first, CMU conversions among them) while frame 1 is far from it. A real first frame is
    kept: a capture is never exactly at rest, and if it is, the next frame is close to it.
    """
    if clip.frame_count < 3:
        return clip
    _, rots = clip.local_transforms()
    w = np.abs(rots[:2, :, 3]).clip(0.0, 1.0)
    angle0 = np.degrees(2.0 * np.arccos(w[0]))  # each joint's turn from rest in frame 0 ...
    change = np.degrees(2.0 * np.arccos(np.abs(np.sum(rots[0] * rots[1], axis=-1)).clip(0.0, 1.0)))  # ... 0 -> 1
    if angle0.max() > still_deg or change.max() < jump_deg:
        return clip
    return BvhClip(clip.names, clip.parents, clip.offsets, clip.channels, clip.end_sites, clip.frame_time,
                   clip.motion[1:])


def _heading(q: np.ndarray) -> float:
    """Yaw (radians about +Y) of a rotation: where it turns our forward (+Z)."""
    x, y, z, w = (float(v) for v in q)
    fx, fz = 2.0 * (x * z + w * y), 1.0 - 2.0 * (x * x + y * y)
    return math.atan2(fx, fz)


def _yaw_quat(theta: np.ndarray) -> np.ndarray:
    half = 0.5 * np.asarray(theta, dtype=np.float64)
    return np.stack((np.zeros_like(half), np.sin(half), np.zeros_like(half), np.cos(half)), axis=-1)


class LoopingTrack:
    """A root track (N, 3) plus rotations (N, J, 4) at a fixed frame time, sampled at any time by lerp/slerp.

    Joint 0's rotation is the root's world rotation (our frame, +Y up). The clip loops with period
    (N - 1) * frame_time. Each new loop of a travelling clip is re-anchored: turned about +Y by the clip's
    net heading change and moved so it starts where the previous loop ended (a walk goes on instead of
    jumping ~3 m back to its start). The pose (and the hips' height) then cross-fades from the last frame
    for `seam_fade_s` so the body does not snap from the clip's end pose to its start pose in one tick.

    Only a clip that travels (more than TURNAROUND_M from start to end) is re-anchored; an idle that ends a
    few cm from its start just fades back (carried, its drift would add up over hours). A travelling clip
    that does not turn back by itself is also turned 180 degrees per loop, so it paces back and forth within
    about its own length instead of walking out of the store; the body turns on the spot over `turn_s`.
    """

    TURNAROUND_M = 0.5

    def __init__(self, root_pos: np.ndarray, rots: np.ndarray, frame_time: float, loop: bool = True,
                 seam_fade_s: float = 0.25, turn_s: float = 1.0) -> None:
        self.root_pos = np.asarray(root_pos, dtype=np.float64)
        self.rots = np.asarray(rots, dtype=np.float64)
        self.frame_time = float(frame_time)
        self.loop = loop
        self.frame_count = self.rots.shape[0]
        self.duration = max(self.frame_count - 1, 0) * self.frame_time
        self.seam_fade_s = max(0.0, min(float(seam_fade_s), 0.5 * self.duration))
        # Per loop: turn by `turn` about +Y and shift by `step` (horizontal, complex z + i x: a turn by theta
        # about +Y multiplies it by e^(i theta)).
        first, last = self.root_pos[0], self.root_pos[-1]
        self._p0 = complex(first[2], first[0])
        self._step = complex(last[2] - first[2], last[0] - first[0])
        net = _heading(self.rots[-1, 0]) - _heading(self.rots[0, 0])
        wrapped = (net + math.pi) % (2.0 * math.pi) - math.pi
        travels = abs(self._step) > self.TURNAROUND_M
        if not travels:  # an idle: carrying its few cm and degrees would drift it away over hours
            self._step, net = 0j, 0.0
        # A per-loop turn near 0 makes the loop starts a straight line; near pi they stay within ~|step|.
        self.extra_turn = math.pi if travels and abs(wrapped) < 0.5 * math.pi else 0.0
        self.turn = net + self.extra_turn
        self.turn_s = max(1e-6, min(float(turn_s), 0.5 * self.duration))

    def finished(self, t: float) -> bool:
        return not self.loop and t > self.duration

    def _frames(self, u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Interpolated root and rotations at clip times u (0..duration), not anchored."""
        f = u / self.frame_time
        i0 = np.clip(np.floor(f).astype(np.int64), 0, self.frame_count - 1)
        i1 = np.minimum(i0 + 1, self.frame_count - 1)
        a = f - i0
        pos = self.root_pos[i0] + (self.root_pos[i1] - self.root_pos[i0]) * a[..., None]
        rots = quat_slerp(self.rots[i0], self.rots[i1], np.broadcast_to(a[..., None], self.rots[i0].shape[:-1]))
        return pos, rots

    def _anchor(self, k: np.ndarray, pos: np.ndarray, rots: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Place frames of loop k: T^k, T = turn about +Y around the start, then move the start to the end."""
        theta = k * self.turn
        spin = np.exp(1j * theta)
        e = np.exp(1j * self.turn)
        # start of loop k = p0 + step * (1 + e + ... + e^(k-1)), a geometric sum in closed form
        reps = k if abs(self.turn) < 1e-9 else (1.0 - spin) / (1.0 - e)
        w = (pos[..., 2] + 1j * pos[..., 0] - self._p0) * spin + self._p0 + self._step * reps
        pos = np.stack((w.imag, pos[..., 1], w.real), axis=-1)
        rots = rots.copy()
        rots[..., 0, :] = quat_mul(_yaw_quat(theta), rots[..., 0, :])
        return pos, rots

    def sample(self, t: np.ndarray | float) -> tuple[np.ndarray, np.ndarray]:
        """Root position and rotations at time(s) t (seconds since the start)."""
        t = np.asarray(t, dtype=np.float64)
        if self.frame_count == 1 or self.duration <= 0.0:
            idx = np.zeros(t.shape, dtype=np.int64)
            return self.root_pos[idx], self.rots[idx]
        if not self.loop:
            return self._frames(np.clip(t, 0.0, self.duration))
        k = np.floor(np.maximum(t, 0.0) / self.duration)
        u = np.maximum(t, 0.0) - k * self.duration
        pos, rots = self._anchor(k, *self._frames(u))
        if self.extra_turn:
            # The loop's path is already turned; the body turns on the spot from where it faced.
            s = np.clip(u / self.turn_s, 0.0, 1.0)
            left = np.where(k >= 1, self.extra_turn * (1.0 - s * s * (3.0 - 2.0 * s)), 0.0)
            rots[..., 0, :] = quat_mul(_yaw_quat(-left), rots[..., 0, :])
        if self.seam_fade_s > 0.0:
            fading = (k >= 1) & (u < self.seam_fade_s)
            if np.any(fading):
                end_pos, end_rots = self._anchor(k - 1, np.broadcast_to(self.root_pos[-1], pos.shape),
                                                 np.broadcast_to(self.rots[-1], rots.shape))
                s = u / self.seam_fade_s
                s = s * s * (3.0 - 2.0 * s)  # smoothstep: no kink at either end of the fade
                w = np.where(fading, s, 1.0)
                pos = end_pos + (pos - end_pos) * w[..., None]
                rots = quat_slerp(end_rots, rots, np.broadcast_to(w[..., None], rots.shape[:-1]))
        return pos, rots

    def resample(self, rate_hz: float = 60.0, duration: float | None = None) -> tuple[np.ndarray, np.ndarray]:
        """All frames of one loop (or `duration` seconds) at rate_hz: the 60 Hz tick's view of the clip."""
        duration = self.duration if duration is None else duration
        times = np.arange(0.0, duration + 1e-9, 1.0 / rate_hz)
        return self.sample(times)
