"""HTTP API of buying: shoppers, the bag, checkouts, orders, the wardrobe. A thin adapter over `Shop`.

`mount(app)` opens storage inside the app's lifespan (SQLite in the data directory, or Redis when
`settings.redis_url` is set), seeds stock from the catalog, makes storage the catalog's live stock source,
tells every room when stock changes, and runs the sweeper (expired reservations, pending payments) each second.
Shoppers authenticate with `X-Shopper-Key`; every state-changing request carries an `Idempotency-Key`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated, Any, Literal

from fastapi import APIRouter, FastAPI, Header, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from server import limits
from server.clock import AFTER_WORLD
from server.commerce.catalog import load_catalog
from server.commerce.checkout import Checkout, State
from server.commerce.payments import TEST_METHODS, TestProvider
from server.commerce.shop import Shop, ShopError
from server.gestures.confirmations import GestureConfirmations
from server.names import DisplayName
from server.net.problems import Problem, responses
from server.sizing.limiter import AddressLimiter, retry_after
from server.storage import open_storage

log = logging.getLogger(__name__)
router = APIRouter(tags=["shop"])
SWEEP_EVERY_S = 1.0

ShopperKey = Annotated[str | None, Header(alias="X-Shopper-Key", description="`<shopper_id>.<secret>` from "
                                                                             "POST /api/shoppers")]
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", description=(
    "Required on every state-changing request: a retry with the same key gets the first answer; the same key "
    "with another body is refused with 422. Kept 24 h."))]


class NewShopper(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    name: DisplayName = Field(min_length=1, max_length=int(limits.get("max_name_chars")),
                              description="Shown to friends")
    ref: str | None = Field(default=None, max_length=16, description="The referral code of the link that brought "
                                                                     "you (docs/PROMOTIONS.md); unknown codes are "
                                                                     "ignored")


class AddLine(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    product_id: str = Field(min_length=1, max_length=64)
    variant_id: str = Field(min_length=1, max_length=96, description="The option (colour, material, size)")
    quantity: int = Field(default=1, ge=1, le=int(limits.get("max_line_quantity")))


class SetQuantity(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    quantity: int = Field(ge=0, le=int(limits.get("max_line_quantity")), description="0 removes the line")


class Address(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    name: str = Field(max_length=80)
    line1: str = Field(max_length=120)
    line2: str = Field(default="", max_length=120)
    city: str = Field(max_length=80)
    postal_code: str = Field(max_length=16)
    country: str = Field(min_length=2, max_length=2, description="ISO 3166 two-letter code")


class Delivery(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    type: Literal["pickup", "address"]
    store: str | None = Field(default=None, max_length=64, description="Pickup store (the store scene id)")
    address: Address | None = None


class OpenCheckout(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    payment_method: str = Field(max_length=64, description=f"A payment method token; test: {', '.join(TEST_METHODS)}")
    delivery: Delivery | None = Field(default=None, description="Needed when the bag holds physical goods")
    group: str | None = Field(default=None, max_length=64, description="Check out your group's shared bag "
                                                                        "(docs/SOCIAL.md) instead of your own")
    part: Literal["all", "mine"] = Field(default="all", description="With `group`: every line, or only the lines "
                                                                    "you added")
    coupon: str | None = Field(default=None, max_length=32, description="A coupon code (docs/PROMOTIONS.md)")


class Hold(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    action: Literal["start", "end"] = Field(description="Press (start) and release (end) of the hold-to-pay "
                                                        "control; the server times it")


class PaymentAction(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    code: str = Field(min_length=1, max_length=16)


def _shop(request: Request) -> Shop:
    shop = getattr(request.app.state.plaza, "shop", None)
    if shop is None:
        raise Problem(503, "shop_unavailable", "the shop is starting or stopped; try again in a moment")
    return shop


async def _who(request: Request, key: str | None) -> tuple[Shop, str]:
    shop = _shop(request)
    try:
        return shop, await shop.authenticate(key)
    except ShopError as exc:
        raise Problem(exc.status, exc.code, exc.message, headers={"WWW-Authenticate": "Shopper-Key"}) from None


async def _call(fn: Callable[[], Awaitable[Any]], status: int = 200) -> tuple[int, Any]:
    return status, await fn()


async def _once(request: Request, shop: Shop, shopper: str, key: str | None, what: dict[str, Any],
                fn: Callable[[], Awaitable[Any]], status: int = 200) -> JSONResponse:
    try:
        code, body = await shop.idempotent(shopper, key, what, lambda: _call(fn, status))
    except ShopError as exc:
        raise Problem(exc.status, exc.code, exc.message) from None
    if isinstance(body, dict) and body.get("error"):
        raise Problem(code, body["code"], body["detail"])
    return JSONResponse(body, status_code=code, headers={"Cache-Control": "no-store"})


ERRORS = responses(401, 404, 409, 429, 503)


@router.post("/api/shoppers", status_code=201, summary="Become a shopper (no password: keep the key)",
             responses=responses(429, 503))
async def create_shopper(body: NewShopper, request: Request) -> JSONResponse:
    shop = _shop(request)
    limiter: AddressLimiter = request.app.state.plaza.shopper_limiter
    operator = request.app.state.plaza.settings.is_operator(request.headers.get("authorization"))
    wait = 0.0 if operator else limiter.take(request.client.host if request.client else "?")
    if wait:
        raise Problem(429, "rate_limited", "too many new shoppers from this address", headers={
            "Retry-After": retry_after(wait)})
    made = await shop.create_shopper(body.name, request.client.host if request.client else None)
    referrals = getattr(request.app.state.plaza, "referrals", None)
    if body.ref and referrals is not None:
        made["referred"] = await referrals.attach(made["shopper_id"], body.ref) is not None
    return JSONResponse(made, status_code=201, headers={"Cache-Control": "no-store"})


@router.get("/api/shoppers/me", summary="Who the key belongs to", responses=ERRORS)
async def me(request: Request, x_shopper_key: ShopperKey = None) -> dict:
    shop, shopper = await _who(request, x_shopper_key)
    return await shop.shopper(shopper)


@router.get("/api/bag", summary="The bag, with live prices and stock", responses=ERRORS)
async def get_bag(request: Request, x_shopper_key: ShopperKey = None) -> dict:
    shop, shopper = await _who(request, x_shopper_key)
    return await shop.bag(shopper)


@router.post("/api/bag/lines", summary="Add to the bag", responses=ERRORS)
async def add_line(body: AddLine, request: Request, x_shopper_key: ShopperKey = None,
                   idempotency_key: IdempotencyKey = None) -> JSONResponse:
    shop, shopper = await _who(request, x_shopper_key)
    return await _once(request, shop, shopper, idempotency_key, {"op": "add", **body.model_dump()},
                       lambda: shop.add_to_bag(shopper, body.product_id, body.variant_id, body.quantity))


@router.patch("/api/bag/lines/{line_id}", summary="Change a line's quantity (0 removes it)", responses=ERRORS)
async def set_line(line_id: str, body: SetQuantity, request: Request, x_shopper_key: ShopperKey = None,
                   idempotency_key: IdempotencyKey = None) -> JSONResponse:
    shop, shopper = await _who(request, x_shopper_key)
    return await _once(request, shop, shopper, idempotency_key, {"op": "set", "line": line_id, **body.model_dump()},
                       lambda: shop.set_quantity(shopper, line_id, body.quantity))


@router.delete("/api/bag/lines/{line_id}", summary="Remove a line", responses=ERRORS)
async def remove_line(line_id: str, request: Request, x_shopper_key: ShopperKey = None,
                      idempotency_key: IdempotencyKey = None) -> JSONResponse:
    shop, shopper = await _who(request, x_shopper_key)
    return await _once(request, shop, shopper, idempotency_key, {"op": "remove", "line": line_id},
                       lambda: shop.set_quantity(shopper, line_id, 0))


@router.post("/api/checkouts", status_code=201, summary="Open checkout: fix the total, hold the stock",
             responses=ERRORS)
async def open_checkout(body: OpenCheckout, request: Request, x_shopper_key: ShopperKey = None,
                        idempotency_key: IdempotencyKey = None) -> JSONResponse:
    shop, shopper = await _who(request, x_shopper_key)
    delivery = body.delivery.model_dump() if body.delivery else None
    if body.group is not None:
        groups = getattr(request.app.state.plaza, "groups", None)
        if groups is None:
            raise Problem(503, "groups_unavailable", "shopping groups are starting or stopped; try again")
        run = lambda: groups.checkout_group(body.group, shopper, body.part, body.payment_method, delivery,  # noqa: E731
                                            body.coupon)
    else:
        run = lambda: shop.open_checkout(shopper, body.payment_method, delivery, coupon=body.coupon)  # noqa: E731
    return await _once(request, shop, shopper, idempotency_key, {"op": "checkout", **body.model_dump()}, run,
                       status=201)


@router.get("/api/checkouts/{checkout_id}", summary="A checkout's state, total and deadline", responses=ERRORS)
async def get_checkout(checkout_id: str, request: Request, x_shopper_key: ShopperKey = None) -> JSONResponse:
    shop, shopper = await _who(request, x_shopper_key)
    try:
        view = await shop.checkout(shopper, checkout_id)
    except ShopError as exc:
        raise Problem(exc.status, exc.code, exc.message) from None
    return JSONResponse(view, headers={"Cache-Control": "no-store"})


@router.post("/api/checkouts/{checkout_id}/hold", summary="Press or release hold-to-pay (timed by the server)",
             responses=ERRORS)
async def hold(checkout_id: str, body: Hold, request: Request, x_shopper_key: ShopperKey = None,
               idempotency_key: IdempotencyKey = None) -> JSONResponse:
    shop, shopper = await _who(request, x_shopper_key)
    return await _once(request, shop, shopper, idempotency_key, {"op": "hold", "id": checkout_id, **body.model_dump()},
                       lambda: shop.hold(shopper, checkout_id, body.action))


@router.post("/api/checkouts/{checkout_id}/cancel", summary="Cancel: the held stock returns", responses=ERRORS)
async def cancel(checkout_id: str, request: Request, x_shopper_key: ShopperKey = None,
                 idempotency_key: IdempotencyKey = None) -> JSONResponse:
    shop, shopper = await _who(request, x_shopper_key)
    return await _once(request, shop, shopper, idempotency_key, {"op": "cancel", "id": checkout_id},
                       lambda: shop.cancel(shopper, checkout_id))


@router.post("/api/checkouts/{checkout_id}/payment-action", summary="Complete the payment's extra step",
             responses=ERRORS)
async def payment_action(checkout_id: str, body: PaymentAction, request: Request, x_shopper_key: ShopperKey = None,
                         idempotency_key: IdempotencyKey = None) -> JSONResponse:
    shop, shopper = await _who(request, x_shopper_key)
    return await _once(request, shop, shopper, idempotency_key, {"op": "action", "id": checkout_id},
                       lambda: shop.payment_action(shopper, checkout_id, body.code))


@router.get("/api/orders", summary="Your orders, oldest first", responses=ERRORS)
async def list_orders(request: Request, x_shopper_key: ShopperKey = None) -> JSONResponse:
    shop, shopper = await _who(request, x_shopper_key)
    return JSONResponse(await shop.orders(shopper), headers={"Cache-Control": "no-store"})


@router.get("/api/orders/{order_id}", summary="One order (the receipt)", responses=ERRORS)
async def get_order(order_id: str, request: Request, x_shopper_key: ShopperKey = None) -> JSONResponse:
    shop, shopper = await _who(request, x_shopper_key)
    try:
        return JSONResponse(await shop.order(shopper, order_id), headers={"Cache-Control": "no-store"})
    except ShopError as exc:
        raise Problem(exc.status, exc.code, exc.message) from None


@router.post("/api/orders/{order_id}/refund", summary="Refund an order (operator): money, stock and virtual "
             "goods go back", responses=ERRORS)
async def refund(order_id: str, request: Request, idempotency_key: IdempotencyKey = None) -> JSONResponse:
    shop = _shop(request)
    if not request.app.state.plaza.settings.is_operator(request.headers.get("authorization")):
        raise Problem(401, "unauthorized", "refunds need the operator token", headers={"WWW-Authenticate": "Bearer"})
    return await _once(request, shop, "operator", idempotency_key, {"op": "refund", "id": order_id},
                       lambda: shop.refund(order_id))


@router.get("/api/wardrobe", summary="Virtual goods you own (your avatar can wear them)", responses=ERRORS)
async def wardrobe(request: Request, x_shopper_key: ShopperKey = None) -> dict:
    shop, shopper = await _who(request, x_shopper_key)
    return await shop.wardrobe(shopper)


def _broadcast_stock(app: FastAPI) -> Callable[[dict[str, int]], None]:
    """Every room hears of stock changes as they happen (product cards update without polling)."""
    def tell(levels: dict[str, int]) -> None:
        app.state.plaza.hub.broadcast_all({"t": "stock", "levels": {sku: max(0, n) for sku, n in levels.items()}})
    return tell


def _sweeper(shop: Shop) -> Callable[[float], None]:
    """Checkout deadlines on the clock, once a second: one sweep at a time (storage calls are async)."""
    running: list[asyncio.Task] = []

    async def sweep() -> None:
        try:
            await shop.sweep()
        except Exception:  # storage hiccup: log and try again next second
            log.exception("checkout sweeper failed")

    def on_second(_now: float) -> None:
        if not running or running[0].done():
            running[:] = [asyncio.get_running_loop().create_task(sweep())]
    on_second.running = running  # type: ignore[attr-defined]
    return on_second


def _gestures(app: FastAPI, shop: Shop) -> GestureConfirmations:
    """Pinch-to-pay: arm the recogniser for a shopper's seats while a checkout awaits confirmation."""
    hub = app.state.plaza.hub
    gestures = GestureConfirmations(shop.confirm, hub.send_to)

    def on_checkout(checkout: Checkout) -> None:
        if checkout.state is State.AWAITING:
            for info, avatar_id in hub.registry.seats_of(checkout.shopper_id):
                gestures.arm(info.room, avatar_id, checkout.shopper_id, checkout.id)
        else:
            gestures.disarm_checkout(checkout.id)

    def on_tick(now: float) -> None:
        if not gestures.watches:
            return
        gestures.step({room_id: info.room for room_id, info in hub.registry.rooms.items()}, now)
        while gestures.pending:
            asyncio.get_running_loop().create_task(gestures.pending.pop())

    shop.on_checkout_change = on_checkout
    gestures.on_tick = hub.clock.every("gestures", on_tick, order=AFTER_WORLD)  # the unregister, for shutdown
    return gestures


def mount(app: FastAPI) -> None:
    app.include_router(router)
    services = app.state.plaza
    services.shop = None
    services.shopper_limiter = AddressLimiter(int(limits.get("shoppers_per_address_per_min")), 60.0)
    inner = app.router.lifespan_context

    @contextlib.asynccontextmanager
    async def lifespan(a: Any) -> AsyncIterator[Any]:
        settings = services.settings
        storage = open_storage(settings.data_dir, settings.redis_url, settings.storage_prefix)
        shop = Shop(storage, load_catalog(), TestProvider(storage))
        await shop.seed_stock()
        shop.on_stock_change = _broadcast_stock(app)
        services.gestures = _gestures(app, shop)
        services.shop, services.storage, services.stock = shop, storage, shop
        sweeper = _sweeper(shop)
        stop_sweeping = services.hub.clock.every_seconds("checkout deadlines", sweeper, SWEEP_EVERY_S,
                                                          order=AFTER_WORLD)
        try:
            async with inner(a) as state:
                yield state
        finally:
            stop_sweeping()
            for task in sweeper.running:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            services.shop = services.stock = None
            services.gestures.on_tick()
            await storage.close()

    app.router.lifespan_context = lifespan
