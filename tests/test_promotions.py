"""Coupons, treasure hunts and referral rewards on both storage backends: each is exact and abuse-proof."""

from __future__ import annotations

import asyncio

import pytest

from server.commerce.catalog import load_catalog
from server.commerce.checkout import HOLD_S
from server.commerce.payments import TestProvider
from server.commerce.shop import Shop, ShopError
from server.promotions.coupons import CouponBook
from server.promotions.hunts import HuntService, HuntWatcher, Seat, coupon_code
from server.promotions.referrals import DIRECT_REWARD_MINOR, SECOND_REWARD_MINOR, Referrals
from server.scenes.loader import load_scene
from tests.storage_backends import storage  # noqa: F401  (the fixture)
from tests.support import Clock

JACKET = ("digital-aurora-jacket", "aurora")  # 15.00 EUR, virtual: no delivery needed


@pytest.fixture
async def shop(storage):  # noqa: F811
    clock = Clock()
    shop = Shop(storage, load_catalog(), TestProvider(storage), clock=clock)
    await shop.seed_stock()
    shop.coupons = CouponBook(storage, clock=clock)
    shop.coupons.checkout_live = shop.checkout_live
    shop.referrals = Referrals(storage, shop.coupons, clock=clock)
    shop.order_listeners.append(shop.referrals.on_order)
    return shop


async def buy(shop: Shop, shopper: str, quantity: int = 2, coupon: str | None = None) -> dict:
    await shop.add_to_bag(shopper, *JACKET, quantity)
    checkout = await shop.open_checkout(shopper, "test_approve", None, coupon=coupon)
    await shop.hold(shopper, checkout["id"], "start")
    shop.clock.t += HOLD_S
    return await shop.hold(shopper, checkout["id"], "end")


async def new(shop: Shop, name: str, address: str) -> str:
    return (await shop.create_shopper(name, address))["shopper_id"]


# ------------------------------------------------------------------ coupons
async def test_a_coupon_takes_its_amount_off_once(shop):
    me = await new(shop, "Ann", "10.0.0.1")
    coupon = await shop.coupons.issue(me, 500, 0, "EUR", 2000, 86400, "owner")
    placed = await buy(shop, me, 2, coupon.code.lower())
    assert placed["state"] == "placed" and placed["discount_minor"] == 500 and placed["total_minor"] == 2500
    order = (await shop.orders(me))[0]
    assert order["discount_minor"] == 500 and order["coupon"] == coupon.code
    assert await shop.payments.captured_minor(f"checkout:{placed['id']}") == 2500
    await shop.add_to_bag(me, *JACKET, 2)
    with pytest.raises(ShopError) as used:
        await shop.open_checkout(me, "test_approve", None, coupon=coupon.code)
    assert used.value.code == "coupon_used"


async def test_coupon_rules_minimum_owner_expiry_products(shop):
    me, other = await new(shop, "Ann", "10.0.0.1"), await new(shop, "Bo", "10.0.0.2")
    await shop.add_to_bag(me, *JACKET, 1)
    cases = [(await shop.coupons.issue(me, 500, 0, "EUR", 2000, 86400, "owner"), "coupon_min_spend"),
             (await shop.coupons.issue(other, 500, 0, "EUR", 0, 86400, "owner"), "coupon_not_yours"),
             (await shop.coupons.issue(me, 500, 0, "EUR", 0, 10, "owner"), "coupon_expired"),
             (await shop.coupons.issue(me, 500, 0, "EUR", 0, 86400, "owner", products=["tv-55"]),
              "coupon_not_applicable")]
    shop.clock.t += 11
    for coupon, code in cases:
        with pytest.raises(ShopError) as refused:
            await shop.open_checkout(me, "test_approve", None, coupon=coupon.code)
        assert refused.value.code == code
    with pytest.raises(ShopError) as unknown:
        await shop.open_checkout(me, "test_approve", None, coupon="NOPE")
    assert unknown.value.code == "coupon_unknown"
    big = await shop.coupons.issue(me, 99999, 0, "EUR", 0, 86400, "owner")
    checkout = await shop.open_checkout(me, "test_approve", None, coupon=big.code)
    assert checkout["total_minor"] == 0  # never below nothing
    await shop.cancel(me, checkout["id"])
    percent = await shop.coupons.issue(None, 0, 20, "EUR", 0, 86400, "owner", uses=5)
    assert (await shop.open_checkout(me, "test_approve", None, coupon=percent.code))["discount_minor"] == 300


async def test_two_checkouts_racing_for_one_coupon_one_gets_it_and_a_cancelled_one_frees_it(shop):
    me = await new(shop, "Ann", "10.0.0.1")
    coupon = await shop.coupons.issue(me, 500, 0, "EUR", 0, 86400, "owner")
    await shop.add_to_bag(me, *JACKET, 1)
    results = await asyncio.gather(*(shop.open_checkout(me, "test_approve", None, coupon=coupon.code)
                                     for _ in range(4)), return_exceptions=True)
    won = [r for r in results if isinstance(r, dict)]
    assert len(won) == 1 and all(r.code == "coupon_in_use" for r in results if isinstance(r, Exception))
    await shop.cancel(me, won[0]["id"])
    again = await shop.open_checkout(me, "test_approve", None, coupon=coupon.code)
    assert again["discount_minor"] == 500


