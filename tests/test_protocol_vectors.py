"""The committed protocol vectors and the examples of docs/PROTOCOL.md match the code, and decode as documented.

The dequantization and varint helpers here are written from docs/PROTOCOL.md (not imported from the server), so
they check the document's formulas against what the server actually sends.
"""

from __future__ import annotations

import importlib.util
import itertools
import json
import math
import struct
from pathlib import Path

import numpy as np
import pytest

from server.realtime import codec, hand_model
from server.realtime.pose import PART_COMPONENTS, PART_FLOATS, PART_NAMES, PART_OFFSETS
from server.realtime.quantize import dequantize_quats, quantize_quats, quat_angle_deg
from server.realtime.room import Room

REPO = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("make_protocol_vectors", REPO / "tools" / "make_protocol_vectors.py")
mpv = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(mpv)

VECTORS = json.loads((REPO / "docs" / "protocol_vectors.json").read_text(encoding="utf-8"))
SEQUENCES = {s["name"]: s for s in VECTORS["snapshot_sequences"]}


@pytest.fixture(scope="module")
def generated():
    return mpv.build()


# ------------------------------------------------------------------ helpers written from docs/PROTOCOL.md
HALF = 511  # docs/PROTOCOL.md section 11: ratio code = round(ratio * 511) + 511


def doc_unpack_rotation(packed: int) -> list[float]:
    i, codes = packed >> 30, [(packed >> 20) & 1023, (packed >> 10) & 1023, packed & 1023]
    r = [(min(c, 1022) - HALF) / HALF for c in codes]
    q = r[:i] + [1.0] + r[i:]
    norm = math.sqrt(sum(v * v for v in q))
    return [v / norm for v in q]


def doc_rotation(comps: list[int]) -> list[float]:
    i, a, b, c = comps
    return doc_unpack_rotation(i << 30 | a << 20 | b << 10 | c)


def doc_read_varint(data: bytes, at: int) -> tuple[int, int]:
    value, shift = 0, 0
    while True:
        byte = data[at]
        at += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value, at


def doc_pose(presence: int, c: list[int]) -> dict:
    head = [v / 1000 for v in c[0:3]]
    pose = {"head": {"position": head, "rotation": doc_rotation(c[3:7])}}
    for part in range(1, 6):
        if not presence >> part & 1:
            continue
        o = PART_OFFSETS[part]
        world = [h + v / 1000 for h, v in zip(head, c[o : o + 3], strict=True)]
        if part == 5:
            rots = [doc_rotation(c[o + 3 + 4 * j : o + 7 + 4 * j]) for j in range(22)]
            pose["body"] = {"hips_position": world, "rotations": rots}
        elif part in (3, 4):
            ranges = VECTORS["layout"]["hand_angle_ranges_rad"]
            lo_s, hi_s = VECTORS["layout"]["hand_scale_range"]
            pose[PART_NAMES[part]] = {
                "wrist_position": world, "wrist_rotation": doc_rotation(c[o + 3 : o + 7]),
                "angles_rad": [lo + code * (hi - lo) / 255 for code, (lo, hi) in zip(c[o + 7 : o + 27], ranges,
                                                                                      strict=True)],
                "scale": lo_s + c[o + 27] * (hi_s - lo_s) / 255,
            }
        else:
            pose[PART_NAMES[part]] = {"position": world, "rotation": doc_rotation(c[o + 3 : o + 7])}
    return pose


def assert_close(got, want, path: str = "", tol: float = 1e-6) -> None:
    """Same structure; ints, strings and bools equal; floats within tol."""
    if isinstance(want, dict):
        assert isinstance(got, dict) and got.keys() == want.keys(), f"{path}: keys {sorted(got)} != {sorted(want)}"
        for k in want:
            assert_close(got[k], want[k], f"{path}.{k}", tol)
    elif isinstance(want, list):
        assert isinstance(got, list) and len(got) == len(want), f"{path}: length differs"
        for i, (g, w) in enumerate(zip(got, want, strict=True)):
            assert_close(g, w, f"{path}[{i}]", tol)
    elif isinstance(want, float) or isinstance(got, float):
        assert abs(got - want) <= tol, f"{path}: {got} != {want}"
    else:
        assert got == want, f"{path}: {got!r} != {want!r}"


