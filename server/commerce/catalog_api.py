"""HTTP adapter for the catalog, the scenes and the generated glTF files.

Routes (all documented in the OpenAPI schema):
  GET /api/products                  list with search and filters
  GET /api/products/{id}             detail (variants, stock, size chart, transparency, model URLs)
  GET /api/products/{id}/stock       live stock per variant
  GET /api/scenes, /api/scenes/{id}  store scenes (floor, fixtures with product placements, zones, lights)
  GET|HEAD /assets/{models|scenes}/{name}.{sha12}.glb   content-hashed glTF binaries

The catalog list and the scenes are revalidated, not re-sent: each answer carries an ETag of its body
(stock is live, so `no-cache` rather than a max-age), a repeat with that tag gets 304, and bodies go
gzipped to clients that accept it. `?scene=` limits the list to the products a store shows.
"""

from __future__ import annotations

import gzip
import hashlib
import json
from collections.abc import Awaitable
from typing import Any, Protocol

from fastapi import APIRouter, FastAPI, HTTPException, Query, Request
from fastapi.responses import JSONResponse, Response
from starlette.routing import Route

from server.commerce.catalog import CATEGORIES, KINDS, Catalog, CatalogError, Product, load_catalog
from server.commerce.catalog_assets import KINDS as ASSET_KINDS
from server.commerce.catalog_assets import AssetStore, respond
from server.net.client_static import accepts_gzip
from server.net.problems import responses
from server.scenes import SceneError, list_scenes, load_scene


class StockSource(Protocol):
    """Where live stock comes from. The default reads the catalog's initial stock; the commerce
    storage replaces it by setting `app.state.plaza.stock` to an object with this method."""

    def levels(self, product: Product) -> dict[str, int] | Awaitable[dict[str, int]]: ...


class CatalogStock:
    def levels(self, product: Product) -> dict[str, int]:
        return {v.id: v.stock for v in product.variants}


def _catalog() -> Catalog:
    try:
        return load_catalog()
    except CatalogError as exc:
        raise HTTPException(503, f"The catalog data is invalid: {exc}") from exc


def _stock_source(request: Request) -> StockSource:
    services = getattr(request.app.state, "plaza", None)
    return getattr(services, "stock", None) or CatalogStock()


async def _levels(request: Request, product: Product) -> dict[str, int]:
    result = _stock_source(request).levels(product)
    if isinstance(result, Awaitable):
        result = await result
    return dict(result)


router = APIRouter(tags=["catalog"])


def cacheable_json(request: Request, data: Any) -> Response:
    """JSON with an ETag of its bytes: 304 when the client already has them, gzipped when it can take it."""
    body = json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode()
    etag = f'"{hashlib.sha256(body).hexdigest()[:32]}"'
    headers = {"ETag": etag, "Cache-Control": "no-cache", "Vary": "Accept-Encoding"}
    sent = [t.strip().removeprefix("W/") for t in request.headers.get("if-none-match", "").split(",")]
    if etag in sent:
        return Response(status_code=304, headers=headers)
    if len(body) >= 1024 and accepts_gzip(request.headers):
        return Response(gzip.compress(body, compresslevel=6, mtime=0), media_type="application/json",
                        headers={**headers, "Content-Encoding": "gzip"})
    return Response(body, media_type="application/json", headers=headers)


def scene_product_ids(scene_id: str) -> set[str] | None:
    """Products a store shows (its fixtures' lists and placements); None for a scene that lists none,
    which the client stocks from the whole catalog."""
    if scene_id not in list_scenes():
        raise HTTPException(404, f"No scene {scene_id!r}. Available: {', '.join(list_scenes())}.")
    try:
        scene = load_scene(scene_id)
    except SceneError as exc:
        raise HTTPException(503, f"The scene data is invalid: {exc}") from exc
    ids = {p for f in scene.fixtures for p in f.products}
    ids |= {pl.product_id for f in scene.fixtures for pl in f.placements}
    return ids or None


_LIST_DOC = {"summary": "List and search products", "response_class": Response,
             "responses": {200: {"content": {"application/json": {}}}, 304: {"description": "not modified"},
                           **responses(404)}}  # 404: an unknown ?scene=


@router.get("/api/products", **_LIST_DOC)
async def list_products(
    request: Request,
    scene: str | None = Query(None, max_length=64, description="only the products this store scene shows"),
    q: str | None = Query(None, max_length=200, description="words that must all appear (name, tags, colours...)"),
    category: str | None = Query(None, description=f"one of: {', '.join(CATEGORIES)}"),
    kind: str | None = Query(None, description=f"one of: {', '.join(KINDS)}"),
    min_price: int | None = Query(None, ge=0, description="minimum price in minor units (cents)"),
    max_price: int | None = Query(None, ge=0, description="maximum price in minor units (cents)"),
    in_stock: bool | None = Query(None, description="only products with (true) or without (false) stock"),
    limit: int = Query(100, ge=1, le=500),
    offset: int = Query(0, ge=0),
) -> Response:
    if category is not None and category not in CATEGORIES:
        raise HTTPException(400, f"Unknown category {category!r}. Use one of: {', '.join(CATEGORIES)}.")
    if kind is not None and kind not in KINDS:
        raise HTTPException(400, f"Unknown kind {kind!r}. Use one of: {', '.join(KINDS)}.")
    if min_price is not None and max_price is not None and min_price > max_price:
        raise HTTPException(400, "min_price is above max_price; nothing can match.")
    catalog = _catalog()
    levels: dict[str, int] = {}
    if in_stock is not None:
        for p in catalog.products.values():
            levels[p.id] = sum((await _levels(request, p)).values())
    found = catalog.search(q, category, kind, min_price, max_price, in_stock, stock_of=lambda p: levels[p.id])
    shown = scene_product_ids(scene) if scene is not None else None
    if shown is not None:
        found = [p for p in found if p.id in shown]
    items = [await _live_detail(request, p) for p in found[offset : offset + limit]]
    return cacheable_json(request, {"total": len(found), "offset": offset, "limit": limit, "items": items,
                                    "categories": catalog.categories})


