"""The compiled tick (server/realtime/kernels.py) against the numpy reference: the same uploads give the same
states, corrections, rejections and counters, and the same avatars give the same delta blocks, byte for byte."""

import os

import numpy as np
import pytest

from server.net.hub import rules_for_scene
from server.realtime import codec, kernels
from server.realtime.pose import N_COMPONENTS
from server.realtime.room import Room, warm_compiled_tick
from server.realtime.rules import RoomRules
from sim.client import encode_pose_upload


def test_the_kernels_are_compiled_here():
    # numba is a dependency: a machine without it would silently run every tick on the slow path. These tests
    # compare the compiled tick with the numpy one, so they need it on (PLAZA_JIT=0 turns it off).
    assert kernels.ENABLED and kernels.apply_simple is not None, (
        f"the compiled tick is off (numba importable: {kernels.numba is not None}, "
        f"PLAZA_JIT={os.environ.get('PLAZA_JIT')!r})")


def _unit(rng, n):
    q = rng.normal(size=(n, 4))
    return q / np.linalg.norm(q, axis=1, keepdims=True)


def _upload_parts(rng, presence: int, centre: np.ndarray) -> dict[int, np.ndarray]:
    """One pose upload's parts, drawn to hit every branch: outside the store, too fast, into walls and fixtures,
    controllers out of reach, non-unit and non-finite values, ties between quaternion components."""
    x, z = centre[0] + rng.normal(0, 1.5), centre[2] + rng.normal(0, 1.5)
    y = rng.choice([1.6, 0.05, 3.5, 1.6 + rng.normal(0, 0.3)])
    rot = _unit(rng, 3)
    if rng.random() < 0.1:
        rot[0] = rng.choice([[0.5, 0.5, 0.5, 0.5], [0, 0, 0, 1], [-0.5, 0.5, -0.5, 0.5], [0, -1, 0, 0]])
    parts = {0: np.array([x, y, z, *rot[0]])}
    for part, side in ((1, -0.25), (2, 0.25)):
        if presence >> part & 1:
            reach = rng.choice([1.0, 1.0, 10.0])  # 10: about 3.9 m from the head
            parts[part] = np.array([x + side * reach, y - 0.4, z + 0.3 * reach, *rot[part]])
    roll = rng.random()
    if roll < 0.04:
        parts[0][rng.integers(0, 7)] = rng.choice([np.nan, np.inf, -np.inf])
    elif roll < 0.08:
        which = rng.choice(list(parts))
        parts[which][3:7] *= rng.choice([1.2, 0.9, 1.04])
    return parts


@pytest.mark.parametrize("scene", ["boutique", "launch-hall", None])
def test_compiled_uploads_match_the_numpy_path(scene):
    rules = rules_for_scene(scene) if scene else RoomRules(bounds_min=(-10, 0, -10), bounds_max=(10, 3, 10))
    compiled, reference = Room("c", rules, capacity=40), Room("r", rules, capacity=40)
    reference._walk = None  # the numpy path
    assert compiled._walk is not None
    rng = np.random.default_rng(11)
    for room in (compiled, reference):
        for i in range(40):
            room.connect(room.add_avatar(f"a{i}", 0.0).id, 0.0)
    ids = list(compiled.avatars)
    now, seen = 0.0, set()
    for tick in range(120):
        now += 1 / 60
        for avatar_id in ids:
            if rng.random() < 0.15:  # some skip a tick: longer dt
                continue
            presence = int(rng.choice([1, 3, 5, 7]))
            centre = compiled.head_pos[compiled.avatars[avatar_id].slot]
            data = encode_pose_upload(tick + 1, 0, _upload_parts(rng, presence, centre))
            received = now - rng.uniform(0, 0.01)
            for room in (compiled, reference):
                room.receive_pose(avatar_id, data, received)
        got, want = compiled.tick(now), reference.tick(now)
        assert [(r.avatar_id, r.code) for r in got.rejections] == [(r.avatar_id, r.code) for r in want.rejections]
        seen.update(r.code for r in got.rejections)
        assert np.array_equal(compiled.state, reference.state)
        assert np.array_equal(compiled.presence, reference.presence)
        assert np.array_equal(compiled.head_pos, reference.head_pos)
        assert np.array_equal(compiled.last_pose_time, reference.last_pose_time)
        assert compiled.counters == reference.counters
    # the run went through every branch it is meant to compare
    assert {"pose_non_finite", "pose_bad_rotation"} <= seen
    assert {"pose_corrected", "controller_out_of_reach"} <= set(compiled.counters)


def _random_states(rng, n: int, presence: np.ndarray) -> np.ndarray:
    states = np.zeros((n, N_COMPONENTS), dtype=np.int32)
    for part in range(3):
        has = (presence >> part & 1).astype(bool)
        o = 7 * part
        states[has, o : o + 3] = rng.integers(-32767, 32768, (int(has.sum()), 3))
        states[has, o + 3] = rng.integers(0, 4, int(has.sum()))
        states[has, o + 4 : o + 7] = rng.integers(0, 1023, (int(has.sum()), 3))
    return states


