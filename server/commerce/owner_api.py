"""The store owner's commerce endpoints for the console (/admin, docs/OPERATIONS.md), all behind the operator
token:

  GET    /api/admin/stock?store=            every product shown in the store, each variant's live available units
  PUT    /api/admin/stock/{sku}             {available}: the owner's count (rooms see the new level at once)
  GET    /api/admin/orders?store=&limit=    the newest orders with a product of that store, newest first
  GET    /api/admin/staff?store=            the store's staff advisor accounts
  DELETE /api/admin/staff/{staff_id}        the account's staff role ends (its key no longer takes calls)

Staff accounts are made by POST /api/staff and orders refunded by POST /api/orders/{id}/refund (both operator).
Orders are listed from an index the shop's order events write (kind `order_log`), so orders placed before this
server version are not listed (they can still be refunded by id)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Path, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field, StrictInt

from server.commerce.http_answers import no_store
from server.commerce.shop import sku_of
from server.net.problems import Problem, responses
from server.scenes.loader import product_positions, scene_or_none
from server.storage.base import VersionConflict

router = APIRouter(tags=["owner"], responses=responses(401, 404, 503))
Store = Annotated[str, Query(max_length=64, pattern=r"^[a-z0-9-]+$", description="store (scene) id")]
ORDER_LOG = "order_log"  # one small document per order (owner "orders"): the console's list
MAX_UNITS = 1_000_000


class StockCount(BaseModel):
    model_config = ConfigDict(extra="forbid")
    available: StrictInt = Field(ge=0, le=MAX_UNITS, description="units on hand to sell (held units not counted)")


def _operator(request: Request) -> Any:
    plaza = request.app.state.plaza
    if not plaza.settings.is_operator(request.headers.get("authorization")):
        raise Problem(401, "unauthorized", "the owner's console needs 'Authorization: Bearer <operator token>'",
                      headers={"WWW-Authenticate": "Bearer"})
    shop = getattr(plaza, "shop", None)
    if shop is None:
        raise Problem(503, "storage_unavailable", "storage is starting; try again in a moment")
    return shop


def _store_products(store: str) -> list[str]:
    scene = scene_or_none(store)
    if scene is None:
        raise Problem(404, "unknown_store", f"there is no store '{store}'")
    return list(product_positions(scene))


@router.get("/api/admin/stock", summary="Live stock of every product in a store (owner)")
async def stock(request: Request, store: Store) -> Any:
    shop = _operator(request)
    products = [shop.catalog.products[pid] for pid in _store_products(store) if pid in shop.catalog.products]
    skus = [sku_of(p.id, v.id) for p in products for v in p.variants]
    levels = await shop.storage.stock(skus)
    return no_store({"store": store, "products": [
        {"id": p.id, "name": p.name, "kind": p.kind, "variants": [
            {"id": v.id, "label": v.key or v.id, "sku": sku_of(p.id, v.id), "available": levels[sku_of(p.id, v.id)]}
            for v in p.variants]} for p in products]})


@router.put("/api/admin/stock/{sku:path}", summary="Set a variant's available units (owner)", responses=responses(422))
async def set_stock(request: Request, body: StockCount,
                    sku: Annotated[str, Path(max_length=160, description="product/variant")]) -> Any:
    shop = _operator(request)
    product_id, _, variant_id = sku.partition("/")
    product = shop.catalog.products.get(product_id)
    if product is None or variant_id not in {v.id for v in product.variants}:
        raise Problem(404, "unknown_sku", f"no product variant '{sku}' in the catalog")
    await shop.storage.set_stock(sku, body.available)
    await shop.stock_changed([sku])
    return no_store({"sku": sku, "available": (await shop.storage.stock([sku]))[sku]})


@router.get("/api/admin/orders", summary="The newest orders with a product of a store (owner)")
async def orders(request: Request, store: Store, limit: Annotated[int, Query(ge=1, le=200)] = 50) -> Any:
    shop = _operator(request)
    mine = set(_store_products(store))
    found = []
    for order_id in reversed(await shop.storage.owned(ORDER_LOG, "orders")):
        doc = await shop.storage.get("order", order_id)
        if doc is None:
            continue
        order = doc.value
        if not any(line["product_id"] in mine for line in order.get("lines", [])):
            continue
        who = await shop.shopper(order["shopper_id"])
        found.append({k: order.get(k) for k in ("id", "state", "placed_at", "currency", "total_minor")}
                     | {"shopper_name": who["name"], "lines": [
                         {"name": li.get("name", li["product_id"]), "option": _variant_label(shop, li),
                          "quantity": li["quantity"]} for li in order["lines"]]})
        if len(found) >= limit:
            break
    return no_store({"store": store, "orders": found})


def _variant_label(shop: Any, line: dict[str, Any]) -> str:
    """The variant as the owner's stock list names it ("Tobacco/40"); its id if the catalog no longer has it."""
    product = shop.catalog.products.get(line["product_id"])
    variant = next((v for v in product.variants if v.id == line["variant_id"]), None) if product else None
    return (variant.key or variant.id) if variant else line["variant_id"]


@router.get("/api/admin/staff", summary="The staff advisor accounts of a store (owner)")
async def staff(request: Request, store: Store) -> Any:
    shop = _operator(request)
    _store_products(store)  # 404 for an unknown store
    people = []
    for staff_id in await shop.storage.owned("staff", f"store:{store}"):
        doc = await shop.storage.get("staff", staff_id)
        if doc is not None:
            people.append({"id": staff_id, "name": doc.value.get("name", ""), "store": store})
    return no_store({"store": store, "staff": people})


@router.delete("/api/admin/staff/{staff_id}", status_code=204, summary="End a staff account's role (owner)")
async def remove_staff(request: Request, staff_id: Annotated[str, Path(max_length=64)]) -> Response:
    shop = _operator(request)
    if not await shop.storage.delete("staff", staff_id):
        raise Problem(404, "unknown_staff", f"no staff account '{staff_id}'")
    groups = getattr(request.app.state.plaza, "groups", None)
    if groups is not None:
        groups.staff_stores.pop(staff_id, None)
    return Response(status_code=204, headers={"Cache-Control": "no-store"})


async def log_order(event: str, order: dict[str, Any], storage: Any) -> None:
    if event != "placed":
        return
    with contextlib.suppress(VersionConflict):  # logged before (a retried event)
        await storage.put(ORDER_LOG, order["id"], {"placed_at": order.get("placed_at")}, 0, owner="orders")


def mount(app: FastAPI) -> None:
    app.include_router(router)
    services = app.state.plaza
    inner = app.router.lifespan_context

    @contextlib.asynccontextmanager
    async def lifespan(a: Any) -> AsyncIterator[Any]:
        async with inner(a) as state:  # the shop (and its storage) start inside
            shop = services.shop

            async def listener(event: str, order: dict[str, Any]) -> None:
                await log_order(event, order, shop.storage)

            shop.order_listeners.append(listener)
            try:
                yield state
            finally:
                shop.order_listeners.remove(listener)

    app.router.lifespan_context = lifespan
