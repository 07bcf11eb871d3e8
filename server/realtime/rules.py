"""What a room enforces on poses: scene bounds, walkable floor, speed, reach. Built from a store scene."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np


def _everywhere(xz: np.ndarray) -> np.ndarray:
    return np.ones(len(xz), dtype=bool)


@dataclass
class RoomRules:
    bounds_min: tuple[float, float, float] = (-30.0, 0.0, -30.0)
    bounds_max: tuple[float, float, float] = (30.0, 3.0, 30.0)
    spawn_points: list[tuple[float, float, float]] = field(default_factory=lambda: [(0.0, 0.0, 0.0)])
    waypoints: list[tuple[float, float, float]] = field(default_factory=list)
    walkable_mask: Callable[[np.ndarray], np.ndarray] = _everywhere
    # The geometry behind walkable_mask (a scenes.model.WalkableArea) for the compiled tick, None: anywhere
    walkable_area: Any = None
    max_speed_mps: float = 6.0  # faster than anyone walks; smooth locomotion in VR stays under it
    teleport_range_m: float = 12.0
    reach_m: float = 2.0  # controllers, wrists and hips must stay this close to the head
    hand_span_m: float = 0.35  # hand joints must stay this close to their wrist
    head_min_y: float = 0.2
    head_max_y: float = 2.6

    def kernel_walkable(self) -> tuple[bool, Any]:
        """Whether the compiled tick (server/realtime/kernels.py) can apply these rules' walkable check, and the
        geometry it checks against (None: anywhere is walkable). A custom `walkable_mask` alone: it cannot."""
        if self.walkable_area is not None:
            return True, self.walkable_area
        return self.walkable_mask is _everywhere, None

    @classmethod
    def from_scene(cls, scene) -> RoomRules:
        """Rules of a `server.scenes.Scene` (bounds, walkable area, spawn points, waypoints)."""
        lo, hi = scene.bounds_min, scene.bounds_max
        return cls(
            bounds_min=(float(lo[0]), float(lo[1]), float(lo[2])),
            bounds_max=(float(hi[0]), float(hi[1]), float(hi[2])),
            spawn_points=[tuple(map(float, p)) for p in scene.spawn_points] or [(0.0, 0.0, 0.0)],
            waypoints=[tuple(map(float, p)) for p in getattr(scene, "waypoints", [])],
            walkable_mask=scene.walkable_mask,
            walkable_area=scene.walkable,
        )
