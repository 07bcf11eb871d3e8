"""`python -m assets.build`: generate every product model and scene glTF when missing or stale.

Outputs go to `assets/generated/` (git-ignored: a full build takes about a second, so committing
megabytes of binaries would only bloat the history):
  models/<product>.<sha12>.glb (+ .lodN, + .gz when gzip saves at least 10%), scenes/<scene>.<sha12>.glb,
  manifest.json (hashed names, sizes, triangle counts, and the fingerprint of every input).
The up-to-date check hashes the inputs only and imports nothing heavy, so it stays well under a second.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import sys
import time
from pathlib import Path
from typing import Any

ASSETS = Path(__file__).resolve().parent
REPO = ASSETS.parent
OUT = ASSETS / "generated"
FORMAT_VERSION = 1


def input_files() -> list[Path]:
    """Everything the generated files depend on: generator code and the store data."""
    files = [ASSETS / name for name in ("build.py", "mesh.py", "gltf.py", "textures.py", "product_models.py",
                                        "scene_models.py")]
    files += [REPO / "server" / "commerce" / "catalog.py", *sorted((REPO / "server" / "scenes").glob("*.py"))]
    files += sorted((ASSETS / "catalog").glob("*.json")) + sorted((ASSETS / "size_charts").glob("*.json"))
    files += sorted((REPO / "scenes").glob("*/scene.json"))
    return files


def fingerprint() -> str:
    h = hashlib.sha256(f"format {FORMAT_VERSION}".encode())
    for path in input_files():
        h.update(str(path.relative_to(REPO)).encode())
        h.update(path.read_bytes())
    return h.hexdigest()


def _manifest_ok(out: Path, fp: str) -> bool:
    try:
        manifest = json.loads((out / "manifest.json").read_text())
    except (OSError, ValueError):
        return False
    if manifest.get("fingerprint") != fp:
        return False
    names = [e["file"] for e in manifest.get("models", {}).values()]
    names += [lod["file"] for e in manifest.get("models", {}).values() for lod in e.get("lods", [])]
    return all((out / "models" / n).is_file() for n in names) and all(
        (out / "scenes" / e["file"]).is_file() for e in manifest.get("scenes", {}).values()
    )


def _store(folder: Path, stem: str, data: bytes, extra: dict[str, Any]) -> dict[str, Any]:
    sha = hashlib.sha256(data).hexdigest()
    name = f"{stem}.{sha[:12]}.glb"
    (folder / name).write_bytes(data)
    entry: dict[str, Any] = {"file": name, "sha256": sha, "bytes": len(data), **extra}
    packed = gzip.compress(data, compresslevel=9, mtime=0)  # mtime=0: same bytes every build
    if len(packed) <= 0.9 * len(data):
        (folder / (name + ".gz")).write_bytes(packed)
        entry["gzip_bytes"] = len(packed)
    return entry


def _triangles(glb: bytes) -> int:
    length = int.from_bytes(glb[12:16], "little")
    doc = json.loads(glb[20 : 20 + length])
    return sum(doc["accessors"][p["indices"]]["count"] // 3 for m in doc.get("meshes", []) for p in m["primitives"])


def generate(out: Path = OUT, fp: str | None = None) -> dict[str, Any]:
    """Generate everything into `out` and return the manifest."""
    from assets.product_models import build_product_glb, lod_levels
    from assets.scene_models import build_scene_glb
    from server.commerce.catalog import CATALOG_DIR, load_catalog_from
    from server.scenes.loader import SCENES_DIR, load_scene_file

    catalog = load_catalog_from(CATALOG_DIR, manifest_path=None)
    models_dir, scenes_dir = out / "models", out / "scenes"
    models_dir.mkdir(parents=True, exist_ok=True)
    scenes_dir.mkdir(parents=True, exist_ok=True)
    manifest: dict[str, Any] = {"format": FORMAT_VERSION, "fingerprint": fp or fingerprint(), "models": {},
                                "scenes": {}}
    for product in catalog.products.values():
        levels = lod_levels(product)
        glb = build_product_glb(product, levels[0])
        entry = _store(models_dir, product.id, glb, {"triangles": _triangles(glb)})
        entry["lods"] = []
        for n, detail in enumerate(levels[1:], start=1):
            lod = build_product_glb(product, detail)
            entry["lods"].append(_store(models_dir, f"{product.id}.lod{n}", lod, {"triangles": _triangles(lod)}))
        manifest["models"][product.id] = entry
    for path in sorted(SCENES_DIR.glob("*/scene.json")):
        scene = load_scene_file(path, lambda pid: catalog.get(pid) is not None)
        glb = build_scene_glb(scene)
        manifest["scenes"][scene.id] = _store(scenes_dir, scene.id, glb, {"triangles": _triangles(glb)})
    keep = {e["file"] for e in manifest["models"].values()} | {
        lod["file"] for e in manifest["models"].values() for lod in e["lods"]
    } | {e["file"] for e in manifest["scenes"].values()}
    for folder in (models_dir, scenes_dir):
        for stale in folder.iterdir():
            if stale.name.removesuffix(".gz") not in keep:
                stale.unlink()
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")
    return manifest


def ensure_built(out: Path = OUT, force: bool = False) -> tuple[bool, dict[str, Any]]:
    """Build if stale; returns (rebuilt, manifest)."""
    fp = fingerprint()
    if not force and _manifest_ok(out, fp):
        return False, json.loads((out / "manifest.json").read_text())
    return True, generate(out, fp)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m assets.build", description=__doc__.splitlines()[0])
    parser.add_argument("--force", action="store_true", help="rebuild even if up to date")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    try:
        rebuilt, manifest = ensure_built(force=args.force)
    except ValueError as exc:  # CatalogError / SceneError: bad store data, said in words
        print(f"assets.build: {exc}", file=sys.stderr)
        return 1
    took = time.perf_counter() - start
    if rebuilt:
        total = sum(e["bytes"] for e in manifest["models"].values())
        print(f"assets.build: generated {len(manifest['models'])} product models ({total / 1e6:.2f} MB) and "
              f"{len(manifest['scenes'])} scenes in {took:.1f} s")
    else:
        print(f"assets.build: up to date ({took * 1000:.0f} ms)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
