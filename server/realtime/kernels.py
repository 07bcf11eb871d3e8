"""Compiled loops for the two hottest steps of a room's tick, when numba is installed.

A tick applies every client's pose upload (validate, clamp, quantize) and delta-codes every avatar; in numpy each
is about a hundred array operations, whose fixed cost per call (not the data) dominated the server's CPU per
snapshot at 50 clients (bench/versus.md). These kernels do the same per avatar in one compiled loop, for the
common case only: avatars with a head and controllers (no tracked hands, no body). Everything else, and any
machine without numba, takes the numpy code in room.py and codec.py, which stays the reference: the tests run
both on the same inputs and require identical bytes and states (tests/test_kernels.py).

The arithmetic is the numpy code's, operation for operation, in float64 (no fast-math, so no reordering or fused
multiply-adds), which is what makes the results bit-identical. `PLAZA_JIT=0` turns the kernels off.
"""

from __future__ import annotations

import os

import numpy as np

from server.realtime import codec

try:
    import numba
except ImportError:  # optional: the numpy path does the same, slower
    numba = None

ENABLED = numba is not None and os.environ.get("PLAZA_JIT", "1") != "0"

# Status of each upload after `apply_simple`
OK, NON_FINITE, BAD_ROTATION = 0, 1, 2
SIMPLE_PARTS = 3  # head, left controller, right controller: 7 components each, the first 21 of a state


def _jit(fn):
    return numba.njit(cache=True, nogil=True)(fn) if ENABLED else None


def _quantize_quat(q0: float, q1: float, q2: float, q3: float, out: np.ndarray, at: int) -> None:
    """quantize.quantize_quats for one rotation, into out[at:at + 4]."""
    q = (q0, q1, q2, q3)
    idx = 0
    best = abs(q0)
    for i in range(1, 4):  # the first of equal magnitudes, as np.argmax
        if abs(q[i]) > best:
            best = abs(q[i])
            idx = i
    largest = q[idx]
    if largest == 0.0:
        largest = 1.0
    out[at] = idx
    k = 1
    for i in range(4):
        if i != idx:
            code = np.rint((q[i] / largest) * 511) + 511
            out[at + k] = min(max(code, 0.0), 1022.0)
            k += 1


def _quantize_mm(v: float) -> int:
    return int(min(max(np.rint(v * 1000.0), -32767.0), 32767.0))


def _walkable(x: float, z: float, floor: np.ndarray, z1: np.ndarray, z2: np.ndarray, slope: np.ndarray,
              seg_a: np.ndarray, seg_ab: np.ndarray, inv_len2: np.ndarray, clear2: np.ndarray, centers: np.ndarray,
              cos: np.ndarray, sin: np.ndarray, half: np.ndarray) -> bool:
    """scenes.model.WalkableArea.mask for one point."""
    if not (np.isfinite(x) and np.isfinite(z)):
        return False
    crossings = 0
    for e in range(len(z1)):
        if (z1[e] > z) != (z2[e] > z) and x < floor[e, 0] + (z - z1[e]) * slope[e]:
            crossings += 1
    if crossings % 2 == 0:
        return False
    for e in range(len(clear2)):
        ax, az = x - seg_a[e, 0], z - seg_a[e, 1]
        t = min(max((ax * seg_ab[e, 0] + az * seg_ab[e, 1]) * inv_len2[e], 0.0), 1.0)
        ox, oz = ax - t * seg_ab[e, 0], az - t * seg_ab[e, 1]
        if not ox * ox + oz * oz >= clear2[e]:
            return False
    for f in range(len(cos)):
        dx, dz = x - centers[f, 0], z - centers[f, 1]
        if abs(cos[f] * dx - sin[f] * dz) < half[f, 0] and abs(sin[f] * dx + cos[f] * dz) < half[f, 1]:
            return False
    return True