def test_compiled_delta_blocks_match_the_numpy_codec():
    rng = np.random.default_rng(5)
    n = 300
    base_presence = rng.choice(np.array([1, 3, 5, 7], dtype=np.uint8), n)
    presence = base_presence.copy()
    changed = rng.random(n) < 0.2
    presence[changed] = rng.choice(np.array([1, 3, 5, 7], dtype=np.uint8), int(changed.sum()))
    base = _random_states(rng, n, base_presence)
    now = base.copy()
    # differences of every size a varint has: none, one byte, two, three, negative, and whole new parts
    for part in range(3):
        o = 7 * part
        step = rng.choice([0, 0, 1, -1, 63, -64, 64, 200, -300, 8191, 8192, -8193, 9000, -20000, 60000], (n, 7))
        now[:, o : o + 3] = np.clip(base[:, o : o + 3] + step[:, :3], -32767, 32767)
        now[:, o + 4 : o + 7] = np.clip(base[:, o + 4 : o + 7] + step[:, 4:] % 7 - 3, 0, 1022)
    fresh = _random_states(rng, n, presence)
    appeared = (presence & ~base_presence).astype(bool)
    now[appeared] = fresh[appeared]
    for part in range(3):
        gone = ~(presence >> part & 1).astype(bool)
        now[gone, 7 * part : 7 * part + 7] = 0
    ids = rng.permutation(np.arange(1, n + 1, dtype=np.int32) * 97 % 32767)
    slots = np.sort(rng.choice(n, 250, replace=False)).astype(np.intp)
    got = kernels.encode_delta_simple(slots, ids, now, presence, base, base_presence)
    want = codec.encode_delta(ids[slots], now[slots], presence[slots], base[slots], base_presence[slots])
    assert np.array_equal(got.offsets, want.offsets)
    assert got.all_bytes() == want.all_bytes()
    assert got.take(np.array([3, 0, 7])) == want.take(np.array([3, 0, 7]))


def test_a_room_with_a_body_keeps_the_numpy_codec():
    """Only heads and controllers are compiled; once an avatar has a body (here from mocap), frames with it
    are cut by the numpy codec, and the full state is kept in the history."""
    room = Room("h", RoomRules(), capacity=8)
    walker = room.add_avatar("walker", 0.0, external=True)
    rots = np.tile([0.0, 0.0, 0.0, 1.0], (22, 1))
    room.apply_external_pose(walker.id, 0.0, np.array([0.0, 1.0, 0.0]), rots)
    room.tick(1 / 60)
    assert room.presence[walker.slot] >> 5 & 1
    rots[3] = [0.0, 0.2588, 0.0, 0.9659]  # a joint turns: a body component changes
    room.apply_external_pose(walker.id, 0.02, np.array([0.1, 1.0, 0.0]), rots / np.linalg.norm(rots, axis=1)[:, None])
    room.tick(2 / 60)
    slots = room.visible_slots()
    blocks = room.encode(slots, 1)
    want = codec.encode_delta(room.slot_ids[slots], room.state[slots], room.presence[slots],
                              room._hist_state[1][slots], room._hist_presence[1][slots])
    assert blocks.all_bytes() == want.all_bytes()
    assert blocks.flat[2] >> 5 & 1  # the body part is in the block
    assert np.array_equal(room._hist_state[2], room.state)  # the whole state, not only the first 21 columns


def test_the_startup_warm_up_compiles_what_a_real_tick_runs():
    """The hub warms the kernels up at startup; if a real room's tick needed other argument types, the first
    shoppers' tick would stall for the seconds a compilation takes."""
    warm_compiled_tick()
    compiled = (set(kernels.apply_simple.signatures), set(kernels.delta_simple.signatures))
    room = Room("real", rules_for_scene("boutique"), capacity=16)
    avatars = [room.add_avatar(f"a{i}", 0.0) for i in range(5)]
    for a in avatars:
        room.connect(a.id, 0.0)
    for tick in (1, 2, 3):
        for i, a in enumerate(avatars):
            x, z = room.spawn_position(a.id)[0], room.spawn_position(a.id)[2]
            parts = {0: np.array([x, 1.6, z, 0, 0, 0, 1.0]), 2: np.array([x + 0.2, 1.2, z + 0.3, 0, 0, 0, 1.0])}
            room.receive_pose(a.id, encode_pose_upload(tick, 0, parts), tick / 60 - 0.001 * i)
        room.tick(tick / 60)
        room.encode(room.visible_slots(), tick - 1)
    assert room.counters["poses_accepted"] == 15
    assert (set(kernels.apply_simple.signatures), set(kernels.delta_simple.signatures)) == compiled
