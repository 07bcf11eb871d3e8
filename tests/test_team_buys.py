"""Team buys on both storage backends: a full team completes exactly once at the team price, an unfilled one
charges nobody and returns every unit, the last place goes to one joiner, and the deadline races a join."""

from __future__ import annotations

import asyncio

import pytest

from server.commerce.catalog import load_catalog
from server.commerce.payments import PaymentUnavailable, TestProvider
from server.commerce.shop import Shop, ShopError, sku_of
from server.promotions.team_service import TeamService, order_id_for
from server.promotions.teams import Offer
from tests.storage_backends import storage  # noqa: F401  (the fixture)
from tests.support import Clock

PRODUCT, VARIANT = "digital-aurora-jacket", "aurora"
SKU = sku_of(PRODUCT, VARIANT)


@pytest.fixture
async def teams(storage):  # noqa: F811
    clock = Clock()
    shop = Shop(storage, load_catalog(), TestProvider(storage), clock=clock)
    await shop.seed_stock()
    offers = {PRODUCT: Offer(product=PRODUCT, size=3, price_minor=990, window_s=3600),
              "headphones-anc": Offer(product="headphones-anc", size=2, price_minor=24900, window_s=3600)}
    return TeamService(shop, offers, clock=clock)


async def shoppers(teams: TeamService, n: int) -> list[str]:
    return [(await teams.shop.create_shopper(f"S{i}"))["shopper_id"] for i in range(n)]


async def stock(teams: TeamService, sku: str = SKU) -> int:
    return (await teams.storage.stock([sku]))[sku]


async def charged(teams: TeamService, team_id: str, shopper: str) -> int:
    return await teams.shop.payments.captured_minor(f"team:{team_id}:{shopper}")


async def test_a_full_team_pays_the_team_price_once_each(teams):
    a, b, c = await shoppers(teams, 3)
    before = await stock(teams)
    team = await teams.start(a, PRODUCT, VARIANT, "test_approve", None)
    assert team.state == "open" and team.view()["places_left"] == 2 and await stock(teams) == before - 1
    await teams.join(team.id, b, "test_approve", None)
    assert await charged(teams, team.id, a) == 0  # nobody pays before the team is full
    done = await teams.join(team.id, c, "test_approve", None)
    assert done.state == "completed"
    for who in (a, b, c):
        assert await charged(teams, team.id, who) == 990
        order = (await teams.shop.orders(who))[0]
        assert order["id"] == order_id_for(team.id, who) and order["total_minor"] == 990 and order["team"] == team.id
        assert (await teams.shop.wardrobe(who))["items"][0]["product_id"] == PRODUCT
    assert await stock(teams) == before - 3
    again = await teams.complete(team.id)  # a retry (or a second process) finds nothing left to do
    assert again.state == "completed" and [await charged(teams, team.id, w) for w in (a, b, c)] == [990] * 3
    assert len(await teams.shop.orders(a)) == 1


async def test_an_unfilled_team_charges_nobody_and_returns_every_unit(teams):
    a, b = await shoppers(teams, 2)
    before = await stock(teams)
    team = await teams.start(a, PRODUCT, VARIANT, "test_approve", None)
    await teams.join(team.id, b, "test_approve", None)
    assert await stock(teams) == before - 2
    teams.clock.t = team.deadline - 0.001
    assert await teams.sweep() == 0  # not yet
    teams.clock.t = team.deadline
    assert await teams.sweep() == 1
    _, ended = await teams.load(team.id)
    assert ended.state == "expired" and await stock(teams) == before
    assert [await charged(teams, team.id, w) for w in (a, b)] == [0, 0]
    assert await teams.shop.orders(a) == [] and await teams.sweep() == 0
    with pytest.raises(ShopError) as late:
        await teams.join(team.id, (await shoppers(teams, 1))[0], "test_approve", None)
    assert late.value.code == "team_closed"


async def test_a_join_at_the_deadline_is_too_late(teams):
    a, b, c = await shoppers(teams, 3)
    team = await teams.start(a, PRODUCT, VARIANT, "test_approve", None)
    await teams.join(team.id, b, "test_approve", None)
    teams.clock.t = team.deadline  # the last join and the deadline at the same instant
    with pytest.raises(ShopError) as refused:
        await teams.join(team.id, c, "test_approve", None)
    assert refused.value.code == "team_expired"
    await teams.sweep()
    assert (await teams.load(team.id))[1].state == "expired"
    assert [await charged(teams, team.id, w) for w in (a, b, c)] == [0, 0, 0]