# ------------------------------------------------------------------ the committed files are current


def test_committed_vectors_match_what_the_code_produces(generated):
    vectors, _block = generated
    # Round-tripping through JSON gives the committed file's types (tuples -> lists, keys -> str).
    assert_close(json.loads(mpv.dumps(vectors)), VECTORS, "vectors", tol=1e-9)


def test_protocol_doc_examples_match_what_the_code_produces(generated):
    _vectors, block = generated
    doc = (REPO / "docs" / "PROTOCOL.md").read_text(encoding="utf-8")
    assert block in doc, "docs/PROTOCOL.md examples are stale: run .venv/bin/python tools/make_protocol_vectors.py"
    assert mpv.main(["--check"]) == 0


def test_check_mode_reports_a_stale_doc_and_a_doc_without_markers():
    doc = (REPO / "docs" / "PROTOCOL.md").read_text(encoding="utf-8")
    assert mpv.splice_doc(doc, mpv.BEGIN_MARK + "\nold\n" + mpv.END_MARK) != doc
    with pytest.raises(ValueError, match="markers"):
        mpv.splice_doc("# a protocol doc without the generated block", "x")


# ------------------------------------------------------------------ snapshots decode as documented


@pytest.mark.parametrize("name", sorted(SEQUENCES))
def test_every_frame_decodes_with_the_reference_decoder(name):
    history: dict[tuple[int, int], codec.AvatarState] = {}
    for step in SEQUENCES[name]["frames"]:
        data = bytes.fromhex(step["hex"])
        assert len(data) == step["size"]
        snap = codec.decode_frame(data, lambda a, t: history.get((a, t)))
        assert (snap.tick, snap.server_time_ms) == (step["tick"], step["server_time_ms"])
        assert sorted(snap.avatars) == sorted(a["id"] for a in step["avatars"])
        for avatar in step["avatars"]:
            state = snap.avatars[avatar["id"]]
            assert state.presence == avatar["presence"]
            assert state.components == avatar["components"]
            assert_close(doc_pose(state.presence, state.components), avatar["pose"], f"{name}/{snap.tick}")
            history[(avatar["id"], snap.tick)] = state


@pytest.mark.parametrize("name", sorted(SEQUENCES))
def test_section_headers_and_block_lengths_are_as_documented(name):
    for step in SEQUENCES[name]["frames"]:
        data = bytes.fromhex(step["hex"])
        assert data[0] == 0x02 and data[1] == 0
        assert struct.unpack_from("<I", data, 2)[0] == step["tick"]
        assert data[10] == len(step["sections"])
        at = 11
        for section in step["sections"]:
            offset, count, length = struct.unpack_from("<BHI", data, at)
            assert (offset, count, length) == (section["baseline_offset"], section["blocks"], section["bytes"])
            assert 0 <= offset <= 60
            at += 7 + length
        assert at == len(data)
        # The independent annotator reads every byte exactly once.
        rows = mpv.annotate_frame(data)
        assert b"".join(raw for _, raw, _, _ in rows) == data
        assert all(a[0] + len(a[1]) == b[0] for a, b in itertools.pairwise(rows))


