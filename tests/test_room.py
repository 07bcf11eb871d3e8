"""The sans-I/O room: validation and authority, baselines and acks, interest, seats and grace periods."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from server.realtime.driver import RoomDriver
from server.realtime.interest import InterestConfig
from server.realtime.pose import UPLOAD_HEADER
from server.realtime.room import Room, RoomFull
from server.realtime.rules import RoomRules
from sim.client import ClientSession, encode_pose_upload

IDENTITY = [0.0, 0.0, 0.0, 1.0]


def head(x, y, z, rot=IDENTITY):
    return {0: np.array([x, y, z, *rot])}


def vr(x, z):
    return {0: np.array([x, 1.6, z, *IDENTITY]), 1: np.array([x - 0.2, 1.2, z + 0.3, *IDENTITY]),
            2: np.array([x + 0.2, 1.2, z + 0.3, *IDENTITY])}


def make_room(**kw) -> RoomDriver:
    """A room with its clients' sync state, driven as the hub and the sessions drive it."""
    rules = kw.pop("rules", RoomRules(bounds_min=(-10, 0, -10), bounds_max=(10, 3, 10)))
    return RoomDriver(Room("r", rules, **kw))


def joined(room, n, now=0.0):
    avatars = [room.add_avatar(f"a{i}", now) for i in range(n)]
    for a in avatars:
        room.connect(a.id, now)
    return avatars


def head_of(room, avatar):
    return room.head_pos[avatar.slot].copy()


def test_nan_and_bad_rotations_are_rejected_and_leave_the_pose_alone():
    room = make_room()
    (a,) = joined(room, 1)
    before = head_of(room, a)
    assert room.receive_pose(a.id, encode_pose_upload(1, 0, head(float("nan"), 1.6, 0)), 0.01) is None
    out = room.tick(0.02)
    assert [r.code for r in out.rejections] == ["pose_non_finite"]
    room.receive_pose(a.id, encode_pose_upload(2, 0, head(0, 1.6, 0, [0, 0, 0, 2.0])), 0.03)
    assert [r.code for r in room.tick(0.04).rejections] == ["pose_bad_rotation"]
    room.receive_pose(a.id, encode_pose_upload(3, 0, {0: np.array([0, 1.6, 0, 0, 0, 0, np.inf])}), 0.05)
    assert [r.code for r in room.tick(0.06).rejections] == ["pose_non_finite"]
    assert np.array_equal(head_of(room, a), before)


@pytest.mark.parametrize(
    "data, fragment",
    [
        (b"\x01", "header"),
        (UPLOAD_HEADER.pack(1, 0, 0, 0), "presence"),
        (UPLOAD_HEADER.pack(1, 0x41, 0, 0) + bytes(28), "presence"),
        (UPLOAD_HEADER.pack(1, 1, 0, 0) + bytes(27), "must be 36 bytes"),
        (UPLOAD_HEADER.pack(9, 1, 0, 0) + bytes(28), "kind"),
    ],
)
def test_malformed_uploads_get_a_clear_rejection(data, fragment):
    room = make_room()
    (a,) = joined(room, 1)
    rejection = room.receive_pose(a.id, data, 0.0)
    assert rejection is not None and rejection.code == "pose_malformed" and fragment in rejection.message


def test_server_clamps_bounds_speed_and_unwalkable_floor():
    def walkable(xz):
        return ~((xz[:, 0] > 2) & (xz[:, 0] < 3))  # a wall between x=2 and x=3

    room = make_room(rules=RoomRules(bounds_min=(-10, 0, -10), bounds_max=(10, 3, 10), walkable_mask=walkable,
                                     spawn_points=[(0, 0, 0)]))
    (a,) = joined(room, 1)
    # 8 m in one tick is teleporting: the server moves at most max speed x elapsed time
    room.receive_pose(a.id, encode_pose_upload(1, 0, head(0, 1.6, 8.0)), 1 / 60)
    room.tick(1 / 60)
    assert head_of(room, a)[2] == pytest.approx(6.0 / 60 + 0.05)
    # walking into the wall keeps the avatar where it was
    room.head_pos[a.slot] = [1.9, 1.6, 0]
    room.receive_pose(a.id, encode_pose_upload(2, 0, head(2.5, 1.6, 0)), 2 / 60)
    room.tick(2 / 60)
    assert head_of(room, a)[[0, 2]] == pytest.approx([1.9, 0.0])
    # outside the store: clamped into its bounds (slowly, by the speed limit too)
    room.head_pos[a.slot] = [9.99, 1.6, 0]
    room.receive_pose(a.id, encode_pose_upload(3, 0, head(12.0, 1.6, 0)), 3 / 60)
    room.tick(3 / 60)
    assert head_of(room, a)[0] == pytest.approx(10.0)
    assert room.counters["pose_corrected"] >= 3