@pytest.mark.parametrize("join_first", [True, False])
async def test_the_last_join_racing_the_deadline_either_fills_or_expires_never_both(teams, join_first):
    a, b, c = await shoppers(teams, 3)
    before = await stock(teams)
    team = await teams.start(a, PRODUCT, VARIANT, "test_approve", None)
    await teams.join(team.id, b, "test_approve", None)
    teams.clock.t = team.deadline - 0.0001
    join = teams.join(team.id, c, "test_approve", None)

    async def expire_at_deadline():
        teams.clock.t = team.deadline
        return await teams.sweep()

    steps = [join, expire_at_deadline()] if join_first else [expire_at_deadline(), join]
    await asyncio.gather(*steps, return_exceptions=True)
    await teams.sweep()
    _, final = await teams.load(team.id)
    paid = [await charged(teams, team.id, w) for w in (a, b, c)]
    if final.state == "completed":
        assert paid == [990, 990, 990] and await stock(teams) == before - 3
    else:
        assert final.state == "expired" and paid == [0, 0, 0] and await stock(teams) == before


async def test_many_joiners_for_the_last_place_one_gets_it(teams):
    a, b, *late = await shoppers(teams, 10)
    before = await stock(teams)
    team = await teams.start(a, PRODUCT, VARIANT, "test_approve", None)
    await teams.join(team.id, b, "test_approve", None)
    results = await asyncio.gather(*(teams.join(team.id, s, "test_approve", None) for s in late),
                                   return_exceptions=True)
    winners = [s for s, r in zip(late, results, strict=True) if not isinstance(r, Exception)]
    assert len(winners) == 1
    assert all(r.code in ("team_full", "team_closed") for r in results if isinstance(r, Exception))
    await teams.sweep()
    _, final = await teams.load(team.id)
    assert final.state == "completed" and len(final.active()) == 3
    assert [await charged(teams, team.id, w) for w in (a, b, *late)].count(990) == 3
    assert await stock(teams) == before - 3  # the losers' units went back


async def test_leaving_before_it_fills_returns_the_unit_and_not_after(teams):
    a, b, c = await shoppers(teams, 3)
    before = await stock(teams)
    team = await teams.start(a, PRODUCT, VARIANT, "test_approve", None)
    await teams.join(team.id, b, "test_approve", None)
    await teams.leave(team.id, b)
    assert await stock(teams) == before - 1
    await teams.join(team.id, b, "test_approve", None)  # back again: a new unit is held
    assert await stock(teams) == before - 2
    await teams.join(team.id, c, "test_approve", None)
    with pytest.raises(ShopError) as closed:
        await teams.leave(team.id, c)
    assert closed.value.code == "team_closed"
    assert await charged(teams, team.id, b) == 990 and await stock(teams) == before - 3


async def test_a_declined_member_is_dropped_and_the_rest_still_pay_the_team_price(teams):
    a, b = await shoppers(teams, 2)
    before = await stock(teams, sku_of("headphones-anc", "black"))
    pickup = {"type": "pickup", "store": "boutique"}
    team = await teams.start(a, "headphones-anc", "black", "test_approve", pickup)
    done = await teams.join(team.id, b, "test_decline", pickup)
    assert done.state == "completed"
    assert await charged(teams, team.id, a) == 24900 and await charged(teams, team.id, b) == 0
    assert {m.shopper: m.status for m in done.members} == {a: "charged", b: "declined"}
    assert await stock(teams, sku_of("headphones-anc", "black")) == before - 1


async def test_a_provider_outage_mid_completion_is_finished_by_the_sweeper_without_charging_twice(teams):
    a, b, c = await shoppers(teams, 3)
    team = await teams.start(a, PRODUCT, VARIANT, "test_approve", None)
    await teams.join(team.id, b, "test_approve", None)
    real = teams.shop.payments.charge
    calls: list[str] = []

    async def flaky(key, amount, currency, method):
        calls.append(key)
        if key.endswith(c):
            raise PaymentUnavailable("down")
        return await real(key, amount, currency, method)

    teams.shop.payments.charge = flaky
    stuck = await teams.join(team.id, c, "test_approve", None)
    assert stuck.state == "completing"
    teams.shop.payments.charge = real
    await teams.sweep()
    await teams.sweep()
    _, final = await teams.load(team.id)
    assert final.state == "completed"
    assert [await charged(teams, team.id, w) for w in (a, b, c)] == [990, 990, 990]
    assert [len(await teams.shop.orders(w)) for w in (a, b, c)] == [1, 1, 1]
    assert any(k.endswith(c) for k in calls)  # the outage really happened to the third member


async def test_a_refund_of_a_team_order_gives_money_and_unit_back(teams):
    a, b, c = await shoppers(teams, 3)
    before = await stock(teams)
    team = await teams.start(a, PRODUCT, VARIANT, "test_approve", None)
    await teams.join(team.id, b, "test_approve", None)
    await teams.join(team.id, c, "test_approve", None)
    refunded = await teams.shop.refund(order_id_for(team.id, a))
    assert refunded["state"] == "refunded" and await charged(teams, team.id, a) == 0
    assert await stock(teams) == before - 2 and (await teams.shop.wardrobe(a))["items"] == []
