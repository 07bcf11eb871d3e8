"""OSC 1.0 parsing (valid, malformed, truncated, huge, fuzzed) and the VMC layer (frames, loss, reordering)."""

from __future__ import annotations

import math
import struct

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from server.mocap.fk import body_offsets, quat_rotate
from server.mocap.osc import (
    IMMEDIATELY,
    OscError,
    encode_bundle,
    encode_message,
    parse_packet,
    timetag_from_seconds,
    timetag_to_seconds,
)
from server.mocap.vmc import (
    BONE_POS,
    ROOT_POS,
    VmcAssembler,
    encode_body_bundle,
    ours_to_unity_quat,
    unity_to_ours_pos,
    unity_to_ours_quat,
)
from server.realtime.skeleton import BODY_INDEX


def random_pose(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    q = rng.normal(size=(22, 4))
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    q *= np.where(q[:, 3:] < 0, -1, 1)
    return rng.uniform(-2, 2, size=3) + [0, 1, 0], q


def test_message_round_trip_all_types():
    msg = encode_message("/a/b", [1, -2.5, "héllo", b"\x00\x01\x02", True, False], tags="ifsbTF")
    assert len(msg) % 4 == 0
    assert parse_packet(msg) == [(None, "/a/b", (1, -2.5, "héllo", b"\x00\x01\x02", True, False))]
    t = encode_message("/t", [123456789012, 2**40, 1.25], tags="thd")
    assert parse_packet(t) == [(None, "/t", (123456789012, 2**40, 1.25))]
    assert parse_packet(b"/old\x00\x00\x00\x00") == [(None, "/old", ())]  # no type tag string (OSC 1.0 allows it)


def test_nested_bundles_carry_their_timetags():
    inner = encode_bundle(7, [encode_message("/in", [1])])
    pkt = encode_bundle(5, [encode_message("/out", [2.0]), inner, encode_message("/out2", ["x"])])
    assert parse_packet(pkt) == [(5, "/out", (2.0,)), (7, "/in", (1,)), (5, "/out2", ("x",))]
    assert parse_packet(encode_bundle(5, [])) == []
    assert timetag_to_seconds(timetag_from_seconds(1_700_000_000.25)) == pytest.approx(1_700_000_000.25, abs=1e-6)


@pytest.mark.parametrize(
    ("packet", "words"),
    [
        (b"", "multiple of 4"),
        (b"/abc", "NUL"),
        (b"/ab\x00,i\x00\x00", "past the end"),  # an int argument with no bytes
        (b"/ab\x00,x\x00\x00", "unsupported"),
        (b"/ab\x00i\x00\x00\x00", "','"),
        (b"xyz\x00", "starts with"),
        (b"#bundlX\x00" + b"\x00" * 8, "#bundle"),
        (b"#bundle\x00" + b"\x00" * 4, "header"),
        (b"#bundle\x00" + b"\x00" * 8 + struct.pack(">i", 2**31 - 1), "does not fit"),
        (b"#bundle\x00" + b"\x00" * 8 + struct.pack(">i", -4), "does not fit"),
        (b"/ab\x00,b\x00\x00" + struct.pack(">i", 2**31 - 1), "blob"),
        (b"/ab\x00,s\x00\x00\xff\xfe\x00\x00", "UTF-8"),
        (b"/\xff\x00\x00", "ASCII"),
        (encode_message("/a", [1]) + b"\x00\x00\x00\x00", "left over"),
    ],
)
def test_malformed_packets_raise_osc_error_with_a_reason(packet, words):
    with pytest.raises(OscError, match=words):
        parse_packet(packet)


def test_deep_nesting_and_many_arguments_are_refused():
    pkt = encode_message("/x", [1])
    for _ in range(20):
        pkt = encode_bundle(1, [pkt])
    with pytest.raises(OscError, match="nested"):
        parse_packet(pkt)
    with pytest.raises(OscError, match="arguments"):
        parse_packet(encode_message("/x", [1] * 300))


def test_every_truncation_of_a_vmc_bundle_is_an_error_or_a_clean_prefix():
    hips, rots = random_pose(np.random.default_rng(3))
    pkt = encode_body_bundle(hips, rots, body_offsets(1.7), timetag_from_seconds(10.0), 1.0)
    full = parse_packet(pkt)
    for cut in range(len(pkt)):
        try:
            got = parse_packet(pkt[:cut])
        except OscError:
            continue
        assert got == full[: len(got)]  # only cuts at element boundaries that also fix the sizes parse


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=512))
def test_fuzz_arbitrary_bytes_only_raise_osc_error(data):
    try:
        msgs = parse_packet(data)
    except OscError as exc:
        assert str(exc)
    else:
        assert all(addr.startswith("/") for _, addr, _ in msgs)


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_fuzz_mutated_vmc_bundles_only_raise_osc_error(data):
    hips, rots = random_pose(np.random.default_rng(0))
    pkt = bytearray(encode_body_bundle(hips, rots, body_offsets(1.7), 99, 1.0))
    for _ in range(data.draw(st.integers(1, 8))):
        pkt[data.draw(st.integers(0, len(pkt) - 1))] = data.draw(st.integers(0, 255))
    try:
        msgs = parse_packet(bytes(pkt))
    except OscError:
        return
    # Whatever parsed must also go through the VMC layer without raising.
    VmcAssembler().feed(msgs, 0.0)


