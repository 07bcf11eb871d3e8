"""Store analytics in the running server: the collector on the one clock, the shop's events, and the owner's
endpoints (operator token): figures as JSON, the floor heatmap and the funnel as SVG (docs/OPERATIONS.md).

  GET /api/admin/analytics?store=&since=            published days and their merge (aggregates only)
  GET /api/admin/analytics/heatmap.svg?store=&since=
  GET /api/admin/analytics/funnel.svg?store=&since=
  GET /api/recommendations?store=&k=                (public; X-Shopper-Key makes them the shopper's own)
  GET | PUT {consent} | DELETE  /api/me/trail       the shopper's own in-store trail, kept only with consent
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from functools import cache
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field, StrictBool

from server.analytics.aggregate import DayFigures, merge
from server.analytics.collector import FLUSH_S, SAMPLE_EVERY_TICKS, Collector, SeatView, day_of, stored_days
from server.analytics.recommend import Recommender, items_from_catalog
from server.analytics.svg import funnel_chart, heatmap
from server.analytics.trail import Trails
from server.clock import AFTER_WORLD
from server.commerce.http_answers import as_problem, no_store
from server.commerce.shop_api import ShopperKey
from server.net.problems import Problem, responses
from server.scenes.loader import product_positions, scene_or_none

log = logging.getLogger(__name__)
router = APIRouter(tags=["analytics"], responses=responses(401, 404, 503))
Store = Annotated[str, Query(max_length=64, pattern=r"^[a-z0-9-]+$", description="store (scene) id")]
Since = Annotated[str | None, Query(pattern=r"^\d{4}-\d{2}-\d{2}$", description="first day, YYYY-MM-DD (UTC)")]


_scene = scene_or_none  # a store id from a request: its scene or None


@cache
def products_of(store: str) -> dict[str, tuple[float, float]]:
    scene = scene_or_none(store)
    return product_positions(scene) if scene else {}


class Analytics:
    """The collector plus what feeds it: room samples, holds, the shop's bag and order events, try-ons."""

    def __init__(self, collector: Collector, shop: Any, hub: Any) -> None:
        self.collector, self.shop, self.hub = collector, shop, hub
        self.trails = Trails(collector.storage)
        collector.personal.append(self.trails.note)
        self.pending_tryons: list[tuple[str, str]] = []  # (shopper key, product), from the sizing API's thread
        self.flushing = asyncio.Lock()  # one flush at a time: two would add the same counts twice

    def seats(self) -> list[SeatView]:
        social = getattr(self.hub, "social", None)
        found = []
        for room_id, info in self.hub.registry.rooms.items():
            room = info.room
            for avatar_id, shopper in (info.seat_shopper or {}).items():
                avatar = room.avatars.get(avatar_id)
                if avatar is None or (room_id, avatar_id) not in self.hub.sessions:
                    continue
                slot = avatar.slot
                head = room.head_pos[slot]
                grouped = bool(social and social.service.cached_group_of(shopper))
                seat = SeatView(info.scene, shopper, (float(head[0]), float(head[1]), float(head[2])),
                                tuple(int(v) for v in room.state[slot, 3:7]), grouped)
                found.append(seat)
                if avatar.held:
                    self.collector.held(seat, avatar.held)
        return found

    def on_tick(self, _now: float) -> None:
        self.collector.sample(self.seats(), SAMPLE_EVERY_TICKS / self.hub.clock.hz)

    def on_bag(self, shopper: str, product: str) -> None:
        if not shopper.startswith("group:"):
            self.collector.event(shopper, product, "in_bag")

    async def on_order(self, event: str, order: dict[str, Any]) -> None:
        if event == "placed":
            for line in order.get("lines", []):
                self.collector.event(line.get("added_by") or order["shopper_id"], line["product_id"], "bought")

    def tried_on(self, shopper_key: str, product: str) -> None:
        self.pending_tryons.append((shopper_key, product))  # resolved to a shopper at the next flush

    async def flush(self) -> None:
        async with self.flushing:
            await self._flush()

    async def _flush(self) -> None:
        await self.collector.prepare()
        tryons, self.pending_tryons = self.pending_tryons, []
        for key, product in tryons:
            with contextlib.suppress(Exception):  # a key that is not a shopper's counts nothing
                self.collector.event(await self.shop.authenticate(key), product, "tried_on")
        await self.collector.flush()
        await self.trails.flush()