def test_a_controller_out_of_reach_is_dropped_not_the_whole_pose():
    room = make_room()
    (a, _b) = joined(room, 2)
    parts = vr(0, 0)
    parts[2] = np.array([3.0, 1.2, 0.3, *IDENTITY])  # 3 m from the head
    room.receive_pose(a.id, encode_pose_upload(1, 0, parts), 0.01)
    room.tick(0.02)
    assert room.presence[a.slot] == 0b011
    assert room.counters["controller_out_of_reach"] == 1


def test_one_client_cannot_move_another_avatar():
    room = make_room()
    a, b = joined(room, 2)
    b_before = head_of(room, b)
    room.receive_pose(a.id, encode_pose_upload(1, 0, head(0.1, 1.6, 0.05)), 0.01)
    room.tick(0.02)
    assert np.array_equal(head_of(room, b), b_before)
    assert head_of(room, a)[0] == pytest.approx(0.1, abs=1e-3)


@settings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.integers(0, 4)), min_size=30, max_size=90), st.integers(0, 1000))
def test_clients_always_hold_the_baseline_the_server_deltas_against(pattern, seed):
    """Frames dropped by newest-wins and acks arriving late or never must not desynchronise a client."""
    rng = np.random.default_rng(seed)
    room = make_room()
    avatars = joined(room, 4)
    observer = avatars[0]
    session = ClientSession()
    delivered: list[int] = []
    for step, (dropped, ack_delay) in enumerate(pattern):
        now = (step + 1) / 60
        for av in avatars[1:]:
            x, z = rng.uniform(-0.05, 0.05, 2) + head_of(room, av)[[0, 2]]
            room.receive_pose(av.id, encode_pose_upload(step, 0, vr(x, z)), now)
        if step == len(pattern) // 2:  # a hand appears mid-stream: a presence change in a delta
            room.receive_pose(avatars[2].id, encode_pose_upload(step, 0, head(0, 1.7, 0)), now)
        out = room.tick(now)
        frame = dict(out.frames)[observer.id]
        if dropped:
            room.frame_dropped(observer.id, out.tick)
        else:
            session.receive(frame)  # raises if a baseline is missing
            delivered.append(out.tick)
            for av in avatars:
                got = session.latest[av.id][1]
                assert got.components == room.state[av.slot].tolist()
        if delivered and ack_delay < 4 and len(delivered) > ack_delay:
            room.ack(observer.id, delivered[-1 - ack_delay])


def test_delta_frames_are_small_once_acked():
    room = make_room()
    avatars = joined(room, 20)
    sizes = []
    for step in range(30):
        now = (step + 1) / 60
        for i, av in enumerate(avatars):
            room.receive_pose(av.id, encode_pose_upload(step, 0, vr(0.01 * step + i * 0.3, 0)), now)
        out = room.tick(now)
        sizes.append(len(dict(out.frames)[avatars[0].id]))
        for av in avatars:
            room.ack(av.id, out.tick)
    assert sizes[0] >= 20 * 33  # absolute: 33 bytes per VR avatar
    assert sizes[-1] < 20 * 12  # delta-coded against the acked tick


def test_interest_sends_far_avatars_at_a_lower_rate_and_pinned_ones_always():
    cfg = InterestConfig(all_to_all_limit=5, near_m=3.0)
    room = make_room(rules=RoomRules(bounds_min=(-30, 0, -30), bounds_max=(30, 3, 30)), capacity=64, interest=cfg)
    avatars = joined(room, 12)
    for i, av in enumerate(avatars):
        room.head_pos[av.slot] = [i * 2.5, 1.6, 0.0]  # a line: 0 m, 2.5 m, ... 27.5 m away
    far, pinned = avatars[-1], avatars[-2]
    room.pin(avatars[0].id, [pinned.id])
    counts = {av.id: 0 for av in avatars}
    session = ClientSession()
    for step in range(120):
        out = room.tick((step + 1) / 60)
        snap = session.receive(dict(out.frames)[avatars[0].id])[1]
        room.ack(avatars[0].id, out.tick)
        for avatar_id in snap.avatars:
            counts[avatar_id] += 1
    assert counts[avatars[1].id] == 120  # 2.5 m: near, every tick
    assert counts[pinned.id] == 120  # pinned companion, every tick
    assert 9 <= counts[far.id] <= 11  # 27.5 m: far, every 12th tick (5 Hz)
    assert 9 <= counts[avatars[3].id] <= 11  # 7.5 m: beyond the near radius, 5 Hz too