def test_delta_blocks_follow_the_documented_layout():
    """Re-apply every delta block by hand (mask bits, zigzag varints, presence change) and compare."""
    for seq in SEQUENCES.values():
        states: dict[tuple[int, int], tuple[int, list[int]]] = {}
        for step in seq["frames"]:
            data, at = bytes.fromhex(step["hex"]), 11
            decoded = {}
            for section in step["sections"]:
                at += 7
                for _ in range(section["blocks"]):
                    avatar_id = struct.unpack_from("<H", data, at)[0]
                    if section["baseline_offset"] == 0:
                        want = next(a for a in step["avatars"] if a["id"] == avatar_id)
                        at += 3 + sum(mpv.PART_ABSOLUTE_BYTES[p] for p in range(6) if want["presence"] >> p & 1)
                        decoded[avatar_id] = (want["presence"], list(want["components"]))
                        continue
                    presence, comps = states[(avatar_id, section["baseline_tick"])]
                    comps, bits = list(comps), data[at + 2]
                    at += 3
                    if bits & 0x80:
                        new = data[at]
                        at += 1
                        for p in range(6):
                            if not new >> p & 1 or not presence >> p & 1:
                                comps[PART_OFFSETS[p] : PART_OFFSETS[p + 1]] = [0] * PART_COMPONENTS[p]
                        presence = new
                    for p in range(6):
                        if not bits >> p & 1:
                            continue
                        n_mask = (PART_COMPONENTS[p] + 7) // 8
                        mask = int.from_bytes(data[at : at + n_mask], "little")
                        at += n_mask
                        for j in range(PART_COMPONENTS[p]):
                            if mask >> j & 1:
                                z, at = doc_read_varint(data, at)
                                comps[PART_OFFSETS[p] + j] += (z >> 1) ^ -(z & 1)
                    decoded[avatar_id] = (presence, comps)
            assert at == len(data)
            for avatar in step["avatars"]:
                assert decoded[avatar["id"]] == (avatar["presence"], avatar["components"])
                states[(avatar["id"], step["tick"])] = decoded[avatar["id"]]


def test_sequences_cover_sections_presence_changes_bodies_and_hands():
    """The vectors exercise what a client implementation must get right."""
    frames = [f for s in SEQUENCES.values() for f in s["frames"]]
    offsets = {sec["baseline_offset"] for f in frames for sec in f["sections"]}
    assert 0 in offsets and offsets - {0}
    assert any(len(f["sections"]) > 1 for f in frames)
    presence = {(a["id"], f["tick"], s): a["presence"] for s, seq in SEQUENCES.items()
                for f in seq["frames"] for a in f["avatars"]}
    changes = [(k, v) for k, v in presence.items() if presence.get((k[0], k[1] - 1, k[2]), v) != v]
    assert any(v & ~presence[(k[0], k[1] - 1, k[2])] for k, v in changes), "a part appears"
    assert any(~v & presence[(k[0], k[1] - 1, k[2])] for k, v in changes), "a part disappears"
    assert any(p & 0x20 for p in presence.values()) and any(p & 0x18 == 0x18 for p in presence.values())


# ------------------------------------------------------------------ uploads


@pytest.mark.parametrize("vector", VECTORS["uploads"], ids=lambda v: v["name"])
def test_uploads_have_the_documented_layout_and_are_accepted(vector):
    data = bytes.fromhex(vector["hex"])
    kind, presence, seq, ack = struct.unpack_from("<BBHI", data)
    assert (kind, seq, ack) == (0x01, vector["input"]["seq"], vector["input"]["ack"])
    present = [p for p in range(6) if presence >> p & 1]
    assert [PART_NAMES[p] for p in present] == list(vector["input"]["parts"])
    # presence bit 6: one trigger byte per present controller after the floats (documented in section 7)
    controllers = [p for p in (1, 2) if p in present] if presence & 0x40 else []
    assert bool(presence & 0x40) == ("triggers" in vector["input"]) and not presence & 0x80
    assert len(data) == 8 + 4 * sum(PART_FLOATS[p] for p in present) + len(controllers) == vector["size"]
    trailer = data[len(data) - len(controllers):] if controllers else b""
    for p, byte in zip(controllers, trailer, strict=True):
        assert byte == round(min(1, max(0, vector["input"]["triggers"].get(PART_NAMES[p], 0))) * 255)
        assert vector["decoded"]["triggers_u8"][PART_NAMES[p]] == byte
    floats = struct.unpack_from(f"<{(len(data) - 8 - len(controllers)) // 4}f", data, 8)
    at = 0
    for p in present:
        want = np.asarray(vector["input"]["parts"][PART_NAMES[p]], dtype=np.float32)
        assert np.array_equal(np.asarray(floats[at : at + PART_FLOATS[p]], dtype=np.float32), want)
        assert vector["decoded"]["float32"][PART_NAMES[p]] == list(floats[at : at + PART_FLOATS[p]])
        at += PART_FLOATS[p]
    assert b"".join(raw for _, raw, _, _ in mpv.annotate_upload(data)) == data
    room = Room("check")
    avatar = room.add_avatar("v", 0.0)
    room.connect(avatar.id, 0.0)
    assert room.receive_pose(avatar.id, data, 0.005) is None
    assert room.tick(1 / 60).rejections == []
    assert room.presence[avatar.slot] == presence & 0x3F  # bit 6 is the upload's, never the state's
    want = [trailer[controllers.index(p)] if p in controllers else -1 for p in (1, 2)]
    assert room.trigger[avatar.slot].tolist() == want


