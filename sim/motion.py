"""Shoppers that move like people, vectorised over every bot at once.

Each bot walks the store's aisles between points of interest (the scene's waypoints, joined where the
straight line between them stays on walkable floor), stops to browse for a few seconds (looks around,
reaches for a product), then walks on. Heads bob with the gait and turn smoothly; hands swing while
walking. Optional tracked hands (finger curl, an occasional pinch) and a full-body skeleton.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from server.realtime.pose import BODY, HEAD, LEFT_CONTROLLER, LEFT_HAND, RIGHT_CONTROLLER, RIGHT_HAND
from server.realtime.skeleton import BODY_INDEX

TWO_PI = 2.0 * np.pi


def yaw_pitch_quat(yaw: np.ndarray, pitch: np.ndarray) -> np.ndarray:
    """Rotation by yaw about +Y then pitch about the local +X, as (N, 4) xyzw."""
    cy, sy = np.cos(yaw / 2), np.sin(yaw / 2)
    cp, sp = np.cos(pitch / 2), np.sin(pitch / 2)
    return np.stack([cy * sp, sy * cp, -sy * sp, cy * cp], axis=-1)


def axis_angle_quat(axis: np.ndarray, angle: np.ndarray) -> np.ndarray:
    axis = np.asarray(axis, dtype=np.float64)
    half = np.asarray(angle)[..., None] / 2
    return np.concatenate([np.sin(half) * axis, np.cos(half)], axis=-1)


@dataclass
class Floor:
    """Where bots may walk: nodes (x, z) and which pairs see each other along walkable floor."""

    nodes: np.ndarray  # (K, 2)
    neighbours: list[np.ndarray]

    @classmethod
    def from_scene(cls, waypoints, spawn_points, walkable_mask, bounds_min, bounds_max) -> Floor:
        pts = [(p[0], p[2]) for p in list(waypoints) + list(spawn_points)]
        if len(pts) < 2:  # no points of interest: a grid over the walkable floor
            xs = np.linspace(bounds_min[0] + 1, bounds_max[0] - 1, 6)
            zs = np.linspace(bounds_min[2] + 1, bounds_max[2] - 1, 6)
            pts = [(x, z) for x in xs for z in zs]
        nodes = np.array(pts, dtype=np.float64)
        nodes = nodes[walkable_mask(nodes)] if len(nodes) else nodes
        k = len(nodes)
        samples = np.linspace(0.0, 1.0, 24)
        neighbours = []
        for i in range(k):
            seg = nodes[i] + (nodes[:, None, :] - nodes[i]) * samples[None, :, None]  # (k, 24, 2)
            ok = walkable_mask(seg.reshape(-1, 2)).reshape(k, -1).all(axis=1)
            ok[i] = False
            found = np.flatnonzero(ok)
            if len(found) == 0:  # isolated point: allow its nearest neighbour (the server will guard walls)
                d = np.linalg.norm(nodes - nodes[i], axis=1)
                d[i] = np.inf
                found = np.array([int(np.argmin(d))])
            neighbours.append(found)
        return cls(nodes, neighbours)


class Crowd:
    """N simulated shoppers. `step(t, dt)` advances them; `parts()` gives their pose upload floats."""

    def __init__(self, n: int, floor: Floor, start: np.ndarray, rng: np.random.Generator,
                 hands: bool = False, body: bool = False) -> None:
        self.n, self.floor, self.rng = n, floor, rng
        self.hands, self.body = hands, body
        self.pos = np.asarray(start, dtype=np.float64)[:, [0, 2]].copy()  # floor position (x, z)
        self.floor_y = np.asarray(start, dtype=np.float64)[:, 1].copy()
        self.eye = rng.normal(1.62, 0.08, n).clip(1.35, 1.9)
        self.speed = rng.uniform(0.8, 1.4, n)
        self.phase = rng.uniform(0, TWO_PI, n)
        self.yaw = rng.uniform(0, TWO_PI, n)
        self.node = np.argmin(np.linalg.norm(floor.nodes[None] - self.pos[:, None], axis=2), axis=1)
        self.target = self.node.copy()
        self.walking = np.zeros(n, dtype=bool)
        self.browse_until = rng.uniform(0.0, 2.0, n)
        self.reach_at = np.full(n, -10.0)
        self.stride = np.zeros(n)
        self._parts: dict[int, np.ndarray] = {}

    def step(self, t: float, dt: float) -> None:
        nodes = self.floor.nodes
        # browsing bots whose time is up pick an aisle to walk next
        done = ~self.walking & (t >= self.browse_until)
        for i in np.flatnonzero(done):
            options = self.floor.neighbours[self.target[i]]
            self.node[i] = self.target[i]
            self.target[i] = options[self.rng.integers(len(options))]
            self.walking[i] = True
        goal = nodes[self.target] + self._jitter_for(self.target)
        delta = goal - self.pos
        dist = np.linalg.norm(delta, axis=1)
        arrive = self.walking & (dist < 0.25)
        if arrive.any():
            self.walking[arrive] = False
            self.browse_until[arrive] = t + self.rng.uniform(2.0, 8.0, arrive.sum())
            self.reach_at[arrive] = t + self.rng.uniform(0.5, 2.0, arrive.sum())
        move = np.where(self.walking, np.minimum(self.speed * dt, dist), 0.0)
        direction = delta / np.maximum(dist, 1e-9)[:, None]
        self.pos += direction * move[:, None]
        self.stride += move
        heading = np.arctan2(direction[:, 0], direction[:, 1])
        turn = (heading - self.yaw + np.pi) % TWO_PI - np.pi
        self.yaw += np.where(self.walking, np.clip(turn, -3.0 * dt, 3.0 * dt), 0.0)
        self._pose(t)

    def _jitter_for(self, target: np.ndarray) -> np.ndarray:
        # bots stop around a point of interest, not all on it (deterministic per bot and node)
        angle = (target * 2.399 + np.arange(self.n) * 0.618) % 1.0 * TWO_PI
        return 0.6 * np.stack([np.cos(angle), np.sin(angle)], axis=1)

    def _pose(self, t: float) -> None:
        n, walking = self.n, self.walking.astype(np.float64)
        gait = TWO_PI * self.stride / 0.75  # one step every 0.75 m
        look = (1 - walking) * 0.6 * np.sin(0.5 * t + self.phase)  # browsing: look along the shelf
        head_yaw = self.yaw + look + 0.05 * np.sin(1.3 * t + 2 * self.phase)
        pitch = -0.05 - (1 - walking) * 0.2 * (1 + np.sin(0.7 * t + self.phase)) / 2
        head = np.empty((n, 7))
        head[:, 0] = self.pos[:, 0]
        head[:, 1] = self.floor_y + self.eye + 0.02 * walking * np.abs(np.sin(gait))
        head[:, 2] = self.pos[:, 1]
        head[:, 3:7] = yaw_pitch_quat(head_yaw, pitch)
        self._parts = {HEAD: head}
        fwd = np.stack([np.sin(self.yaw), np.cos(self.yaw)], axis=1)
        left = np.stack([fwd[:, 1], -fwd[:, 0]], axis=1)  # +X side when facing +Z
        reach = np.clip(1.0 - np.abs(t - self.reach_at - 1.0), 0.0, 1.0) * (1 - walking)  # a 2 s reach
        for part, side in ((LEFT_CONTROLLER, 1.0), (RIGHT_CONTROLLER, -1.0)):
            swing = 0.15 * walking * np.sin(gait + (0 if side > 0 else np.pi))
            out = 0.22 + (reach * 0.45 if side < 0 else np.zeros(n))
            forward = 0.12 + swing + (reach * 0.35 if side < 0 else 0.0)
            ctrl = np.empty((n, 7))
            ctrl[:, [0, 2]] = self.pos + left * (side * out)[:, None] + fwd * forward[:, None]
            ctrl[:, 1] = head[:, 1] - 0.6 + (reach * 0.3 if side < 0 else 0.0)
            ctrl[:, 3:7] = yaw_pitch_quat(self.yaw, -0.6 + 0.4 * (reach if side < 0 else 0.0))
            self._parts[part] = ctrl
        if self.hands:
            self._hand_parts(t)
        if self.body:
            self._body_part(gait, walking)

    def _hand_parts(self, t: float) -> None:
        from server.realtime import hand_model

        n = self.n
        curl = 0.35 + 0.15 * np.sin(0.3 * t + self.phase)
        pinch = (np.sin(0.9 * t + 3 * self.phase) > 0.7).astype(np.float64)  # now and then
        lo, hi = hand_model.ANGLE_RANGES[:, 0], hand_model.ANGLE_RANGES[:, 1]
        for part, ctrl_part, side in ((LEFT_HAND, LEFT_CONTROLLER, 0), (RIGHT_HAND, RIGHT_CONTROLLER, 1)):
            angles = np.empty((n, 20))
            angles[:, 4::4] = (np.radians(-5) + curl * np.radians(70))[:, None]
            angles[:, 5::4] = 0.0
            angles[:, 6::4] = (curl * np.radians(80))[:, None]
            angles[:, 7::4] = (curl * np.radians(50))[:, None]
            angles[:, 0] = np.radians(20) + pinch * np.radians(35)
            angles[:, 1] = np.radians(10)
            angles[:, 2] = np.radians(10) + pinch * np.radians(30)
            angles[:, 3] = np.radians(10) + pinch * np.radians(30)
            angles[:, 4] += pinch * np.radians(35)
            ctrl = self._parts[ctrl_part]
            params = hand_model.HandParams(ctrl[:, 0:3], ctrl[:, 3:7], np.clip(angles, lo, hi), np.ones(n))
            pos, rot = hand_model.joints_from_hand_params(params, np.full(n, side))
            self._parts[part] = np.concatenate([pos, rot], axis=2).reshape(n, -1)

    def _body_part(self, gait: np.ndarray, walking: np.ndarray) -> None:
        n = self.n
        rots = np.tile([0.0, 0.0, 0.0, 1.0], (n, 22, 1))
        rots[:, 0] = yaw_pitch_quat(self.yaw, np.zeros(n))
        swing = 0.45 * walking * np.sin(gait)
        x_axis = np.array([1.0, 0.0, 0.0])
        rots[:, BODY_INDEX["leftUpperLeg"]] = axis_angle_quat(x_axis, -swing)
        rots[:, BODY_INDEX["rightUpperLeg"]] = axis_angle_quat(x_axis, swing)
        knee = 0.6 * walking * np.clip(np.sin(gait + 1.2), 0, 1)
        rots[:, BODY_INDEX["leftLowerLeg"]] = axis_angle_quat(x_axis, knee)
        rots[:, BODY_INDEX["rightLowerLeg"]] = axis_angle_quat(x_axis, np.clip(np.sin(gait + np.pi + 1.2), 0, 1)
                                                                * 0.6 * walking)
        z_axis = np.array([0.0, 0.0, 1.0])
        rots[:, BODY_INDEX["leftUpperArm"]] = axis_angle_quat(z_axis, np.full(n, -1.25))  # arms down
        rots[:, BODY_INDEX["rightUpperArm"]] = axis_angle_quat(z_axis, np.full(n, 1.25))
        body = np.empty((n, 3 + 88))
        body[:, 0] = self.pos[:, 0]
        body[:, 1] = self.floor_y + self.eye * 0.58
        body[:, 2] = self.pos[:, 1]
        body[:, 3:] = rots.reshape(n, -1)
        self._parts[BODY] = body

    def parts(self) -> dict[int, np.ndarray]:
        return self._parts
