"""The one clock: periodic work in order and at its period, deadlines, failures contained; no sleeping."""

from __future__ import annotations

from server.clock import AFTER_WORLD, INPUTS, WORLD, Clock


def manual_clock() -> Clock:
    return Clock(60, time_fn=lambda: 0.0)


def test_steps_run_in_order_at_their_periods():
    clock, seen = manual_clock(), []
    clock.every("rooms", lambda now: seen.append("rooms"), order=WORLD)
    clock.every("gestures", lambda now: seen.append("gestures"), order=AFTER_WORLD)
    clock.every("mocap", lambda now: seen.append("mocap"), order=INPUTS)
    clock.every_seconds("second", lambda now: seen.append("second"), 1.0, order=AFTER_WORLD)
    assert clock.advance(1.0) == 60
    assert seen[:3] == ["mocap", "rooms", "gestures"]
    assert seen.count("rooms") == 60 and seen.count("second") == 1 and seen[-1] == "second"


def test_time_advances_in_exact_steps_and_deadlines_fire_once_at_the_first_step_after_them():
    clock, times, fired = manual_clock(), [], []
    clock.every("t", times.append)
    clock.call_at(0.5, fired.append)
    cancelled = clock.call_at(0.25, lambda now: fired.append("cancelled"))
    cancelled.cancel()
    clock.advance(1.0)
    assert times[0] == 1 / 60 and abs(times[-1] - 1.0) < 1e-9
    assert len(fired) == 1 and 0.5 <= fired[0] < 0.5 + 1 / 60


def test_a_failing_callback_is_counted_and_the_others_still_run():
    clock, seen = manual_clock(), []

    def broken(now: float) -> None:
        raise RuntimeError("bug")

    clock.every("broken", broken)
    clock.every("fine", seen.append)
    clock.advance(0.1)
    assert clock.errors == 6 and len(seen) == 6


def test_unregistered_work_stops():
    clock, seen = manual_clock(), []
    stop = clock.every("x", seen.append)
    clock.advance(0.05)
    stop()
    clock.advance(0.05)
    assert len(seen) == 3
    assert clock.server_time_ms(clock.now) == 100