def _apply_simple(values, slots, received, ctrl_parts, ctrl_at, presence, head_pos, last_pose_time, state,
                  presence_arr, box_lo, box_hi, max_speed, reach2, walk, floor, z1, z2, slope, seg_a, seg_ab,
                  inv_len2, clear2, centers, cos, sin, half, status):
    """Room._apply_group for uploads with a head and 0-2 controllers, every row in place. Returns (accepted,
    corrected, left controllers dropped, right controllers dropped)."""
    n, k = values.shape
    accepted = corrected = 0
    dropped = np.zeros(2, dtype=np.int64)
    row = np.zeros(3 * 7, dtype=np.int32)
    for i in range(n):
        v = values[i].astype(np.float64)
        finite = True
        for j in range(k):
            if not np.isfinite(v[j]):
                finite = False
        if not finite:
            status[i] = NON_FINITE
            continue
        unit = abs(np.sqrt(v[3] * v[3] + v[4] * v[4] + v[5] * v[5] + v[6] * v[6]) - 1.0) <= 0.05
        for c in range(len(ctrl_at)):
            a = ctrl_at[c] + 3
            if not abs(np.sqrt(v[a] * v[a] + v[a + 1] * v[a + 1] + v[a + 2] * v[a + 2] + v[a + 3] * v[a + 3])
                       - 1.0) <= 0.05:
                unit = False
        if not unit:
            status[i] = BAD_ROTATION
            continue
        status[i] = OK
        slot = slots[i]
        hx, hy, hz = v[0], v[1], v[2]
        px, pz = head_pos[slot, 0], head_pos[slot, 2]
        cx = min(max(hx, box_lo[0]), box_hi[0])
        cy = min(max(hy, box_lo[1]), box_hi[1])
        cz = min(max(hz, box_lo[2]), box_hi[2])
        sx, sz = cx - px, cz - pz
        dist = np.hypot(sx, sz)
        dt = max(received[i] - last_pose_time[slot], 1.0 / 60.0)
        max_step = max_speed * dt + 0.05
        too_fast = dist > max_step
        scale = max_step / max(dist, 1e-9) if too_fast else 1.0
        cx, cz = px + sx * scale, pz + sz * scale
        blocked = walk and not _walkable(cx, cz, floor, z1, z2, slope, seg_a, seg_ab, inv_len2, clear2, centers,
                                         cos, sin, half)
        if blocked:
            cx, cz = px, pz
        if too_fast or blocked or abs(cx - hx) > 1e-6 or abs(cy - hy) > 1e-6 or abs(cz - hz) > 1e-6:
            corrected += 1
        head_pos[slot, 0], head_pos[slot, 1], head_pos[slot, 2] = cx, cy, cz
        last_pose_time[slot] = received[i]
        row[:] = 0
        row[0], row[1], row[2] = _quantize_mm(cx), _quantize_mm(cy), _quantize_mm(cz)
        _quantize_quat(v[3], v[4], v[5], v[6], row, 3)
        bits = presence
        for c in range(len(ctrl_at)):
            a, o = ctrl_at[c], 7 * ctrl_parts[c]
            rx, ry, rz = v[a] - hx, v[a + 1] - hy, v[a + 2] - hz
            if rx * rx + ry * ry + rz * rz > reach2:
                bits &= ~(1 << ctrl_parts[c])
                dropped[ctrl_parts[c] - 1] += 1
                continue
            row[o], row[o + 1], row[o + 2] = _quantize_mm(rx), _quantize_mm(ry), _quantize_mm(rz)
            _quantize_quat(v[a + 3], v[a + 4], v[a + 5], v[a + 6], row, o + 3)
        state[slot, :] = 0
        state[slot, : 3 * 7] = row
        presence_arr[slot] = bits
        accepted += 1
    return accepted, corrected, dropped[0], dropped[1]