def _operator(request: Request) -> None:
    if not request.app.state.plaza.settings.is_operator(request.headers.get("authorization")):
        raise Problem(401, "unauthorized", "store analytics are for the store's owner: send 'Authorization: Bearer "
                      "<operator token>'", headers={"WWW-Authenticate": "Bearer"})


async def figures(request: Request, store: str, since: str | None) -> dict[str, Any]:
    _operator(request)
    if _scene(store) is None:
        raise Problem(404, "unknown_store", f"there is no store '{store}'")
    storage = getattr(request.app.state.plaza, "storage", None)
    if storage is None:
        raise Problem(503, "storage_unavailable", "storage is starting; try again in a moment")
    analytics = getattr(request.app.state.plaza, "analytics", None)
    if analytics is not None:
        await analytics.flush()  # what was counted until now is in the answer
    days = [DayFigures.from_doc(doc, b"").publish() for doc in await stored_days(storage, store, since)]
    return {"store": store, "days": days, "total": merge(days)}


@router.get("/api/admin/analytics", summary="Store analytics: heatmap cells, funnel, time in store (owner)")
async def analytics_json(request: Request, store: Store, since: Since = None) -> Any:
    return no_store(await figures(request, store, since))


def _svg(text: str) -> Response:
    return Response(text, media_type="image/svg+xml", headers={"Cache-Control": "no-store"})


def heatmap_svg_of(scene: Any, total: dict[str, Any], title: str) -> str:
    walls = [(w.start, w.end) for w in scene.walls]
    footprints = [f.corners() for f in scene.fixtures]
    return heatmap(total, scene.floor, walls, footprints, title)


def title_of(store: str, total: dict[str, Any]) -> str:
    days = total["days"]
    span = f"{days[0]} to {days[-1]}" if len(days) > 1 else (days[0] if days else "no days yet")
    return f"{_scene(store).name}: {span}"


@router.get("/api/admin/analytics/heatmap.svg", summary="Where visitors dwelt, over the floor plan (owner)")
async def analytics_heatmap(request: Request, store: Store, since: Since = None) -> Response:
    data = await figures(request, store, since)
    return _svg(heatmap_svg_of(_scene(store), data["total"], f"Dwell, {title_of(store, data['total'])}"))


@router.get("/api/admin/analytics/funnel.svg", summary="Product funnel: seen to bought (owner)")
async def analytics_funnel(request: Request, store: Store, since: Since = None) -> Response:
    data = await figures(request, store, since)
    shop = getattr(request.app.state.plaza, "shop", None)
    names = {p.id: p.name for p in shop.catalog.products.values()} if shop else {}
    total = data["total"] | {"min_visitors": (data["days"][0]["min_visitors"] if data["days"] else None)}
    return _svg(funnel_chart(total, names, f"Funnel, {title_of(store, data['total'])}"))


@router.get("/api/recommendations", summary="For you: products from what you chose and bought, else popular ones")
async def recommendations(request: Request, store: Store, k: Annotated[int, Query(ge=1, le=12)] = 5,
                          x_shopper_key: ShopperKey = None) -> Any:
    """With the page's shopper key: from that shopper's own bag and orders, and with their consent their in-store
    trail (GET/PUT /api/me/trail). Without a key, or before any choice: the store's most bought products."""
    if _scene(store) is None:
        raise Problem(404, "unknown_store", f"there is no store '{store}'")
    plaza = request.app.state.plaza
    shop = getattr(plaza, "shop", None)
    if shop is None:
        raise Problem(503, "shop_unavailable", "the shop is starting; try again in a moment")
    in_store = products_of(store)
    model = Recommender(i for i in items_from_catalog(shop.catalog.products) if i.id in in_store)
    for doc in await stored_days(plaza.storage, store):
        for product, row in DayFigures.from_doc(doc, b"").publish()["funnel"].items():
            model.popularity[product] += row.get("bought") or 0
    events: list[tuple[str, str]] = []
    in_bag: list[str] = []
    if x_shopper_key:
        shopper = await as_problem(lambda: shop.authenticate(x_shopper_key))
        in_bag = [line["product_id"] for line in (await shop.bag(shopper))["lines"]]
        events += [(product, "in_bag") for product in in_bag]
        events += [(line["product_id"], "bought") for order in await shop.orders(shopper)
                   if order.get("state") != "refunded" for line in order["lines"]]
        analytics = getattr(plaza, "analytics", None)
        if analytics is not None:  # with consent, what the server saw them look at, pick up and try on
            await analytics.flush()
            events += await analytics.trails.events(shopper)
    picked = model.recommend(events, k, exclude=in_bag)  # what is in the bag already is not news
    basis = "your choices" if model.profile(events) else "popular here"
    out = []
    for pid in picked:
        product = shop.catalog.get(pid)
        out.append({"id": pid, "name": product.name, "price_minor": product.price_minor, "currency": product.currency,
                    "category": product.category})
    return no_store({"store": store, "basis": basis, "products": out})


