"""Buying, end to end on the shop service, on both storage backends: bag, checkout, hold-to-confirm timed by
the server, payment outcomes, orders, wardrobe, refunds, expiry and crashes; the race and retry proofs."""

from __future__ import annotations

import asyncio

import pytest

from server.commerce.catalog import load_catalog
from server.commerce.checkout import CONFIRM_WINDOW_S, HOLD_S, PAYMENT_WINDOW_S
from server.commerce.payments import TestProvider
from server.commerce.shop import Shop, ShopError, sku_of
from tests.storage_backends import storage  # noqa: F401  (the fixture)

PICKUP = {"type": "pickup", "store": "boutique"}


class Clock:
    def __init__(self) -> None:
        self.t = 1_000_000.0

    def __call__(self) -> float:
        return self.t


@pytest.fixture
async def shop(storage):  # noqa: F811
    shop = Shop(storage, load_catalog(), TestProvider(storage), clock=Clock())
    await shop.seed_stock()
    return shop


def first_variant(shop: Shop, product_id: str) -> str:
    return shop.catalog.get(product_id).variants[0].id


async def buy(shop: Shop, shopper: str, checkout_id: str) -> dict:
    await shop.hold(shopper, checkout_id, "start")
    shop.clock.t += HOLD_S
    return await shop.hold(shopper, checkout_id, "end")


async def test_a_shopper_buys_a_physical_and_a_virtual_item(shop):
    me = (await shop.create_shopper("Ann"))["shopper_id"]
    tv, skin = first_variant(shop, "tv-55"), first_variant(shop, "digital-aurora-jacket")
    await shop.add_to_bag(me, "tv-55", tv, 1)
    bag = await shop.add_to_bag(me, "digital-aurora-jacket", skin, 2)
    assert bag["total_minor"] == 119900 + 2 * 1500 and bag["currency"] == "EUR"
    with pytest.raises(ShopError) as no_delivery:
        await shop.open_checkout(me, "test_approve", None)
    assert no_delivery.value.code == "delivery_needed"
    checkout = await shop.open_checkout(me, "test_approve", PICKUP)
    assert checkout["state"] == "awaiting_confirmation" and checkout["total_minor"] == 122900
    assert (await shop.storage.stock([sku_of("tv-55", tv)]))[sku_of("tv-55", tv)] == 3  # held for the shopper
    placed = await buy(shop, me, checkout["id"])
    assert placed["state"] == "placed"
    orders = await shop.orders(me)
    assert [o["id"] for o in orders] == [checkout["id"]] and orders[0]["total_minor"] == 122900
    assert (await shop.bag(me))["lines"] == []
    assert [i["product_id"] for i in (await shop.wardrobe(me))["items"]] == ["digital-aurora-jacket"]
    refunded = await shop.refund(checkout["id"])
    assert refunded["state"] == "refunded" and (await shop.wardrobe(me))["items"] == []
    assert (await shop.storage.stock([sku_of("tv-55", tv)]))[sku_of("tv-55", tv)] == 4
    assert await shop.payments.captured_minor(f"checkout:{checkout['id']}") == 0
    assert (await shop.refund(checkout["id"]))["state"] == "refunded"  # once


async def test_a_short_hold_a_changed_bag_and_a_late_confirmation_place_nothing(shop):
    me = (await shop.create_shopper("Bo"))["shopper_id"]
    await shop.add_to_bag(me, "digital-fairy-wings", first_variant(shop, "digital-fairy-wings"), 1)
    checkout = await shop.open_checkout(me, "test_approve", None)
    await shop.hold(me, checkout["id"], "start")
    shop.clock.t += HOLD_S / 3
    with pytest.raises(ShopError) as short:
        await shop.hold(me, checkout["id"], "end")
    assert short.value.code == "hold_too_short"
    await shop.add_to_bag(me, "digital-nebula-sneakers", first_variant(shop, "digital-nebula-sneakers"), 1)
    await shop.hold(me, checkout["id"], "start")
    shop.clock.t += HOLD_S
    with pytest.raises(ShopError) as changed:
        await shop.hold(me, checkout["id"], "end")
    assert changed.value.code == "bag_changed"
    wings = sku_of("digital-fairy-wings", first_variant(shop, "digital-fairy-wings"))
    assert (await shop.storage.stock([wings]))[wings] == 499
    shop.clock.t += CONFIRM_WINDOW_S  # the deadline passes: the sweeper returns the stock at once
    assert await shop.sweep() == 1
    assert (await shop.checkout(me, checkout["id"]))["state"] == "expired"
    assert (await shop.storage.stock([wings]))[wings] == 500
    assert await shop.orders(me) == []


