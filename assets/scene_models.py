"""The architecture glTF of a store scene: floor, walls, storefront glass, fixtures, decor and lights.

Products are not baked in: the client places each product's own model at the fixture placements the
scene API returns, so variants and stock stay live.
"""

from __future__ import annotations

import math

import numpy as np

from assets import mesh
from assets.gltf import POINT_DOWN, GltfBuilder, Light, Material, Node, quat_y, srgb_to_linear
from assets.mesh import Part
from assets.textures import color_factor, roughness_factor, texture_pngs
from server.scenes.model import Fixture, Scene

WALL_T = 0.15


def _triangulate(poly: np.ndarray) -> list[tuple[int, int, int]]:
    """Ear clipping for a simple polygon (floors may be L-shaped or octagonal)."""
    idx = list(range(len(poly)))
    area = 0.5 * np.sum(poly[:, 0] * np.roll(poly[:, 1], -1) - np.roll(poly[:, 0], -1) * poly[:, 1])
    if area < 0:
        idx.reverse()
    tris = []

    def cross(o: np.ndarray, a: np.ndarray, b: np.ndarray) -> float:
        return float((a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0]))

    guard = 0
    while len(idx) > 3 and guard < 10_000:
        guard += 1
        for k in range(len(idx)):
            i0, i1, i2 = idx[k - 1], idx[k], idx[(k + 1) % len(idx)]
            a, b, c = poly[i0], poly[i1], poly[i2]
            if cross(a, b, c) <= 0:
                continue
            if any(cross(a, b, poly[j]) > 0 and cross(b, c, poly[j]) > 0 and cross(c, a, poly[j]) > 0
                   for j in idx if j not in (i0, i1, i2)):
                continue
            tris.append((i0, i1, i2))
            idx.pop(k)
            break
    tris.append(tuple(idx))  # type: ignore[arg-type]
    return tris


def _floor(poly: np.ndarray, material: str) -> Part:
    pos = np.column_stack([poly[:, 0], np.zeros(len(poly)), poly[:, 1]])
    nrm = np.tile([0.0, 1.0, 0.0], (len(poly), 1))
    uv = poly / 1.0  # one tile per metre
    return mesh._finish(pos, nrm, uv, np.array(_triangulate(poly)), material)


def _ceiling(poly: np.ndarray, height: float, material: str) -> Part:
    """The floor polygon turned over at ceiling height: a store has a ceiling, not the sky."""
    floor = _floor(poly, material)
    return mesh._finish(floor.positions + np.array([0.0, height, 0.0], dtype=np.float32), -floor.normals, floor.uvs,
                        floor.indices[:, ::-1].copy(), material)


def _wall_segment(a: np.ndarray, b: np.ndarray, height: float, thickness: float, material: str,
                  y0: float = 0.0) -> Part:
    length = float(np.linalg.norm(b - a))
    mid = (a + b) / 2
    angle = math.degrees(math.atan2(-(b - a)[1], (b - a)[0]))
    part = mesh.box((length, height, thickness), (0, y0 + height / 2, 0), material)
    part = mesh.rotate(part, "y", angle)
    return mesh.translate(part, (mid[0], 0, mid[1]))


def _fixture_parts(f: Fixture, m: dict[str, str]) -> list[Part]:
    w, h, d = f.size
    parts: list[Part] = []
    if f.type == "rack":
        for sx in (-1, 1):
            parts.append(mesh.tube([(sx * w / 2, 0, 0), (sx * w / 2, h, 0)], 0.02, 10, m["metal"]))
            parts.append(mesh.box((0.06, 0.02, d), (sx * w / 2, 0.01, 0), m["metal"]))
        parts.append(mesh.tube([(-w / 2, h, 0), (w / 2, h, 0)], 0.015, 10, m["metal"]))
    elif f.type in ("shelf", "fridge_case"):
        body = m["shelf"] if f.type == "shelf" else m["white"]
        parts += [mesh.box((0.04, h, d), (-w / 2 + 0.02, h / 2, 0), body),
                  mesh.box((0.04, h, d), (w / 2 - 0.02, h / 2, 0), body),
                  mesh.box((w, h, 0.03), (0, h / 2, -d / 2 + 0.015), m["accent" if f.type == "shelf" else "white"]),
                  mesh.box((w, 0.04, d), (0, h - 0.02, 0), body)]
        levels = (0.12, 0.56, 1.0, 1.44) if f.type == "shelf" else (0.15, 0.6, 1.05, 1.5)
        for y in levels:
            if y < h:
                parts.append(mesh.box((w - 0.08, 0.03, d - 0.03), (0, y - 0.015, 0.0), body))
        if f.type == "fridge_case":
            parts.append(mesh.box((w - 0.08, h - 0.1, 0.01), (0, h / 2, d / 2 - 0.005), m["glass"]))
            parts.append(mesh.box((w - 0.1, 0.03, 0.02), (0, h - 0.06, d / 2 - 0.02), m["glow"]))
    elif f.type in ("table", "counter", "podium", "window"):
        top = m["wood"] if f.type in ("table", "counter") else m["fixture"]
        if f.type == "table":
            parts.append(mesh.box((w, 0.05, d), (0, h - 0.025, 0), top))
            for sx in (-1, 1):
                for sz in (-1, 1):
                    parts.append(mesh.box((0.06, h - 0.05, 0.06), (sx * (w / 2 - 0.08), (h - 0.05) / 2,
                                                                    sz * (d / 2 - 0.08)), m["trim"]))
        else:
            parts.append(mesh.box((w, h, d), (0, h / 2, 0), top))
            if f.type == "counter":
                parts.append(mesh.box((w + 0.02, 0.2, d * 0.6), (0, h * 0.55, d * 0.21), m["accent"]))
    elif f.type == "decor":
        parts += _decor(f, m)
    return parts


