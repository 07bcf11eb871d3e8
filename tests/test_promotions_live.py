"""Promotions on the real server: a shopper walks to a hunt's hidden items and the server, from its own pose
data, awards the coupon; two shoppers fill a team over HTTP and both pay the team price; rooms hear it."""

from __future__ import annotations

import asyncio

import numpy as np

from server.scenes.loader import load_scene
from sim.shopper import Shopper

IDENTITY = [0.0, 0.0, 0.0, 1.0]


async def go_to(shopper: Shopper, x: float, z: float) -> None:
    reply = await shopper.ask({"t": "teleport", "to": [x, 0.0, z]})
    assert reply["t"] == "ok", reply
    for _ in range(10):  # uploads at the new place, as a client that moved its reference space sends them
        shopper.client.send_pose({0: np.array([x, 1.6, z, *IDENTITY])})
        await asyncio.sleep(1 / 60)


async def test_walking_to_every_hidden_item_earns_the_coupon(live_server):
    hunt = load_scene("boutique").hunts[0]
    ann = await Shopper.make(live_server.url, "Ann")
    await ann.enter()
    try:
        status, before = await ann.http("GET", "/api/hunts?store=boutique")
        assert status == 200 and before[0]["found"] == 0 and all("at" not in i for i in before[0]["items"])
        status, scene = await ann.http("GET", "/api/scenes/boutique", auth=False)
        assert status == 200 and "hunts" not in scene  # the answers are not sent to clients
        hops = [(0.0, 0.0)]  # teleports reach 12 m: hop through the middle of the store
        for item in hunt.items:
            await go_to(ann, *hops[-1])
            await go_to(ann, *item.at)
            found = await ann.until(lambda m, i=item.id: m["t"] == "hunt" and m["item"] == i, timeout=5)
        assert found["found"] == found["total"] == len(hunt.items)
        assert found["coupon"]["amount_minor"] == hunt.reward_minor and found["coupon"]["code"].startswith("H-")
        status, coupons = await ann.http("GET", "/api/coupons")
        assert [c["code"] for c in coupons] == [found["coupon"]["code"]]
        status, after = await ann.http("GET", "/api/hunts?store=boutique")
        assert after[0]["found"] == len(hunt.items) and after[0]["coupon"]["usable"]
    finally:
        await ann.close()


async def test_two_shoppers_fill_a_team_and_both_pay_the_team_price(live_server):
    ann, ben = await Shopper.make(live_server.url, "Ann"), await Shopper.make(live_server.url, "Ben")
    watcher = await Shopper.make(live_server.url, "Cy")
    await watcher.enter()
    try:
        status, offers = await ann.http("GET", "/api/teams/offers", auth=False)
        offer = next(o for o in offers if o["product"] == "digital-aurora-jacket")
        status, team = await ann.http("POST", "/api/teams", {"product_id": "digital-aurora-jacket",
                                                             "variant_id": "aurora", "payment_method": "test_approve"})
        assert status == 201 and team["places_left"] == offer["size"] - 1 and team["you"]["status"] == "in"
        told = await watcher.until(lambda m: m["t"] == "team" and m["team"]["id"] == team["id"])
        assert told["team"]["joined"] == 1
        status, listed = await ben.http("GET", "/api/teams?product=digital-aurora-jacket", auth=False)
        assert [t["id"] for t in listed["teams"]] == [team["id"]]
        for _ in range(offer["size"] - 1):
            status, joined = await ben.http("POST", f"/api/teams/{team['id']}/join",
                                            {"payment_method": "test_approve"})
            assert status == 200, joined
            if joined["state"] != "completed":
                ben = await Shopper.make(live_server.url, "Another")
        assert joined["state"] == "completed" and joined["you"]["status"] == "charged"
        for who in (ann, ben):
            status, orders = await who.http("GET", "/api/orders")
            assert orders[0]["total_minor"] == offer["price_minor"] and orders[0]["team"] == team["id"]
        await watcher.until(lambda m: m["t"] == "team" and m["team"]["state"] == "completed")
        status, problem = await ann.http("POST", f"/api/teams/{team['id']}/leave")
        assert (status, problem["code"]) == (409, "team_closed")
    finally:
        await watcher.close()
