"""Pay with a pinch against the real server: a shopper's streamed hand pinches and holds, the server sees it
and places the order; a short pinch and a forged "confirm" message place nothing."""

from __future__ import annotations

import asyncio
import json
import time
import urllib.error
import urllib.request

import numpy as np

from server.gestures.sequences import PINCH, RELAXED
from server.realtime import hand_model as hm
from sim.client import ClientSession, PlazaClient

IDENTITY = (0.0, 0.0, 0.0, 1.0)


def call(url: str, method: str, path: str, body: dict | None, headers: dict) -> tuple[int, dict]:
    request = urllib.request.Request(url + path, data=json.dumps(body).encode() if body is not None else None,
                                     method=method, headers={"Content-Type": "application/json", **headers})
    try:
        with urllib.request.urlopen(request, timeout=10) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def hand(angles: np.ndarray, wrist: np.ndarray) -> np.ndarray:
    params = hm.HandParams(wrist[None], np.array([IDENTITY]), angles[None], np.ones(1))
    pos, rot = hm.joints_from_hand_params(params, np.ones(1))
    return np.concatenate([pos[0], rot[0]], axis=1)  # (25, 7)


async def shopper_in_room(server, name: str):
    url = server.url
    status, shopper = await asyncio.to_thread(call, url, "POST", "/api/shoppers", {"name": name}, {})
    me = {"X-Shopper-Key": shopper["shopper_key"]}
    status, seat = await asyncio.to_thread(call, url, "POST", "/api/rooms/main/join", {"name": name}, me)
    assert status == 200, seat
    client = PlazaClient(url, ClientSession())
    await client.connect(seat["ws_url"], token=seat["token"])
    variant = server.app.state.plaza.shop.catalog.get("digital-fairy-wings").variants[0].id
    await asyncio.to_thread(call, url, "POST", "/api/bag/lines", {"product_id": "digital-fairy-wings",
                                                                  "variant_id": variant}, me | {"Idempotency-Key": "a"})
    status, checkout = await asyncio.to_thread(call, url, "POST", "/api/checkouts", {"payment_method": "test_approve"},
                                               me | {"Idempotency-Key": "b"})
    assert status == 201 and checkout["state"] == "awaiting_confirmation"
    return client, me, checkout


async def stream(client: PlazaClient, plan) -> None:
    """plan: list of (seconds, angles) segments, streamed at up to 60 Hz for that long in real time, the right
    hand in front of the head (the server times the hold on its own clock)."""
    sx, sy, sz = client.session.welcome["spawn"]
    head = np.array([sx, sy + 1.6, sz, *IDENTITY])
    wrist = np.array([sx + 0.15, sy + 1.25, sz - 0.3])
    for seconds, angles in plan:
        upload = {0: head, 4: hand(angles, wrist)}
        until = time.monotonic() + seconds
        while time.monotonic() < until:
            client.send_pose(upload)
            await asyncio.sleep(1 / 60)


def messages(client: PlazaClient) -> list[dict]:
    found = []
    while not client.events.empty():
        kind, value = client.events.get_nowait()
        if kind == "control":
            found.append(value)
    return found


async def test_a_pinch_held_in_front_of_the_shopper_places_the_order(live_server):
    client, me, checkout = await shopper_in_room(live_server, "pincher")
    await stream(client, [(0.4, RELAXED), (3.0, PINCH)])
    for _ in range(100):
        _, view = await asyncio.to_thread(call, live_server.url, "GET", f"/api/checkouts/{checkout['id']}", None, me)
        if view["state"] != "awaiting_confirmation" and view["state"] != "paying":
            break
        await asyncio.sleep(0.05)
    seen = messages(client)
    assert view["state"] == "placed", [m for m in seen if m.get("t") in ("confirm_progress", "checkout")]
    progress = [m["progress"] for m in seen if m.get("t") == "confirm_progress"]
    assert progress and max(progress) == 1.0 and any(0 < p < 1 for p in progress)
    assert {"t": "checkout", "checkout": checkout["id"], "state": "placed", "reason": None} in seen
    _status, orders = await asyncio.to_thread(call, live_server.url, "GET", "/api/orders", None, me)
    assert [o["id"] for o in orders] == [checkout["id"]]
    await client.close()


async def test_a_short_pinch_or_a_forged_confirmation_places_nothing(live_server):
    client, me, checkout = await shopper_in_room(live_server, "twitch")
    reply = await client.request({"t": "confirm", "checkout": checkout["id"]})
    assert reply["t"] == "error" and reply["code"] == "confirm_forbidden"
    await stream(client, [(0.4, RELAXED), (0.5, PINCH), (1.5, RELAXED)])
    _status, view = await asyncio.to_thread(call, live_server.url, "GET", f"/api/checkouts/{checkout['id']}", None, me)
    assert view["state"] == "awaiting_confirmation"
    assert (await asyncio.to_thread(call, live_server.url, "GET", "/api/orders", None, me))[1] == []
    progress = [m["progress"] for m in messages(client) if m.get("t") == "confirm_progress"]
    assert progress and 0 < max(progress) < 1  # it was seen, and let go before the ring filled
    await client.close()


async def stream_trigger(client: PlazaClient, plan) -> None:
    """plan: list of (seconds, right trigger value), a controller held in front of the head."""
    sx, sy, sz = client.session.welcome["spawn"]
    head = np.array([sx, sy + 1.6, sz, *IDENTITY])
    grip = np.array([sx + 0.2, sy + 1.2, sz - 0.3, *IDENTITY])
    for seconds, value in plan:
        until = time.monotonic() + seconds
        while time.monotonic() < until:
            client.send_pose({0: head, 2: grip}, triggers={2: value})
            await asyncio.sleep(1 / 60)


async def wait_for_outcome(server, checkout: dict, me: dict) -> dict:
    for _ in range(100):
        _, view = await asyncio.to_thread(call, server.url, "GET", f"/api/checkouts/{checkout['id']}", None, me)
        if view["state"] not in ("awaiting_confirmation", "paying"):
            break
        await asyncio.sleep(0.05)
    return view


async def test_a_held_controller_trigger_places_the_order_and_a_short_press_does_not(live_server):
    client, me, checkout = await shopper_in_room(live_server, "triggerer")
    await stream_trigger(client, [(0.3, 0.0), (0.6, 1.0), (0.5, 0.0)])  # pressed too briefly
    _status, view = await asyncio.to_thread(call, live_server.url, "GET", f"/api/checkouts/{checkout['id']}", None, me)
    assert view["state"] == "awaiting_confirmation"
    await stream_trigger(client, [(3.0, 1.0)])
    view = await wait_for_outcome(live_server, checkout, me)
    seen = messages(client)
    assert view["state"] == "placed", [m for m in seen if m.get("t") in ("confirm_progress", "checkout")]
    done = [m for m in seen if m.get("t") == "confirm_progress" and m.get("done")]
    assert done and done[0]["hand"] == "right"
    assert {"t": "checkout", "checkout": checkout["id"], "state": "placed", "reason": None} in seen
    await client.close()
