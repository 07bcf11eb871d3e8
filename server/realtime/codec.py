"""Snapshot codec: quantized avatar states -> binary blocks, absolute or delta-coded (docs/PROTOCOL.md).

Encoding is vectorised: one call encodes every avatar of a room against one baseline, and frames for
many clients are cut from that shared encoding, so nothing shared is encoded twice.
"""

from __future__ import annotations

import itertools
import struct
from dataclasses import dataclass

import numpy as np

from server.realtime.pose import (
    KIND_SNAPSHOT,
    N_COMPONENTS,
    N_PARTS,
    PART_ABSOLUTE_BYTES,
    PART_COMPONENTS,
    PART_MASK_BYTES,
    PART_OFFSETS,
)
from server.realtime.quantize import pack_quats

FRAME_HEADER = struct.Struct("<BBIIB")  # kind, flags, tick, server time (ms), section count
SECTION_HEADER = struct.Struct("<BHI")  # baseline offset (0 = absolute), block count, byte length
MAX_BASELINE_AGE = 60  # ticks: older baselines are not used (clients keep 64 ticks of history)
PRESENCE_CHANGED = 0x80


@dataclass
class EncodedBlocks:
    """Blocks of several avatars laid end to end: block i is flat[offsets[i]:offsets[i + 1]]."""

    flat: np.ndarray  # uint8
    offsets: np.ndarray  # int64, len = n + 1
    _all: bytes | None = None
    _blocks: list[bytes] | None = None

    def all_bytes(self) -> bytes:
        if self._all is None:
            self._all = self.flat.tobytes()
        return self._all

    def take(self, rows: np.ndarray) -> bytes:
        """Concatenate the blocks of the given rows (in that order). Large rooms cut many frames from one
        encoding (one per interest group), so the blocks are split into bytes once and joined per cut."""
        if len(rows) == 0:
            return b""
        blocks = self._blocks
        if blocks is None:
            data, cuts = self.all_bytes(), self.offsets.tolist()
            blocks = self._blocks = [data[a:b] for a, b in itertools.pairwise(cuts)]
        return b"".join(map(blocks.__getitem__, rows.tolist()))


def _id_columns(ids: np.ndarray) -> np.ndarray:
    return ids.astype("<u2").view(np.uint8).reshape(len(ids), 2)


def _rot_bytes(qi: np.ndarray) -> np.ndarray:
    n = qi.shape[0]
    return pack_quats(qi).astype("<u4").view(np.uint8).reshape(n, -1)


def _absolute_part_bytes(part: int, comps: np.ndarray) -> np.ndarray:
    """(N, k) int components of one part -> (N, PART_ABSOLUTE_BYTES[part]) uint8, little-endian."""
    n = comps.shape[0]
    pos = comps[:, :3].astype("<i2").view(np.uint8).reshape(n, 6)
    if part <= 2:  # head, controllers
        return np.hstack([pos, _rot_bytes(comps[:, 3:7])])
    if part <= 4:  # hands: wrist pose, 20 angles, scale
        return np.hstack([pos, _rot_bytes(comps[:, 3:7]), comps[:, 7:].astype(np.uint8)])
    return np.hstack([pos, _rot_bytes(comps[:, 3:].reshape(n, -1, 4))])  # body


def encode_absolute(ids: np.ndarray, states: np.ndarray, presence: np.ndarray) -> EncodedBlocks:
    """Absolute blocks: u16 id, u8 presence, then each present part's fixed-size fields."""
    n = len(ids)
    cols = [_id_columns(ids), presence.astype(np.uint8)[:, None]]
    keep = [np.ones((n, 3), dtype=bool)]
    for part in range(N_PARTS):
        has = (presence >> part & 1).astype(bool)
        if not has.any():
            continue
        comps = states[:, PART_OFFSETS[part] : PART_OFFSETS[part + 1]]
        cols.append(_absolute_part_bytes(part, comps))
        keep.append(np.repeat(has[:, None], PART_ABSOLUTE_BYTES[part], axis=1))
    return _flatten(np.hstack(cols), np.hstack(keep))