async def test_declines_and_cancellations_put_the_stock_back(shop):
    me = (await shop.create_shopper("Cy"))["shopper_id"]
    sku = sku_of("fridge-retro", first_variant(shop, "fridge-retro"))
    for method, end in (("test_decline", "declined"), ("test_insufficient_funds", "declined")):
        await shop.add_to_bag(me, "fridge-retro", first_variant(shop, "fridge-retro"), 1)
        checkout = await shop.open_checkout(me, method, PICKUP)
        assert (await shop.storage.stock([sku]))[sku] == 2
        result = await buy(shop, me, checkout["id"])
        assert result["state"] == end and result["reason"] in ("card_declined", "insufficient_funds")
        assert (await shop.storage.stock([sku]))[sku] == 3
        await shop.set_quantity(me, (await shop.bag(me))["lines"][0]["line_id"], 0)
    await shop.add_to_bag(me, "fridge-retro", first_variant(shop, "fridge-retro"), 3)
    checkout = await shop.open_checkout(me, "test_approve", PICKUP)
    assert (await shop.storage.stock([sku]))[sku] == 0
    assert (await shop.cancel(me, checkout["id"]))["state"] == "cancelled"
    assert (await shop.storage.stock([sku]))[sku] == 3
    with pytest.raises(ShopError):
        await shop.cancel(me, checkout["id"])


async def test_a_payment_that_needs_an_extra_step_and_one_that_recovers_after_a_retry(shop):
    me = (await shop.create_shopper("Di"))["shopper_id"]
    wings = first_variant(shop, "digital-fairy-wings")
    await shop.add_to_bag(me, "digital-fairy-wings", wings, 1)
    checkout = await shop.open_checkout(me, "test_needs_action", None)
    paying = await buy(shop, me, checkout["id"])
    assert paying["state"] == "paying" and paying["payment_status"] == "requires_action"
    assert (await shop.payment_action(me, checkout["id"], "000000"))["state"] == "placed"
    await shop.add_to_bag(me, "digital-fairy-wings", wings, 1)
    checkout = await shop.open_checkout(me, "test_approve_after_retry", None)
    assert (await buy(shop, me, checkout["id"]))["state"] == "paying"  # the provider did not answer
    shop.clock.t += PAYMENT_WINDOW_S / 2  # still within the payment window
    await shop.storage.extend(checkout["id"], shop.clock.t - 1)  # due for the sweeper now
    await shop.sweep()  # which retries the charge with the same key
    assert (await shop.checkout(me, checkout["id"]))["state"] == "placed"
    assert await shop.payments.captured_minor(f"checkout:{checkout['id']}") == 1200


async def test_a_provider_that_never_answers_is_voided_and_the_stock_returns(shop):
    me = (await shop.create_shopper("Ed"))["shopper_id"]
    sku = sku_of("tv-55", first_variant(shop, "tv-55"))
    await shop.add_to_bag(me, "tv-55", first_variant(shop, "tv-55"), 2)
    checkout = await shop.open_checkout(me, "test_timeout", PICKUP)
    assert (await buy(shop, me, checkout["id"]))["state"] == "paying"
    shop.clock.t += PAYMENT_WINDOW_S + CONFIRM_WINDOW_S + 1
    await shop.sweep()
    view = await shop.checkout(me, checkout["id"])
    assert view["state"] == "declined" and view["reason"] == "payment_timeout"
    assert (await shop.storage.stock([sku]))[sku] == 4
    assert await shop.payments.captured_minor(f"checkout:{checkout['id']}") == 0


