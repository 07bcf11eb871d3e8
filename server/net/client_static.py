"""Serves the WebXR client: the page at `/`, its ES modules under `/client/`, npm packages under `/vendor/`.

No catch-all mount: only `/`, `/client/...` and `/vendor/...` are claimed, so API routes (`/api`, `/ws`,
`/metrics`, `/healthz`, `/models`, ...) win whatever order the feature modules mount in.

Caching: vendor URLs carry the installed package version (`/vendor/three@0.187.0/...`), so they are
immutable for a year; the page and the client's own modules change with every edit, so they are
revalidated on each load (`no-cache` + ETag, answered with 304 when unchanged).
"""

from __future__ import annotations

import html
import json
import mimetypes
import re
from dataclasses import dataclass
from pathlib import Path

from fastapi import FastAPI, HTTPException
from fastapi.responses import HTMLResponse, Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

CLIENT_DIR = Path(__file__).resolve().parents[2] / "webxr_client"
IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"

# Python's MIME table lacks these on slim systems; browsers refuse module scripts without a JS type.
for _type, _ext in (
    ("text/javascript", ".js"),
    ("text/javascript", ".mjs"),
    ("model/gltf-binary", ".glb"),
    ("model/gltf+json", ".gltf"),
    ("image/ktx2", ".ktx2"),
    ("application/wasm", ".wasm"),
    ("application/json", ".json"),
):
    mimetypes.add_type(_type, _ext)


@dataclass(frozen=True)
class VendorPackage:
    """An npm package the page needs, and the only subfolders of it that are served."""

    name: str
    folders: tuple[str, ...]


VENDOR_PACKAGES: tuple[VendorPackage, ...] = (
    VendorPackage("three", ("build", "examples/jsm")),
    # Emulated headset for tests and for developers without a headset (loaded only with ?emulate=...).
    VendorPackage("iwer", ("build",)),
    # Controller and hand models: served locally so the client never depends on a CDN.
    VendorPackage("@webxr-input-profiles/assets", ("dist/profiles",)),
    # Control messages on the room websocket are msgpack maps.
    VendorPackage("@msgpack/msgpack", ("dist.esm",)),
)


class CachedStaticFiles(StaticFiles):
    """StaticFiles (ETag, 304, ranges, MIME) with a fixed Cache-Control on every answer."""

    def __init__(self, *, directory: Path, cache_control: str) -> None:
        super().__init__(directory=directory, check_dir=False)
        self.cache_control = cache_control

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        if response.status_code in (200, 206, 304):
            response.headers["Cache-Control"] = self.cache_control
        return response


def package_version(package_dir: Path) -> str | None:
    try:
        return str(json.loads((package_dir / "package.json").read_text(encoding="utf-8"))["version"])
    except (OSError, ValueError, KeyError):
        return None


def vendor_prefixes(client_dir: Path) -> dict[str, str]:
    """Package name -> versioned URL prefix, for the packages that are installed."""
    prefixes = {}
    for package in VENDOR_PACKAGES:
        version = package_version(client_dir / "node_modules" / package.name)
        if version is not None:
            prefixes[package.name] = f"/vendor/{package.name}@{version}"
    return prefixes


_PLACEHOLDER = re.compile(r"%VENDOR:([@a-z0-9/._-]+)%|%DEFAULT_SCENE%")


def render_index(template: str, prefixes: dict[str, str], default_scene: str) -> str:
    """Fills `%VENDOR:<package>%` with the versioned vendor prefix and `%DEFAULT_SCENE%` with the scene id."""

    def fill(match: re.Match[str]) -> str:
        if match.group(0) == "%DEFAULT_SCENE%":
            return html.escape(default_scene, quote=True)
        return prefixes.get(match.group(1), f"/vendor/{match.group(1)}@missing")

    return _PLACEHOLDER.sub(fill, template)


def _missing_client_page(reason: str) -> HTMLResponse:
    body = (
        "<!doctype html><meta charset=utf-8><title>Plaza</title>"
        f"<p>The Plaza client is not installed: {reason}. Run <code>make setup</code> (it runs "
        "<code>npm ci</code> in <code>webxr_client/</code>), then reload.</p>"
    )
    return HTMLResponse(body, status_code=503, headers={"Cache-Control": "no-store"})


def mount(app: FastAPI, client_dir: Path = CLIENT_DIR) -> None:
    index_path = client_dir / "index.html"

    def default_scene() -> str:
        services = getattr(app.state, "plaza", None)
        return getattr(getattr(services, "settings", None), "scene", "boutique")

    @app.api_route("/", methods=["GET", "HEAD"], include_in_schema=False)
    async def index() -> Response:
        try:
            template = index_path.read_text(encoding="utf-8")
        except OSError:
            return _missing_client_page("webxr_client/index.html is missing")
        prefixes = vendor_prefixes(client_dir)
        if "three" not in prefixes:
            return _missing_client_page("the npm package three is not installed")
        html = render_index(template, prefixes, default_scene())
        return HTMLResponse(html, headers={"Cache-Control": REVALIDATE})

    app.mount("/client", CachedStaticFiles(directory=client_dir / "src", cache_control=REVALIDATE),
              name="client-src")

    for package in VENDOR_PACKAGES:
        package_dir = client_dir / "node_modules" / package.name
        version = package_version(package_dir)
        if version is None:
            continue  # not installed: the page explains what to run
        for folder in package.folders:
            app.mount(f"/vendor/{package.name}@{version}/{folder}",
                      CachedStaticFiles(directory=package_dir / folder, cache_control=IMMUTABLE),
                      name=f"vendor-{package.name}-{folder}")

    @app.api_route("/vendor/{rest:path}", methods=["GET", "HEAD"], include_in_schema=False)
    async def vendor_not_found(rest: str) -> Response:
        raise HTTPException(status_code=404, detail=f"no client package file at /vendor/{rest}")
