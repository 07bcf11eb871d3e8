"""The checkout state machine. Sans-I/O: plain data in, effects out; the shop service performs the effects
(storage, payments) and feeds the outcomes back. Tests drive it directly with any clock.

    reserving --reserved--> awaiting_confirmation --confirm--> paying --paid--> placed
        |                        |  |                            |  \\--needs_action--> paying (action pending)
        \\--out_of_stock-> failed |  \\--cancel--> cancelled       \\--declined / payment_expired--> declined
                                 \\--expire (deadline)--> expired

Every way out of a state that holds stock emits exactly one `Release` (or, for `placed`, one `Commit`); a state
can only be left once because the service saves each transition with compare-and-set on the document version.
Confirmation is a separate step: a press-and-hold timed by the server (`hold_start` / `hold_end`), or a
recogniser's verdict (`confirm`, the gesture issue), never a client's claim.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any


class State(StrEnum):
    RESERVING = "reserving"
    AWAITING = "awaiting_confirmation"
    PAYING = "paying"
    PLACED = "placed"
    CANCELLED = "cancelled"
    EXPIRED = "expired"
    DECLINED = "declined"
    FAILED = "failed"


TERMINAL = frozenset({State.PLACED, State.CANCELLED, State.EXPIRED, State.DECLINED, State.FAILED})
HOLD_S = 1.0  # a press-and-hold confirms after this long, timed by the server
CONFIRM_WINDOW_S = 300.0  # from open to confirmation: the total and the reserved stock stay fixed this long
PAYMENT_WINDOW_S = 120.0  # from confirmation to a final payment answer; then the intent is voided


class CheckoutError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


@dataclass(frozen=True)
class Line:
    sku: str  # "<product id>/<variant id>"
    product_id: str
    variant_id: str
    name: str
    kind: str  # physical | virtual | bundle
    quantity: int
    unit_minor: int

    @property
    def total_minor(self) -> int:
        return self.unit_minor * self.quantity


# Effects the service carries out.
@dataclass(frozen=True)
class Reserve:
    lines: dict[str, int]
    expires_at: float


@dataclass(frozen=True)
class Release:
    pass


@dataclass(frozen=True)
class Commit:
    pass


@dataclass(frozen=True)
class Charge:
    amount_minor: int
    currency: str
    idempotency_key: str


@dataclass(frozen=True)
class Void:
    idempotency_key: str


Effect = Reserve | Release | Commit | Charge | Void


@dataclass
class Checkout:
    id: str
    shopper_id: str
    lines: list[Line]
    currency: str
    goods_minor: int
    shipping_minor: int
    payment_method: str
    delivery: dict[str, Any] | None
    created_at: float
    deadline: float  # confirm before this
    state: State = State.RESERVING
    bag_version: int = 0  # the bag the total was fixed from; a changed bag cannot be confirmed
    # A shared (group) bag: which bag, which of its lines this checkout covers, and their fingerprint (other
    # members may edit other lines meanwhile; only a change to these lines stops the confirmation).
    bag_key: str | None = None
    line_ids: list[str] = field(default_factory=list)
    lines_fingerprint: str = ""
    discount_minor: int = 0  # a coupon's discount, fixed with the total
    coupon: str | None = None
    hold_started_at: float | None = None
    paying_since: float | None = None
    reason: str | None = None  # why it ended (declined, failed, ...)
    payment: dict[str, Any] = field(default_factory=dict)  # intent id, status, last4 of nothing: no card data
    history: list[tuple[float, str]] = field(default_factory=list)

    # ------------------------------------------------------------------ construction
    @classmethod
    def open(cls, checkout_id: str, shopper_id: str, lines: list[Line], currency: str, payment_method: str,
             delivery: dict[str, Any] | None, shipping_minor: int, now: float,
             confirm_window_s: float = CONFIRM_WINDOW_S) -> tuple[Checkout, list[Effect]]:
        if not lines:
            raise CheckoutError("bag_empty", "the bag is empty")
        if not all(type(li.quantity) is int and li.quantity > 0 and type(li.unit_minor) is int and li.unit_minor >= 0
                   for li in lines) or type(shipping_minor) is not int or shipping_minor < 0:
            raise CheckoutError("bad_line", "quantities are positive integers and prices integer minor units")
        checkout = cls(checkout_id, shopper_id, list(lines), currency, sum(li.total_minor for li in lines),
                       shipping_minor, payment_method, delivery, now, now + confirm_window_s)
        checkout.history.append((now, State.RESERVING))
        wanted: dict[str, int] = {}
        for line in lines:
            wanted[line.sku] = wanted.get(line.sku, 0) + line.quantity
        # Held until the confirmation deadline; confirming extends it over the payment window (the service).
        return checkout, [Reserve(wanted, checkout.deadline)]

    @property
    def total_minor(self) -> int:
        return self.goods_minor - self.discount_minor + self.shipping_minor

    def _to(self, state: State, now: float, reason: str | None = None) -> None:
        self.state = state
        self.history.append((now, state))
        if reason is not None:
            self.reason = reason

    def _require(self, *states: State) -> None:
        if self.state not in states:
            raise CheckoutError("wrong_state", f"this checkout is {self.state.value}")

    # ------------------------------------------------------------------ outcomes of Reserve
    def reserved(self, now: float) -> list[Effect]:
        self._require(State.RESERVING)
        self._to(State.AWAITING, now)
        return []

    def out_of_stock(self, sku: str, now: float) -> list[Effect]:
        self._require(State.RESERVING)
        self._to(State.FAILED, now, f"out_of_stock:{sku}")
        return []  # nothing was taken: a reservation is all or nothing

    # ------------------------------------------------------------------ confirmation
    def hold_start(self, now: float) -> list[Effect]:
        self._require(State.AWAITING)
        self._check_deadline(now)
        self.hold_started_at = now
        return []

    def hold_end(self, now: float, hold_s: float = HOLD_S) -> list[Effect]:
        """The press was released: confirms if it lasted `hold_s` (server clock), else nothing happens."""
        self._require(State.AWAITING)
        started, self.hold_started_at = self.hold_started_at, None
        if started is None or now - started < hold_s:
            raise CheckoutError("hold_too_short", f"hold for {hold_s:g} s to confirm")
        return self.confirm(now)

    def confirm(self, now: float) -> list[Effect]:
        self._require(State.AWAITING)
        self._check_deadline(now)
        self._to(State.PAYING, now)
        self.paying_since = now
        return [Charge(self.total_minor, self.currency, f"checkout:{self.id}")]

    def _check_deadline(self, now: float) -> None:
        if now >= self.deadline:
            raise CheckoutError("checkout_expired", "the time to confirm has run out; open checkout again")

    def cancel(self, now: float) -> list[Effect]:
        self._require(State.AWAITING)
        self._to(State.CANCELLED, now, "cancelled")
        return [Release()]

    def expire(self, now: float) -> list[Effect]:
        """The sweeper: an unconfirmed checkout past its deadline, or one stuck reserving (a crash)."""
        if self.state in (State.AWAITING, State.RESERVING) and now >= self.deadline:
            self._to(State.EXPIRED, now, "expired")
            return [Release()]
        if self.state is State.PAYING and self.paying_since is not None and now >= self.paying_since + PAYMENT_WINDOW_S:
            self._to(State.DECLINED, now, "payment_timeout")
            return [Void(f"checkout:{self.id}"), Release()]
        return []

    # ------------------------------------------------------------------ outcomes of Charge
    def paid(self, now: float, intent: dict[str, Any]) -> list[Effect]:
        self._require(State.PAYING)
        self.payment = dict(intent)
        self._to(State.PLACED, now)
        return [Commit()]

    def declined(self, now: float, reason: str, intent: dict[str, Any] | None = None) -> list[Effect]:
        self._require(State.PAYING)
        self.payment = dict(intent or {})
        self._to(State.DECLINED, now, reason)
        return [Release()]

    def needs_action(self, intent: dict[str, Any]) -> list[Effect]:
        self._require(State.PAYING)
        self.payment = dict(intent)
        return []

    # ------------------------------------------------------------------ persistence
    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["state"] = self.state.value
        data["history"] = [[t, str(s)] for t, s in self.history]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Checkout:
        data = dict(data)
        data["lines"] = [Line(**line) for line in data["lines"]]
        data["state"] = State(data["state"])
        data["history"] = [(t, s) for t, s in data["history"]]
        return cls(**data)

    def view(self) -> dict[str, Any]:
        """What the shopper sees (no payment-provider internals)."""
        return {
            "id": self.id, "state": self.state.value, "reason": self.reason,
            "lines": [asdict(li) | {"total_minor": li.total_minor} for li in self.lines],
            "currency": self.currency, "goods_minor": self.goods_minor, "shipping_minor": self.shipping_minor,
            "discount_minor": self.discount_minor, "coupon": self.coupon,
            "total_minor": self.total_minor, "deadline": self.deadline, "delivery": self.delivery,
            "payment_method": self.payment_method, "payment_status": self.payment.get("status"),
            "hold_s": HOLD_S, "holding": self.hold_started_at is not None,
            "group_bag": self.bag_key.removeprefix("group:") if self.bag_key else None,
        }
