"""A shopper's first seconds in a room: spawning where the server put them (not inside someone else),
their store's own room, and leaving at once when the page goes away (no frozen ghost)."""

from __future__ import annotations

import math

import httpx

from tests.browser.conftest import wait_frames


def _open(new_page, server_url: str, query: str):  # type: ignore[no-untyped-def]
    page = new_page()
    page.goto(f"{server_url}/?{query}")
    page.wait_for_function("window.plaza && (window.plaza.ready || window.plaza.errors.length > 0)", timeout=60000)
    assert page.evaluate("window.plaza.errors") == []
    page.wait_for_function("window.plaza.room && window.plaza.room.connected", timeout=30000)
    wait_frames(page, 2)
    return page


def _xz(page) -> list[float]:  # type: ignore[no-untyped-def]
    return page.evaluate("plaza.cameraWorldPosition()")[::2]


def test_each_shopper_stands_on_the_spawn_of_their_welcome(new_page, server_url) -> None:
    room = httpx.post(f"{server_url}/api/rooms", json={"name": "spawn test"}).json()["id"]
    alice = _open(new_page, server_url, f"room={room}&name=Alice")
    bob = _open(new_page, server_url, f"room={room}&name=Bob")
    for page in (alice, bob):
        spawn = page.evaluate("plaza.room.session.welcome.spawn")
        assert math.dist(_xz(page), spawn[::2]) < 0.01, (_xz(page), spawn)
    # The server spreads shoppers over its spawn points: Bob's first view is not the inside of Alice's head.
    assert math.dist(_xz(alice), _xz(bob)) > 0.5, (_xz(alice), _xz(bob))


def test_a_store_page_joins_the_room_its_store_api_names(new_page, server_url) -> None:
    # The store's room as GET /api/stores/{scene}/room answers it (here stood in for by a room made for the
    # test, so the client is checked whatever the server build); without a room in the URL the page joins it.
    made = httpx.post(f"{server_url}/api/rooms", json={"name": "Space market", "scene": "space-market"}).json()
    page = _open_with_store_room(new_page, server_url, made)
    assert page.evaluate("plaza.room.room") == made["id"]
    assert page.evaluate("plaza.room.session.welcome.room") == made["id"]


def _open_with_store_room(new_page, server_url: str, made: dict):  # type: ignore[no-untyped-def]
    page = new_page()
    asked: list[str] = []

    def answer(route) -> None:  # type: ignore[no-untyped-def]
        asked.append(route.request.url)
        route.fulfill(json={"id": made["id"], "name": made["name"], "scene": "space-market", "capacity": 50,
                            "occupants": 0, "private": False})

    page.route("**/api/stores/space-market/room", answer)
    page.goto(f"{server_url}/?scene=space-market&name=Ana")
    page.wait_for_function("window.plaza && window.plaza.room && window.plaza.room.connected", timeout=60000)
    assert asked, "the page never asked for its store's room"
    return page


def test_a_page_that_goes_away_leaves_the_room_at_once(new_page, server_url) -> None:
    room = httpx.post(f"{server_url}/api/rooms", json={"name": "ghost test"}).json()["id"]
    alice = _open(new_page, server_url, f"room={room}&name=Alice")
    bob = _open(new_page, server_url, f"room={room}&name=Bob")
    alice_id = alice.evaluate("plaza.room.session.avatarId")
    bob.wait_for_function(f"plaza.avatars.heads()[{alice_id}] !== undefined", timeout=30000)
    alice.goto("about:blank")  # pagehide, as when the tab is closed
    # A drop would linger for the 20 s grace period; a leave goes at once. Bob keeps rendering meanwhile.
    bob.wait_for_function(f"plaza.avatars.heads()[{alice_id}] === undefined", timeout=8000)
    wait_frames(bob, 2)
    assert bob.evaluate(f"plaza.avatars.heads()[{alice_id}]") is None


def test_shoppers_of_two_stores_do_not_share_a_room(new_page, server_url) -> None:
    # The server's own store rooms (GET /api/stores/{scene}/room), no stand-in: each store page joins its own.
    boutique = _open(new_page, server_url, "scene=boutique&name=Bo")
    market = _open(new_page, server_url, "scene=space-market&name=Ma")
    rooms = {page.evaluate("plaza.room.room") for page in (boutique, market)}
    assert len(rooms) == 2, rooms
    for page, scene in ((boutique, "boutique"), (market, "space-market")):
        assert page.evaluate("plaza.room.room") == httpx.get(f"{server_url}/api/stores/{scene}/room").json()["id"]
    # Neither sees the other's avatar.
    wait_frames(boutique, 5)
    wait_frames(market, 5)
    assert boutique.evaluate("Object.keys(plaza.avatars.heads()).length") == 0
    assert market.evaluate("Object.keys(plaza.avatars.heads()).length") == 0