def test_seats_capacity_grace_period_and_reconnect():
    room = make_room(capacity=2, drop_grace_s=5.0)
    a, b = joined(room, 2)
    with pytest.raises(RoomFull):
        room.add_avatar("c", 0.0)
    room.disconnect(a.id, 1.0)
    assert room.tick(5.9).removed == []  # still within the grace period: others see it frozen
    room.connect(a.id, 5.95)  # reconnect: same seat, same avatar id
    assert room.tick(7.0).removed == [] and a.id in room.avatars
    room.disconnect(b.id, 7.0)
    assert room.tick(12.5).removed == [b.id]
    c = room.add_avatar("c", 13.0)
    assert c.id not in (a.id, b.id)  # ids are never reused in a room


def test_teleport_within_range_onto_walkable_floor():
    room = make_room()
    (a,) = joined(room, 1)
    assert room.teleport(a.id, (30.0, 0.0, 0.0)).code == "teleport_too_far"
    assert room.teleport(a.id, (float("nan"), 0.0, 0.0)).code == "teleport_invalid"
    assert room.teleport(a.id, (5.0, 0.0, 5.0)) is None
    room.receive_pose(a.id, encode_pose_upload(1, 0, head(5.0, 1.6, 5.1)), 0.02)
    room.tick(0.02)
    assert head_of(room, a)[[0, 2]] == pytest.approx([5.0, 5.1], abs=1e-6)


def test_external_body_pose_reaches_clients_with_the_head_from_the_skeleton():
    room = make_room()
    (viewer,) = joined(room, 1)
    performer = room.add_avatar("host", 0.0, external=True)
    rots = np.tile(IDENTITY, (22, 1))
    room.apply_external_pose(performer.id, 0.0, np.array([1.0, 0.95, 2.0]), rots)
    session = ClientSession()
    snap = session.receive(dict(room.tick(0.02).frames)[viewer.id])[1]
    pose = session.pose_of(performer.id)
    assert snap.avatars[performer.id].presence == 0b100001
    assert pose.head_pos == pytest.approx([1.0, 0.95 + 0.58 + 0.07, 2.08], abs=1e-3)
    # a T-posed performer faces +Z; its head part looks the way a headset does, down the head's -Z
    from server.realtime.quat import quat_rotate

    assert quat_rotate(pose.head_rot, np.array([0.0, 0.0, -1.0])) == pytest.approx([0.0, 0.0, 1.0], abs=0.01)
    assert pose.body_rots.shape == (22, 4)
    with pytest.raises(ValueError):
        room.apply_external_pose(performer.id, 0.1, np.array([np.nan, 0, 0]), rots)


def test_tracked_hands_travel_as_compact_parameters_and_keep_the_pinch():
    from server.realtime import hand_model

    room = make_room()
    a, b = joined(room, 2)
    rng = np.random.default_rng(5)
    lo, hi = hand_model.ANGLE_RANGES[:, 0], hand_model.ANGLE_RANGES[:, 1]
    side = np.array([0, 1])
    params = hand_model.HandParams(
        wrist_pos=np.array([[-0.2, 0.0, 0.0], [0.2, 0.0, 0.0]]), wrist_rot=np.tile(IDENTITY, (2, 1)),
        angles=rng.uniform(lo + 0.1 * (hi - lo), hi - 0.1 * (hi - lo), (2, 20)), scale=np.array([0.95, 1.1]),
    )
    pos, rot = hand_model.joints_from_hand_params(params, side)
    offset = np.array([0.0, 1.2, 0.3])
    parts = {0: np.array([0, 1.6, 0, *IDENTITY])}
    for hand in (0, 1):
        parts[3 + hand] = np.concatenate([pos[hand] + offset, rot[hand]], axis=1)
    room.receive_pose(a.id, encode_pose_upload(1, 0, parts), 0.01)
    frame = dict(room.tick(0.02).frames)[b.id]
    session = ClientSession()
    session.receive(frame)
    pose = session.pose_of(a.id)
    assert set(pose.parts) == {"left_hand", "right_hand"}
    for hand, name in enumerate(("left_hand", "right_hand")):
        got, _ = pose.hand_joints(name)
        want = pos[hand] + offset
        assert np.max(np.linalg.norm(got - want, axis=1)) < 0.004  # 8-bit angles, 1 mm wrist
        pinch_got = np.linalg.norm(got[4] - got[9])
        pinch_want = np.linalg.norm(want[4] - want[9])
        assert abs(pinch_got - pinch_want) < 0.003
    # absolute blocks: the viewer (head only) and the shopper with head + two hands (31 bytes each)
    assert len(frame) == 11 + 7 + (3 + 10) + (3 + 10 + 62)  # header, one section, two avatars