def encode_delta(
    ids: np.ndarray, states: np.ndarray, presence: np.ndarray, base_states: np.ndarray, base_presence: np.ndarray
) -> EncodedBlocks:
    """Delta blocks against a baseline: u16 id, u8 part bits, [u8 presence], per changed part a
    component bit mask and the zigzag varints of the non-zero component differences.

    Only the columns of parts present now or in the baseline are touched (an avatar state has 168
    components, a VR avatar without hands or body uses 21 of them)."""
    n = len(ids)
    presence_changed = presence != base_presence
    bits = presence_changed.astype(np.uint8) * PRESENCE_CHANGED
    either = presence | base_presence
    part_cols: list[np.ndarray] = []
    part_keep: list[np.ndarray] = []
    # Head and controllers (parts 0-2, 7 components and a 1-byte mask each) as one (n, 3, 7) block: an absent
    # part has no differences, so it adds no bytes, as if it had been skipped.
    z = _zigzag(states[:, :21] - base_states[:, :21]).reshape(n, 3, 7)
    nonzero = z != 0
    changed = nonzero.any(axis=2) & ((presence[:, None] >> np.arange(3, dtype=np.uint8)) & 1).astype(bool)
    bits |= (changed.view(np.uint8) << np.arange(3, dtype=np.uint8)).sum(axis=1, dtype=np.uint8)
    block = np.empty((n, 3, 22), dtype=np.uint8)
    block[:, :, 0] = np.packbits(nonzero, axis=2, bitorder="little")[:, :, 0]
    block_keep = np.empty((n, 3, 22), dtype=bool)
    block_keep[:, :, 0] = changed
    _varints(z, block[:, :, 1:].reshape(n, 3, 7, 3), block_keep[:, :, 1:].reshape(n, 3, 7, 3))
    block_keep[:, :, 1:] &= changed[:, :, None]
    part_cols.append(block.reshape(n, 66))
    part_keep.append(block_keep.reshape(n, 66))
    for part in range(3, N_PARTS):
        if not (either >> part & 1).any():
            continue
        lo, hi = PART_OFFSETS[part], PART_OFFSETS[part + 1]
        z = _zigzag(states[:, lo:hi] - base_states[:, lo:hi])
        nonzero = z != 0
        present = (presence >> part & 1).astype(bool)
        changed = nonzero.any(axis=1) & present  # a part that disappeared sends no components
        bits |= changed.view(np.uint8) << part
        k = hi - lo
        varint = np.empty((n, k, 3), dtype=np.uint8)
        varint_keep = np.empty((n, k, 3), dtype=bool)
        _varints(z, varint, varint_keep)
        varint_keep &= changed[:, None, None]
        part_cols += [np.packbits(nonzero, axis=1, bitorder="little"), varint.reshape(n, 3 * k)]
        part_keep += [np.repeat(changed[:, None], PART_MASK_BYTES[part], axis=1), varint_keep.reshape(n, 3 * k)]
    cols = [_id_columns(ids), bits[:, None], presence.astype(np.uint8)[:, None], *part_cols]
    keep = [np.ones((n, 3), dtype=bool), presence_changed[:, None], *part_keep]
    return _flatten(np.hstack(cols), np.hstack(keep))


def _zigzag(diff: np.ndarray) -> np.ndarray:
    return ((diff << 1) ^ (diff >> 31)).view(np.uint32)


def _varints(z: np.ndarray, out: np.ndarray, keep: np.ndarray) -> None:
    """Up to 3 varint bytes per zigzag value into out[..., 0:3], and which of them are sent into keep."""
    two, three = z >= 128, z >= 16384
    out[..., 0] = (z & 0x7F) | (two.view(np.uint8) << 7)
    out[..., 1] = ((z >> 7) & 0x7F) | (three.view(np.uint8) << 7)
    out[..., 2] = (z >> 14) & 0x7F
    keep[..., 0], keep[..., 1], keep[..., 2] = z != 0, two, three


