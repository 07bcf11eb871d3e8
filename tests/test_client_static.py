"""The server serves the WebXR client: page, modules and vendor files, with the right types and caching."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from server.config import Settings
from server.net import client_static
from server.net.app import create_app
from tests.support import needs

pytestmark = needs(
    (client_static.CLIENT_DIR / "node_modules" / "three").is_dir(),
    reason="webxr_client/node_modules is missing: run `make setup` (npm ci) first",
)


@pytest.fixture(scope="module")
def client() -> TestClient:
    return TestClient(create_app(Settings(scene="space-market")))


def test_index_has_import_map_with_versioned_vendor_urls(client: TestClient) -> None:
    response = client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["cache-control"] == "no-cache"
    html = response.text
    assert "%VENDOR" not in html and "%DEFAULT_SCENE%" not in html
    assert 'content="space-market"' in html
    three_url = re.search(r'"three": "([^"]+)"', html).group(1)
    assert re.fullmatch(r"/vendor/three@\d+\.\d+\.\d+/build/three\.module\.js", three_url)


def test_every_url_the_page_names_resolves(client: TestClient) -> None:
    html = client.get("/").text
    urls = set(re.findall(r'(?:src|href)="(/[^"]+)"', html))
    urls |= {u for u in re.findall(r'"(/(?:vendor|client)/[^"]+)"', html) if not u.endswith("/")}
    assert urls, "the page names no local URLs"
    for url in urls:
        assert client.get(url).status_code == 200, url


def test_modules_are_javascript_and_revalidated_with_etag(client: TestClient) -> None:
    response = client.get("/client/main.js")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/javascript")
    assert response.headers["cache-control"] == "no-cache"
    again = client.get("/client/main.js", headers={"If-None-Match": response.headers["etag"]})
    assert again.status_code == 304


def test_vendor_files_are_immutable_and_models_have_gltf_type(client: TestClient) -> None:
    html = client.get("/").text
    three_url = re.search(r'"three": "([^"]+)"', html).group(1)
    response = client.get(three_url)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/javascript")
    assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
    profiles = re.search(r'inputProfiles: "([^"]+)"', html).group(1)
    hand = client.get(profiles + "generic-hand/left.glb")
    assert hand.status_code == 200
    assert hand.headers["content-type"] == "model/gltf-binary"
    assert client.get(profiles + "profilesList.json").json()


def test_only_whitelisted_package_folders_are_served(client: TestClient) -> None:
    html = client.get("/").text
    prefix = re.search(r'"three": "(/vendor/three@[^/]+)/', html).group(1)
    assert client.get(prefix + "/package.json").status_code == 404
    assert client.get(prefix + "/build/../package.json").status_code == 404
    missing = client.get("/vendor/left-pad@1.0.0/index.js")
    assert missing.status_code == 404
    assert "no client package file" in missing.json()["detail"]


def test_client_does_not_shadow_api_routes(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    # An unknown API path stays an API 404, not the client page.
    response = client.get("/api/definitely-not-a-route")
    assert response.status_code == 404
    assert not response.headers["content-type"].startswith("text/html")


def test_render_index_fills_placeholders_and_escapes_scene() -> None:
    html = client_static.render_index(
        '<meta content="%DEFAULT_SCENE%"><script src="%VENDOR:three%/x.js"></script>%VENDOR:nope%',
        {"three": "/vendor/three@1.2.3"},
        'evil"scene',
    )
    assert '/vendor/three@1.2.3/x.js' in html
    assert '/vendor/nope@missing' in html
    assert 'evil&quot;scene' in html