class TrailConsent(BaseModel):
    model_config = ConfigDict(extra="forbid")
    consent: StrictBool = Field(description="keep what the server sees me look at, pick up and try on, for 'For you'")


async def _trails_of(request: Request, x_shopper_key: str | None) -> tuple[Trails, str]:
    plaza = request.app.state.plaza
    analytics = getattr(plaza, "analytics", None)
    if analytics is None:
        raise Problem(503, "shop_unavailable", "the shop is starting; try again in a moment")
    shopper = await as_problem(lambda: analytics.shop.authenticate(x_shopper_key))
    return analytics.trails, shopper


@router.get("/api/me/trail", summary="Your in-store trail (kept only if you agreed) and whether you agreed")
async def my_trail(request: Request, x_shopper_key: ShopperKey = None) -> Any:
    trails, shopper = await _trails_of(request, x_shopper_key)
    return no_store(await trails.view(shopper))


@router.put("/api/me/trail", summary="Agree (or no longer agree) to keep your in-store trail for 'For you'")
async def set_trail_consent(body: TrailConsent, request: Request, x_shopper_key: ShopperKey = None) -> Any:
    trails, shopper = await _trails_of(request, x_shopper_key)
    return no_store(await trails.set_consent(shopper, body.consent))


@router.delete("/api/me/trail", summary="Erase your in-store trail (and the consent)")
async def erase_trail(request: Request, x_shopper_key: ShopperKey = None) -> Any:
    trails, shopper = await _trails_of(request, x_shopper_key)
    await trails.forget(shopper)
    return no_store(trails.empty())


def mount(app: FastAPI) -> None:
    app.include_router(router)
    services = app.state.plaza
    services.analytics = None
    inner = app.router.lifespan_context

    @contextlib.asynccontextmanager
    async def lifespan(a: Any) -> AsyncIterator[Any]:
        async with inner(a) as state:  # the shop (and its storage) start inside
            shop, hub = services.shop, services.hub
            analytics = Analytics(Collector(services.storage, products_of), shop, hub)
            try:
                await analytics.collector.prepare()
            except Exception:
                log.exception("analytics: the day's secret could not be loaded; counting starts at the first flush")
            shop.bag_listeners.append(analytics.on_bag)
            shop.order_listeners.append(analytics.on_order)
            stop = hub.clock.every("analytics", analytics.on_tick, ticks=SAMPLE_EVERY_TICKS, order=AFTER_WORLD)

            async def flushing() -> None:
                while True:
                    await asyncio.sleep(FLUSH_S)
                    try:
                        await analytics.flush()
                    except Exception:  # storage hiccup: the figures stay in memory until the next flush
                        log.exception("analytics flush failed")
            task = asyncio.get_running_loop().create_task(flushing())
            services.analytics = analytics
            try:
                yield state
            finally:
                stop()
                task.cancel()
                with contextlib.suppress(Exception):
                    await analytics.flush()
                services.analytics = None
                shop.bag_listeners.remove(analytics.on_bag)
                shop.order_listeners.remove(analytics.on_order)

    app.router.lifespan_context = lifespan


__all__ = ["Analytics", "day_of", "mount"]