def test_unity_conversion_is_a_mirror_of_x():
    rng = np.random.default_rng(7)
    for _ in range(20):
        q = rng.normal(size=4)
        q /= np.linalg.norm(q)
        v = rng.normal(size=3)
        # Rotating in Unity then mirroring equals mirroring then rotating with the converted quaternion.
        lhs = unity_to_ours_pos(*quat_rotate(q, v))
        rhs = quat_rotate(np.array(unity_to_ours_quat(*q)), np.array(unity_to_ours_pos(*v)))
        np.testing.assert_allclose(lhs, rhs, atol=1e-12)
        assert ours_to_unity_quat(*unity_to_ours_quat(*q)) == pytest.approx(tuple(q))
    # Unity's left upper arm sits at -X; ours at +X.
    assert unity_to_ours_pos(-0.12, 0, 0) == (0.12, 0, 0)


def test_vmc_bundle_becomes_the_same_pose():
    hips, rots = random_pose(np.random.default_rng(11))
    pkt = encode_body_bundle(hips, rots, body_offsets(1.7), timetag_from_seconds(100.0), 1.0)
    asm = VmcAssembler()
    frame = asm.feed(parse_packet(pkt), now=5.0)
    assert frame is not None
    np.testing.assert_allclose(frame.hips_pos, hips, atol=1e-6)
    np.testing.assert_allclose(frame.local_rots, rots, atol=1e-6)  # float32 on the wire
    assert frame.ok is True
    assert asm.counters["bones"] == 22 and asm.counters["frames"] == 1


def test_root_transform_moves_and_turns_the_hips():
    asm = VmcAssembler()
    s = math.sqrt(0.5)
    # Unity root at x=-1 (our +1), turned 90 deg about Unity +Y; hips 1 m in front (Unity +Z).
    msgs = parse_packet(encode_bundle(IMMEDIATELY, [
        encode_message(ROOT_POS, ["root", -1.0, 0.0, 0.0, 0.0, s, 0.0, s]),
        encode_message(BONE_POS, ["Hips", 0.0, 1.0, 1.0, 0.0, 0.0, 0.0, 1.0]),
    ]))
    frame = asm.feed(msgs, 0.0)
    # Unity: +90 about +Y takes +Z to +X; mirrored, our -X. So hips = (1,0,0) + (-1,1,0).
    np.testing.assert_allclose(frame.hips_pos, [0.0, 1.0, 0.0], atol=1e-6)


def _bone(name: str, *vals: float) -> bytes:
    return encode_message(BONE_POS, [name, *vals], tags="s" + "f" * len(vals))


