"""A store scene as plain data plus the geometry questions the room server asks (sans-I/O, numpy).

Coordinates: metres, +Y up, the floor at y = 0. A fixture's front faces its local +Z; `rotation_deg`
turns it about +Y (counter-clockwise seen from above, as in glTF).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

# Avatars are kept this far (m) from walls and fixtures: roughly a shoulder's half-width.
AVATAR_RADIUS = 0.3
# Whole store must fit within ±30 m: poses travel as int16 millimetres.
MAX_EXTENT_M = 30.0

# Shelf levels (m above the floor) products stand on, per fixture type; racks hang garments.
FIXTURE_LEVELS: dict[str, tuple[float, ...]] = {
    "rack": (0.55,),
    "shelf": (0.12, 0.56, 1.0, 1.44),
    "fridge_case": (0.15, 0.6, 1.05, 1.5),
    "table": (),  # the top surface: size[1]
    "counter": (),
    "podium": (),
    "window": (),
    "decor": (),
}
FIXTURE_TYPES = tuple(FIXTURE_LEVELS)


@dataclass(frozen=True)
class Placement:
    product_id: str
    position: tuple[float, float, float]
    rotation_deg: float


@dataclass(frozen=True)
class Fixture:
    id: str
    type: str
    center: tuple[float, float]  # x, z
    rotation_deg: float
    size: tuple[float, float, float]  # width (local x), height, depth (local z)
    products: tuple[str, ...]
    placements: tuple[Placement, ...]
    shape: str | None = None  # decor only: planet, mushroom, tree, plant

    def to_local(self, xz: np.ndarray) -> np.ndarray:
        """World (N,2) x,z -> fixture-local x,z."""
        t = math.radians(self.rotation_deg)
        c, s = math.cos(t), math.sin(t)
        d = xz - np.asarray(self.center)
        # Inverse of a +Y rotation: local x = c*dx - s*dz, local z = s*dx + c*dz
        return np.stack([c * d[:, 0] - s * d[:, 1], s * d[:, 0] + c * d[:, 1]], axis=1)

    def to_world(self, local_x: float, local_z: float) -> tuple[float, float]:
        t = math.radians(self.rotation_deg)
        c, s = math.cos(t), math.sin(t)
        return (self.center[0] + c * local_x + s * local_z, self.center[1] - s * local_x + c * local_z)

    def corners(self) -> np.ndarray:
        w, _, d = self.size
        return np.array([self.to_world(sx * w / 2, sz * d / 2) for sx, sz in ((-1, -1), (1, -1), (1, 1), (-1, 1))])


@dataclass(frozen=True)
class Zone:
    id: str
    kind: str  # fitting_room, checkout, stage, window, entrance, game
    min_xz: tuple[float, float]
    max_xz: tuple[float, float]

    def contains(self, x: float, z: float) -> bool:
        return self.min_xz[0] <= x <= self.max_xz[0] and self.min_xz[1] <= z <= self.max_xz[1]


@dataclass(frozen=True)
class Wall:
    start: tuple[float, float]
    end: tuple[float, float]
    thickness: float
    height: float


@dataclass(frozen=True)
class SceneLight:
    kind: str  # point, spot, directional
    position: tuple[float, float, float]
    color: str
    intensity: float
    range: float | None = None


def _point_in_polygon(xz: np.ndarray, poly: np.ndarray) -> np.ndarray:
    x, z = xz[:, 0:1], xz[:, 1:2]
    x1, z1 = poly[:, 0][None, :], poly[:, 1][None, :]
    x2, z2 = np.roll(poly[:, 0], -1)[None, :], np.roll(poly[:, 1], -1)[None, :]
    crosses = (z1 > z) != (z2 > z)
    with np.errstate(divide="ignore", invalid="ignore"):
        x_at = x1 + (z - z1) * (x2 - x1) / (z2 - z1)
    return (np.count_nonzero(crosses & (x < x_at), axis=1) % 2) == 1


class WalkableArea:
    """The floor minus walls and fixtures, inflated by AVATAR_RADIUS, as arrays built once: the room checks
    every pose upload against it every tick, so `mask` is a handful of numpy operations whatever the scene."""

    def __init__(self, floor: np.ndarray, walls: list[Wall], fixtures: list[Fixture]) -> None:
        floor = np.asarray(floor, dtype=np.float64)
        nxt = np.roll(floor, -1, axis=0)
        self.floor = floor
        # Even-odd rule: edge e crosses the horizontal line through a point between its two ends in z.
        self.z1, self.z2 = floor[:, 1], nxt[:, 1]
        dz = nxt[:, 1] - floor[:, 1]
        self.slope = np.divide(nxt[:, 0] - floor[:, 0], dz, out=np.zeros(len(floor)), where=dz != 0)
        # Segments (floor edges, walls) with their clearances: a point must stay this far from each.
        starts = [floor] + ([np.array([w.start for w in walls], dtype=np.float64)] if walls else [])
        ends = [nxt] + ([np.array([w.end for w in walls], dtype=np.float64)] if walls else [])
        clear = [np.full(len(floor), AVATAR_RADIUS)] + (
            [np.array([w.thickness / 2 + AVATAR_RADIUS for w in walls])] if walls else [])
        self.a = np.concatenate(starts)
        self.ab = np.concatenate(ends) - self.a
        self.inv_len2 = 1.0 / np.maximum(np.einsum("ei,ei->e", self.ab, self.ab), 1e-12)
        self.clear2 = np.concatenate(clear) ** 2
        # Fixture footprints (Fixture.to_local, batched): centre, rotation, half extents plus the radius.
        self.centers = np.array([f.center for f in fixtures], dtype=np.float64).reshape(-1, 2)
        angles = np.radians([f.rotation_deg for f in fixtures])
        self.cos, self.sin = np.cos(angles), np.sin(angles)
        self.half = np.array([(f.size[0] / 2 + AVATAR_RADIUS, f.size[2] / 2 + AVATAR_RADIUS) for f in fixtures],
                             dtype=np.float64).reshape(-1, 2)

    def mask(self, xz: np.ndarray) -> np.ndarray:
        pts = np.asarray(xz, dtype=np.float64).reshape(-1, 2)
        ok = np.isfinite(pts).all(axis=1)
        pts = np.where(ok[:, None], pts, 0.0)
        x, z = pts[:, 0:1], pts[:, 1:2]
        crosses = (self.z1 > z) != (self.z2 > z)
        x_at = self.floor[:, 0] + (z - self.z1) * self.slope
        ok &= (np.count_nonzero(crosses & (x < x_at), axis=1) & 1).astype(bool)
        ap = pts[:, None, :] - self.a
        t = np.clip(np.einsum("nei,ei->ne", ap, self.ab) * self.inv_len2, 0.0, 1.0)
        off = ap - t[..., None] * self.ab
        ok &= (np.einsum("nei,nei->ne", off, off) >= self.clear2).all(axis=1)
        if len(self.centers):
            dx = x - self.centers[:, 0]
            dz = z - self.centers[:, 1]
            inside = (np.abs(self.cos * dx - self.sin * dz) < self.half[:, 0]) & (
                np.abs(self.sin * dx + self.cos * dz) < self.half[:, 1])
            ok &= ~inside.any(axis=1)
        return ok


@dataclass(frozen=True)
class HuntItem:
    id: str
    name: str
    hint: str  # what shoppers are told; the position never leaves the server
    at: tuple[float, float]  # floor x, z


@dataclass(frozen=True)
class Hunt:
    """A treasure hunt hidden in the store (docs/PROMOTIONS.md): find every item to earn the coupon."""

    id: str
    name: str
    items: tuple[HuntItem, ...]
    reward_minor: int  # the coupon's amount off
    min_spend_minor: int
    valid_days: int
    find_radius_m: float = 1.2  # head within this horizontal distance of an item finds it


@dataclass
class Scene:
    id: str
    name: str
    floor: np.ndarray  # (V,2) polygon x,z
    ceiling_height: float
    fixtures: list[Fixture]
    zones: list[Zone]
    walls: list[Wall]
    spawn_points: list[tuple[float, float, float]]
    waypoints: list[tuple[float, float, float]] = field(default_factory=list)
    lights: list[SceneLight] = field(default_factory=list)
    ambient: dict[str, Any] = field(default_factory=dict)
    theme: dict[str, str] = field(default_factory=dict)
    storefront_edge: int | None = None
    door_width: float = 2.0
    model_url: str | None = None
    source_file: str = ""
    hunts: list[Hunt] = field(default_factory=list)  # not in to_dict: the client must not read the answers

    @property
    def bounds_min(self) -> tuple[float, float, float]:
        return (float(self.floor[:, 0].min()), 0.0, float(self.floor[:, 1].min()))

    @property
    def bounds_max(self) -> tuple[float, float, float]:
        return (float(self.floor[:, 0].max()), float(self.ceiling_height), float(self.floor[:, 1].max()))

    @functools.cached_property
    def walkable(self) -> WalkableArea:
        return WalkableArea(self.floor, self.walls, self.fixtures)

    def walkable_mask(self, xz: np.ndarray) -> np.ndarray:
        """(N,2) x,z in metres -> (N,) bool: inside the floor, clear of walls and fixtures by AVATAR_RADIUS."""
        return self.walkable.mask(xz)

    def is_walkable(self, x: float, z: float) -> bool:
        return bool(self.walkable_mask(np.array([[x, z]], dtype=np.float64))[0])

    def zone_at(self, x: float, z: float) -> Zone | None:
        return next((zone for zone in self.zones if zone.contains(x, z)), None)

    @staticmethod
    def _wall_polygon(w: Wall) -> list[list[float]]:
        a, b = np.array(w.start), np.array(w.end)
        direction = (b - a) / max(float(np.linalg.norm(b - a)), 1e-9)
        n = np.array([-direction[1], direction[0]]) * w.thickness / 2
        return [[round(float(v), 4) for v in p] for p in (a - n, b - n, b + n, a + n)]

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "bounds_min": self.bounds_min,
            "bounds_max": self.bounds_max,
            "floor": self.floor.tolist(),
            "avatar_radius": AVATAR_RADIUS,
            "walls": [{"from": w.start, "to": w.end, "thickness": w.thickness, "height": w.height} for w in self.walls],
            # Partitions as footprint polygons, for clients that cut obstacles out of the floor.
            "obstacles": [self._wall_polygon(w) for w in self.walls],
            "spawn_points": self.spawn_points,
            "waypoints": self.waypoints,
            "zones": [{"id": z.id, "kind": z.kind, "min": z.min_xz, "max": z.max_xz} for z in self.zones],
            "fixtures": [
                {"id": f.id, "type": f.type, "center": f.center, "rotation_deg": f.rotation_deg, "size": f.size,
                 "products": list(f.products),
                 "placements": [{"product_id": p.product_id, "position": p.position, "rotation_deg": p.rotation_deg}
                                for p in f.placements]}
                for f in self.fixtures
            ],
            "lights": [{"type": li.kind, "position": li.position, "color": li.color, "intensity": li.intensity,
                        "range": li.range} for li in self.lights],
            "ambient": self.ambient,
            "theme": self.theme,
            "model_url": self.model_url,
        }