def _delta_simple(slots, slot_ids, state, presence, base_state, base_presence, out, offsets):
    """codec.encode_delta of the avatars in these slots against a baseline (the room's state and presence at
    that tick), for avatars whose parts now and at the baseline are among head and controllers. `out` must
    hold DELTA_SIMPLE_MAX_BYTES per avatar; `offsets` gets the n + 1 block boundaries. Returns the length."""
    at = 0
    z = np.zeros(7, dtype=np.int64)
    for i in range(len(slots)):
        s = slots[i]
        offsets[i] = at
        now, base = presence[s], base_presence[s]
        avatar = slot_ids[s]
        out[at], out[at + 1] = avatar & 0xFF, (avatar >> 8) & 0xFF
        bits_at = at + 2
        bits = 0x80 if now != base else 0
        at += 3
        if now != base:
            out[at] = now
            at += 1
        for part in range(SIMPLE_PARTS):
            if not (now >> part) & 1:
                continue
            mask = 0
            for c in range(7):
                d = np.int64(state[s, 7 * part + c]) - np.int64(base_state[s, 7 * part + c])
                z[c] = ((d << 1) ^ (d >> 31)) & 0xFFFFFFFF  # zigzag of the int32 difference
                if z[c] != 0:
                    mask |= 1 << c
            if mask == 0:
                continue
            bits |= 1 << part
            out[at] = mask
            at += 1
            for c in range(7):
                zc = z[c]
                if zc == 0:
                    continue
                out[at] = (zc & 0x7F) | (0x80 if zc >= 128 else 0)
                at += 1
                if zc >= 128:
                    out[at] = ((zc >> 7) & 0x7F) | (0x80 if zc >= 16384 else 0)
                    at += 1
                    if zc >= 16384:
                        out[at] = (zc >> 14) & 0x7F
                        at += 1
        out[bits_at] = bits
    offsets[len(slots)] = at
    return at


if ENABLED:
    _quantize_quat = _jit(_quantize_quat)
    _quantize_mm = _jit(_quantize_mm)
    _walkable = _jit(_walkable)
    apply_simple = _jit(_apply_simple)
    delta_simple = _jit(_delta_simple)
else:
    apply_simple = delta_simple = None

DELTA_SIMPLE_MAX_BYTES = 3 + 1 + SIMPLE_PARTS * (1 + 7 * 3)


def encode_delta_simple(slots: np.ndarray, slot_ids: np.ndarray, state: np.ndarray, presence: np.ndarray,
                        base_state: np.ndarray, base_presence: np.ndarray) -> codec.EncodedBlocks:
    """codec.encode_delta of these slots (heads and controllers only, now and at the baseline), compiled."""
    out = np.empty(len(slots) * DELTA_SIMPLE_MAX_BYTES, dtype=np.uint8)
    offsets = np.empty(len(slots) + 1, dtype=np.int64)
    length = delta_simple(slots, slot_ids, state, presence, base_state, base_presence, out, offsets)
    return codec.EncodedBlocks(out[:length], offsets)


_NO_POINTS = np.zeros((0, 2), dtype=np.float64)
_NONE = np.zeros(0, dtype=np.float64)


def walk_arrays(area) -> tuple:
    """The kernel's form of a scenes.model.WalkableArea (contiguous float64 arrays), or of "walk anywhere"
    (None): (walk, floor, z1, z2, slope, seg_a, seg_ab, inv_len2, clear2, centers, cos, sin, half)."""
    if area is None:
        return (False, _NO_POINTS, _NONE, _NONE, _NONE, _NO_POINTS, _NO_POINTS, _NONE, _NONE, _NO_POINTS, _NONE,
                _NONE, _NO_POINTS)
    c = np.ascontiguousarray
    return (True, *(c(a, dtype=np.float64) for a in (
        area.floor, area.z1, area.z2, area.slope, area.a, area.ab, area.inv_len2, area.clear2, area.centers,
        area.cos, area.sin, area.half)))