def test_interest_managed_clients_decode_every_frame_while_others_join_late_and_frames_drop():
    """Far avatars are delta-coded against tick t - 12 room-wide: every client must hold that baseline,
    including for avatars that reserved a seat early but became visible later."""
    rng = np.random.default_rng(7)
    room = make_room(rules=RoomRules(bounds_min=(-30, 0, -30), bounds_max=(30, 3, 30)), capacity=80,
                     interest=InterestConfig(all_to_all_limit=0, near_m=4.0))
    avatars = [room.add_avatar(f"a{i}", 0.0) for i in range(60)]  # all seats reserved up front
    positions = rng.uniform(-25, 25, (60, 2))
    watchers = {a.id: ClientSession() for a in avatars[:4]}
    acked = {a.id: 0 for a in avatars}
    for step in range(240):
        now = (step + 1) / 60
        if step % 4 == 0 and step // 4 < len(avatars):  # connect in waves, long after reserving
            room.connect(avatars[step // 4].id, now)
        for i, av in enumerate(avatars):
            if av.connected:
                positions[i] += rng.normal(0, 0.01, 2)
                room.receive_pose(av.id, encode_pose_upload(step, acked[av.id],
                                                            head(positions[i, 0], 1.6, positions[i, 1])), now)
        out = room.tick(now)
        for avatar_id, frame in out.frames:
            if rng.random() < 0.1:  # newest-wins replaced it: never sent
                room.frame_dropped(avatar_id, out.tick)
                continue
            if avatar_id in watchers:
                watchers[avatar_id].receive(frame)  # raises if a baseline is missing
            if rng.random() < 0.8:
                acked[avatar_id] = out.tick
    for session in watchers.values():
        assert session.snapshots > 150
        assert len(session.latest) > 20  # near ones every tick, far ones at 5 Hz: it sees the crowd


def _sections(frame: bytes) -> list[tuple[int, bytes]]:
    """(baseline offset, section bytes) of every section of a snapshot frame, read by its headers only."""
    from server.realtime.codec import FRAME_HEADER, SECTION_HEADER

    count, at, found = frame[FRAME_HEADER.size - 1], FRAME_HEADER.size, []
    for _ in range(count):
        offset, _blocks, length = SECTION_HEADER.unpack_from(frame, at)
        end = at + SECTION_HEADER.size + length
        found.append((offset, frame[at:end]))
        at = end
    return found


def test_the_far_section_is_the_same_bytes_in_every_frame_and_decodes_to_the_rooms_state():
    """Big rooms: the avatars due on the room-wide 5 Hz phase travel in one section against tick t - 12, cut
    once for the whole room (near ones too, which leave the near section for that tick). Every client that has
    tick t - 12 gets those very bytes, and what each client decodes is the server's state at that tick."""
    rng = np.random.default_rng(11)
    room = make_room(rules=RoomRules(bounds_min=(-30, 0, -30), bounds_max=(30, 3, 30)), capacity=120,
                     interest=InterestConfig(all_to_all_limit=0))
    avatars = joined(room, 100)
    positions = rng.uniform(-25, 25, (100, 2))
    sessions = {a.id: ClientSession() for a in avatars}
    checked_far = checked_avatars = 0
    for step in range(60):
        now = (step + 1) / 60
        positions += rng.normal(0, 0.01, positions.shape)
        for i, av in enumerate(avatars):
            ack = sessions[av.id].last_tick
            room.receive_pose(av.id, encode_pose_upload(step, ack, head(positions[i, 0], 1.6, positions[i, 1])), now)
        out = room.tick(now)
        frames = dict(out.frames)
        far_sections = {sec for f in frames.values() for off, sec in _sections(f) if off == 12}
        if step >= 24:  # everyone has had tick t - 12 for a while: one far section, the same bytes for all
            assert len(far_sections) == 1
            checked_far += 1
        due = {a.id for a in avatars if (out.tick + a.slot) % 12 == 0}
        for avatar_id, frame in frames.items():
            snap = sessions[avatar_id].receive(frame)[1]
            assert due <= set(snap.avatars)  # every due avatar reaches every client this tick
            for other_id, state in snap.avatars.items():
                slot = room.avatars[other_id].slot
                assert state.components[:7] == room.state[slot, :7].tolist()
                checked_avatars += 1
            room.ack(avatar_id, out.tick)
    assert checked_far == 36 and checked_avatars > 60 * 100 * 20


def test_walkers_changing_views_and_reused_seats_decode_to_the_rooms_state():
    """People walking from cell to cell change their near views every refresh; seats freed by leavers are
    taken by newcomers (same slot, another avatar). Every frame, to every client, whatever it acknowledged or
    lost, must decode to exactly the server's state: a delta against the wrong baseline would not."""
    rng = np.random.default_rng(12)
    room = make_room(rules=RoomRules(bounds_min=(-30, 0, -30), bounds_max=(30, 3, 30)), capacity=90,
                     interest=InterestConfig(all_to_all_limit=0, near_m=5.0, near_max=12))
    avatars = joined(room, 80)
    positions = {a.id: rng.uniform(-25, 25, 2) for a in avatars}
    sessions = {a.id: ClientSession() for a in avatars}
    checked = changed_views = 0
    for step in range(150):
        now = (step + 1) / 60
        if step in (40, 80):  # five leave; five newcomers take their seats
            for gone in avatars[:5]:
                room.disconnect(gone.id, now)
                room.remove_avatar(gone.id)
                sessions.pop(gone.id)
            avatars = avatars[5:]
            for i in range(5):
                fresh = room.add_avatar(f"n{step}-{i}", now)
                room.connect(fresh.id, now)
                avatars.append(fresh)
                positions[fresh.id] = rng.uniform(-25, 25, 2)
                sessions[fresh.id] = ClientSession()
        for av in avatars:
            p = positions[av.id] = np.clip(positions[av.id] + rng.normal(0, 0.25, 2), -29, 29)  # 15 m/s: busy views
            ack = sessions[av.id].last_tick
            room.receive_pose(av.id, encode_pose_upload(step, ack, head(p[0], 1.6, p[1])), now)
        out = room.tick(now)
        for avatar_id, frame in out.frames:
            if rng.random() < 0.1:  # replaced unsent
                room.frame_dropped(avatar_id, out.tick)
                continue
            snap = sessions[avatar_id].receive(frame)[1]
            for other_id, state in snap.avatars.items():
                assert state.components[:7] == room.state[room.avatars[other_id].slot, :7].tolist()
                checked += 1
            if rng.random() < 0.7:
                room.ack(avatar_id, out.tick)
        changed_views += sum(1 for sync in room.syncs.values()
                             if sync.settled_view is not None and len(sync.inflight)
                             and sync.inflight[-1][1] is not sync.settled_view)
    assert checked > 150 * 80 * 5 and changed_views > 500


def test_a_crowd_in_one_cell_sees_itself_at_the_full_rate_and_everyone_else_at_least_at_5_hz():
    """More people in one 4 m cell than the near view holds, plus a spread crowd: nobody of the same cell is
    ever left out of a frame, and over 12 ticks every client has every visible avatar at least once."""
    from server.realtime.interest import Interest
    from server.realtime.sync import ClientSync

    cfg = InterestConfig(all_to_all_limit=0, near_max=20)
    room = Room("crowd", RoomRules(bounds_min=(-30, 0, -30), bounds_max=(30, 3, 30)), capacity=300, interest=cfg)
    rng = np.random.default_rng(5)
    avatars = [room.add_avatar(f"a{i}", 0.0) for i in range(260)]
    syncs = []
    for i, a in enumerate(avatars):
        room.connect(a.id, 0.0)
        x, z = rng.uniform(0.2, 3.8, 2) if i < 60 else rng.uniform(-29, 29, 2)  # 60 in cell (0, 0)
        room.head_pos[a.slot] = (x, 1.6, z)
        syncs.append(ClientSync(a.id, a.slot))
    interest = Interest()
    seen = {s.avatar_id: set() for s in syncs}
    crowd = {a.slot for a in avatars[:60]}
    for tick in range(1, 13):
        groups = interest.groups(room, tick, room.visible_slots(), syncs, cfg)
        assert sorted(m.avatar_id for g in groups for m in g.members) == sorted(s.avatar_id for s in syncs)
        for group in groups:
            near = set(group.near.tolist())
            far = set(group.far.tolist())
            # a frame's near section leaves out the avatars due in the room-wide far section this tick
            assert set(group.send_near.tolist()) == near - far
            for member in group.members:
                if member.slot in crowd:
                    assert crowd <= near  # the whole cell, although near_max is 20
                seen[member.avatar_id] |= near | set(group.far.tolist())
    everyone = set(room.visible_slots().tolist())
    assert all(got == everyone for got in seen.values())