def _flatten(matrix: np.ndarray, keep: np.ndarray) -> EncodedBlocks:
    lengths = keep.sum(axis=1)
    offsets = np.zeros(len(lengths) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    return EncodedBlocks(matrix[keep], offsets)


def frame(tick: int, server_time_ms: int, sections: list[tuple[int, int, bytes]]) -> bytes:
    """Assemble a snapshot frame from (baseline offset, block count, blocks) sections."""
    parts = [FRAME_HEADER.pack(KIND_SNAPSHOT, 0, tick & 0xFFFFFFFF, server_time_ms & 0xFFFFFFFF, len(sections))]
    for offset, count, blocks in sections:
        parts.append(SECTION_HEADER.pack(offset, count, len(blocks)))
        parts.append(blocks)
    return b"".join(parts)


# ---------------------------------------------------------------------------------------------------
# Decoding (the reference decoder: plain Python, written to be read next to docs/PROTOCOL.md)


class SnapshotError(ValueError):
    """The frame is malformed or refers to a baseline this decoder does not have."""


@dataclass
class AvatarState:
    presence: int
    components: list[int]  # N_COMPONENTS ints, absent parts zero


def read_varint(buf, at: int) -> tuple[int, int]:
    """An unsigned LEB128 varint at `at`: (value, position after it)."""
    value, shift = 0, 0
    while True:
        byte = buf[at]
        at += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value, at


def _zero_absent(presence: int, comps: list[int]) -> None:
    for part in range(N_PARTS):
        if not presence >> part & 1:
            for j in range(PART_OFFSETS[part], PART_OFFSETS[part + 1]):
                comps[j] = 0


def _read_absolute(buf: memoryview, at: int) -> tuple[int, AvatarState, int]:
    avatar_id, presence = struct.unpack_from("<HB", buf, at)
    at += 3
    comps = [0] * N_COMPONENTS
    for part in range(N_PARTS):
        if not presence >> part & 1:
            continue
        base = PART_OFFSETS[part]
        comps[base : base + 3] = struct.unpack_from("<3h", buf, at)
        at += 6
        n_rot = 22 if part == 5 else 1
        packed = struct.unpack_from(f"<{n_rot}I", buf, at)
        at += 4 * n_rot
        rot: list[int] = []
        for p in packed:
            rot += (p >> 30, (p >> 20) & 0x3FF, (p >> 10) & 0x3FF, p & 0x3FF)
        comps[base + 3 : base + 3 + 4 * n_rot] = rot
        if part in (3, 4):
            comps[base + 7 : base + 28] = list(buf[at : at + 21])
            at += 21
    return avatar_id, AvatarState(presence, comps), at


def _read_delta(buf: memoryview, at: int, lookup) -> tuple[int, AvatarState, int]:
    avatar_id, bits = struct.unpack_from("<HB", buf, at)
    at += 3
    base = lookup(avatar_id)
    comps = list(base.components)
    presence = base.presence
    if bits & PRESENCE_CHANGED:
        presence = buf[at]
        at += 1
        _zero_absent(presence, comps)
        # parts that (re)appear start from zero
        for part in range(N_PARTS):
            if presence >> part & 1 and not base.presence >> part & 1:
                for j in range(PART_OFFSETS[part], PART_OFFSETS[part + 1]):
                    comps[j] = 0
    for part in range(N_PARTS):
        if not bits >> part & 1:
            continue
        k, nmask = PART_COMPONENTS[part], PART_MASK_BYTES[part]
        mask = int.from_bytes(buf[at : at + nmask], "little")
        at += nmask
        for j in range(k):
            if not mask >> j & 1:
                continue
            value, at = read_varint(buf, at)
            comps[PART_OFFSETS[part] + j] += (value >> 1) ^ -(value & 1)
    return avatar_id, AvatarState(presence, comps), at


@dataclass
class Snapshot:
    tick: int
    server_time_ms: int
    avatars: dict[int, AvatarState]


def decode_frame(data: bytes, baseline) -> Snapshot:
    """Decode a snapshot frame. `baseline(avatar_id, tick) -> AvatarState | None` gives this client's
    earlier decoded state of an avatar at a tick (delta sections refer to them)."""
    buf = memoryview(data)
    try:
        kind, _flags, tick, server_ms, n_sections = FRAME_HEADER.unpack_from(buf, 0)
        if kind != KIND_SNAPSHOT:
            raise SnapshotError(f"not a snapshot frame (kind {kind})")
        at = FRAME_HEADER.size
        avatars: dict[int, AvatarState] = {}
        for _ in range(n_sections):
            offset, count, length = SECTION_HEADER.unpack_from(buf, at)
            at += SECTION_HEADER.size
            end = at + length
            base_tick = tick - offset

            def lookup(avatar_id: int, base_tick: int = base_tick) -> AvatarState:
                state = baseline(avatar_id, base_tick)
                if state is None:
                    raise SnapshotError(f"no baseline for avatar {avatar_id} at tick {base_tick}")
                return state

            for _ in range(count):
                if offset == 0:
                    avatar_id, state, at = _read_absolute(buf, at)
                else:
                    avatar_id, state, at = _read_delta(buf, at, lookup)
                avatars[avatar_id] = state
            if at != end:
                raise SnapshotError("section length does not match its blocks")
        return Snapshot(tick, server_ms, avatars)
    except (struct.error, IndexError) as exc:
        raise SnapshotError(f"truncated snapshot frame: {exc}") from exc
