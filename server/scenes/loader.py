"""Read and validate `scenes/<id>/scene.json`; every error names the file and the field."""

from __future__ import annotations

import functools
import json
import math
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from server.scenes.model import (
    FIXTURE_LEVELS,
    FIXTURE_TYPES,
    MAX_EXTENT_M,
    Fixture,
    Hunt,
    HuntItem,
    Placement,
    Scene,
    SceneLight,
    Wall,
    Zone,
    _point_in_polygon,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
SCENES_DIR = REPO_ROOT / "scenes"
ZONE_KINDS = ("fitting_room", "checkout", "stage", "window", "entrance", "game", "service")
LIGHT_KINDS = ("point", "spot", "directional")
_ID_RE = re.compile(r"^[a-z0-9][a-z0-9-]{1,63}$")
_HEX_RE = re.compile(r"^#[0-9a-fA-F]{6}$")


class SceneError(ValueError):
    """Bad scene data; the message starts with the file and the field."""


def scenes_dir() -> Path:
    return Path(os.environ.get("PLAZA_SCENES_DIR", SCENES_DIR))


class _Field:
    def __init__(self, file: str) -> None:
        self.file = file

    def fail(self, path: str, problem: str) -> SceneError:
        return SceneError(f"{self.file}: {path}: {problem}")

    def obj(self, parent: dict[str, Any], key: str, path: str) -> Any:
        if key not in parent:
            raise self.fail(path, "is missing")
        return parent[key]

    def number(self, value: Any, path: str, lo: float = -math.inf, hi: float = math.inf) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise self.fail(path, f"must be a number, got {json.dumps(value)[:40]}")
        if not lo <= value <= hi:
            raise self.fail(path, f"must be between {lo} and {hi}, got {value}")
        return float(value)

    def vec(self, value: Any, n: int, path: str, lo: float = -math.inf, hi: float = math.inf) -> tuple[float, ...]:
        if not isinstance(value, list) or len(value) != n:
            raise self.fail(path, f"must be a list of {n} numbers, got {json.dumps(value)[:40]}")
        return tuple(self.number(v, f"{path}[{i}]", lo, hi) for i, v in enumerate(value))

    def text(self, parent: dict[str, Any], key: str, path: str) -> str:
        value = self.obj(parent, key, path)
        if not isinstance(value, str) or not value.strip():
            raise self.fail(path, "must be a non-empty string")
        return value


def _rects_overlap(a: np.ndarray, b: np.ndarray, tolerance: float = 0.01) -> bool:
    """Separating-axis test for two convex quads (4,2); touching within `tolerance` is allowed."""
    for quad in (a, b):
        for i in range(4):
            edge = quad[(i + 1) % 4] - quad[i]
            axis = np.array([-edge[1], edge[0]]) / max(np.linalg.norm(edge), 1e-12)
            pa, pb = a @ axis, b @ axis
            if pa.max() <= pb.min() + tolerance or pb.max() <= pa.min() + tolerance:
                return False
    return True


def _layout(ftype: str, size: tuple[float, float, float], count: int) -> list[tuple[float, float, float]]:
    """Fixture-local (x, y, z) slots for `count` products: spread along each level, level by level."""
    w, h, _ = size
    levels = FIXTURE_LEVELS[ftype] or (h,)
    levels = tuple(y for y in levels if y < h) or (h,)
    per_level = max(1, math.ceil(count / len(levels)))
    slots = []
    for i in range(count):
        level, k = divmod(i, per_level)
        n_here = min(per_level, count - level * per_level)
        x = -w / 2 + w * (k + 0.5) / n_here
        slots.append((x, levels[level], 0.0))
    return slots


def parse_scene(data: Any, file: str, product_exists: Callable[[str], bool] | None = None) -> Scene:
    f = _Field(file)
    if not isinstance(data, dict):
        raise SceneError(f"{file}: must be a JSON object")
    sid = f.text(data, "id", "id")
    if not _ID_RE.match(sid):
        raise f.fail("id", "use 2-64 lowercase letters, digits and dashes")
    name = f.text(data, "name", "name")
    ceiling = f.number(f.obj(data, "ceiling_height", "ceiling_height"), "ceiling_height", 2.2, 20)
    floor_raw = f.obj(data, "floor", "floor")
    if not isinstance(floor_raw, list) or len(floor_raw) < 3:
        raise f.fail("floor", "must be a polygon: a list of at least 3 [x, z] points")
    floor = np.array([f.vec(p, 2, f"floor[{i}]", -MAX_EXTENT_M, MAX_EXTENT_M) for i, p in enumerate(floor_raw)])
    area = 0.5 * float(np.sum(floor[:, 0] * np.roll(floor[:, 1], -1) - np.roll(floor[:, 0], -1) * floor[:, 1]))
    if abs(area) < 4.0:
        raise f.fail("floor", f"encloses only {abs(area):.1f} m²; a store needs at least 4 m²")

    def inside_floor(xz: tuple[float, float] | np.ndarray) -> bool:
        return bool(_point_in_polygon(np.asarray(xz, dtype=np.float64).reshape(-1, 2), floor).all())

    walls = []
    for i, w in enumerate(data.get("walls", [])):
        p = f"walls[{i}]"
        if not isinstance(w, dict):
            raise f.fail(p, "must be an object with from, to, thickness, height")
        a = f.vec(f.obj(w, "from", p + ".from"), 2, p + ".from", -MAX_EXTENT_M, MAX_EXTENT_M)
        b = f.vec(f.obj(w, "to", p + ".to"), 2, p + ".to", -MAX_EXTENT_M, MAX_EXTENT_M)
        walls.append(Wall(a, b, f.number(w.get("thickness", 0.1), p + ".thickness", 0.02, 1.0),
                          f.number(w.get("height", 2.4), p + ".height", 0.3, ceiling)))

    fixtures: list[Fixture] = []
    seen: set[str] = set()
    for i, raw in enumerate(f.obj(data, "fixtures", "fixtures")):
        p = f"fixtures[{i}]"
        if not isinstance(raw, dict):
            raise f.fail(p, "must be an object")
        fid = f.text(raw, "id", p + ".id")
        p = f"fixtures[{i}] ({fid!r})"
        if fid in seen:
            raise f.fail(p + ".id", "duplicate fixture id")
        seen.add(fid)
        ftype = f.text(raw, "type", p + ".type")
        if ftype not in FIXTURE_TYPES:
            raise f.fail(p + ".type", f"unknown fixture type {ftype!r}; known: {', '.join(FIXTURE_TYPES)}")
        center = f.vec(f.obj(raw, "at", p + ".at"), 2, p + ".at", -MAX_EXTENT_M, MAX_EXTENT_M)
        rot = f.number(raw.get("rotation_deg", 0), p + ".rotation_deg", -360, 360)
        size = f.vec(f.obj(raw, "size", p + ".size"), 3, p + ".size", 0.05, 20)
        products = raw.get("products", [])
        if not isinstance(products, list) or not all(isinstance(x, str) for x in products):
            raise f.fail(p + ".products", "must be a list of product ids")
        if products and ftype == "decor":
            raise f.fail(p + ".products", "decor fixtures hold no products")
        for k, pid in enumerate(products):
            if product_exists is not None and not product_exists(pid):
                raise f.fail(f"{p}.products[{k}]", f"unknown product {pid!r} (not in the catalog)")
        fx = Fixture(fid, ftype, (center[0], center[1]), rot, (size[0], size[1], size[2]), tuple(products), (),
                     raw.get("shape"))
        corners = fx.corners()
        if not inside_floor(corners):
            raise f.fail(p + ".at", f"fixture at {list(center)} (size {list(size)}) is out of bounds: "
                                    "part of it lies outside the floor polygon")
        if size[1] > ceiling:
            raise f.fail(p + ".size", f"{size[1]} m tall fixture does not fit under the {ceiling} m ceiling")
        for other in fixtures:
            if _rects_overlap(corners, other.corners()):
                raise f.fail(p + ".at", f"fixture overlaps fixture {other.id!r}")
        placements = []
        for pid, (lx, ly, lz) in zip(products, _layout(ftype, fx.size, len(products)), strict=True):
            wx, wz = fx.to_world(lx, lz)
            placements.append(Placement(pid, (round(wx, 4), round(ly, 4), round(wz, 4)), rot))
        fixtures.append(Fixture(fid, ftype, fx.center, rot, fx.size, fx.products, tuple(placements), fx.shape))

    zones = []
    for i, raw in enumerate(data.get("zones", [])):
        p = f"zones[{i}]"
        zid = f.text(raw, "id", p + ".id")
        kind = f.text(raw, "kind", p + ".kind")
        if kind not in ZONE_KINDS:
            raise f.fail(p + ".kind", f"unknown zone kind {kind!r}; known: {', '.join(ZONE_KINDS)}")
        lo = f.vec(f.obj(raw, "min", p + ".min"), 2, p + ".min", -MAX_EXTENT_M, MAX_EXTENT_M)
        hi = f.vec(f.obj(raw, "max", p + ".max"), 2, p + ".max", -MAX_EXTENT_M, MAX_EXTENT_M)
        if lo[0] >= hi[0] or lo[1] >= hi[1]:
            raise f.fail(p, "min must be below max on both x and z")
        zones.append(Zone(zid, kind, (lo[0], lo[1]), (hi[0], hi[1])))

    lights = []
    for i, raw in enumerate(data.get("lights", [])):
        p = f"lights[{i}]"
        kind = f.text(raw, "type", p + ".type")
        if kind not in LIGHT_KINDS:
            raise f.fail(p + ".type", f"must be one of {', '.join(LIGHT_KINDS)}")
        pos = f.vec(f.obj(raw, "at", p + ".at"), 3, p + ".at", -MAX_EXTENT_M, MAX_EXTENT_M)
        color = raw.get("color", "#ffffff")
        if not isinstance(color, str) or not _HEX_RE.match(color):
            raise f.fail(p + ".color", "must look like #ffeedd")
        rng = raw.get("range")
        lights.append(SceneLight(kind, pos, color, f.number(raw.get("intensity", 10), p + ".intensity", 0, 1e6),
                                 None if rng is None else f.number(rng, p + ".range", 0.1, 100)))

    scene = Scene(id=sid, name=name, floor=floor, ceiling_height=ceiling, fixtures=fixtures, zones=zones,
                  walls=walls, spawn_points=[], lights=lights, ambient=data.get("ambient", {}),
                  theme=data.get("theme", {}), storefront_edge=data.get("storefront_edge"),
                  door_width=float(data.get("door_width", 2.0)), source_file=file)
    if scene.storefront_edge is not None and not (isinstance(scene.storefront_edge, int)
                                                  and 0 <= scene.storefront_edge < len(floor)):
        raise f.fail("storefront_edge", f"must be an index into floor (0-{len(floor) - 1})")

    spawns_raw = f.obj(data, "spawn_points", "spawn_points")
    if not isinstance(spawns_raw, list) or not spawns_raw:
        raise f.fail("spawn_points", "needs at least one [x, y, z] point")
    for i, s in enumerate(spawns_raw):
        x, y, z = f.vec(s, 3, f"spawn_points[{i}]", -MAX_EXTENT_M, MAX_EXTENT_M)
        if not scene.is_walkable(x, z):
            raise f.fail(f"spawn_points[{i}]", f"[{x}, {y}, {z}] is outside the walkable area "
                                               "(off the floor, or inside a wall or fixture)")
        scene.spawn_points.append((x, y, z))

    # Waypoints: where a shopper stands to look at each fixture, a little in front of it.
    for fx in fixtures:
        if not fx.products:
            continue
        for gap in (0.8, 1.1, 1.5):
            wx, wz = fx.to_world(0.0, fx.size[2] / 2 + gap)
            if scene.is_walkable(wx, wz):
                scene.waypoints.append((round(wx, 3), 0.0, round(wz, 3)))
                break
    if len(scene.waypoints) < 2:
        raise f.fail("fixtures", "fewer than two fixtures with products can be reached on foot")
    scene.hunts = _parse_hunts(f, data.get("hunts", []), scene)
    return scene


def _parse_hunts(f: _Field, raw_hunts: Any, scene: Scene) -> list[Hunt]:
    if not isinstance(raw_hunts, list):
        raise f.fail("hunts", "must be a list of hunts")
    hunts: list[Hunt] = []
    for i, raw in enumerate(raw_hunts):
        p = f"hunts[{i}]"
        if not isinstance(raw, dict):
            raise f.fail(p, "must be an object with id, name, reward and items")
        hid = f.text(raw, "id", p + ".id")
        if not _ID_RE.match(hid) or any(h.id == hid for h in hunts):
            raise f.fail(p + ".id", "use a unique id of 2-64 lowercase letters, digits and dashes")
        reward = f.obj(raw, "reward", p + ".reward")
        items = []
        for j, item in enumerate(f.obj(raw, "items", p + ".items")):
            q = f"{p}.items[{j}]"
            if not isinstance(item, dict):
                raise f.fail(q, "must be an object with id, name, hint, at")
            x, z = f.vec(f.obj(item, "at", q + ".at"), 2, q + ".at", -MAX_EXTENT_M, MAX_EXTENT_M)
            if not scene.is_walkable(x, z):
                raise f.fail(q + ".at", f"[{x}, {z}] cannot be reached on foot")
            items.append(HuntItem(f.text(item, "id", q + ".id"), f.text(item, "name", q + ".name"),
                                  f.text(item, "hint", q + ".hint"), (x, z)))
        if not items or len({it.id for it in items}) != len(items):
            raise f.fail(p + ".items", "needs at least one item, each with its own id")
        hunts.append(Hunt(hid, f.text(raw, "name", p + ".name"), tuple(items),
                          int(f.number(f.obj(reward, "amount_minor", p + ".reward.amount_minor"),
                                       p + ".reward.amount_minor", 1, 1_000_000)),
                          int(f.number(reward.get("min_spend_minor", 0), p + ".reward.min_spend_minor", 0, 10**9)),
                          int(f.number(reward.get("valid_days", 30), p + ".reward.valid_days", 1, 365))))
    return hunts


def list_scenes() -> list[str]:
    """Ids of the scenes in scenes/ (one folder each with a scene.json)."""
    root = scenes_dir()
    return sorted(p.parent.name for p in root.glob("*/scene.json"))


def _product_exists() -> Callable[[str], bool]:
    from server.commerce.catalog import load_catalog

    catalog = load_catalog()
    return lambda pid: catalog.get(pid) is not None


def load_scene_file(path: Path, product_exists: Callable[[str], bool] | None = None) -> Scene:
    path = Path(path)
    file = f"{path.parent.parent.name}/{path.parent.name}/{path.name}"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise SceneError(f"{file}: no such scene file") from exc
    except (ValueError, UnicodeDecodeError) as exc:
        raise SceneError(f"{file}: not valid JSON: {exc}") from exc
    scene = parse_scene(data, file, product_exists)
    if scene.id != path.parent.name:
        raise SceneError(f"{file}: id: {scene.id!r} must match its folder name {path.parent.name!r}")
    return scene


@functools.lru_cache(maxsize=32)
def load_scene(scene_id: str) -> Scene:
    """The validated scene `scenes/<scene_id>/scene.json` (cached), with its model URL if built."""
    if not isinstance(scene_id, str) or not _ID_RE.match(scene_id):
        raise SceneError(f"scene id {scene_id!r} is not valid (lowercase letters, digits and dashes)")
    path = scenes_dir() / scene_id / "scene.json"
    if not path.is_file():
        raise SceneError(f"no scene {scene_id!r}; available: {', '.join(list_scenes()) or 'none'}")
    scene = load_scene_file(path, _product_exists())
    from server.commerce.catalog import read_manifest

    entry = read_manifest().get("scenes", {}).get(scene_id)
    if entry:
        scene.model_url = "/assets/scenes/" + entry["file"]
    return scene


@functools.cache
def scene_or_none(scene_id: str) -> Scene | None:
    """The scene of a store id taken from a request, or None when there is no valid one by that name."""
    try:
        return load_scene(scene_id)
    except (SceneError, OSError, ValueError):
        return None


def product_positions(scene: Scene) -> dict[str, tuple[float, float]]:
    """Where each product of a scene stands on its floor (x, z): its first placement."""
    out: dict[str, tuple[float, float]] = {}
    for fixture in scene.fixtures:
        for placement in fixture.placements:
            out.setdefault(placement.product_id, (placement.position[0], placement.position[2]))
    return out