async def _live_detail(request: Request, product: Product) -> dict[str, Any]:
    """A product's detail with the live stock of each variant (storage's, once the shop runs)."""
    detail = product.detail()
    live = await _levels(request, product)
    for v in detail["variants"]:
        v["stock"] = live.get(v["id"], 0)
    detail["in_stock"] = sum(live.values()) > 0
    return detail


def _product_or_404(product_id: str) -> Product:
    product = _catalog().get(product_id)
    if product is None:
        raise HTTPException(404, f"No product with id {product_id!r}.")
    return product


@router.get("/api/products/{product_id}", summary="Product detail")
async def product_detail(product_id: str, request: Request) -> dict[str, Any]:
    return await _live_detail(request, _product_or_404(product_id))


@router.get("/api/products/{product_id}/stock", summary="Live stock per variant")
async def product_stock(product_id: str, request: Request) -> dict[str, Any]:
    product = _product_or_404(product_id)
    live = await _levels(request, product)
    return {"product_id": product.id, "total": sum(live.values()),
            "variants": [{"id": v.id, "key": v.key, "stock": live.get(v.id, 0)} for v in product.variants]}


@router.get("/api/scenes", summary="Store scenes")
async def scenes() -> dict[str, Any]:
    out = []
    for sid in list_scenes():
        try:
            s = load_scene(sid)
        except SceneError as exc:
            out.append({"id": sid, "error": str(exc)})
            continue
        out.append({"id": s.id, "name": s.name, "model_url": s.model_url, "bounds_min": s.bounds_min,
                    "bounds_max": s.bounds_max})
    return {"scenes": out}


@router.get("/api/scenes/{scene_id}", summary="Scene detail: floor, fixtures with product placements, zones",
            response_class=Response, responses={200: {"content": {"application/json": {}}},
                                                304: {"description": "not modified"}})
async def scene_detail(scene_id: str, request: Request) -> Response:
    if scene_id not in list_scenes():
        raise HTTPException(404, f"No scene {scene_id!r}. Available: {', '.join(list_scenes())}.")
    try:
        return cacheable_json(request, load_scene(scene_id).to_dict())
    except SceneError as exc:
        raise HTTPException(503, f"The scene data is invalid: {exc}") from exc


_assets = AssetStore()


async def asset_file(kind: str, name: str, request: Request) -> Response:
    asset = _assets.get(kind, name) if kind in ASSET_KINDS else None
    if asset is None:
        return JSONResponse({"detail": f"No {kind} file {name!r}. Model URLs change when a model changes; "
                                       "take the current one from /api/products or /api/scenes."},
                            status_code=404)
    reply = respond(asset, request.method, {k.lower(): v for k, v in request.headers.items()})
    return Response(reply.body, status_code=reply.status, headers=reply.headers)


_ASSET_DOC = {
    "summary": "Generated glTF binary (content-hashed name: cache forever)",
    "response_class": Response,
    "responses": {200: {"content": {"model/gltf-binary": {}}}, 206: {"description": "byte range"},
                  304: {"description": "not modified"}, 404: {"description": "unknown file"}},
}
router.add_api_route("/assets/{kind}/{name}", asset_file, methods=["GET"], operation_id="get_asset", **_ASSET_DOC)
router.add_api_route("/assets/{kind}/{name}", asset_file, methods=["HEAD"], operation_id="head_asset",
                     include_in_schema=False, **_ASSET_DOC)


class _AssetEndpoint:
    """The same answers as `asset_file`, as a bare ASGI endpoint: model requests skip FastAPI's
    per-request parameter and dependency handling (measured in bench/models.md)."""

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        kind, name = scope["path_params"]["kind"], scope["path_params"]["name"]
        asset = _assets.get(kind, name) if kind in ASSET_KINDS else None
        if asset is None:
            body = json.dumps({"detail": f"No {kind} file {name!r}. Model URLs change when a model changes; "
                                         "take the current one from /api/products or /api/scenes."}).encode()
            status, headers = 404, [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
            if scope["method"] == "HEAD":
                body = b""
        else:
            request_headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
            reply = respond(asset, scope["method"], request_headers)
            status, body = reply.status, reply.body
            headers = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in reply.headers.items()]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def mount(app: FastAPI) -> None:
    # The bare endpoint goes first so it answers; the FastAPI routes behind it document the same URL.
    app.router.routes.append(Route("/assets/{kind}/{name}", _AssetEndpoint(), methods=["GET", "HEAD"]))
    app.include_router(router)