def test_bad_values_are_dropped_and_counted():
    asm = VmcAssembler()
    ok = _bone("Spine", 0.0, 0.1, 0.0, 0.0, 0.0, 0.0, 1.0)
    msgs = parse_packet(encode_bundle(IMMEDIATELY, [
        ok,
        _bone("Chest", float("nan"), 0.1, 0.0, 0.0, 0.0, 0.0, 1.0),
        _bone("Neck", 0.0, 0.1, 0.0, 0.0, float("inf"), 0.0, 1.0),
        _bone("Tail", 0.0, 0.1, 0.0, 0.0, 0.0, 0.0, 1.0),
        _bone("LeftIndexProximal", 0.0, 0.1, 0.0, 0.0, 0.0, 0.0, 1.0),
        _bone("Head", 0.0, 900.0, 0.0, 0.0, 0.0, 0.0, 1.0),
        _bone("LeftHand", 0.0, 0.1, 0.0, 0.0, 0.0, 0.0, 7.0),
        _bone("RightHand", 0.0, 0.1, 0.0),
        encode_message(ROOT_POS, ["root", 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 1e6, 1.0, 1.0, 0.0, 0.0, 0.0]),
        encode_message("/VMC/Ext/Blend/Val", ["Joy", float("nan")]),
        encode_message("/VMC/Ext/Blend/Val", ["Fun", 0.5]),
        encode_message("/VMC/Ext/Blend/Apply"),
        encode_message("/VMC/Ext/Hmd/Pos", ["x"]),
    ]))
    frame = asm.feed(msgs, 0.0)
    c = asm.counters
    assert (c["non_finite"], c["unknown_bone"], c["unused_bone"], c["absurd_scale"], c["bad_quaternion"],
            c["bad_arguments"], c["other_address"]) == (3, 1, 1, 2, 1, 1, 1)
    assert c["bones"] == 1 and frame is not None
    assert set(asm.bones) == {BODY_INDEX["spine"]}
    assert frame.blendshapes == {"Fun": 0.5}


def test_reordered_duplicated_and_lost_packets():
    asm = VmcAssembler()

    def pkt(t: float, angle: float, bone: str = "Spine") -> list:
        q = (0.0, math.sin(angle / 2), 0.0, math.cos(angle / 2))
        return parse_packet(encode_bundle(timetag_from_seconds(1000 + t), [_bone(bone, 0.0, 0.1, 0.0, *q)]))

    assert asm.feed(pkt(0.00, 0.1), 0.0) is not None
    assert asm.feed(pkt(0.05, 0.3), 0.0) is not None
    assert asm.feed(pkt(0.0333, 0.2), 0.0) is None  # arrived late: older than the newest frame
    assert asm.feed(pkt(0.05, 0.3), 0.0) is not None  # same time: a duplicate (or split frame), harmless
    assert asm.counters["stale"] == 1 and asm.counters["same_time"] == 1
    # A lost packet: the chest never arrives, the spine from the last frame is kept.
    frame = asm.feed(pkt(0.1, 0.5, "Chest"), 0.0)
    assert frame.local_rots[BODY_INDEX["spine"]][1] == pytest.approx(-math.sin(0.15), abs=1e-6)
    # A sender restart (time jumps back by minutes) is accepted, not dropped forever.
    assert asm.feed(pkt(-300.0, 0.0), 0.0) is not None
    assert asm.counters["sender_restart"] == 1


def test_vmc_ext_t_orders_packets_without_bundle_timetags():
    asm = VmcAssembler()

    def pkt(t: float) -> list:
        return parse_packet(encode_bundle(IMMEDIATELY, [encode_message("/VMC/Ext/T", [t]),
                                                        _bone("Hips", 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 1.0)]))

    assert asm.feed(pkt(2.0), 0.0) is not None
    assert asm.feed(pkt(1.9), 0.0) is None
    assert asm.counters["stale"] == 1
