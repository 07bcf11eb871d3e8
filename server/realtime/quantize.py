"""Fixed-point positions and "smallest three" quaternions, vectorised over many poses at once.

Positions: signed millimetres in int16 (±32.767 m). Rotations: the largest of the four unit-quaternion
components is dropped (its index is kept, 2 bits) and made positive (q and -q are the same rotation);
the other three lie in [-1/√2, 1/√2] and are quantized to 10 bits each. Worst-case error: 0.5 mm per
axis, about 0.14° of rotation (docs/PROTOCOL.md derives both).
"""

from __future__ import annotations

import numpy as np

ROT_BITS = 10
ROT_MAX = (1 << ROT_BITS) - 1  # 1023
_S = 1.0 / np.sqrt(2.0)
POS_LIMIT_MM = 32767


def quantize_positions_mm(pos: np.ndarray) -> np.ndarray:
    """Metres -> int32 millimetres, clipped to the int16 range."""
    return np.clip(np.rint(pos * 1000.0), -POS_LIMIT_MM, POS_LIMIT_MM).astype(np.int32)


def dequantize_positions_mm(q: np.ndarray) -> np.ndarray:
    return q.astype(np.float64) / 1000.0


def quantize_quats(q: np.ndarray) -> np.ndarray:
    """Unit quaternions (..., 4) xyzw -> (..., 4) int32 [index, a, b, c] (index of the dropped component)."""
    q = np.asarray(q, dtype=np.float64)
    norm = np.linalg.norm(q, axis=-1, keepdims=True)
    q = q / np.where(norm > 0, norm, 1.0)
    idx = np.argmax(np.abs(q), axis=-1)
    largest = np.take_along_axis(q, idx[..., None], axis=-1)
    q = q * np.where(largest < 0, -1.0, 1.0)  # the dropped component is implied positive
    # The three kept components, in x,y,z,w order with the dropped one removed.
    keep = _KEEP[idx]  # (..., 3)
    rest = np.take_along_axis(q, keep, axis=-1)
    ints = np.rint((rest + _S) * (ROT_MAX / (2 * _S)))
    out = np.empty(q.shape[:-1] + (4,), dtype=np.int32)
    out[..., 0] = idx
    out[..., 1:] = np.clip(ints, 0, ROT_MAX)
    return out


def dequantize_quats(qi: np.ndarray) -> np.ndarray:
    """(..., 4) int [index, a, b, c] -> unit quaternions (..., 4) xyzw."""
    qi = np.asarray(qi)
    idx = qi[..., 0].astype(np.intp)
    rest = qi[..., 1:].astype(np.float64) * (2 * _S / ROT_MAX) - _S
    largest = np.sqrt(np.clip(1.0 - np.sum(rest * rest, axis=-1), 0.0, 1.0))
    out = np.empty(qi.shape[:-1] + (4,), dtype=np.float64)
    np.put_along_axis(out, _KEEP[idx], rest, axis=-1)
    np.put_along_axis(out, idx[..., None], largest[..., None], axis=-1)
    return out / np.linalg.norm(out, axis=-1, keepdims=True)


def pack_quats(qi: np.ndarray) -> np.ndarray:
    """[index, a, b, c] -> uint32 (index << 30 | a << 20 | b << 10 | c), the absolute wire form."""
    qi = qi.astype(np.uint32)
    return (qi[..., 0] << 30) | (qi[..., 1] << 20) | (qi[..., 2] << 10) | qi[..., 3]


def unpack_quats(packed: np.ndarray) -> np.ndarray:
    packed = np.asarray(packed, dtype=np.uint32)
    out = np.empty(packed.shape + (4,), dtype=np.int32)
    out[..., 0] = packed >> 30
    out[..., 1] = (packed >> 20) & ROT_MAX
    out[..., 2] = (packed >> 10) & ROT_MAX
    out[..., 3] = packed & ROT_MAX
    return out


def quat_angle_deg(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Angle between rotations a and b in degrees (q and -q equal)."""
    dot = np.abs(np.sum(a * b, axis=-1)) / (np.linalg.norm(a, axis=-1) * np.linalg.norm(b, axis=-1))
    return np.degrees(2.0 * np.arccos(np.clip(dot, 0.0, 1.0)))


_KEEP = np.array([[1, 2, 3], [0, 2, 3], [0, 1, 3], [0, 1, 2]], dtype=np.intp)
