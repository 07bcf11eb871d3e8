"""The store assistant (issue 18, docs/OPERATIONS.md): answers from the catalog, a product and its bundle told
apart, questions it cannot answer hand over to a person, live stock in the answer, and a route over the
walkable floor that never crosses a fixture; over HTTP with clear errors and a per-address limit."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from server.assistant.answers import positions_of, route, store_assistant
from server.assistant.bench import HAND_WRITTEN, score
from server.commerce.catalog import load_catalog
from server.scenes.loader import load_scene
from sim.shopper import Shopper


def _boutique():  # type: ignore[no-untyped-def]
    return store_assistant(load_scene("boutique"), load_catalog())


def test_answers_come_from_the_catalog() -> None:
    a = _boutique()
    price = a.ask("How much is the Slim Oxford Shirt?")
    assert (price.product, price.intent) == ("oxford-shirt-men", "price")
    assert price.text == "Slim Oxford Shirt costs 69.00 EUR."
    assert a.ask("what is the oxford shirt made of").text == "Slim Oxford Shirt: cotton 100%."
    assert a.ask("where is the oxford shirt made").text == "Slim Oxford Shirt is made in Italy (Veneto)."
    assert a.ask("which sizes for the oxford shirt").text == "Slim Oxford Shirt comes in sizes S, M, L, XL, XXL."
    runner = a.ask("how much is the cloudline runner")
    assert runner.product == "runner-sneaker-men", runner  # the shoe, not the twin pack that holds two


def test_what_the_catalogue_cannot_answer_hands_over_to_a_person() -> None:
    a = _boutique()
    for question in ("do you sell bicycles", "what time do you close", "🙂" * 50):
        answer = a.ask(question)
        assert answer.handover and answer.product is None and "person" in answer.text


def test_stock_answers_use_the_live_levels() -> None:
    a = _boutique()
    shirt = a.products["oxford-shirt-men"]
    a.stock.update({f"{shirt.id}/{v.id}": 0 for v in shirt.variants})
    assert a.ask("is the oxford shirt in stock").text == "Slim Oxford Shirt is sold out at the moment."
    a.stock[f"{shirt.id}/white-m"] = 2
    assert a.ask("is the oxford shirt in stock").text.startswith("We have 2 of Slim Oxford Shirt in stock; sold out:")


@pytest.mark.parametrize("product", ["perfume-eau-fleurie", "chelsea-boot-men", "serum-vitamin-c"])
def test_a_route_walks_the_floor_around_the_fixtures_to_the_product(product: str) -> None:
    scene = load_scene("boutique")
    goal = positions_of(scene)[product]
    bounds = (scene.bounds_min[0], scene.bounds_min[2], scene.bounds_max[0], scene.bounds_max[2])
    path = route(scene.walkable, (0.0, 4.6), goal, bounds)
    assert path is not None and len(path) >= 2
    # It ends where the product can be seen whole: not pressed against its shelf, not across the aisle.
    assert 0.8 <= np.hypot(path[-1][0] - goal[0], path[-1][1] - goal[1]) <= 1.5, path[-1]
    # Every step of the way (sampled every 5 cm) is walkable with a margin: no shortcut through the table or a
    # wall, and a head following it never brushes a shelf's edge.
    for a, b in itertools.pairwise(path):
        n = max(2, int(np.hypot(b[0] - a[0], b[1] - a[1]) / 0.05))
        pts = np.linspace(a, b, n)
        for dx, dz in ((0, 0), (0.2, 0), (-0.2, 0), (0, 0.2), (0, -0.2)):
            assert scene.walkable_mask(pts + [dx, dz]).all(), (a, b, dx, dz)


def test_the_hand_written_questions_mostly_get_the_right_answer() -> None:
    right, total, misses = score("boutique", HAND_WRITTEN)
    assert right >= total - 2, misses


async def test_the_assistant_over_http(live_server) -> None:
    asker = await Shopper.make(live_server.url, "Quin")
    status, answer = await asker.http("POST", "/api/assistant/ask", {"store": "boutique",
                                                                      "question": "take me to the perfume eau fleurie",
                                                                      "from": [0.0, 4.6]}, auth=False)
    assert status == 200, answer
    assert answer["product"] == "perfume-eau-fleurie" and answer["intent"] == "where"
    assert answer["route"] and len(answer["route"][0]) == 2
    status, answer = await asker.http("POST", "/api/assistant/ask", {"store": "boutique",
                                                                      "question": "any slip dress in stock?"})
    assert status == 200 and answer["text"].startswith("We have ") and answer["route"] is None
    status, problem = await asker.http("POST", "/api/assistant/ask", {"store": "nowhere", "question": "hi"})
    assert (status, problem["code"]) == (404, "unknown_store")
    status, problem = await asker.http("POST", "/api/assistant/ask", {"store": "boutique", "question": "x" * 301})
    assert status == 422 and problem["errors"][0]["field"] == "body.question"
    statuses = [(await asker.http("POST", "/api/assistant/ask", {"store": "boutique", "question": "price of tee"}))[0]
                for _ in range(32)]
    assert 429 in statuses  # limited per address


@pytest.mark.parametrize("store", ["boutique", "launch-hall", "space-market", "fairy-beauty"])
def test_every_product_of_every_store_can_be_walked_to_from_every_spawn(store: str) -> None:
    scene = load_scene(store)
    bounds = (scene.bounds_min[0], scene.bounds_min[2], scene.bounds_max[0], scene.bounds_max[2])
    for product, goal in positions_of(scene).items():
        for spawn in scene.spawn_points:
            path = route(scene.walkable, (spawn[0], spawn[2]), goal, bounds)
            assert path is not None, (product, spawn)
            assert np.hypot(path[-1][0] - goal[0], path[-1][1] - goal[1]) <= 3.5, (product, path[-1])
            assert scene.walkable_mask(np.array(path)).all(), (product, path)
