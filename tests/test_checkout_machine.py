"""The checkout state machine, driven directly: every path, and a hypothesis stateful test against a model of
the stock it holds (released or committed exactly once, never both; one charge key; terminal states stay)."""

from __future__ import annotations

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from server.commerce.checkout import (
    HOLD_S,
    PAYMENT_WINDOW_S,
    TERMINAL,
    Charge,
    Checkout,
    CheckoutError,
    Commit,
    Line,
    Release,
    Reserve,
    State,
    Void,
)

LINES = [Line("tee/blue-m", "tee", "blue-m", "Tee", "physical", 2, 1990),
         Line("tee/blue-m", "tee", "blue-m", "Tee", "physical", 1, 1990),
         Line("skin/aurora", "skin", "aurora", "Skin", "virtual", 1, 500)]


def opened(now: float = 0.0) -> Checkout:
    checkout, effects = Checkout.open("c1", "s1", LINES, "EUR", "test_approve", None, 490, now)
    assert effects == [Reserve({"tee/blue-m": 3, "skin/aurora": 1}, checkout.deadline)]
    assert checkout.total_minor == 3 * 1990 + 500 + 490 and checkout.state is State.RESERVING
    return checkout


def test_the_happy_path_fixes_the_total_and_commits_once():
    c = opened()
    c.reserved(1.0)
    c.hold_start(2.0)
    assert c.hold_end(2.0 + HOLD_S) == [Charge(c.total_minor, "EUR", "checkout:c1")]
    assert c.state is State.PAYING
    assert c.paid(4.0, {"id": "pi_1", "status": "succeeded"}) == [Commit()]
    assert c.state is State.PLACED
    with pytest.raises(CheckoutError):
        c.cancel(5.0)
    assert Checkout.from_dict(c.to_dict()) == c


def test_a_short_hold_confirms_nothing_and_a_late_one_is_refused():
    c = opened()
    c.reserved(1.0)
    c.hold_start(2.0)
    with pytest.raises(CheckoutError) as short:
        c.hold_end(2.0 + HOLD_S / 2)
    assert short.value.code == "hold_too_short" and c.state is State.AWAITING
    with pytest.raises(CheckoutError) as never_started:
        c.hold_end(10.0)
    assert never_started.value.code == "hold_too_short"
    with pytest.raises(CheckoutError) as late:
        c.confirm(c.deadline)
    assert late.value.code == "checkout_expired"
    assert c.expire(c.deadline) == [Release()] and c.state is State.EXPIRED
    assert c.expire(c.deadline + 100) == []  # once


def test_decline_cancel_out_of_stock_and_a_payment_that_never_answers():
    c = opened()
    c.reserved(1.0)
    c.confirm(2.0)
    assert c.declined(3.0, "card_declined") == [Release()] and c.reason == "card_declined"
    c = opened()
    c.reserved(1.0)
    assert c.cancel(2.0) == [Release()] and c.state is State.CANCELLED
    c = opened()
    assert c.out_of_stock("tee/blue-m", 1.0) == [] and c.reason == "out_of_stock:tee/blue-m"
    c = opened()
    c.reserved(1.0)
    c.confirm(2.0)
    assert c.expire(2.0 + PAYMENT_WINDOW_S - 1) == [] and c.state is State.PAYING  # waiting for the provider
    assert c.expire(2.0 + PAYMENT_WINDOW_S) == [Void("checkout:c1"), Release()] and c.reason == "payment_timeout"


def test_bad_lines_are_refused():
    with pytest.raises(CheckoutError):
        Checkout.open("c", "s", [], "EUR", "m", None, 0, 0.0)
    with pytest.raises(CheckoutError):
        Checkout.open("c", "s", [Line("a", "a", "v", "A", "physical", 1, 10.5)], "EUR", "m", None, 0, 0.0)


class CheckoutModel(RuleBasedStateMachine):
    """Random event sequences, including events that are wrong for the state (they must raise and change nothing)."""

    def __init__(self) -> None:
        super().__init__()
        self.now = 0.0
        self.c = opened()
        self.released = self.committed = self.charges = self.voids = 0

    def apply(self, effects) -> None:
        for e in effects:
            self.released += isinstance(e, Release)
            self.committed += isinstance(e, Commit)
            self.charges += isinstance(e, Charge)
            self.voids += isinstance(e, Void)

    def attempt(self, fn, *args) -> None:
        before = self.c.to_dict()
        try:
            self.apply(fn(*args))
        except CheckoutError:
            after = self.c.to_dict()
            before.pop("hold_started_at"), after.pop("hold_started_at")
            assert after == before  # a refused event changes nothing (but a failed hold_end ends the hold)

    @rule(dt=st.floats(0, 400))
    def time_passes(self, dt):
        self.now += dt

    @rule()
    def reserved(self):
        self.attempt(self.c.reserved, self.now)

    @rule()
    def out_of_stock(self):
        self.attempt(self.c.out_of_stock, "tee/blue-m", self.now)

    @rule()
    def hold_start(self):
        self.attempt(self.c.hold_start, self.now)

    @rule()
    def hold_end(self):
        self.attempt(self.c.hold_end, self.now)

    @rule()
    def confirm(self):
        self.attempt(self.c.confirm, self.now)

    @rule()
    def cancel(self):
        self.attempt(self.c.cancel, self.now)

    @rule()
    def expire(self):
        self.attempt(self.c.expire, self.now)

    @rule()
    def paid(self):
        self.attempt(self.c.paid, self.now, {"status": "succeeded"})

    @rule()
    def declined(self):
        self.attempt(self.c.declined, self.now, "card_declined")

    @precondition(lambda self: self.c.state in TERMINAL)
    @rule()
    def terminal_states_stay(self):
        state = self.c.state
        for fn in (self.c.reserved, self.c.confirm, self.c.cancel, self.c.hold_start):
            self.attempt(fn, self.now)
        self.attempt(self.c.expire, self.now + 1e6)
        assert self.c.state is state

    @invariant()
    def stock_is_settled_at_most_once(self):
        assert self.released + self.committed <= 1
        assert self.charges <= 1 and self.voids <= self.charges
        if self.c.state is State.PLACED:
            assert self.committed == 1 and self.charges == 1
        if self.c.state in (State.CANCELLED, State.EXPIRED, State.DECLINED):
            assert self.released == 1 and self.committed == 0
        if self.c.state is State.FAILED:
            assert self.released == 0 and self.committed == 0 and self.charges == 0
        if self.c.state not in TERMINAL:
            assert self.released == self.committed == 0


TestCheckoutModel = CheckoutModel.TestCase
TestCheckoutModel.settings = settings(max_examples=300, stateful_step_count=30, deadline=None, derandomize=True)
