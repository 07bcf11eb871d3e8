"""The buying HTTP API on both backends (idempotency keys, problems, the whole purchase), and the live stock
message in the room."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from fastapi.testclient import TestClient

from server.commerce.checkout import HOLD_S
from server.config import Settings
from server.net.app import create_app
from sim.client import PlazaClient, http_json
from tests.storage_backends import REDIS_URL, require_redis

PICKUP = {"type": "pickup", "store": "boutique"}


class Clock:
    def __init__(self, t: float) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


@pytest.fixture(params=["sqlite", "redis"])
def api(request, tmp_path, monkeypatch):
    monkeypatch.setenv("PLAZA_MOCAP_UDP_PORT", "off")
    redis_url = None
    if request.param == "redis":
        require_redis()
        redis_url = REDIS_URL
    settings = Settings(data_dir=str(tmp_path), redis_url=redis_url, storage_prefix=f"plaza-test:{uuid.uuid4().hex}:",
                        operator_token="op")
    with TestClient(create_app(settings)) as client:
        client.app.state.plaza.shop.clock = Clock(2_000_000_000.0)
        yield client
        if redis_url:
            client.portal.call(client.app.state.plaza.storage.drop_everything)


def keyed(key: str, shopper: dict | None = None) -> dict[str, str]:
    headers = {"Idempotency-Key": key}
    if shopper:
        headers["X-Shopper-Key"] = shopper["shopper_key"]
    return headers


def test_buying_a_product_over_http(api):
    shopper = api.post("/api/shoppers", json={"name": "Ann"}).json()
    me = {"X-Shopper-Key": shopper["shopper_key"]}
    assert api.get("/api/shoppers/me", headers=me).json()["name"] == "Ann"
    product = api.get("/api/products/tv-55").json()
    variant = product["variants"][0]["id"]
    before = product["variants"][0]["stock"]
    line = {"product_id": "tv-55", "variant_id": variant, "quantity": 1}
    first = api.post("/api/bag/lines", json=line, headers=keyed("add-1", shopper))
    again = api.post("/api/bag/lines", json=line, headers=keyed("add-1", shopper))
    assert first.status_code == again.status_code == 200 and again.json() == first.json()
    assert len(first.json()["lines"]) == 1 and first.json()["lines"][0]["quantity"] == 1  # the retry added nothing
    reused = api.post("/api/bag/lines", json=line | {"quantity": 2}, headers=keyed("add-1", shopper))
    assert reused.status_code == 422 and reused.json()["code"] == "idempotency_key_reused"
    missing = api.post("/api/bag/lines", json=line, headers=me)
    assert missing.status_code == 400 and missing.headers["content-type"] == "application/problem+json"
    opened = api.post("/api/checkouts", json={"payment_method": "test_approve", "delivery": PICKUP},
                      headers=keyed("co-1", shopper))
    assert opened.status_code == 201, opened.text
    checkout = opened.json()
    assert checkout["state"] == "awaiting_confirmation" and checkout["total_minor"] == product["price_minor"]
    assert api.get("/api/products/tv-55").json()["variants"][0]["stock"] == before - 1  # live: held for Ann
    api.post(f"/api/checkouts/{checkout['id']}/hold", json={"action": "start"}, headers=keyed("h1", shopper))
    api.app.state.plaza.shop.clock.t += HOLD_S
    placed = api.post(f"/api/checkouts/{checkout['id']}/hold", json={"action": "end"}, headers=keyed("h2", shopper))
    assert placed.json()["state"] == "placed", placed.text
    orders = api.get("/api/orders", headers=me).json()
    assert [o["id"] for o in orders] == [checkout["id"]]
    assert api.get(f"/api/orders/{checkout['id']}", headers=me).json()["total_minor"] == checkout["total_minor"]
    assert api.get("/api/bag", headers=me).json()["lines"] == []
    assert api.post(f"/api/orders/{checkout['id']}/refund", headers=keyed("r1")).status_code == 401
    refunded = api.post(f"/api/orders/{checkout['id']}/refund",
                        headers=keyed("r1") | {"Authorization": "Bearer op"})
    assert refunded.json()["state"] == "refunded"
    assert api.get("/api/products/tv-55").json()["variants"][0]["stock"] == before


def test_shoppers_and_their_things_are_private(api):
    ann = api.post("/api/shoppers", json={"name": "Ann"}).json()
    bob = api.post("/api/shoppers", json={"name": "Bob"}).json()
    skin = api.get("/api/products/digital-fairy-wings").json()["variants"][0]["id"]
    api.post("/api/bag/lines", json={"product_id": "digital-fairy-wings", "variant_id": skin},
             headers=keyed("a", ann))
    checkout = api.post("/api/checkouts", json={"payment_method": "test_approve"}, headers=keyed("c", ann)).json()
    assert api.get(f"/api/checkouts/{checkout['id']}", headers={"X-Shopper-Key": bob["shopper_key"]}).status_code == 404
    assert api.get("/api/bag", headers={"X-Shopper-Key": bob["shopper_key"]}).json()["lines"] == []
    assert api.get("/api/bag").status_code == 401
    assert api.get("/api/bag", headers={"X-Shopper-Key": ann["shopper_id"] + ".forged"}).status_code == 401
    bad = api.post("/api/shoppers", json={"name": "a\u202eb"})
    assert bad.status_code == 422


async def test_the_room_hears_stock_changes(live_server):
    watcher = await PlazaClient.join(live_server.url, name="watcher")
    status, shopper = await asyncio.to_thread(http_json, "POST", f"{live_server.url}/api/shoppers", {"name": "Cy"})
    assert status == 201

    def post(path: str, body: dict, key: str) -> tuple[int, dict]:
        import json
        import urllib.error
        import urllib.request

        request = urllib.request.Request(f"{live_server.url}{path}", data=json.dumps(body).encode(), method="POST",
                                         headers={"Content-Type": "application/json", "Idempotency-Key": key,
                                                  "X-Shopper-Key": shopper["shopper_key"]})
        try:
            with urllib.request.urlopen(request, timeout=10) as r:
                return r.status, json.loads(r.read())
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read())

    variant = live_server.app.state.plaza.shop.catalog.get("fridge-retro").variants[0].id
    await asyncio.to_thread(post, "/api/bag/lines", {"product_id": "fridge-retro", "variant_id": variant}, "k1")
    status, _ = await asyncio.to_thread(post, "/api/checkouts", {"payment_method": "test_approve",
                                                                 "delivery": PICKUP}, "k2")
    assert status == 201

    async def stock_message() -> dict:
        while True:
            kind, message = await watcher.next_event()
            if kind == "control" and message.get("t") == "stock":
                return message

    message = await asyncio.wait_for(stock_message(), 5)
    assert message["levels"] == {f"fridge-retro/{variant}": 2}
    await watcher.close()


def test_the_catalog_list_shows_live_stock(api):
    shopper = api.post("/api/shoppers", json={"name": "Lu"}).json()
    variant = api.get("/api/products/fridge-retro").json()["variants"][0]
    api.post("/api/bag/lines", json={"product_id": "fridge-retro", "variant_id": variant["id"], "quantity": 2},
             headers=keyed("l1", shopper))
    first = api.get("/api/products", params={"q": "fridge"})
    api.post("/api/checkouts", json={"payment_method": "test_approve", "delivery": PICKUP},
             headers=keyed("l2", shopper))
    listed = api.get("/api/products", params={"q": "fridge"}, headers={"If-None-Match": first.headers["etag"]})
    assert listed.status_code == 200  # the levels changed, so the old ETag no longer matches
    item = next(p for p in listed.json()["items"] if p["id"] == "fridge-retro")
    assert next(v for v in item["variants"] if v["id"] == variant["id"])["stock"] == variant["stock"] - 2