# ------------------------------------------------------------------ treasure hunts
def test_the_watcher_finds_items_only_where_the_server_saw_the_head():
    hunt = load_scene("boutique").hunts[0]
    watcher = HuntWatcher(lambda store: [hunt] if store == "boutique" else [])
    item = hunt.items[0]
    far = Seat("main", "boutique", 1, "s_ann", (item.at[0] + 3.0, item.at[1]))
    assert watcher.step([far]) == []
    near = Seat("main", "boutique", 1, "s_ann", (item.at[0] + 0.5, item.at[1] - 0.5))
    finds = watcher.step([near, Seat("r2", "space-market", 2, "s_bo", item.at)])
    assert [(f.shopper, f.item) for f in finds] == [("s_ann", item.id)]
    assert watcher.step([near]) == []  # found once


async def test_finding_every_item_awards_the_coupon_once(shop):
    me = await new(shop, "Ann", "10.0.0.1")
    hunt = load_scene("boutique").hunts[0]
    hunts = HuntService(shop.storage, shop.coupons, lambda store: [hunt])
    for n, item in enumerate(hunt.items[:-1], start=1):
        assert await hunts.record(me, "boutique", hunt, item.id) == (n, None)
    results = await asyncio.gather(*(hunts.record(me, "boutique", hunt, hunt.items[-1].id) for _ in range(3)))
    codes = {c.code for _, c in results}
    assert codes == {coupon_code(me, "boutique", hunt.id)} and all(n == len(hunt.items) for n, _ in results)
    assert [c.code for c in await shop.coupons.mine(me)] == [coupon_code(me, "boutique", hunt.id)]
    progress = await hunts.progress(me, "boutique")
    assert progress[0]["found"] == len(hunt.items) and progress[0]["coupon"]["usable"]
    assert all("at" not in item for item in progress[0]["items"])  # hints, never positions
    placed = await buy(shop, me, 3, coupon_code(me, "boutique", hunt.id))
    assert placed["discount_minor"] == hunt.reward_minor


# ------------------------------------------------------------------ referrals
async def test_the_first_paid_order_rewards_two_levels_once(shop):
    top = await new(shop, "Top", "10.0.0.1")
    ann = await new(shop, "Ann", "10.0.0.2")
    await shop.referrals.attach(ann, await shop.referrals.code_for(top))
    ben = await new(shop, "Ben", "10.0.0.3")
    link = await shop.referrals.attach(ben, await shop.referrals.code_for(ann))
    assert link["inviter"] == ann and link["second"] == top
    cy = await new(shop, "Cy", "10.0.0.4")
    await shop.referrals.attach(cy, await shop.referrals.code_for(ben))  # three levels up from Cy: Top gets nothing

    await buy(shop, ben)
    assert (await shop.referrals.summary(ann))["balance_minor"] == DIRECT_REWARD_MINOR
    await buy(shop, ben)  # a second order earns nothing more
    await buy(shop, cy)
    # Ann: direct for Ben, second level for Cy; Top: second level for Ben, nothing for Cy (three levels up)
    assert (await shop.referrals.summary(ann))["balance_minor"] == DIRECT_REWARD_MINOR + SECOND_REWARD_MINOR
    assert (await shop.referrals.summary(top))["balance_minor"] == SECOND_REWARD_MINOR
    assert (await shop.referrals.summary(ben))["balance_minor"] == DIRECT_REWARD_MINOR
    summary = await shop.referrals.summary(ann)
    assert {r["kind"] for r in summary["rewards"]} == {"referral_direct", "referral_second"}
    assert summary["invited"] == 1 and "no third level" in summary["terms"]


async def test_self_referral_and_repeated_events_earn_nothing(shop):
    ann = await new(shop, "Ann", "10.0.0.1")
    me_again = await new(shop, "Ann2", "10.0.0.1")  # a second identity from the same address
    await shop.referrals.attach(me_again, await shop.referrals.code_for(ann))
    assert await shop.referrals.attach(ann, await shop.referrals.code_for(ann)) is None  # own code: ignored
    order = await buy(shop, me_again)
    assert (await shop.referrals.summary(ann))["balance_minor"] == 0
    bo = await new(shop, "Bo", "10.0.0.9")
    await shop.referrals.attach(bo, await shop.referrals.code_for(ann))
    await buy(shop, bo)
    placed = (await shop.orders(bo))[0]
    for _ in range(3):  # the event replayed (a retry, another process): still one reward
        await shop.referrals.on_order("placed", placed)
    assert (await shop.referrals.summary(ann))["balance_minor"] == DIRECT_REWARD_MINOR
    assert order["state"] == "placed"


async def test_a_refund_claws_the_reward_back(shop):
    ann = await new(shop, "Ann", "10.0.0.1")
    bo = await new(shop, "Bo", "10.0.0.2")
    await shop.referrals.attach(bo, await shop.referrals.code_for(ann))
    order = await buy(shop, bo)
    [reward] = await shop.coupons.mine(ann)
    assert reward.view()["usable"]
    await shop.refund(order["id"])
    await shop.refund(order["id"])  # a retried refund does not claw back twice
    summary = await shop.referrals.summary(ann)
    assert summary["balance_minor"] == 0 and [r["kind"] for r in summary["rewards"]].count("clawback") == 1
    assert not (await shop.coupons.mine(ann))[0].view()["usable"]