def _decor(f: Fixture, m: dict[str, str]) -> list[Part]:
    w, h, _ = f.size
    shape = f.shape or "plant"
    if shape == "plant":
        return [mesh.lathe([(0, 0), (w * 0.3, 0), (w * 0.38, h * 0.3), (0, h * 0.3)], 20, m["trim"], hard=(1, 2)),
                mesh.translate(mesh.scale(mesh.sphere(1, 10, 20, m["leaf"]), (w / 2, h * 0.38, w / 2)),
                               (0, h * 0.6, 0))]
    if shape == "planet":
        r = w / 2
        ring = [(r * 1.5 * math.cos(t), h - r, -r * 1.5 * math.sin(t)) for t in np.linspace(0, 2 * math.pi, 41)]
        return [mesh.cylinder(0.05, h - 2 * r, 12, m["metal"]),
                mesh.translate(mesh.sphere(r, 16, 32, m["accent"]), (0, h - r, 0)),
                mesh.rotate(mesh.tube(ring, 0.05, 8, m["trim"], caps=False), "z", 18, about=(0, h - r, 0))]
    if shape == "rocket":
        r = w / 3
        return [mesh.lathe([(0, 0), (r, 0.3), (r, h * 0.7), (r * 0.5, h * 0.9), (0, h)], 24, m["white"], hard=(1,)),
                *[mesh.rotate(mesh.box((0.05, h * 0.25, w / 2), (0, h * 0.15, w / 4), m["accent"]), "y", a)
                  for a in (0, 120, 240)]]
    if shape == "mushroom":
        return [mesh.lathe([(0, 0), (w * 0.16, 0), (w * 0.12, h * 0.7), (0, h * 0.7)], 20, m["white"], hard=(1, 2)),
                mesh.lathe([(0, h * 0.62), (w / 2, h * 0.64), (w * 0.42, h * 0.82), (w * 0.2, h * 0.96), (0, h)], 28,
                           m["accent"], hard=(1,))]
    # tree
    return [mesh.lathe([(0, 0), (w * 0.2, 0), (w * 0.12, h * 0.6), (0, h * 0.6)], 16, m["bark"], hard=(1, 2)),
            mesh.translate(mesh.scale(mesh.sphere(1, 12, 24, m["leaf"]), (w / 2, h * 0.28, w / 2)), (0, h * 0.7, 0))]


