"""Quantization error bounds and snapshot codec round trips (property tests)."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from server.realtime import codec
from server.realtime.pose import N_COMPONENTS, N_PARTS, PART_OFFSETS
from server.realtime.quantize import (
    dequantize_positions_mm,
    dequantize_quats,
    pack_quats,
    quantize_positions_mm,
    quantize_quats,
    quat_angle_deg,
    unpack_quats,
)
from tests.support import random_states

finite = st.floats(-1.0, 1.0, allow_nan=False, allow_infinity=False)


@given(arrays(np.float64, (64, 4), elements=finite))
def test_rotation_error_is_under_the_proven_bound(raw):
    norms = np.linalg.norm(raw, axis=1)
    q = raw[norms > 1e-3] / norms[norms > 1e-3, None]
    if len(q) == 0:
        return
    back = dequantize_quats(quantize_quats(q))
    assert np.all(quat_angle_deg(q, back) <= 0.1943)  # docs/PROTOCOL.md section 11
    assert np.allclose(np.linalg.norm(back, axis=1), 1.0)


@given(arrays(np.float64, (64, 3), elements=st.floats(-32.0, 32.0, allow_nan=False)))
def test_position_error_is_under_half_a_millimetre_per_axis(pos):
    back = dequantize_positions_mm(quantize_positions_mm(pos))
    assert np.all(np.abs(back - pos) <= 0.0005 + 1e-12)


def test_quaternion_sign_does_not_matter_and_packing_round_trips():
    q = np.array([[0.1, -0.7, 0.2, -0.67]])
    q /= np.linalg.norm(q)
    assert (quantize_quats(q) == quantize_quats(-q)).all()
    qi = quantize_quats(np.random.default_rng(3).normal(size=(500, 4)))
    assert (unpack_quats(pack_quats(qi)) == qi).all()


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 40))
def test_absolute_then_delta_round_trip_with_presence_changes(seed, n):
    rng = np.random.default_rng(seed)
    ids = rng.choice(np.arange(1, 32768), size=n, replace=False)
    p0 = (rng.integers(0, 64, n) | 1).astype(np.uint8)
    p1 = np.where(rng.random(n) < 0.3, rng.integers(0, 64, n) | 1, p0).astype(np.uint8)
    s0 = random_states(rng, n, p0)
    s1 = s0 + rng.integers(-70000, 70000, s0.shape).astype(np.int32) * (rng.random(s0.shape) < 0.3)
    s1 = np.where(rng.random((n, 1)) < 0.5, s1, random_states(rng, n, p1))  # some change completely
    for part in range(N_PARTS):  # absent parts are zero in the authoritative state
        absent = (p1 >> part & 1) == 0
        s1[absent, PART_OFFSETS[part] : PART_OFFSETS[part + 1]] = 0

    history = {}
    frame0 = codec.frame(100, 5, [(0, n, codec.encode_absolute(ids, s0, p0).all_bytes())])
    snap0 = codec.decode_frame(frame0, lambda a, t: None)
    for i, avatar_id in enumerate(ids):
        assert snap0.avatars[int(avatar_id)].components == s0[i].tolist()
        assert snap0.avatars[int(avatar_id)].presence == p0[i]
        history[(int(avatar_id), 100)] = snap0.avatars[int(avatar_id)]

    enc = codec.encode_delta(ids, s1, p1, s0, p0)
    rows = np.sort(rng.choice(n, size=max(1, n // 2), replace=False))
    for chosen in (np.arange(n), rows):
        frame1 = codec.frame(103, 6, [(3, len(chosen), enc.take(chosen))])
        snap1 = codec.decode_frame(frame1, lambda a, t: history.get((a, t)))
        assert sorted(snap1.avatars) == sorted(int(ids[i]) for i in chosen)
        for i in chosen:
            got = snap1.avatars[int(ids[i])]
            assert got.presence == p1[i]
            assert got.components == s1[i].tolist()


def test_delta_of_an_unchanged_avatar_is_three_bytes():
    ids = np.array([7])
    states = np.zeros((1, N_COMPONENTS), dtype=np.int32)
    states[0, :7] = [100, 1600, -300, 3, 500, 500, 500]
    enc = codec.encode_delta(ids, states, np.array([1], np.uint8), states, np.array([1], np.uint8))
    assert enc.all_bytes() == bytes([7, 0, 0])


def test_decoder_rejects_truncated_frames_and_missing_baselines():
    ids = np.array([1, 2])
    states = np.zeros((2, N_COMPONENTS), dtype=np.int32)
    frame = codec.frame(9, 0, [(0, 2, codec.encode_absolute(ids, states, np.array([1, 1], np.uint8)).all_bytes())])
    for cut in (3, 12, len(frame) - 1):
        try:
            codec.decode_frame(frame[:cut], lambda a, t: None)
        except codec.SnapshotError:
            continue
        raise AssertionError(f"truncated frame ({cut} bytes) decoded")
    moved = states.copy()
    moved[:, 0] = 5
    delta = codec.encode_delta(ids, moved, np.array([1, 1], np.uint8), states, np.array([1, 1], np.uint8))
    frame = codec.frame(10, 0, [(1, 2, delta.all_bytes())])
    try:
        codec.decode_frame(frame, lambda a, t: None)
    except codec.SnapshotError as exc:
        assert "baseline" in str(exc)
    else:
        raise AssertionError("delta decoded without its baseline")
