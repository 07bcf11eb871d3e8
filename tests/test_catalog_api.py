"""Catalog HTTP API: in-process with TestClient, and end to end over a real uvicorn server."""

import gzip
import socket
import subprocess
import sys
import time

import httpx
import pytest
from fastapi.testclient import TestClient

from assets.build import ensure_built
from server.commerce.catalog_assets import AssetFile, respond
from server.net.app import create_app


@pytest.fixture(scope="module")
def client():
    ensure_built()
    return TestClient(create_app())


def test_list_search_and_filters(client):
    everything = client.get("/api/products").json()
    assert everything["total"] >= 40 and len(everything["items"]) == everything["total"]
    r = client.get("/api/products", params={"category": "beauty", "max_price": 3000, "q": "lip"}).json()
    assert r["items"] and all(p["category"] == "beauty" and p["price_minor"] <= 3000 for p in r["items"])
    assert all("lip" in (p["name"] + p["description"]).lower() for p in r["items"])
    sold_out = client.get("/api/products", params={"in_stock": "false"}).json()["items"]
    assert sold_out and all(sum(v["stock"] for v in p["variants"]) == 0 for p in sold_out)
    page = client.get("/api/products", params={"limit": 5, "offset": 5}).json()
    assert [p["id"] for p in page["items"]] == [p["id"] for p in everything["items"][5:10]]


@pytest.mark.parametrize(
    ("params", "status", "words"),
    [
        ({"category": "weapons"}, 400, "Unknown category"),
        ({"kind": "imaginary"}, 400, "Unknown kind"),
        ({"min_price": 900, "max_price": 100}, 400, "min_price is above max_price"),
        ({"min_price": "cheap"}, 422, "min_price"),
    ],
)
def test_bad_queries_get_json_errors(client, params, status, words):
    r = client.get("/api/products", params=params)
    assert r.status_code == status and r.headers["content-type"].startswith("application/problem+json")
    problem = r.json()
    assert problem["status"] == status and problem["code"] and words in r.text


def test_product_detail_stock_and_unknown_product(client):
    d = client.get("/api/products/sofa-3-seat").json()
    assert d["dimensions_cm"]["width"] == 220 and d["transparency"]["supply_chain"]
    assert d["model_url"].startswith("/assets/models/sofa-3-seat.") and d["lod_urls"]
    stock = client.get("/api/products/sofa-3-seat/stock").json()
    assert {v["id"]: v["stock"] for v in stock["variants"]}["rust-leather"] == 0
    assert stock["total"] == sum(v["stock"] for v in d["variants"])
    missing = client.get("/api/products/nope")
    assert missing.status_code == 404 and "No product with id 'nope'" in missing.json()["detail"]


def test_live_stock_comes_from_the_stock_source_when_one_is_installed(client):
    class Sold:
        def levels(self, product):
            return {v.id: 0 for v in product.variants}

    app = create_app()
    app.state.plaza.stock = Sold()
    local = TestClient(app)
    assert local.get("/api/products/apple-gala/stock").json()["total"] == 0
    assert local.get("/api/products", params={"in_stock": "true"}).json()["total"] == 0


def test_scenes_list_and_detail(client):
    ids = [s["id"] for s in client.get("/api/scenes").json()["scenes"]]
    assert "boutique" in ids
    s = client.get("/api/scenes/boutique").json()
    assert s["model_url"].startswith("/assets/scenes/boutique.") and s["spawn_points"] and s["waypoints"]
    assert any(f["placements"] for f in s["fixtures"])
    assert client.get("/api/scenes/atlantis").status_code == 404


def test_openapi_documents_the_routes(client):
    paths = client.get("/openapi.json").json()["paths"]
    for p in ("/api/products", "/api/products/{product_id}", "/api/products/{product_id}/stock", "/api/scenes",
              "/api/scenes/{scene_id}", "/assets/{kind}/{name}"):
        assert p in paths


ASSET = AssetFile("x.glb", bytes(range(256)) * 4, '"abc"', gzip.compress(bytes(range(256)) * 4))


