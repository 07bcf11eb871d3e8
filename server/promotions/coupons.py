"""Coupons: issued by a treasure hunt, a referral reward or the store owner; applied at checkout, redeemed once.

The rules are plain functions of the coupon and the lines (`discount_for`); `CouponBook` keeps coupons on
storage (kind `coupon`, indexed by owner) and moves each one through claim -> redeem with compare-and-set:
opening a checkout with a coupon **claims** it for that checkout (a second checkout cannot use it while the
first is live), placing the order **redeems** it (one use gone, exactly once per order), and a checkout that
ends otherwise leaves it free again (a claim by a finished checkout counts for nothing).
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from server.commerce.checkout import Line
from server.commerce.shop import ShopError
from server.storage import Storage, VersionConflict

CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"


class CouponError(ShopError):
    pass


@dataclass
class Coupon:
    code: str
    owner: str | None  # the shopper it belongs to; None: anyone with the code
    amount_minor: int  # a fixed amount off ...
    percent: int  # ... or a percentage of the eligible goods (one of the two is 0)
    currency: str
    min_spend_minor: int  # goods total (before the discount) needed
    expires_at: float
    products: list[str] | None  # only these products count (None: every product)
    uses_left: int
    source: str  # "hunt:<id>", "referral:<invitee>:<level>", "owner"
    created_at: float
    held_by: str | None = None  # the checkout that claimed it
    used_by: list[str] = field(default_factory=list)  # orders it was redeemed in
    revoked: bool = False

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Coupon:
        return cls(**data)

    def view(self) -> dict[str, Any]:
        return {"code": self.code, "amount_minor": self.amount_minor, "percent": self.percent,
                "currency": self.currency, "min_spend_minor": self.min_spend_minor, "expires_at": self.expires_at,
                "products": self.products, "uses_left": 0 if self.revoked else self.uses_left, "source": self.source,
                "usable": not self.revoked and self.uses_left > 0}


def discount_for(coupon: Coupon, lines: list[Line], currency: str, shopper: str, now: float) -> int:
    """The discount (minor units) this coupon gives these lines, or CouponError saying why it does not apply."""
    if coupon.owner is not None and coupon.owner != shopper:
        raise CouponError(403, "coupon_not_yours", "this coupon belongs to someone else")
    if coupon.revoked or coupon.uses_left <= 0:
        raise CouponError(409, "coupon_used", "this coupon has been used")
    if now >= coupon.expires_at:
        raise CouponError(410, "coupon_expired", "this coupon has expired")
    if coupon.currency != currency:
        raise CouponError(409, "coupon_not_applicable", f"this coupon is in {coupon.currency}")
    goods = sum(li.total_minor for li in lines)
    if goods < coupon.min_spend_minor:
        raise CouponError(409, "coupon_min_spend", f"spend at least {coupon.min_spend_minor / 100:.2f} "
                                                   f"{coupon.currency} to use this coupon")
    eligible = sum(li.total_minor for li in lines if coupon.products is None or li.product_id in coupon.products)
    if eligible == 0:
        raise CouponError(409, "coupon_not_applicable", "this coupon is for other products")
    off = coupon.amount_minor if coupon.amount_minor else eligible * coupon.percent // 100
    return min(off, eligible)  # never more than what it applies to: a total never goes below the shipping


class CouponBook:
    def __init__(self, storage: Storage, clock: Callable[[], float] = time.time) -> None:
        self.storage, self.clock = storage, clock
        # Is a checkout still live (holding its claim)? Set by the shop: a checkout id -> bool.
        self.checkout_live: Callable[[str], Awaitable[bool]] | None = None

    async def get(self, code: str) -> tuple[int, Coupon]:
        doc = await self.storage.get("coupon", code.strip().upper()[:32])
        if doc is None:
            raise CouponError(404, "coupon_unknown", "no such coupon code")
        return doc.version, Coupon.from_dict(doc.value)

    async def issue(self, owner: str | None, amount_minor: int, percent: int, currency: str, min_spend_minor: int,
                    valid_s: float, source: str, products: list[str] | None = None, uses: int = 1,
                    code: str | None = None) -> Coupon:
        """A new coupon; with `code` (derived from its source by the caller) issuing twice gives the first."""
        code = code or "C-" + "".join(secrets.choice(CODE_ALPHABET) for _ in range(8))
        now = self.clock()
        coupon = Coupon(code, owner, amount_minor, percent, currency, min_spend_minor, now + valid_s, products, uses,
                        source, now)
        try:
            await self.storage.put("coupon", code, coupon.to_dict(), 0, owner=owner or "anyone")
        except VersionConflict:
            return (await self.get(code))[1]
        return coupon

    async def mine(self, shopper: str) -> list[Coupon]:
        found = []
        for code in await self.storage.owned("coupon", shopper):
            try:
                found.append((await self.get(code))[1])
            except CouponError:
                continue
        return found

    async def quote(self, code: str, lines: list[Line], currency: str, shopper: str) -> int:
        _, coupon = await self.get(code)
        await self._check_claim(coupon, None)
        return discount_for(coupon, lines, currency, shopper, self.clock())

    async def _check_claim(self, coupon: Coupon, checkout_id: str | None) -> None:
        if coupon.held_by and coupon.held_by != checkout_id and self.checkout_live is not None \
                and await self.checkout_live(coupon.held_by):
            raise CouponError(409, "coupon_in_use", "this coupon is held by another open checkout")

    async def _edit(self, code: str, change: Callable[[Coupon], None]) -> Coupon:
        for _ in range(50):
            version, coupon = await self.get(code)
            change(coupon)
            try:
                await self.storage.put("coupon", coupon.code, coupon.to_dict(), version)
                return coupon
            except VersionConflict:
                continue
        raise CouponError(409, "coupon_busy", "the coupon is changing; try again")

    async def claim(self, code: str, checkout_id: str, lines: list[Line], currency: str, shopper: str) -> int:
        """Hold the coupon for this checkout; its discount. Refused while another live checkout holds it."""
        for _ in range(50):
            version, coupon = await self.get(code)
            await self._check_claim(coupon, checkout_id)
            off = discount_for(coupon, lines, currency, shopper, self.clock())
            coupon.held_by = checkout_id
            try:
                await self.storage.put("coupon", coupon.code, coupon.to_dict(), version)
                return off
            except VersionConflict:
                continue
        raise CouponError(409, "coupon_busy", "the coupon is changing; try again")

    async def redeem(self, code: str, checkout_id: str, order_id: str) -> None:
        """The order was placed: one use is spent, once per order (a retry changes nothing)."""
        def spend(coupon: Coupon) -> None:
            if order_id in coupon.used_by:
                return
            coupon.used_by.append(order_id)
            coupon.uses_left = max(0, coupon.uses_left - 1)
            if coupon.held_by == checkout_id:
                coupon.held_by = None
        await self._edit(code, spend)

    async def revoke(self, code: str) -> bool:
        """Take an unused coupon back (a referral reward whose order was refunded); False if it was used."""
        result = {"unused": False}

        def take_back(coupon: Coupon) -> None:
            result["unused"] = not coupon.used_by
            if not coupon.used_by:
                coupon.revoked = True
        await self._edit(code, take_back)
        return result["unused"]