async def test_a_server_killed_between_reservation_and_payment_gives_the_stock_back(shop, storage):  # noqa: F811
    me = (await shop.create_shopper("Fa"))["shopper_id"]
    sku = sku_of("laptop-14", first_variant(shop, "laptop-14"))
    await shop.add_to_bag(me, "laptop-14", first_variant(shop, "laptop-14"), 2)
    await shop.open_checkout(me, "test_approve", PICKUP)
    assert (await storage.stock([sku]))[sku] == 4
    del shop  # the process dies; a new one starts on the same storage
    restarted = Shop(storage, load_catalog(), TestProvider(storage), clock=Clock())
    restarted.clock.t += CONFIRM_WINDOW_S + PAYMENT_WINDOW_S + 1
    assert await restarted.sweep() == 1
    assert (await storage.stock([sku]))[sku] == 6


async def test_a_thousand_shoppers_race_for_the_last_ten_units(shop):
    product = "headphones-anc"
    variant = first_variant(shop, product)
    sku = sku_of(product, variant)
    await shop.storage.set_stock(sku, 10)
    shoppers = [f"s{i}" for i in range(1000)]
    for shopper in shoppers:  # bags written directly: the race is about checkout
        await shop.storage.put("bag", shopper, {"lines": [{"line_id": "l1", "product_id": product,
                                                           "variant_id": variant, "quantity": 1}]}, 0)

    async def attempt(shopper: str) -> str:
        checkout = await shop.open_checkout(shopper, "test_approve", PICKUP)
        if checkout["state"] != "awaiting_confirmation":
            return checkout["state"]
        return (await shop.confirm(shopper, checkout["id"]))["state"]  # as the gesture recogniser does

    results = await asyncio.gather(*(attempt(s) for s in shoppers))
    assert results.count("placed") == 10 and results.count("failed") == 990
    assert (await shop.storage.stock([sku]))[sku] == 0
    orders = [o for s in shoppers for o in await shop.orders(s)]
    assert len(orders) == 10
    charged = [await shop.payments.captured_minor(f"checkout:{o['id']}") for o in orders]
    assert charged == [29900] * 10


async def test_a_hundred_retries_of_one_payment_charge_once(shop):
    me = (await shop.create_shopper("Gu"))["shopper_id"]
    await shop.add_to_bag(me, "smartphone-x", first_variant(shop, "smartphone-x"), 1)
    checkout = await shop.open_checkout(me, "test_approve", PICKUP)
    await shop.hold(me, checkout["id"], "start")
    shop.clock.t += HOLD_S

    async def retry(i: int) -> tuple[int, dict]:
        async def run():
            return 200, await shop.hold(me, checkout["id"], "end")
        try:
            return await shop.idempotent(me, "pay-once", {"checkout": checkout["id"], "action": "end"}, run)
        except ShopError as exc:
            return exc.status, {"code": exc.code}

    answers = await asyncio.gather(*(retry(i) for i in range(100)))
    finals = [body for status, body in answers if status == 200]
    assert finals and all(b["state"] == "placed" for b in finals)
    assert {status for status, _ in answers} <= {200, 409}  # 409: the first was still running
    assert await shop.payments.captured_minor(f"checkout:{checkout['id']}") == 79900
    assert len(await shop.orders(me)) == 1
    with pytest.raises(ShopError) as reused:
        await shop.idempotent(me, "pay-once", {"checkout": checkout["id"], "action": "start"}, retry)
    assert reused.value.status == 422


async def test_bag_rules(shop):
    me = (await shop.create_shopper("Ho"))["shopper_id"]
    with pytest.raises(ShopError) as unknown:
        await shop.add_to_bag(me, "tv-55", "no-such-variant", 1)
    assert unknown.value.status == 404
    for qty in (0, 11):
        with pytest.raises(ShopError):
            await shop.add_to_bag(me, "tv-55", first_variant(shop, "tv-55"), qty)
    with pytest.raises(ShopError) as short:
        await shop.add_to_bag(me, "tv-55", first_variant(shop, "tv-55"), 5)
    assert short.value.code == "out_of_stock"
    with pytest.raises(ShopError) as empty:
        await shop.open_checkout(me, "test_approve", PICKUP)
    assert empty.value.code == "bag_empty"
    with pytest.raises(ShopError):
        await shop.open_checkout(me, "visa-4242", PICKUP)
    with pytest.raises(ShopError) as who:
        await shop.authenticate("s_x.wrong")
    assert who.value.status == 401
