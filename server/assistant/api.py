"""The store assistant over HTTP (docs/OPERATIONS.md):

  POST /api/assistant/ask {store, question, from: [x, z]?, guide: bool?}
      -> {text, intent, product, at, handover, route: [[x, z], ...] or null, speed: m/s or null}

Answers come from the catalog (live stock from storage); a "where" question (or any question about a product
with `guide`: "take me there") with the shopper's floor position gets a walking route over the store's walkable
floor. Sent with `X-Shopper-Key` by a member of a shopping group, the route also goes to the other members as a
`guide` event, so they see the assistant lead their friend. Questions are limited per address like invite codes."""

from __future__ import annotations

import asyncio
from functools import cache
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Request
from pydantic import BaseModel, ConfigDict, Field

from server import limits
from server.assistant.answers import Assistant, route, store_assistant
from server.commerce.http_answers import as_problem, no_store
from server.commerce.shop import sku_of
from server.commerce.shop_api import ShopperKey
from server.net.problems import Problem, responses
from server.scenes.loader import scene_or_none
from server.sizing.limiter import AddressLimiter, retry_after

router = APIRouter(tags=["assistant"], responses=responses(401, 404, 422, 429, 503))
WALK_M_PER_S = 1.1  # how fast the assistant leads along a route: an unhurried walk, easy to follow in a headset
Coordinate = Annotated[float, Field(ge=-1000, le=1000)]


class Ask(BaseModel):
    model_config = ConfigDict(extra="forbid")
    store: str = Field(max_length=64, pattern=r"^[a-z0-9-]+$")
    question: str = Field(min_length=1, max_length=int(limits.get("max_question_chars")))
    from_: tuple[Coordinate, Coordinate] | None = Field(default=None, alias="from",
                                                        description="the shopper's floor position x, z (m)")
    guide: bool = Field(default=False, description="a route to the product the answer is about, whatever was asked")


@cache
def _assistant(store: str) -> Assistant:
    from server.commerce.catalog import load_catalog

    return store_assistant(scene_or_none(store), load_catalog())


@router.post("/api/assistant/ask", summary="Ask the store assistant about a product; a 'where' gets a route")
async def ask(body: Ask, request: Request, x_shopper_key: ShopperKey = None) -> Any:
    plaza = request.app.state.plaza
    wait = plaza.assistant_limiter.take(request.client.host if request.client else "?")
    if wait:
        raise Problem(429, "rate_limited", "many questions from this address; ask again in a moment",
                      headers={"Retry-After": retry_after(wait)})
    # The key is optional (anyone may ask), but one that is sent must be right: a stale key says so (401)
    # rather than leaving the shopper's friends silently unaware of the walk.
    shopper = await as_problem(lambda: plaza.shop.authenticate(x_shopper_key)) if x_shopper_key else None
    scene = scene_or_none(body.store)
    if scene is None:
        raise Problem(404, "unknown_store", f"there is no store '{body.store}'")
    assistant = _assistant(body.store)
    answer = assistant.ask(body.question)
    if answer.intent == "stock" and answer.product and getattr(plaza, "storage", None) is not None:
        product = assistant.products[answer.product]
        skus = [sku_of(product.id, v.id) for v in product.variants]
        live = await plaza.storage.stock(skus)
        assistant.stock.update({f"{product.id}/{v.id}": live[sku_of(product.id, v.id)] for v in product.variants})
        answer = assistant.ask(body.question)
    path = None
    if (answer.intent == "where" or body.guide) and answer.at and body.from_:
        bounds = (scene.bounds_min[0], scene.bounds_min[2], scene.bounds_max[0], scene.bounds_max[2])
        # Off the event loop: a product's first route in a big hall takes a wavefront over 50,000 cells (~0.1 s).
        path = await asyncio.to_thread(route, scene.walkable, body.from_, answer.at, bounds)
    points = [list(p) for p in path] if path else None
    if points and shopper:
        _tell_the_group(plaza, shopper, body.store, answer.product, points)
    return no_store(answer.view() | {"route": points, "speed": WALK_M_PER_S if points else None})


def _tell_the_group(plaza: Any, shopper: str, store: str, product: str | None, points: list[list[float]]) -> None:
    """The other members of the asker's shopping group see the assistant lead them (`guide`, docs/SOCIAL.md)."""
    live = getattr(getattr(plaza, "hub", None), "social", None)
    group = live.service.cached_group_of(shopper) if live is not None else None
    if group is None or shopper not in group.members:
        return
    live.deliver(group, {"t": "guide", "group": group.id, "member": shopper, "name": group.members[shopper].name,
                         "store": store, "product": product, "route": points, "speed": WALK_M_PER_S},
                 set(group.members) - {shopper})


def mount(app: FastAPI) -> None:
    app.include_router(router)
    app.state.plaza.assistant_limiter = AddressLimiter(int(limits.get("assistant_questions_per_address_per_min")), 60.0)
