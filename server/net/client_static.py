"""Serves the WebXR client: the page at `/`, its ES modules under `/client/`, npm packages under `/vendor/`.

No catch-all mount: only `/`, `/client/...` and `/vendor/...` are claimed, so API routes (`/api`, `/ws`,
`/metrics`, `/healthz`, `/models`, ...) win whatever order the feature modules mount in.

Caching: vendor URLs carry the installed package version (`/vendor/three@0.187.0/...`), so they are
immutable for a year; the page and the client's own modules change with every edit, so they are
revalidated on each load (`no-cache` + ETag, answered with 304 when unchanged).

Compression: text files (JS, CSS, JSON, SVG, glTF JSON) go gzipped to browsers that accept it (three.js
shrinks about 5x); each file is compressed once and kept in memory until it changes. Brotli would save
a little more but needs a package the project does not have. Byte ranges are answered uncompressed.
"""

from __future__ import annotations

import functools
import gzip
import html
import json
import mimetypes
import re
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

from fastapi import FastAPI, HTTPException
from fastapi.responses import HTMLResponse, Response
from starlette.datastructures import Headers
from starlette.responses import FileResponse
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


COMPRESSIBLE = (".js", ".mjs", ".css", ".json", ".svg", ".gltf", ".html", ".txt", ".map")
MIN_COMPRESS_BYTES = 1024
GZIP_CACHE_LIMIT = 64 * 1024 * 1024  # bytes of compressed files kept in memory


def accepts_gzip(headers: Headers) -> bool:
    """True when Accept-Encoding lists gzip without q=0."""
    for part in headers.get("accept-encoding", "").lower().split(","):
        name, _, params = part.strip().partition(";")
        if name.strip() in ("gzip", "*") and params.replace(" ", "") not in ("q=0", "q=0.0", "q=0.00", "q=0.000"):
            return True
    return False


class _GzipCache:
    """Compressed bodies by (path, mtime, size): a changed file gets a new key, so nothing goes stale."""

    def __init__(self, limit: int = GZIP_CACHE_LIMIT) -> None:
        self.limit = limit
        self.entries: dict[tuple[str, int, int], bytes] = {}
        self.size = 0

    def get(self, path: str, mtime_ns: int, size: int) -> bytes:
        key = (path, mtime_ns, size)
        body = self.entries.get(key)
        if body is None:
            body = gzip.compress(Path(path).read_bytes(), compresslevel=9, mtime=0)
            while self.entries and self.size + len(body) > self.limit:
                self.size -= len(self.entries.pop(next(iter(self.entries))))
            self.entries[key] = body
            self.size += len(body)
        return body


class CachedStaticFiles(StaticFiles):
    """StaticFiles (ETag, 304, ranges, MIME) with a fixed Cache-Control on every answer, and text files
    gzipped for browsers that accept it."""

    def __init__(self, *, directory: Path, cache_control: str, gzip_cache: _GzipCache | None = None) -> None:
        super().__init__(directory=directory, check_dir=False)
        self.cache_control = cache_control
        self.gzip_cache = gzip_cache or _GzipCache()

    def file_response(self, full_path, stat_result, scope: Scope, status_code: int = 200) -> Response:  # type: ignore[no-untyped-def]
        response = super().file_response(full_path, stat_result, scope, status_code)
        request_headers = Headers(scope=scope)
        compressible = str(full_path).endswith(COMPRESSIBLE) and stat_result.st_size >= MIN_COMPRESS_BYTES
        if compressible:
            response.headers["Vary"] = "Accept-Encoding"
        if (not compressible or not isinstance(response, FileResponse) or response.status_code != 200
                or scope["method"] != "GET" or "range" in request_headers or not accepts_gzip(request_headers)):
            return response
        body = self.gzip_cache.get(str(full_path), stat_result.st_mtime_ns, stat_result.st_size)
        headers = {k: v for k, v in response.headers.items() if k.lower() not in ("content-length", "accept-ranges")}
        # Weak: the bytes differ from the plain file's. Starlette's 304 check ignores the W/ prefix.
        headers["etag"] = f"W/{response.headers['etag']}"
        headers["content-encoding"] = "gzip"
        return Response(body, status_code=200, headers=headers)

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


@functools.cache
def favicon_ico(size: int = 32) -> bytes:
    """The tab icon, drawn here (no binary in the repo): a blue rounded square with a white shopping bag,
    as a PNG inside an ICO container (every current browser reads that)."""

    def pixel(x: int, y: int) -> tuple[int, int, int, int]:
        u, v = (x + 0.5) / size, (y + 0.5) / size
        corner = max(abs(u - 0.5) - 0.32, 0) ** 2 + max(abs(v - 0.5) - 0.32, 0) ** 2
        if corner > 0.18**2:
            return (0, 0, 0, 0)
        bag = 0.25 <= u <= 0.75 and 0.38 <= v <= 0.8
        handle = 0.36 <= u <= 0.64 and 0.2 <= v <= 0.4 and not (0.43 <= u <= 0.57 and v >= 0.27)
        return (255, 255, 255, 255) if bag or handle else (58, 110, 165, 255)

    rows = b"".join(b"\x00" + b"".join(bytes(pixel(x, y)) for x in range(size)) for y in range(size))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0))
           + chunk(b"IDAT", zlib.compress(rows, 9)) + chunk(b"IEND", b""))
    header = struct.pack("<HHH", 0, 1, 1) + struct.pack("<BBBBHHII", size, size, 0, 0, 1, 32, len(png), 22)
    return header + png


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

    @app.api_route("/admin", methods=["GET", "HEAD"], include_in_schema=False)
    async def owner_console() -> Response:
        # The page is public (it holds no data); every figure it shows needs the owner key (docs/OPERATIONS.md).
        try:
            page = (client_dir / "admin.html").read_text(encoding="utf-8")
        except OSError:
            return _missing_client_page("webxr_client/admin.html is missing")
        return HTMLResponse(page, headers={"Cache-Control": REVALIDATE})

    @app.api_route("/favicon.ico", methods=["GET", "HEAD"], include_in_schema=False)
    async def favicon() -> Response:
        return Response(favicon_ico(), media_type="image/x-icon",
                        headers={"Cache-Control": "public, max-age=86400"})

    gzip_cache = _GzipCache()
    app.mount("/client", CachedStaticFiles(directory=client_dir / "src", cache_control=REVALIDATE,
                                           gzip_cache=gzip_cache), name="client-src")

    for package in VENDOR_PACKAGES:
        package_dir = client_dir / "node_modules" / package.name
        version = package_version(package_dir)
        if version is None:
            continue  # not installed: the page explains what to run
        for folder in package.folders:
            app.mount(f"/vendor/{package.name}@{version}/{folder}",
                      CachedStaticFiles(directory=package_dir / folder, cache_control=IMMUTABLE,
                                        gzip_cache=gzip_cache),
                      name=f"vendor-{package.name}-{folder}")

    @app.api_route("/vendor/{rest:path}", methods=["GET", "HEAD"], include_in_schema=False)
    async def vendor_not_found(rest: str) -> Response:
        raise HTTPException(status_code=404, detail=f"no client package file at /vendor/{rest}")
