"""Trigger-hold confirmation: the state machine, and trigger values riding the pose upload into the room."""

from __future__ import annotations

import numpy as np
import pytest

from server.gestures.trigger import TriggerConfig, TriggerHold
from server.realtime.pose import (
    LEFT_CONTROLLER,
    RIGHT_CONTROLLER,
    UPLOAD_TRIGGERS,
    upload_size,
    valid_upload_presence,
)
from server.realtime.room import Room
from sim.client import encode_pose_upload

CFG = TriggerConfig()
HEAD = np.array([0.0, 1.6, 0.0, 0.0, 0.0, 0.0, 1.0])
GRIP = np.array([0.2, 1.2, -0.3, 0.0, 0.0, 0.0, 1.0])


def feed(hold: TriggerHold, values, start: float = 0.0, present=lambda k: True) -> list[str]:
    kinds = []
    for k, v in enumerate(values):
        event = hold.update(start + k / 60, present(k), v)
        if event is not None:
            kinds.append(event.kind)
    return kinds


def run(seconds: float, value: float | None) -> list[float | None]:
    return [value] * round(seconds * 60)


def test_a_held_trigger_confirms_once_after_the_hold_time():
    hold = TriggerHold()
    hold.arm()
    kinds = feed(hold, run(0.2, 0.0) + run(CFG.hold_s + 0.5, 1.0))
    assert kinds.count("confirmed") == 1 and "reset" not in kinds
    first = kinds.index("progress")
    assert kinds.index("confirmed") - first == pytest.approx(CFG.hold_s * 60, abs=1)


def test_hysteresis_a_trigger_between_release_and_press_keeps_holding_but_never_starts():
    hold = TriggerHold()
    hold.arm()
    assert feed(hold, run(3.0, 0.6)) == []
    hold = TriggerHold()
    hold.arm()
    assert feed(hold, run(0.2, 0.9) + run(CFG.hold_s + 0.2, 0.5)).count("confirmed") == 1


def test_letting_go_early_cancels_and_a_new_press_starts_again():
    hold = TriggerHold()
    hold.arm()
    kinds = feed(hold, run(0.1, 0.0) + run(1.0, 1.0) + run(0.2, 0.1))
    assert "confirmed" not in kinds and kinds[-1] == "reset"
    assert feed(hold, run(CFG.hold_s + 0.2, 1.0), start=5.0).count("confirmed") == 1


def test_a_trigger_already_held_when_checkout_opens_must_be_let_go_first():
    hold = TriggerHold()
    feed(hold, run(0.5, 1.0))
    hold.arm()
    assert "confirmed" not in feed(hold, run(3.0, 1.0), start=1.0)
    assert feed(hold, run(0.1, 0.0) + run(CFG.hold_s + 0.2, 1.0), start=5.0).count("confirmed") == 1


def test_losing_the_controller_or_its_trigger_value_cancels():
    for lost in ({"present": lambda k: not 60 <= k < 62}, {"value": None}):
        hold = TriggerHold()
        hold.arm()
        values = run(0.1, 0.0) + run(3.0, 1.0)
        if "value" in lost:
            values[66] = None
        kinds = feed(hold, values, present=lost.get("present", lambda k: True))
        assert "confirmed" not in kinds and "reset" in kinds  # and it must be let go before a new hold


def test_an_unarmed_trigger_never_confirms():
    assert feed(TriggerHold(), run(0.1, 0.0) + run(3.0, 1.0)) == []


def test_upload_presence_bit_6_carries_one_trigger_byte_per_controller():
    both = 1 | 1 << LEFT_CONTROLLER | 1 << RIGHT_CONTROLLER
    assert upload_size(both | UPLOAD_TRIGGERS) == upload_size(both) + 2
    assert upload_size(1 | 1 << RIGHT_CONTROLLER | UPLOAD_TRIGGERS) == upload_size(1 | 1 << RIGHT_CONTROLLER) + 1
    assert valid_upload_presence(both | UPLOAD_TRIGGERS) and valid_upload_presence(both)
    assert not valid_upload_presence(1 | UPLOAD_TRIGGERS)  # trigger bytes need a controller
    assert not valid_upload_presence(both | 0x80)
    data = encode_pose_upload(1, 0, {0: HEAD, 2: GRIP}, {RIGHT_CONTROLLER: 0.5})
    assert data[1] == 1 | 1 << RIGHT_CONTROLLER | UPLOAD_TRIGGERS and data[-1] == 128
    assert len(data) == upload_size(data[1])


def _room_with_one() -> tuple[Room, int]:
    room = Room("r")
    avatar = room.add_avatar("ada", now=0.0)
    return room, avatar.id


def test_the_room_keeps_trigger_values_apart_from_the_snapshot_state():
    room, aid = _room_with_one()
    slot = room.avatars[aid].slot
    grip_l = GRIP * [-1, 1, 1, 1, 1, 1, 1]
    plain = encode_pose_upload(1, 0, {0: HEAD, 1: grip_l, 2: GRIP})
    parts = {0: HEAD, 1: grip_l, 2: GRIP}
    with_triggers = encode_pose_upload(2, 0, parts, {LEFT_CONTROLLER: 0.25, RIGHT_CONTROLLER: 1})
    assert room.receive_pose(aid, with_triggers, 0.01) is None
    room.tick(1 / 60)
    assert room.trigger[slot].tolist() == [64, 255]
    assert room.presence[slot] == 0x07  # bit 6 is an upload flag, never part of the state others receive
    state_with = room.state[slot].copy()
    assert room.receive_pose(aid, plain, 0.03) is None  # an upload without them (an older client) still parses
    room.tick(2 / 60)
    assert room.trigger[slot].tolist() == [-1, -1] and (room.state[slot] == state_with).all()


def test_a_malformed_trigger_upload_is_refused():
    room, aid = _room_with_one()
    good = encode_pose_upload(1, 0, {0: HEAD, 2: GRIP}, {RIGHT_CONTROLLER: 1.0})
    assert room.receive_pose(aid, good[:-1], 0.01).code == "pose_malformed"  # the trigger byte missing
    assert room.receive_pose(aid, good + b"\0", 0.01).code == "pose_malformed"
    head_only = bytearray(encode_pose_upload(1, 0, {0: HEAD}))
    head_only[1] |= UPLOAD_TRIGGERS
    assert room.receive_pose(aid, bytes(head_only) + b"\xff", 0.01).code == "pose_malformed"
