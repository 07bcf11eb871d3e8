"""Store scenes as data: floor plan, walkable area, fixtures placing products, zones, lights, spawn points."""

from server.scenes.loader import SceneError, list_scenes, load_scene, load_scene_file, parse_scene
from server.scenes.model import AVATAR_RADIUS, Fixture, Placement, Scene, Zone

__all__ = [
    "AVATAR_RADIUS",
    "Fixture",
    "Placement",
    "Scene",
    "SceneError",
    "Zone",
    "list_scenes",
    "load_scene",
    "load_scene_file",
    "parse_scene",
]
