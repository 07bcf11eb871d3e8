"""Serving generated glTF files: content-hashed names, immutable caching, ETag/304, ranges, gzip.

The decisions are a pure function (`respond`) of the request headers and the file, so they are tested
without a server; the HTTP route is a thin adapter. Files are small (a few MB in all) and immutable
(the name carries the hash), so they are read once and kept in memory.
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass
from pathlib import Path

from server.commerce.catalog import MANIFEST_PATH

CONTENT_TYPE = "model/gltf-binary"
IMMUTABLE = "public, max-age=31536000, immutable"
KINDS = ("models", "scenes")
_RANGE_RE = re.compile(r"^bytes=(\d*)-(\d*)$")


@dataclass(frozen=True)
class AssetFile:
    name: str
    data: bytes
    etag: str  # strong ETag of the identity bytes (the content hash)
    gzip: bytes | None


@dataclass(frozen=True)
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes  # empty for HEAD and 304


def _accepts_gzip(accept_encoding: str | None) -> bool:
    if not accept_encoding:
        return False
    for item in accept_encoding.split(","):
        token, _, params = item.strip().partition(";")
        if token.strip().lower() in ("gzip", "*"):
            q = params.strip().removeprefix("q=")
            try:
                return float(q) > 0 if params.strip().startswith("q=") else True
            except ValueError:
                return True
    return False


def _etag_matches(if_none_match: str, etags: tuple[str, ...]) -> bool:
    if if_none_match.strip() == "*":
        return True
    candidates = {t.strip().removeprefix("W/") for t in if_none_match.split(",")}
    return any(e in candidates for e in etags)


def respond(asset: AssetFile, method: str, headers: dict[str, str]) -> Reply:
    """The HTTP answer for GET/HEAD of an asset, given lower-case request headers."""
    gz_etag = asset.etag[:-1] + '-gz"'
    base = {"Cache-Control": IMMUTABLE, "Accept-Ranges": "bytes", "Vary": "Accept-Encoding",
            "Content-Type": CONTENT_TYPE}
    inm = headers.get("if-none-match")
    if inm is not None and _etag_matches(inm, (asset.etag, gz_etag)):
        return Reply(304, {k: base[k] for k in ("Cache-Control", "Vary")} | {"ETag": asset.etag}, b"")
    size = len(asset.data)
    range_header = headers.get("range")
    if_range = headers.get("if-range")
    if range_header and (if_range is None or if_range.strip() == asset.etag):
        m = _RANGE_RE.match(range_header.strip())
        if m and (m.group(1) or m.group(2)):  # one range; several ranges are answered with the whole file
            first, last = m.group(1), m.group(2)
            if first:
                start, end = int(first), min(int(last), size - 1) if last else size - 1
            else:  # suffix range: the last N bytes
                start, end = max(size - int(last), 0), size - 1
            if start >= size or start > end:
                return Reply(416, base | {"Content-Range": f"bytes */{size}", "ETag": asset.etag,
                                          "Content-Length": "0"}, b"")
            body = asset.data[start : end + 1]
            return Reply(206, base | {"Content-Range": f"bytes {start}-{end}/{size}", "ETag": asset.etag,
                                      "Content-Length": str(len(body))}, body if method != "HEAD" else b"")
    if asset.gzip is not None and _accepts_gzip(headers.get("accept-encoding")):
        body = asset.gzip
        out = base | {"Content-Encoding": "gzip", "ETag": gz_etag, "Content-Length": str(len(body))}
    else:
        body = asset.data
        out = base | {"ETag": asset.etag, "Content-Length": str(len(body))}
    return Reply(200, out, body if method != "HEAD" else b"")


class AssetStore:
    """Generated files named in the build manifest, loaded lazily and kept in memory."""

    def __init__(self, manifest_path: Path = MANIFEST_PATH) -> None:
        self.manifest_path = Path(manifest_path)
        self._files: dict[tuple[str, str], AssetFile] = {}
        self._known: dict[tuple[str, str], str] = {}  # (kind, file) -> sha256
        self._lock = threading.Lock()
        self._manifest_mtime: float | None = None

    def _refresh(self) -> None:
        try:
            mtime = self.manifest_path.stat().st_mtime
        except OSError:
            return
        if mtime == self._manifest_mtime:
            return
        manifest = json.loads(self.manifest_path.read_text())
        known = {}
        for entry in manifest.get("models", {}).values():
            for e in [entry, *entry.get("lods", [])]:
                known[("models", e["file"])] = e["sha256"]
        for e in manifest.get("scenes", {}).values():
            known[("scenes", e["file"])] = e["sha256"]
        self._known, self._manifest_mtime = known, mtime

    def get(self, kind: str, name: str) -> AssetFile | None:
        key = (kind, name)
        hit = self._files.get(key)
        if hit is not None:
            return hit
        with self._lock:
            if key not in self._known:
                self._refresh()  # a rebuild may have produced new names since we last looked
            sha = self._known.get(key)
            if sha is None:
                return None
            path = self.manifest_path.parent / kind / name
            try:
                data = path.read_bytes()
            except OSError:
                return None
            gz_path = path.with_name(name + ".gz")
            gz = gz_path.read_bytes() if gz_path.is_file() else None
            asset = AssetFile(name, data, f'"{sha[:32]}"', gz)
            self._files[key] = asset
            return asset
