"""The client's JavaScript codec (and hand rebuild) against the server's own code.

Vectors are made here, with the server's codec (server/realtime/codec.py) and the reference client's
upload encoder (sim/client.py), written to a JSON file and checked by a node test
(webxr_client/test/protocol_vectors.test.js): the JS decoder must reproduce the server's quantized
states exactly through absolute and delta frames with presence changes, and the JS upload encoder must
produce the same bytes as the reference client; the JS hand model must rebuild the same 25 joints from a
wrist pose and 21 codes as the server's hand model.
"""

from __future__ import annotations

import itertools
import json
import os
import subprocess
from pathlib import Path

import numpy as np

from server.realtime import codec, hand_model
from server.realtime.pose import N_PARTS, PART_FLOATS, PART_OFFSETS
from sim.client import encode_pose_upload
from tests.support import random_states, require_tool

CLIENT_DIR = Path(__file__).resolve().parents[1] / "webxr_client"


def _expected(snapshot: codec.Snapshot) -> dict:
    return {
        "tick": snapshot.tick,
        "server_time_ms": snapshot.server_time_ms,
        "avatars": {str(a): {"presence": s.presence, "components": s.components} for a, s in snapshot.avatars.items()},
    }


def make_vectors(seed: int = 7, n: int = 12) -> dict:
    """A stream of frames one client receives (absolute, deltas against older ticks, presence changes,
    a partial delta, a newcomer sent absolute next to deltas), plus pose uploads."""
    rng = np.random.default_rng(seed)
    ids = rng.choice(np.arange(1, 40000), size=n, replace=False)
    history: dict[tuple[int, int], codec.AvatarState] = {}
    frames = []

    def emit(tick: int, server_ms: int, sections: list[tuple[int, int, bytes]]) -> None:
        data = codec.frame(tick, server_ms, sections)
        snap = codec.decode_frame(data, lambda a, t: history.get((a, t)))
        for avatar_id, state in snap.avatars.items():
            history[(avatar_id, tick)] = state
        frames.append({"hex": data.hex(), "expected": _expected(snap)})

    p0 = (rng.integers(0, 64, n) | 1).astype(np.uint8)
    s0 = random_states(rng, n, p0)
    emit(100, 4_000_000_000, [(0, n, codec.encode_absolute(ids, s0, p0).all_bytes())])

    state, presence, tick = s0, p0, 100
    for step in range(4):
        new_presence = np.where(rng.random(n) < 0.3, rng.integers(0, 64, n) | 1, presence).astype(np.uint8)
        small = rng.integers(-300, 300, state.shape).astype(np.int32) * (rng.random(state.shape) < 0.2)
        new_state = np.where(rng.random((n, 1)) < 0.8, state + small, random_states(rng, n, new_presence))
        for part in range(N_PARTS):
            new_state[(new_presence >> part & 1) == 0, PART_OFFSETS[part] : PART_OFFSETS[part + 1]] = 0
        offset = 1 + step  # deltas against older and older acknowledged ticks
        new_tick = tick + offset
        encoded = codec.encode_delta(ids, new_state, new_presence, state, presence)
        rows = np.arange(n) if step % 2 == 0 else np.sort(rng.choice(n, size=n // 2, replace=False))
        emit(new_tick, 4_000_000_000 + 17 * (new_tick - 100), [(offset, len(rows), encoded.take(rows))])
        if step % 2 == 1:  # only the rows sent are known at new_tick; keep the baseline of the rest
            continue
        state, presence, tick = new_state, new_presence, new_tick

    newcomer = np.array([40001])
    p_new = np.array([0b11111], np.uint8)
    s_new = random_states(rng, 1, p_new)
    last_tick = tick + 1
    encoded = codec.encode_delta(ids, state, presence, state, presence)  # everyone unchanged: 3 bytes each
    emit(last_tick, 4_000_000_000 + 17 * (last_tick - 100), [
        (0, 1, codec.encode_absolute(newcomer, s_new, p_new).all_bytes()),
        (1, n, encoded.all_bytes()),
    ])

    uploads = []
    for presence_bits, triggers in ((0b1, None), (0b111, None), (0b11001, None), (0b111111, None),
                                    (0b111, {1: float(rng.random()), 2: float(rng.random())}), (0b101, {2: 0.93})):
        parts = {}
        for part in range(N_PARTS):
            if presence_bits >> part & 1:
                parts[part] = rng.normal(size=PART_FLOATS[part]).astype(np.float32)
        data = encode_pose_upload(int(rng.integers(0, 70000)), int(rng.integers(0, 2**32)), parts, triggers)
        uploads.append({
            "seq": int.from_bytes(data[2:4], "little"), "ack": int.from_bytes(data[4:8], "little"),
            "parts": {str(p): v.astype(float).tolist() for p, v in parts.items()}, "hex": data.hex(),
            **({"triggers": {str(p): v for p, v in triggers.items()}} if triggers else {}),
        })
    hands = []
    for i in range(8):
        codes = rng.integers(0, 256, 21)
        wrist_pos = rng.normal(size=3) * 0.5 + (0, 1.2, 0)
        wrist_rot = rng.normal(size=4)
        wrist_rot /= np.linalg.norm(wrist_rot)
        params = hand_model.HandParams(
            wrist_pos[None], wrist_rot[None], hand_model.dequantize_angles(codes[None, :20]),
            hand_model.dequantize_scale(codes[20:21]),
        )
        pos, rot = hand_model.joints_from_hand_params(params, np.array([i % 2]))
        hands.append({
            "wrist_pos": wrist_pos.tolist(), "wrist_rot": wrist_rot.tolist(), "codes": codes.tolist(),
            "left": i % 2 == 0, "positions": pos[0].tolist(), "rotations": rot[0].tolist(),
        })
    return {"generator": "tests/test_client_protocol.py (server codec)", "frames": frames, "uploads": uploads,
            "hands": hands}


def test_vectors_cover_absolute_delta_and_presence_changes() -> None:
    vectors = make_vectors()
    kinds = [bytes.fromhex(f["hex"])[11] for f in vectors["frames"]]  # first section's baseline offset
    assert kinds[0] == 0 and any(k > 0 for k in kinds)
    presences = [
        {a: v["presence"] for a, v in f["expected"]["avatars"].items()} for f in vectors["frames"]
    ]
    changed = [
        a
        for before, after in itertools.pairwise(presences)
        for a in after
        if a in before and after[a] != before[a]
    ]
    assert changed, "no presence change in the stream"


def test_js_codec_round_trips_the_servers_frames_and_uploads(tmp_path: Path) -> None:
    node = require_tool("node", "the client's codec tests run in Node.js")
    path = tmp_path / "vectors.json"
    path.write_text(json.dumps(make_vectors()))
    result = subprocess.run(
        [node, "--test", "--test-reporter=dot", "test/protocol_vectors.test.js"],
        cwd=CLIENT_DIR, capture_output=True, text=True, timeout=120, check=False,
        env={**os.environ, "PLAZA_PROTOCOL_VECTORS": str(path)},
    )
    assert result.returncode == 0, f"JS codec disagrees with the server:\n{result.stdout}\n{result.stderr}"
