"""Fixed-point positions and "smallest three" quaternions, vectorised over many poses at once.

Positions: signed millimetres in int16 (±32.767 m). Rotations: "smallest three" with ratios. The largest of
the four unit-quaternion components (by magnitude) is dropped, its index kept in 2 bits and its sign made
positive (q and -q are the same rotation). The other three are divided by it, which puts them in [-1, 1],
and each ratio is quantized to 10 bits as round(r * 511) + 511, a code in 0..1022 (511 is exactly 0, so the
identity rotation is exact). Decoding rebuilds (r0, r1, r2, 1) in the right order and normalises it. Since
normalising (r, 1) shrinks any error in r, the worst case is at the identity: |Δq| <= √3 · 0.5/511, i.e. at
most 0.194° of rotation; positions are within 0.5 mm per axis (docs/PROTOCOL.md derives both). Dividing by
the largest component rather than storing the components themselves is what keeps the bound under 0.25°:
storing components in [-1/√2, 1/√2] lets the rebuilt fourth component amplify errors (0.274° worst case).
"""

from __future__ import annotations

import numpy as np

ROT_BITS = 10
ROT_HALF = 511  # code of a zero ratio; codes run 0..1022
ROT_MAX = 2 * ROT_HALF  # 1022 (code 1023 is never produced; decoders clamp it)
POS_LIMIT_MM = 32767


def quantize_positions_mm(pos: np.ndarray) -> np.ndarray:
    """Metres -> int32 millimetres, clipped to the int16 range."""
    return np.clip(np.rint(pos * 1000.0), -POS_LIMIT_MM, POS_LIMIT_MM).astype(np.int32)


def dequantize_positions_mm(q: np.ndarray) -> np.ndarray:
    return q.astype(np.float64) / 1000.0


def quantize_quats(q: np.ndarray) -> np.ndarray:
    """Unit quaternions (..., 4) xyzw -> (..., 4) int32 [index, a, b, c] (index of the dropped component)."""
    q = np.asarray(q, dtype=np.float64)
    flat = q.reshape(-1, 4)
    idx = np.argmax(np.abs(flat), axis=1)
    rows = np.arange(len(flat))
    largest = flat[rows, idx]
    largest[largest == 0] = 1.0  # only for an all-zero input, which callers reject
    ratios = flat[rows[:, None], _KEEP[idx]] / largest[:, None]  # sign of `largest` folded in: q ~ -q
    out = np.empty((len(flat), 4), dtype=np.int32)
    out[:, 0] = idx
    out[:, 1:] = np.clip(np.rint(ratios * ROT_HALF) + ROT_HALF, 0, ROT_MAX)
    return out.reshape(*q.shape[:-1], 4)


def dequantize_quats(qi: np.ndarray) -> np.ndarray:
    """(..., 4) int [index, a, b, c] -> unit quaternions (..., 4) xyzw."""
    qi = np.asarray(qi)
    idx = qi[..., 0].astype(np.intp)
    ratios = (np.clip(qi[..., 1:], 0, ROT_MAX).astype(np.float64) - ROT_HALF) / ROT_HALF
    out = np.empty((*qi.shape[:-1], 4), dtype=np.float64)
    np.put_along_axis(out, _KEEP[idx], ratios, axis=-1)
    np.put_along_axis(out, idx[..., None], np.ones((*idx.shape, 1)), axis=-1)
    return out / np.linalg.norm(out, axis=-1, keepdims=True)


def pack_quats(qi: np.ndarray) -> np.ndarray:
    """[index, a, b, c] -> uint32 (index << 30 | a << 20 | b << 10 | c), the absolute wire form."""
    qi = qi.astype(np.uint32)
    return (qi[..., 0] << 30) | (qi[..., 1] << 20) | (qi[..., 2] << 10) | qi[..., 3]


def unpack_quats(packed: np.ndarray) -> np.ndarray:
    packed = np.asarray(packed, dtype=np.uint32)
    out = np.empty((*packed.shape, 4), dtype=np.int32)
    out[..., 0] = packed >> 30
    out[..., 1] = (packed >> 20) & 0x3FF
    out[..., 2] = (packed >> 10) & 0x3FF
    out[..., 3] = packed & 0x3FF
    return out


def quat_angle_deg(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Angle between rotations a and b in degrees (q and -q equal)."""
    dot = np.abs(np.sum(a * b, axis=-1)) / (np.linalg.norm(a, axis=-1) * np.linalg.norm(b, axis=-1))
    return np.degrees(2.0 * np.arccos(np.clip(dot, 0.0, 1.0)))


_KEEP = np.array([[1, 2, 3], [0, 2, 3], [0, 1, 3], [0, 1, 2]], dtype=np.intp)
