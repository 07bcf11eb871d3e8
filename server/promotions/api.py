"""HTTP API of promotions (docs/PROMOTIONS.md): team buys, coupons, treasure hunts, referral rewards.

`mount(app)` starts the services once the shop is up (they share its storage and payments): the team sweeper
runs on the one clock each second; the hunt watcher reads the rooms' head positions every 6 ticks and tells a
seat what it found (`hunt`); every room hears team progress (`team`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any, Literal

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from server.clock import AFTER_WORLD
from server.commerce.http_answers import as_problem as _ask
from server.commerce.http_answers import no_store as _json
from server.commerce.shop_api import ERRORS, Delivery, IdempotencyKey, ShopperKey, _once, _who
from server.net.problems import Problem
from server.promotions.coupons import CouponBook
from server.promotions.hunts import HuntService, HuntWatcher, Seat
from server.promotions.referrals import Referrals
from server.promotions.team_service import TeamService
from server.promotions.teams import Team, load_offers

log = logging.getLogger(__name__)
router = APIRouter(tags=["promotions"])
HUNT_EVERY_TICKS = 6


class StartTeam(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    product_id: str = Field(min_length=1, max_length=64)
    variant_id: str = Field(min_length=1, max_length=96)
    payment_method: str = Field(max_length=64, description="Charged only when the team fills")
    delivery: Delivery | None = Field(default=None, description="Needed for physical goods")


class JoinTeam(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    payment_method: str = Field(max_length=64, description="Charged only when the team fills")
    delivery: Delivery | None = None


class NewCoupon(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    amount_minor: int = Field(default=0, ge=0, le=10**8)
    percent: int = Field(default=0, ge=0, le=100)
    currency: str = Field(default="EUR", pattern=r"^[A-Z]{3}$")
    min_spend_minor: int = Field(default=0, ge=0, le=10**9)
    valid_days: int = Field(default=30, ge=1, le=365)
    products: list[str] | None = Field(default=None, max_length=100)
    uses: int = Field(default=1, ge=1, le=100_000)
    owner: str | None = Field(default=None, max_length=64, description="A shopper id; none: anyone with the code")
    mode: Literal["amount", "percent"] = "amount"


def _services(request: Request) -> Any:
    plaza = request.app.state.plaza
    if getattr(plaza, "teams", None) is None:
        raise Problem(503, "promotions_unavailable", "promotions are starting or stopped; try again in a moment")
    return plaza






# ------------------------------------------------------------------ team buys
@router.get("/api/teams/offers", summary="Products with a team price")
async def team_offers(request: Request) -> JSONResponse:
    plaza = _services(request)
    return _json([offer.model_dump() for offer in plaza.teams.offers.values()])


@router.get("/api/teams", summary="Open teams of a product (join one, or start one)", responses=ERRORS)
async def open_teams(product: str, request: Request) -> JSONResponse:
    plaza = _services(request)
    offer = plaza.teams.offers.get(product[:64])
    teams = await plaza.teams.open_teams(product[:64]) if offer else []
    return _json({"offer": offer.model_dump() if offer else None, "teams": [t.view() for t in teams]})


@router.get("/api/teams/mine", summary="Teams you are in", responses=ERRORS)
async def my_teams(request: Request, x_shopper_key: ShopperKey = None) -> JSONResponse:
    _, shopper = await _who(request, x_shopper_key)
    return _json([t.view(shopper) for t in await _services(request).teams.mine(shopper)])


@router.get("/api/teams/{team_id}", summary="A team: places left, price, deadline", responses=ERRORS)
async def get_team(team_id: str, request: Request, x_shopper_key: ShopperKey = None) -> JSONResponse:
    viewer = (await _who(request, x_shopper_key))[1] if x_shopper_key else None
    _, team = await _ask(lambda: _services(request).teams.load(team_id[:64]))
    return _json(team.view(viewer))


@router.post("/api/teams", status_code=201, summary="Start a team (you take the first place)", responses=ERRORS)
async def start_team(body: StartTeam, request: Request, x_shopper_key: ShopperKey = None,
                     idempotency_key: IdempotencyKey = None) -> JSONResponse:
    shop, shopper = await _who(request, x_shopper_key)
    teams = _services(request).teams
    delivery = body.delivery.model_dump() if body.delivery else None

    async def run() -> dict:
        team = await teams.start(shopper, body.product_id, body.variant_id, body.payment_method, delivery)
        return team.view(shopper)
    return await _once(request, shop, shopper, idempotency_key, {"op": "team", **body.model_dump()}, run, 201)


@router.post("/api/teams/{team_id}/join", summary="Take a place (charged the team price when it fills)",
             responses=ERRORS)
async def join_team(team_id: str, body: JoinTeam, request: Request, x_shopper_key: ShopperKey = None,
                    idempotency_key: IdempotencyKey = None) -> JSONResponse:
    shop, shopper = await _who(request, x_shopper_key)
    teams = _services(request).teams
    delivery = body.delivery.model_dump() if body.delivery else None

    async def run() -> dict:
        return (await teams.join(team_id[:64], shopper, body.payment_method, delivery)).view(shopper)
    return await _once(request, shop, shopper, idempotency_key, {"op": "join_team", "team": team_id,
                                                                 **body.model_dump()}, run)


@router.post("/api/teams/{team_id}/leave", summary="Give up your place (only while the team is open)",
             responses=ERRORS)
async def leave_team(team_id: str, request: Request, x_shopper_key: ShopperKey = None) -> JSONResponse:
    _, shopper = await _who(request, x_shopper_key)
    team = await _ask(lambda: _services(request).teams.leave(team_id[:64], shopper))
    return _json(team.view(shopper))


# ------------------------------------------------------------------ coupons, hunts, referrals
@router.get("/api/coupons", summary="Your coupons", responses=ERRORS)
async def my_coupons(request: Request, x_shopper_key: ShopperKey = None) -> JSONResponse:
    _, shopper = await _who(request, x_shopper_key)
    return _json([c.view() for c in await _services(request).coupons.mine(shopper)])


@router.post("/api/coupons", status_code=201, summary="Make a coupon (operator)", responses=ERRORS)
async def new_coupon(body: NewCoupon, request: Request) -> JSONResponse:
    plaza = _services(request)
    if not plaza.settings.is_operator(request.headers.get("authorization")):
        raise Problem(401, "unauthorized", "coupons are made with the operator token",
                      headers={"WWW-Authenticate": "Bearer"})
    if (body.mode == "amount") == (body.amount_minor == 0) or (body.mode == "percent") == (body.percent == 0):
        raise Problem(422, "bad_coupon", "give amount_minor (mode amount) or percent (mode percent), not both")
    coupon = await plaza.coupons.issue(body.owner, body.amount_minor, body.percent, body.currency,
                                       body.min_spend_minor, body.valid_days * 86400.0, "owner", body.products,
                                       body.uses)
    return _json(coupon.view(), 201)


@router.get("/api/hunts", summary="A store's treasure hunts: hints, and what you found", responses=ERRORS)
async def hunts(store: str, request: Request, x_shopper_key: ShopperKey = None) -> JSONResponse:
    viewer = (await _who(request, x_shopper_key))[1] if x_shopper_key else None
    return _json(await _services(request).hunts.progress(viewer, store[:64]))


@router.get("/api/referrals/me", summary="Your invite link, its terms, and what it earned", responses=ERRORS)
async def my_referrals(request: Request, x_shopper_key: ShopperKey = None) -> JSONResponse:
    _, shopper = await _who(request, x_shopper_key)
    return _json(await _services(request).referrals.summary(shopper))


# ------------------------------------------------------------------ wiring
def _hunts_of(store: str) -> list:
    from server.scenes.loader import load_scene

    try:
        return load_scene(store).hunts
    except Exception:
        return []


def _watch_hunts(app: FastAPI, service: HuntService) -> Callable[[], None]:
    """Every 6 ticks: whose head is at a hidden item; record it and tell that seat."""
    hub = app.state.plaza.hub
    watcher = HuntWatcher(_hunts_of)
    tasks: set[asyncio.Task] = set()
    loaded: set[tuple[str, str]] = set()

    def seats() -> list[Seat]:
        found = []
        for room_id, info in hub.registry.rooms.items():
            if not info.seat_shopper or not _hunts_of(info.scene):
                continue
            room = info.room
            for avatar_id, shopper in info.seat_shopper.items():
                avatar = room.avatars.get(avatar_id)
                if avatar is None or (room_id, avatar_id) not in hub.sessions:
                    continue
                head = room.head_pos[avatar.slot]
                found.append(Seat(room_id, info.scene, avatar_id, shopper, (float(head[0]), float(head[2]))))
        return found

    async def load(shopper: str, store: str) -> None:
        for hunt in _hunts_of(store):
            watcher.found.setdefault((shopper, store, hunt.id), set()).update(
                await service.found(shopper, store, hunt.id))

    async def record(find) -> None:
        count, coupon = await service.record(find.shopper, find.store, find.hunt, find.item)
        item = next(it for it in find.hunt.items if it.id == find.item)
        hub.send_to(find.room_id, find.avatar_id, {
            "t": "hunt", "store": find.store, "hunt": find.hunt.id, "item": find.item, "name": item.name,
            "found": count, "total": len(find.hunt.items), "coupon": coupon.view() | {"code": coupon.code}
            if coupon else None})

    def spawn(coroutine: Any) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    def on_tick(_now: float) -> None:
        current = seats()
        fresh = [(s.shopper, s.store) for s in current if (s.shopper, s.store) not in loaded]
        for key in fresh:  # what a shopper found before (another device, another day) is loaded first
            loaded.add(key)
            spawn(load(*key))
        for find in watcher.step(s for s in current if (s.shopper, s.store) not in fresh):
            spawn(record(find))

    return hub.clock.every("hunts", on_tick, ticks=HUNT_EVERY_TICKS, order=AFTER_WORLD)


def mount(app: FastAPI) -> None:
    app.include_router(router)
    services = app.state.plaza
    services.teams = None
    inner = app.router.lifespan_context

    @contextlib.asynccontextmanager
    async def lifespan(a: Any) -> AsyncIterator[Any]:
        async with inner(a) as state:  # the shop (and its storage) start inside
            shop, hub = services.shop, services.hub
            coupons = CouponBook(services.storage)
            coupons.checkout_live = shop.checkout_live
            shop.coupons = coupons
            referrals = Referrals(services.storage, coupons)
            shop.order_listeners.append(referrals.on_order)
            teams = TeamService(shop, load_offers())

            def tell_rooms(team: Team) -> None:
                hub.broadcast_all({"t": "team", "team": team.view()})
            teams.on_change = tell_rooms
            running: list[asyncio.Task] = []

            async def sweep() -> None:
                try:
                    await teams.sweep()
                except Exception:  # storage hiccup: log and try again next second
                    log.exception("team sweeper failed")

            def on_second(_now: float) -> None:
                if not running or running[0].done():
                    running[:] = [asyncio.get_running_loop().create_task(sweep())]
            stop_sweeping = hub.clock.every_seconds("team deadlines", on_second, 1.0, order=AFTER_WORLD)
            hunt_service = HuntService(services.storage, coupons, _hunts_of)
            stop_hunts = _watch_hunts(app, hunt_service)
            services.coupons, services.referrals, services.hunts = coupons, referrals, hunt_service
            services.teams = teams
            try:
                yield state
            finally:
                stop_sweeping()
                stop_hunts()
                for task in running:
                    task.cancel()
                services.teams = None
                shop.order_listeners.remove(referrals.on_order)

    app.router.lifespan_context = lifespan