def test_a_one_byte_change_to_an_upload_is_refused_with_the_documented_code():
    data = bytes.fromhex(VECTORS["uploads"][0]["hex"])
    room = Room("check")
    avatar = room.add_avatar("v", 0.0)
    for bad in (data[:-1], b"\x01\x06" + data[2:], b"\x01\x47" + data[2:], b"\x03" + data[1:]):
        rejection = room.receive_pose(avatar.id, bad, 0.0)
        assert rejection is not None and rejection.code == "pose_malformed"


# ------------------------------------------------------------------ quantization and varints


def test_rotation_and_position_vectors_follow_the_documented_formulas():
    q = VECTORS["quantization"]
    for rot in q["rotations"]:
        i, a, b, c = rot["components"]
        assert rot["packed"] == i << 30 | a << 20 | b << 10 | c
        assert bytes.fromhex(rot["packed_le_hex"]) == struct.pack("<I", rot["packed"])
        back = doc_unpack_rotation(rot["packed"])
        assert_close(back, rot["dequantized"], "rotation", tol=1e-8)
        assert quat_angle_deg(np.array(back), np.array(rot["xyzw"])) <= 0.1943
    for pos in q["positions"]:
        assert pos["mm"] == max(-32767, min(32767, round(pos["metres"] * 1000)))
        assert struct.unpack("<h", bytes.fromhex(pos["int16_le_hex"]))[0] == pos["mm"]


def test_zigzag_varint_vectors_decode_as_documented():
    for v in VECTORS["zigzag_varints"]:
        raw = bytes.fromhex(v["varint_hex"])
        z, end = doc_read_varint(raw, 0)
        assert end == len(raw) <= 3
        assert z == v["zigzag"] and (z >> 1) ^ -(z & 1) == v["difference"]


def test_documented_rotation_error_bound_holds_and_is_nearly_reached():
    bound_deg = math.degrees(2 * math.asin(math.sqrt(3) * 0.5 / HALF))  # docs/PROTOCOL.md section 11
    assert bound_deg < 0.25  # the design target
    rng = np.random.default_rng(11)
    q = rng.normal(size=(200_000, 4))
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    assert quat_angle_deg(q, dequantize_quats(quantize_quats(q))).max() <= bound_deg
    # Near the identity with the three ratios half a step off in the same direction: the worst case.
    r = np.repeat(((np.arange(0, 8) + 0.4999) / HALF)[:, None], 3, axis=1)
    worst = np.concatenate([r, np.ones((len(r), 1))], axis=1)
    worst /= np.linalg.norm(worst, axis=1, keepdims=True)
    errors = quat_angle_deg(worst, dequantize_quats(quantize_quats(worst)))
    assert 0.19 <= errors.max() <= bound_deg


def test_hand_angle_ranges_in_the_vectors_are_the_hand_models():
    assert np.allclose(VECTORS["layout"]["hand_angle_ranges_rad"], hand_model.ANGLE_RANGES, atol=1e-9)
    assert VECTORS["layout"]["hand_angle_names"] == list(hand_model.ANGLE_NAMES)
