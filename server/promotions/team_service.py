"""Team buys on the storage layer: start, join, leave, complete exactly once, expire charging nobody.

- Joining first reserves one unit (reservation `team:<team>:<shopper>`, held past the deadline), then takes
  the place with compare-and-set on the team document; a refused place returns the unit.
- The join that takes the last place moves the team to `completing` in that same write, so exactly one
  request (or the sweeper, after a crash) completes it. Completing charges each member the team price under
  the key `team:<team>:<shopper>` (the provider never charges a key twice), commits their unit and writes
  their order create-only; a declined member is dropped and their unit returned, the others still pay the
  team price. Every outcome is saved per member, so a restart resumes where it stopped.
- The sweeper (each second, in every process) expires open teams at their deadline: one write, then every
  unit goes back; nobody was charged, because charges only happen in `completing`.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import secrets
import time
from collections.abc import Callable
from typing import Any

from server.commerce.checkout import Line
from server.commerce.payments import PaymentUnavailable
from server.commerce.shop import Shop, ShopError, sku_of
from server.promotions.teams import Offer, Team, TeamError, TeamMember
from server.storage import OutOfStock, VersionConflict

log = logging.getLogger(__name__)
# A member's unit stays held this long past the deadline, for completion retries; after that the shop's sweeper
# returns it like any reservation without a checkout (so a crash between reserving and joining leaks nothing).
RESERVATION_SLACK_S = 86400.0
LIVE = "live"  # owner of the `team_live` index documents: teams the sweeper still has to look at


def order_id_for(team_id: str, shopper: str) -> str:
    return "t_" + hashlib.sha256(f"{team_id}:{shopper}".encode()).hexdigest()[:16]


class TeamService:
    def __init__(self, shop: Shop, offers: dict[str, Offer], clock: Callable[[], float] = time.time) -> None:
        self.shop, self.storage, self.offers, self.clock = shop, shop.storage, offers, clock
        self.on_change: Callable[[Team], None] | None = None  # rooms hear of team progress

    def _changed(self, team: Team) -> None:
        if self.on_change is not None:
            try:
                self.on_change(team)
            except Exception:
                log.exception("team listener failed")

    # ------------------------------------------------------------------ reading
    async def load(self, team_id: str) -> tuple[int, Team]:
        doc = await self.storage.get("team", team_id)
        if doc is None:
            raise TeamError(404, "no_such_team", "no such team")
        return doc.version, Team.from_dict(doc.value)

    async def open_teams(self, product_id: str) -> list[Team]:
        """Teams of a product that can still be joined, soonest deadline first."""
        found = []
        for team_id in await self.storage.owned("team_live", f"product:{product_id}"):
            try:
                _, team = await self.load(team_id)
            except TeamError:
                continue
            if team.state == "open" and self.clock() < team.deadline:
                found.append(team)
        return sorted(found, key=lambda t: t.deadline)

    async def mine(self, shopper: str) -> list[Team]:
        teams = []
        for key in await self.storage.owned("team_member", shopper):
            try:
                teams.append((await self.load(key.partition(":")[2]))[1])
            except TeamError:
                continue
        return teams

    # ------------------------------------------------------------------ writing
    async def _edit(self, team_id: str, change: Callable[[Team], Any]) -> tuple[Team, Any]:
        for _ in range(50):
            version, team = await self.load(team_id)
            result = change(team)
            try:
                await self.storage.put("team", team_id, team.to_dict(), version)
            except VersionConflict:
                continue
            self._changed(team)
            return team, result
        raise TeamError(409, "team_busy", "the team is changing; try again")

    def _member(self, team_like: Offer | Team, product_id: str, variant_id: str, shopper: str, name: str,
                payment_method: str, delivery: dict[str, Any] | None, now: float) -> TeamMember:
        if not self.shop.payments.accepts(payment_method):
            raise TeamError(422, "bad_payment_method", "unknown payment method (see docs/COMMERCE.md)")
        product = self.shop.catalog.get(product_id)
        unit = team_like.price_minor if isinstance(team_like, Offer) else team_like.unit_minor
        line = Line(sku_of(product_id, variant_id), product_id, variant_id, product.name, product.kind, 1, unit)
        fixed, shipping = self.shop._delivery([line], delivery, unit)
        return TeamMember(shopper, name, now, payment_method, fixed, shipping)

    async def start(self, shopper: str, product_id: str, variant_id: str, payment_method: str,
                    delivery: dict[str, Any] | None) -> Team:
        offer = self.offers.get(product_id)
        product = self.shop.catalog.get(product_id)
        if offer is None or product is None:
            raise TeamError(404, "no_team_offer", "this product has no team price")
        if product.variant(variant_id) is None:
            raise TeamError(404, "no_such_item", f"no option {variant_id!r} of {product.name}")
        now = self.clock()
        name = (await self.shop.shopper(shopper))["name"] or "Shopper"
        self._member(offer, product_id, variant_id, shopper, name, payment_method, delivery, now)  # checks first
        team = Team("tm_" + secrets.token_urlsafe(9), product_id, variant_id, product.name, product.kind, offer.size,
                    offer.price_minor, product.price_minor, product.currency, now, now + offer.window_s, shopper)
        await self.storage.put("team", team.id, team.to_dict(), 0)
        await self.storage.put("team_live", team.id, {"at": now}, 0, owner=f"product:{product_id}")
        await self.storage.put("team_sweep", team.id, {"deadline": team.deadline}, 0, owner=LIVE)
        return await self.join(team.id, shopper, payment_method, delivery)

    async def join(self, team_id: str, shopper: str, payment_method: str, delivery: dict[str, Any] | None) -> Team:
        _, team = await self.load(team_id)
        now = self.clock()
        if team.member(shopper) is not None:
            return team  # a retry of a join that went through
        name = (await self.shop.shopper(shopper))["name"] or "Shopper"
        member = self._member(team, team.product_id, team.variant_id, shopper, name, payment_method, delivery, now)
        probe = Team.from_dict(team.to_dict())
        probe.join(member, now)  # refuse early (full, expired) before holding a unit
        # One reservation per join (a member who left and comes back holds a new unit); one charge key per member.
        earlier = sum(m.shopper == shopper for m in team.members)
        reservation = member.reservation = f"team:{team_id}:{shopper}:{earlier}"
        try:
            await self.storage.reserve(reservation, {team.sku: 1}, team.deadline + RESERVATION_SLACK_S)
        except OutOfStock:
            raise TeamError(409, "out_of_stock", f"{team.product_name} is sold out") from None
        try:
            team, filled = await self._edit(team_id, lambda t: t.join(member, self.clock()))
        except ShopError:
            await self.storage.release(reservation)
            await self.shop.stock_changed([team.sku])
            raise
        await self._index_member(shopper, team_id)
        await self.shop.stock_changed([team.sku])
        if filled:
            team = await self.complete(team_id)
        return team

    async def _index_member(self, shopper: str, team_id: str) -> None:
        with contextlib.suppress(VersionConflict):  # joined before (left and joined again)
            await self.storage.put("team_member", f"{shopper}:{team_id}", {"team": team_id}, 0, owner=shopper)

    async def leave(self, team_id: str, shopper: str) -> Team:
        team, gone = await self._edit(team_id, lambda t: t.leave(shopper))
        if await self.storage.release(gone.reservation):
            await self.shop.stock_changed([team.sku])
        return team

    # ------------------------------------------------------------------ completion and expiry
    async def complete(self, team_id: str) -> Team:
        """Charge every member still owed a charge; safe to run again and concurrently (keys, CAS, create-only)."""
        _, team = await self.load(team_id)
        if team.state != "completing":
            return team
        for member in [m for m in team.members if m.status == "in"]:
            key = f"team:{team_id}:{member.shopper}"
            amount = team.unit_minor + member.shipping_minor
            try:
                result = await self.shop.payments.charge(key, amount, team.currency, member.payment_method)
            except PaymentUnavailable:
                continue  # the sweeper retries with the same key
            if result.status == "succeeded":
                if not await self._place_order(team, member, key, amount):
                    await self.shop.payments.refund(key, amount)  # no unit to give: the money goes back
                    team, _ = await self._edit(team_id, lambda t, m=member: t.settle(m.shopper, False, None,
                                                                                     "unit_released"))
                    continue
                team, _ = await self._edit(team_id, lambda t, m=member: t.settle(m.shopper, True,
                                                                                 order_id_for(team_id, m.shopper)))
            elif result.status in ("declined", "requires_action"):
                if result.status == "requires_action":
                    await self.shop.payments.void(key)  # a team charge cannot wait for an extra step
                if await self.storage.release(member.reservation):
                    await self.shop.stock_changed([team.sku])
                reason = result.reason or ("needs_action" if result.status == "requires_action" else "declined")
                team, _ = await self._edit(team_id, lambda t, m=member, r=reason: t.settle(m.shopper, False, None, r))
            # pending: asked again on the next sweep
        if team.state == "completed":
            await self._retire(team)
        return team

    async def _place_order(self, team: Team, member: TeamMember, charge_key: str, amount: int) -> bool:
        """Commit the member's unit and write their order (once); False if their unit was no longer held."""
        order_id = order_id_for(team.id, member.shopper)
        if not await self.storage.commit(member.reservation):
            reservation = await self.storage.reservation(member.reservation)
            if reservation is None or reservation.state != "committed":
                log.error("team %s: %s was charged but their unit was not held", team.id, member.shopper)
                return False
        line = {"sku": team.sku, "product_id": team.product_id, "variant_id": team.variant_id,
                "name": team.product_name, "kind": team.kind, "quantity": 1, "unit_minor": team.unit_minor,
                "total_minor": team.unit_minor}
        order = {"id": order_id, "shopper_id": member.shopper, "state": "paid", "placed_at": self.clock(),
                 "lines": [line], "currency": team.currency, "goods_minor": team.unit_minor,
                 "shipping_minor": member.shipping_minor, "total_minor": amount, "delivery": member.delivery,
                 "charge_key": charge_key, "team": team.id}
        try:
            await self.storage.put("order", order_id, order, 0, owner=member.shopper)
        except VersionConflict:
            return True  # placed before
        await self.shop.deliver_virtual(member.shopper, [Line(team.sku, team.product_id, team.variant_id,
                                                              team.product_name, team.kind, 1, team.unit_minor)],
                                        order_id)
        await self.shop.order_event("placed", order)
        return True

    async def _retire(self, team: Team) -> None:
        await self.storage.delete("team_live", team.id)
        await self.storage.delete("team_sweep", team.id)

    async def expire(self, team_id: str) -> Team:
        team, gone = await self._edit(team_id, lambda t: t.expire(self.clock()))
        released = [m for m in gone if await self.storage.release(m.reservation)]
        if released:
            await self.shop.stock_changed([team.sku])
        if team.state == "expired":
            await self._retire(team)
        return team

    async def sweep(self) -> int:
        """Expire teams past their deadline and finish interrupted completions; every process may run it."""
        done = 0
        now = self.clock()
        for team_id in await self.storage.owned("team_sweep", LIVE):
            try:
                _, team = await self.load(team_id)
            except TeamError:
                await self.storage.delete("team_sweep", team_id)
                continue
            if team.state == "open" and now >= team.deadline:
                await self.expire(team_id)
                done += 1
            elif team.state == "completing":
                await self.complete(team_id)
                done += 1
            elif team.state in ("completed", "expired"):
                await self._retire(team)
        return done
