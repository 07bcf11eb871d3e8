"""The owner's commerce endpoints behind the console (docs/OPERATIONS.md): stock read and set (rooms hear the
new level), the store's orders with a refund, staff accounts listed and ended. Operator token only; on the
storage backend the suite runs on (SQLite, and Redis under `make test-redis`)."""

from __future__ import annotations

import asyncio

from server.commerce.checkout import HOLD_S
from sim.shopper import Shopper

PICKUP = {"type": "pickup", "store": "boutique"}


async def place_order(buyer: Shopper, product: str, variant: str) -> dict:
    assert (await buyer.http("POST", "/api/bag/lines", {"product_id": product, "variant_id": variant}))[0] == 200
    status, checkout = await buyer.http("POST", "/api/checkouts", {"payment_method": "test_approve",
                                                                   "delivery": PICKUP})
    assert status == 201, checkout
    await buyer.http("POST", f"/api/checkouts/{checkout['id']}/hold", {"action": "start"})
    await asyncio.sleep(HOLD_S + 0.1)
    status, placed = await buyer.http("POST", f"/api/checkouts/{checkout['id']}/hold", {"action": "end"})
    assert status == 200 and placed["state"] == "placed", placed
    return placed


async def test_the_owner_sets_stock_sees_orders_refunds_and_manages_staff(live_server) -> None:
    op = live_server.settings.operator_token
    owner = await Shopper.make(live_server.url, "Owner")
    watcher = await Shopper.make(live_server.url, "Watcher")
    await watcher.enter()
    try:
        status, problem = await owner.http("GET", "/api/admin/stock?store=boutique")
        assert (status, problem["code"]) == (401, "unauthorized")
        status, stock = await owner.http("GET", "/api/admin/stock?store=boutique", operator=op)
        assert status == 200, stock
        boot = next(p for p in stock["products"] if p["id"] == "chelsea-boot-men")
        variant = boot["variants"][0]
        assert variant["sku"] == f"chelsea-boot-men/{variant['id']}" and variant["available"] > 0
        assert "tv-55" not in {p["id"] for p in stock["products"]}  # another store's, not the boutique's

        # The owner counts 3 on the shelf: storage and every room see 3.
        status, done = await owner.http("PUT", f"/api/admin/stock/{variant['sku']}", {"available": 3}, operator=op)
        assert status == 200 and done["available"] == 3, done
        heard = await watcher.until(lambda m: m["t"] == "stock" and variant["sku"] in m["levels"])
        assert heard["levels"][variant["sku"]] == 3
        for bad in ({"available": -1}, {"available": "3"}, {"available": 2_000_000}, {}):
            status, problem = await owner.http("PUT", f"/api/admin/stock/{variant['sku']}", bad, operator=op)
            assert status == 422, (bad, problem)
        status, problem = await owner.http("PUT", "/api/admin/stock/no-such/x", {"available": 1}, operator=op)
        assert (status, problem["code"]) == (404, "unknown_sku")

        # A shopper buys; the owner sees the order (newest first) and refunds it: stock comes back.
        buyer = await Shopper.make(live_server.url, "Bea")
        placed = await place_order(buyer, "chelsea-boot-men", variant["id"])
        status, listed = await owner.http("GET", "/api/admin/orders?store=boutique", operator=op)
        assert status == 200, listed
        [order] = [o for o in listed["orders"] if o["id"] == placed["id"]]
        assert order["shopper_name"] == "Bea" and order["state"] == "paid"
        assert order["total_minor"] == placed["total_minor"] and order["lines"][0]["quantity"] == 1
        assert order["lines"][0]["option"] == variant["label"]  # "Tobacco/40", as the stock list names it
        status, other = await owner.http("GET", "/api/admin/orders?store=space-market", operator=op)
        assert status == 200 and placed["id"] not in {o["id"] for o in other["orders"]}
        status, _ = await owner.http("POST", f"/api/orders/{placed['id']}/refund", operator=op)
        assert status == 200
        status, listed = await owner.http("GET", "/api/admin/orders?store=boutique", operator=op)
        assert next(o for o in listed["orders"] if o["id"] == placed["id"])["state"] == "refunded"
        status, stock = await owner.http("GET", "/api/admin/stock?store=boutique", operator=op)
        boot = next(p for p in stock["products"] if p["id"] == "chelsea-boot-men")
        assert boot["variants"][0]["available"] == 3

        # Staff: made, listed for their store, ended (their key no longer takes advisor calls).
        status, made = await owner.http("POST", "/api/staff", {"name": "Sol", "store": "boutique"}, operator=op)
        assert status == 201, made
        status, staff = await owner.http("GET", "/api/admin/staff?store=boutique", operator=op)
        assert {"id": made["shopper_id"], "name": "Sol", "store": "boutique"} in staff["staff"]
        sol = await Shopper.make(live_server.url, "Sol", key=made["shopper_key"])
        assert (await sol.http("GET", "/api/advisor/calls"))[0] == 200
        assert (await owner.http("DELETE", f"/api/admin/staff/{made['shopper_id']}", operator=op))[0] == 204
        status, problem = await sol.http("GET", "/api/advisor/calls")
        assert (status, problem["code"]) == (403, "not_staff")
        status, staff = await owner.http("GET", "/api/admin/staff?store=boutique", operator=op)
        assert made["shopper_id"] not in {s["id"] for s in staff["staff"]}
        status, problem = await owner.http("DELETE", f"/api/admin/staff/{made['shopper_id']}", operator=op)
        assert (status, problem["code"]) == (404, "unknown_staff")
        status, problem = await owner.http("GET", "/api/admin/staff?store=nowhere", operator=op)
        assert (status, problem["code"]) == (404, "unknown_store")
    finally:
        await watcher.close()
