"""Seats, tokens and room limits, driven directly on the sans-I/O registry (no sockets, injected times)."""

from __future__ import annotations

import time

import pytest

from server import limits
from server.realtime.driver import RoomDriver
from server.realtime.registry import RoomError, RoomRegistry, SeatRefused
from server.realtime.room import Room

SECRET = b"k" * 32


def registry() -> RoomRegistry:
    reg = RoomRegistry(SECRET)
    reg.create("Main", "boutique", 0.0, capacity=200, persistent=True, room_id="main")
    return reg


def test_a_released_seats_tokens_never_open_the_next_seat_with_the_same_id():
    reg = registry()
    wall = time.time()
    info, first_id, join_token = reg.reserve("main", "first", 0.0, wall, address="a")
    info.room.connect(first_id, 0.0)
    resume = reg.resume_token("main", first_id, wall)
    reg.release("main", first_id)
    info.room.tick_no += 1000  # the id is handed out again once clients can no longer know it
    _, second_id, _ = reg.reserve("main", "second", 1.0, wall, address="b")
    assert second_id == first_id
    for stale in (resume, join_token):
        with pytest.raises(SeatRefused) as refused:
            reg.open_seat(stale, wall, "main")
        assert refused.value.kind == "room_closed"


def test_a_join_token_opens_once_and_the_resume_token_after_that():
    reg = registry()
    wall = time.time()
    info, avatar_id, join_token = reg.reserve("main", "ann", 0.0, wall, address="a")
    _, avatar = reg.open_seat(join_token, wall, "main")
    info.room.connect(avatar.id, 0.0)
    with pytest.raises(SeatRefused):
        reg.open_seat(join_token, wall, "main")
    resume = reg.resume_token("main", avatar_id, wall)
    assert reg.open_seat(resume, wall, "main")[1] is avatar
    with pytest.raises(SeatRefused) as other_room:
        reg.open_seat(resume, wall, "elsewhere")
    assert other_room.value.kind == "token_invalid"


def test_an_altered_token_is_refused():
    reg = registry()
    _, _, token = reg.reserve("main", "ann", 0.0, time.time(), address="a")
    payload, mac = token.split(".")
    # Change the first character (its 6 bits always count; the last one's may be padding bits).
    altered = ("B" if payload[0] == "A" else "A") + payload[1:]
    with pytest.raises(SeatRefused):
        reg.open_seat(altered + "." + mac, time.time(), "main")


def test_one_address_holds_a_bounded_share_of_a_room():
    reg = registry()
    wall = time.time()
    pending = int(limits.get("pending_seats_per_address"))
    per_room = int(limits.get("seats_per_address_per_room"))
    held = 0
    while True:
        try:
            info, _, _ = reg.reserve("main", "x", 0.0, wall, address="attacker")
        except RoomError as exc:
            assert exc.status == 429
            if exc.code == "too_many_pending_seats":
                assert held % pending == 0
                for a in list(info.reservations):  # connect them, as a family behind one router would
                    info.room.connect(a, 0.0)
                reg.housekeeping(0.1)
                continue
            assert exc.code == "too_many_seats_from_address"
            break
        held += 1
    assert held == per_room < reg.get("main").capacity
    reg.reserve("main", "neighbour", 0.0, wall, address="someone else")  # others still get in
    reg.reserve("main", "bot", 0.0, wall, address="attacker", exempt=True)  # the operator is exempt


def test_unconnected_reservations_expire_with_their_join_token():
    reg = registry()
    info, avatar_id, _ = reg.reserve("main", "x", 0.0, time.time(), address="a")
    reg.housekeeping(limits.get("join_token_ttl_s") - 1)
    assert avatar_id in info.room.avatars
    reg.housekeeping(limits.get("join_token_ttl_s") + 1)
    assert avatar_id not in info.room.avatars and avatar_id not in info.seat_address


def test_room_creation_is_bounded_per_address_and_in_total(monkeypatch):
    reg = registry()
    per_address = int(limits.get("rooms_per_address"))
    for i in range(per_address):
        reg.create(f"r{i}", "boutique", 0.0, created_by="a")
    with pytest.raises(RoomError) as refused:
        reg.create("one more", "boutique", 0.0, created_by="a")
    assert refused.value.status == 429 and refused.value.retry_after
    reg.create("b's", "boutique", 0.0, created_by="b")
    monkeypatch.setitem(limits.TABLE, "rooms_total", limits.Limit("rooms_total", per_address + 1, "rooms", "t"))
    with pytest.raises(RoomError) as full:
        reg.create("c's", "boutique", 0.0, created_by="c")
    assert full.value.status == 503
    reg.create("store", "boutique", 0.0, persistent=True, room_id="store-x")  # a store's own room always


def test_room_memory_grows_with_occupants_not_capacity():
    def nbytes(room: Room) -> int:
        return sum(v.nbytes for v in vars(room).values() if hasattr(v, "nbytes"))

    small, huge = Room("s", capacity=8), Room("h", capacity=2000)
    assert nbytes(huge) == nbytes(small) < 1_000_000
    for i in range(100):
        huge.add_avatar(f"a{i}", 0.0)
    assert huge.allocated == 128 and nbytes(huge) < 12_000_000
    with pytest.raises(ValueError):
        Room("x", capacity=0)


def test_a_room_keeps_its_seats_and_poses_when_it_grows():
    room = RoomDriver(Room("g", capacity=50))
    first = room.add_avatar("first", 0.0)
    room.connect(first.id, 0.0)
    room.head_pos[first.slot] = (1.0, 1.6, 2.0)
    before = room.state[first.slot].copy()
    for i in range(20):
        room.add_avatar(f"a{i}", 0.0)
    assert room.allocated >= 21
    assert room.avatars[first.id].slot == first.slot
    assert tuple(room.head_pos[first.slot]) == (1.0, 1.6, 2.0)
    assert (room.state[first.slot] == before).all()
    out = room.tick(1 / 60)
    assert [a for a, _ in out.frames] == [first.id]


def test_rooms_survive_a_restart_and_the_kept_list_names_no_seats(tmp_path):
    reg = registry()
    info = reg.create("Fitting", "boutique", 0.0, private=True, capacity=6, created_by="a")
    reg.reserve(info.room.id, "ann", 0.0, time.time(), info.invite_code, address="a")
    records = reg.kept()
    assert records == [info.record()] and "ann" not in str(records)
    again = RoomRegistry(SECRET)
    again.restore(records, 5.0)
    back = again.rooms[info.room.id]
    assert (back.name, back.private, back.invite_code, back.room.capacity) == ("Fitting", True, info.invite_code, 6)
    again.restore([{"id": "broken"}], 5.0)  # a damaged record is skipped
    assert "broken" not in again.rooms