def build_scene_glb(scene: Scene) -> bytes:
    theme = scene.theme
    b = GltfBuilder(generator="Plaza assets.build (scene)")

    def mat(name: str, hex_color: str, kind: str | None = None, **kw: float) -> str:
        """`kind`: a surface kind from assets.textures; its set is stored once per scene GLB."""
        alpha = kw.pop("alpha", 1.0)
        emissive = kw.pop("emissive", 0.0)
        color = srgb_to_linear(hex_color, alpha)
        roughness = kw.get("roughness", 0.6)
        names: list[str | None] = [None, None, None]
        if kind:
            pngs = texture_pngs(kind)
            names = [b.png(f"{kind} {slot}", pngs[slot]) for slot in ("base", "normal", "mr")]
            roughness = roughness_factor(kind, roughness)
            color = color_factor(kind, color)
        return b.material(Material(name, color, kw.get("metallic", 0.0), roughness,
                                   tuple(c * emissive for c in color[:3]), names[0], double_sided=alpha < 1.0,
                                   normal_texture=names[1], mr_texture=names[2]))

    m = {
        # Floors are plank floors (UVs: one tile per metre, four 25 cm boards), whatever the theme's colour.
        "floor": mat("floor", theme.get("floor", "#b08a63"), "planks", roughness=0.45),
        "walls": mat("walls", theme.get("walls", "#f3eee6"), roughness=0.9),
        "trim": mat("trim", theme.get("trim", "#2d2a26"), roughness=0.5),
        "accent": mat("accent", theme.get("accent", "#b5523b"), roughness=0.5),
        "fixture": mat("fixture", theme.get("fixture", "#e9e2d6"), roughness=0.6),
        # Shelving is painted wood in the fixture colour: the grain shows through, the colour is the theme's.
        "shelf": mat("shelf", theme.get("fixture", "#e9e2d6"), "wood", roughness=0.6),
        "metal": mat("metal", theme.get("metal", "#c2a878"), "metal", metallic=1.0, roughness=0.3),
        "wood": mat("wood", "#9b7048", "wood", roughness=0.5),
        "white": mat("white", "#f7f7f5", roughness=0.4),
        # Faintly self-lit: in a real shop light bounces up onto the ceiling; no light here points up.
        "ceiling": mat("ceiling", theme.get("ceiling", "#f4f1ea"), roughness=0.95, emissive=0.45),
        "glass": mat("glass", "#dfeff4", "glass", roughness=0.05, alpha=0.25),
        "glow": mat("glow", theme.get("trim", "#ffffff"), emissive=1.0),
        "leaf": mat("leaf", "#4f8a3c", roughness=0.7),
        "bark": mat("bark", "#6b4a2f", roughness=0.9),
    }
    poly = scene.floor
    h = scene.ceiling_height
    arch: list[Part] = [_floor(poly, m["floor"]), _ceiling(poly, h, m["ceiling"])]
    for i in range(len(poly)):
        a, c = poly[i], poly[(i + 1) % len(poly)]
        edge = c - a
        outward = np.array([edge[1], -edge[0]]) / np.linalg.norm(edge)
        area = 0.5 * np.sum(poly[:, 0] * np.roll(poly[:, 1], -1) - np.roll(poly[:, 0], -1) * poly[:, 1])
        if area < 0:
            outward = -outward
        shift = outward * WALL_T / 2
        a2, c2 = a + shift, c + shift
        if i == scene.storefront_edge:
            # Glass storefront with a door gap in the middle and a fascia band above.
            mid, unit = (a2 + c2) / 2, edge / np.linalg.norm(edge)
            gap = scene.door_width / 2
            for s, e in ((a2, mid - unit * gap), (mid + unit * gap, c2)):
                arch.append(_wall_segment(s, e, 2.8, 0.03, m["glass"]))
                arch.append(_wall_segment(s, e, 0.3, WALL_T, m["trim"]))
            arch.append(_wall_segment(a2, c2, h - 2.8, WALL_T, m["accent"], y0=2.8))
        else:
            arch.append(_wall_segment(a2, c2, h, WALL_T, m["walls"]))
            arch.append(_wall_segment(a + outward * 0.01, c + outward * 0.01, 0.12, 0.04, m["trim"]))
    for w in scene.walls:
        arch.append(_wall_segment(np.array(w.start), np.array(w.end), w.height, w.thickness, m["fixture"]))
    children = [Node("architecture", parts=mesh.merge(arch))]
    for f in scene.fixtures:
        parts = _fixture_parts(f, m)
        if parts:
            children.append(Node(f.id, parts=mesh.merge(parts), translation=(f.center[0], 0.0, f.center[1]),
                                 rotation=quat_y(f.rotation_deg) if f.rotation_deg else None,
                                 extras={"fixture_type": f.type}))
    for i, li in enumerate(scene.lights):
        color = srgb_to_linear(li.color)[:3]
        node = Node(f"light-{i}", translation=li.position, light=Light(f"light-{i}", li.kind, color, li.intensity,
                                                                         li.range, 40.0))
        if li.kind != "point":
            node.rotation = POINT_DOWN
        children.append(node)
        if li.kind != "directional":  # a visible lamp housing where the light is
            lamp = mesh.cylinder(0.12, 0.04, 16, m["glow"], y0=-0.04)
            children.append(Node(f"lamp-{i}", parts=[lamp], translation=li.position))
    b.extras = {"scene_id": scene.id}
    return b.to_glb(Node(scene.id, children=children))