@pytest.mark.parametrize(
    ("method", "headers", "status", "expect"),
    [
        ("GET", {}, 200, {"ETag": '"abc"', "Content-Length": "1024"}),
        ("GET", {"accept-encoding": "br, gzip"}, 200, {"Content-Encoding": "gzip", "ETag": '"abc-gz"'}),
        ("GET", {"accept-encoding": "gzip;q=0"}, 200, {"ETag": '"abc"'}),
        ("GET", {"if-none-match": '"abc"'}, 304, {"ETag": '"abc"'}),
        ("GET", {"if-none-match": 'W/"abc-gz", "zzz"'}, 304, {}),
        ("GET", {"range": "bytes=10-19"}, 206, {"Content-Range": "bytes 10-19/1024", "Content-Length": "10"}),
        ("GET", {"range": "bytes=-4"}, 206, {"Content-Range": "bytes 1020-1023/1024"}),
        ("GET", {"range": "bytes=2000-"}, 416, {"Content-Range": "bytes */1024"}),
        ("GET", {"range": "bytes=0-1,5-6"}, 200, {"Content-Length": "1024"}),
        ("GET", {"range": "bytes=0-9", "if-range": '"old"'}, 200, {}),
        ("HEAD", {}, 200, {"Content-Length": "1024"}),
    ],
)
def test_asset_responses(method, headers, status, expect):
    reply = respond(ASSET, method, headers)
    assert reply.status == status
    for k, v in expect.items():
        assert reply.headers[k] == v
    if status in (200, 206) and method == "GET":
        assert len(reply.body) == int(reply.headers["Content-Length"])
    if status == 206:
        a, b = map(int, reply.headers["Content-Range"].split()[1].split("/")[0].split("-"))
        assert reply.body == ASSET.data[a : b + 1]
    if method == "HEAD" or status == 304:
        assert reply.body == b""


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def live_server():
    ensure_built()
    port = _free_port()
    code = ("import uvicorn; from server.net.app import create_app; "
            f"uvicorn.run(create_app(), host='127.0.0.1', port={port}, log_level='warning')")
    proc = subprocess.Popen([sys.executable, "-c", code])
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        else:
            pytest.fail("server did not start")
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_end_to_end_over_http(live_server):
    with httpx.Client(base_url=live_server, timeout=10) as http:
        listing = http.get("/api/products", params={"category": "electronics"}).json()
        fridge = next(p for p in listing["items"] if p["id"] == "fridge-retro")
        detail = http.get(f"/api/products/{fridge['id']}").json()
        plain = http.get(detail["model_url"], headers={"Accept-Encoding": "identity"})
        assert plain.status_code == 200 and plain.headers["content-type"] == "model/gltf-binary"
        assert plain.headers["cache-control"] == "public, max-age=31536000, immutable"
        assert plain.content[:4] == b"glTF"
        zipped = http.get(detail["model_url"], headers={"Accept-Encoding": "gzip"})
        assert zipped.headers.get("content-encoding") == "gzip" and zipped.content == plain.content
        again = http.get(detail["model_url"], headers={"If-None-Match": plain.headers["etag"]})
        assert again.status_code == 304 and again.content == b""
        head = http.head(detail["model_url"], headers={"Accept-Encoding": "identity"})
        assert head.status_code == 200 and int(head.headers["content-length"]) == len(plain.content)
        part = http.get(detail["model_url"], headers={"Range": "bytes=0-11"})
        assert part.status_code == 206 and part.content == plain.content[:12]
        scene = http.get("/api/scenes/boutique").json()
        assert http.get(scene["model_url"]).status_code == 200
        gone = http.get("/assets/models/fridge-retro.000000000000.glb")
        assert gone.status_code == 404 and "take the current one" in gone.json()["detail"]


def test_model_requests_are_answered_by_the_bare_asgi_endpoint(client):
    from starlette.routing import Match

    from server.commerce.catalog_api import _AssetEndpoint

    scope = {"type": "http", "path": "/assets/models/x.glb", "method": "HEAD", "root_path": ""}
    first = next(r for r in client.app.router.routes if r.matches(scope)[0] == Match.FULL)
    assert isinstance(first.endpoint, _AssetEndpoint)
    missing = client.head("/assets/models/x.glb")
    assert missing.status_code == 404 and missing.content == b""
    assert client.get("/assets/elsewhere/x.glb").status_code == 404


def test_scene_detail_carries_what_a_client_needs_to_agree_on_walkability(client):
    s = client.get("/api/scenes/boutique").json()
    assert s["avatar_radius"] > 0 and len(s["walls"]) == len(s["obstacles"]) == 2
    assert all(len(poly) == 4 for poly in s["obstacles"])
