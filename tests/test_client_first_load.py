"""A shopper's first load: text files gzipped with the right cache headers, the catalog per store and
revalidated with an ETag (304), and a tab icon instead of a 404."""

from __future__ import annotations

import gzip
import re

import pytest
from fastapi.testclient import TestClient

from server.config import Settings
from server.net import client_static
from server.net.app import create_app
from server.scenes import load_scene
from tests.support import needs

pytestmark = needs(
    (client_static.CLIENT_DIR / "node_modules" / "three").is_dir(),
    reason="webxr_client/node_modules is missing: run `make setup` (npm ci) first",
)
GZIP = {"Accept-Encoding": "gzip, deflate"}
PLAIN = {"Accept-Encoding": "identity"}


@pytest.fixture(scope="module")
def client() -> TestClient:
    return TestClient(create_app(Settings(scene="boutique")))


def _raw(client: TestClient, url: str, headers: dict[str, str]):  # type: ignore[no-untyped-def]
    """The response as sent (httpx would decode gzip), via a streamed request."""
    with client.stream("GET", url, headers=headers) as response:
        return response, b"".join(response.iter_raw())


def _three_url(client: TestClient) -> str:
    return re.search(r'"three": "([^"]+)"', client.get("/").text).group(1)


def test_vendor_javascript_goes_gzipped_and_immutable(client: TestClient) -> None:
    url = _three_url(client)
    plain, plain_body = _raw(client, url, PLAIN)
    packed, packed_body = _raw(client, url, GZIP)
    assert "content-encoding" not in plain.headers
    assert packed.headers["content-encoding"] == "gzip"
    assert gzip.decompress(packed_body) == plain_body
    assert len(packed_body) < len(plain_body) / 3, (len(packed_body), len(plain_body))
    for response in (plain, packed):
        assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
        assert response.headers["vary"] == "Accept-Encoding"
        assert response.headers["content-type"].startswith("text/javascript")


def test_client_modules_go_gzipped_and_revalidate_to_304(client: TestClient) -> None:
    packed, body = _raw(client, "/client/main.js", GZIP)
    assert packed.headers["content-encoding"] == "gzip"
    assert packed.headers["cache-control"] == "no-cache"
    assert gzip.decompress(body) == (client_static.CLIENT_DIR / "src" / "main.js").read_bytes()
    again = client.get("/client/main.js", headers={**GZIP, "If-None-Match": packed.headers["etag"]})
    assert again.status_code == 304
    # A byte range is served from the plain file, never from compressed bytes.
    part = client.get("/client/main.js", headers={**GZIP, "Range": "bytes=0-9"})
    assert part.status_code == 206 and "content-encoding" not in part.headers and len(part.content) == 10


def test_the_catalog_is_per_store(client: TestClient) -> None:
    for scene_id in ("boutique", "space-market"):
        scene = load_scene(scene_id)
        shown = {p for f in scene.fixtures for p in f.products} | {pl.product_id for f in scene.fixtures
                                                                    for pl in f.placements}
        items = client.get(f"/api/products?scene={scene_id}").json()["items"]
        assert {p["id"] for p in items} == shown
    everything = client.get("/api/products?limit=500").json()["total"]
    assert client.get("/api/products?scene=space-market").json()["total"] < everything
    assert client.get("/api/products?scene=no-such-store").status_code == 404


@pytest.mark.parametrize("url", ["/api/products?scene=boutique", "/api/scenes/boutique"])
def test_catalog_and_scene_are_cacheable(client: TestClient, url: str) -> None:
    first, body = _raw(client, url, GZIP)
    assert first.status_code == 200
    assert first.headers["content-encoding"] == "gzip" and gzip.decompress(body).startswith(b"{")
    assert first.headers["cache-control"] == "no-cache" and first.headers["etag"]
    again = client.get(url, headers={**GZIP, "If-None-Match": first.headers["etag"]})
    assert again.status_code == 304 and again.content == b""
    assert again.headers["etag"] == first.headers["etag"]
    # Different answers have different tags.
    other = client.get(url.replace("boutique", "space-market"))
    assert other.headers["etag"] != first.headers["etag"]


def test_the_tab_icon_is_served(client: TestClient) -> None:
    response = client.get("/favicon.ico")
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/x-icon"
    assert response.content[:4] == b"\x00\x00\x01\x00"  # ICO header, one image
    assert response.content[22:30] == b"\x89PNG\r\n\x1a\n"
    assert "max-age" in response.headers["cache-control"]
    assert 'rel="icon" href="/favicon.ico"' in client.get("/").text
