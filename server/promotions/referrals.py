"""Referral rewards ("2+1", kept lawful): an invite link credits its inviter when the invited shopper's first
order is paid, and the inviter's own inviter a smaller amount; never deeper than that.

- A shopper is linked to an inviter only when the shopper is created (`POST /api/shoppers` with `ref`), so a
  loop is impossible: an inviter always existed before the shopper they invited.
- Self-referral: a new shopper created from the same network address as their inviter is linked but never
  rewarded (the address is kept only as a hash in the shopper record).
- A reward is a coupon for the beneficiary plus a ledger entry, both written create-only under keys derived from
  the invitee and the level, so a retried or repeated order event rewards once. Only the first paid order of an
  invitee counts (one `ref_reward` document per invitee, ever).
- A refund of that order claws the reward back: an unused coupon is revoked; a used one leaves a negative
  ledger entry. Either way the ledger shows it.
"""

from __future__ import annotations

import contextlib
import hashlib
import secrets
import time
from collections.abc import Callable
from typing import Any

from server.promotions.coupons import CODE_ALPHABET, CouponBook
from server.storage import Storage, VersionConflict

DIRECT_REWARD_MINOR = 500
SECOND_REWARD_MINOR = 200
REWARD_MIN_SPEND_MINOR = 2000
REWARD_VALID_DAYS = 90
TERMS = (f"Share your link. When someone who opened it makes their first purchase and it is paid, you get a "
         f"{DIRECT_REWARD_MINOR / 100:.2f} EUR coupon, and whoever invited you gets "
         f"{SECOND_REWARD_MINOR / 100:.2f} EUR. That is all: there is no third level, nobody pays to join, and "
         f"rewards come only from real purchases. Coupons are for orders of at least "
         f"{REWARD_MIN_SPEND_MINOR / 100:.2f} EUR and last {REWARD_VALID_DAYS} days. If that first purchase is "
         f"refunded, the reward is taken back. Inviting yourself earns nothing.")


def _derived(prefix: str, text: str) -> str:
    return prefix + hashlib.sha256(text.encode()).hexdigest()[:10].upper()


class Referrals:
    def __init__(self, storage: Storage, coupons: CouponBook, clock: Callable[[], float] = time.time) -> None:
        self.storage, self.coupons, self.clock = storage, coupons, clock

    async def code_for(self, shopper: str) -> str:
        doc = await self.storage.get("ref_of", shopper)
        if doc is not None:
            return doc.value["code"]
        code = "R" + "".join(secrets.choice(CODE_ALPHABET) for _ in range(7))
        await self.storage.put("ref_code", code, {"shopper": shopper}, 0)
        try:
            await self.storage.put("ref_of", shopper, {"code": code}, 0)
        except VersionConflict:  # made at the same moment elsewhere: that one counts
            await self.storage.delete("ref_code", code)
            return (await self.storage.get("ref_of", shopper)).value["code"]
        return code

    async def attach(self, shopper: str, code: str) -> dict[str, Any] | None:
        """Link a just-created shopper to the inviter of `code`; None for an unknown code (ignored)."""
        found = await self.storage.get("ref_code", code.strip().upper()[:16])
        if found is None or found.value["shopper"] == shopper:
            return None
        inviter = found.value["shopper"]
        mine = await self.storage.get("shopper", shopper)
        theirs = await self.storage.get("shopper", inviter)
        same_place = bool(mine and theirs and mine.value.get("created_from")
                          and mine.value.get("created_from") == theirs.value.get("created_from"))
        upstream = await self.storage.get("referral", inviter)
        second = upstream.value["inviter"] if upstream else None
        link = {"inviter": inviter, "second": second if second != shopper else None, "at": self.clock(),
                "self_suspected": same_place}
        try:
            await self.storage.put("referral", shopper, link, 0, owner=inviter)
        except VersionConflict:
            return (await self.storage.get("referral", shopper)).value  # linked once, at creation
        return link

    def _levels(self, link: dict[str, Any]) -> list[tuple[int, str, int]]:
        levels = [(1, link["inviter"], DIRECT_REWARD_MINOR)]
        if link.get("second"):
            levels.append((2, link["second"], SECOND_REWARD_MINOR))
        return levels

    async def on_order(self, event: str, order: dict[str, Any]) -> None:
        """The shop's order listener: reward on the first paid order, claw back on its refund."""
        invitee = order["shopper_id"]
        doc = await self.storage.get("referral", invitee)
        if doc is None or doc.value.get("self_suspected"):
            return
        link = doc.value
        if event == "placed":
            try:
                await self.storage.put("ref_reward", invitee, {"order": order["id"], "at": self.clock()}, 0)
            except VersionConflict:
                rewarded = await self.storage.get("ref_reward", invitee)
                if rewarded is None or rewarded.value["order"] != order["id"]:
                    return  # not the first order: the reward was for another one
            for level, beneficiary, amount in self._levels(link):
                coupon = await self.coupons.issue(beneficiary, amount, 0, order.get("currency", "EUR"),
                                                  REWARD_MIN_SPEND_MINOR, REWARD_VALID_DAYS * 86400.0,
                                                  f"referral:{invitee}:{level}",
                                                  code=_derived("F-", f"{invitee}:{level}"))
                await self._entry(f"ref:{invitee}:{level}", beneficiary, {
                    "kind": "referral_direct" if level == 1 else "referral_second", "amount_minor": amount,
                    "order": order["id"], "coupon": coupon.code})
        elif event == "refunded":
            rewarded = await self.storage.get("ref_reward", invitee)
            if rewarded is None or rewarded.value["order"] != order["id"]:
                return
            for level, beneficiary, amount in self._levels(link):
                code = _derived("F-", f"{invitee}:{level}")
                unused = await self.coupons.revoke(code)
                await self._entry(f"ref-back:{invitee}:{level}", beneficiary, {
                    "kind": "clawback", "amount_minor": -amount, "order": order["id"], "coupon": code,
                    "how": "coupon revoked" if unused else "coupon already used: owed"})

    async def _entry(self, key: str, owner: str, entry: dict[str, Any]) -> None:
        with contextlib.suppress(VersionConflict):  # written before: a ledger entry exists once
            await self.storage.put("ledger", key, entry | {"id": key, "at": self.clock()}, 0, owner=owner)

    async def summary(self, shopper: str) -> dict[str, Any]:
        entries = []
        for key in await self.storage.owned("ledger", shopper):
            doc = await self.storage.get("ledger", key)
            if doc is not None:
                entries.append({k: v for k, v in doc.value.items() if k != "id"})
        code = await self.code_for(shopper)
        return {"code": code, "link": f"/?ref={code}", "terms": TERMS,
                "invited": len(await self.storage.owned("referral", shopper)), "rewards": entries,
                "balance_minor": sum(e["amount_minor"] for e in entries)}
