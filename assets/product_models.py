"""Parametric product models: one generator per model type named in the catalog (`model.type`).

Conventions (Khronos 3D Commerce): metres, +Y up, the front faces +Z, bottom centre at the origin,
metallic-roughness PBR. The product's colour options become `KHR_materials_variants`; the first one is
the default look. Furniture is built from its `dimensions_cm`, so the model and the data agree.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from assets import mesh
from assets.gltf import GltfBuilder, Material, Node, srgb_to_linear
from assets.mesh import Part
from assets.textures import KINDS, color_factor, roughness_factor, texture_pngs
from server.commerce.catalog import VISUAL_FINISHES, Product

# Material options that change the look (others, like phone storage, do not); keys are VISUAL_FINISHES.
# "texture" is a surface kind from assets.textures (base-colour detail + normal + metallicRoughness maps).
SURFACE_FINISH: dict[str, dict[str, Any]] = {
    "leather": {"roughness": 0.42, "texture": "leather"},
    "boucle": {"roughness": 0.95, "texture": "boucle"},
    "mesh": {"roughness": 0.8, "texture": "knit"},
}
BIG_ITEM_CATEGORIES = ("furniture",)
BIG_ITEM_TYPES = ("fridge", "tv")


def _shade(rgba: tuple[float, float, float, float], factor: float) -> tuple[float, float, float, float]:
    r, g, b, a = rgba
    return (min(r * factor, 1.0), min(g * factor, 1.0), min(b * factor, 1.0), a)


class ModelContext:
    """What a generator needs: materials (fixed or following the colour variant) and a detail level."""

    def __init__(self, product: Product, detail: float = 1.0) -> None:
        self.product = product
        self.detail = detail
        self.params: dict[str, Any] = dict(product.model.get("params", {}))
        self.virtual = product.kind == "virtual" or bool(self.params.get("virtual"))
        self.b = GltfBuilder(generator="Plaza assets.build")
        self.looks = self._looks(product)
        self._roles: dict[str, list[str]] = {}  # role -> material name per look

    @staticmethod
    def _looks(product: Product) -> list[tuple[str, str, str | None]]:
        """(variant name, colour hex, surface finish) per distinct visual look."""
        colors = product.options.get("color", [])
        finishes = [m for m in product.options.get("material", []) if m in VISUAL_FINISHES] or [None]
        return [
            (c["name"] + (f" / {f}" if f and len(finishes) > 1 else ""), c["hex"], f)
            for c in colors
            for f in finishes
        ]

    def seg(self, n: int) -> int:
        return max(6, round(n * self.detail))

    def _textures(self, kind: str) -> tuple[str, str, str]:
        """The kind's texture set, added to this model's GLB once however many materials use it."""
        if kind not in KINDS:
            raise ValueError(f"unknown texture kind {kind!r}; known: {', '.join(KINDS)}")
        names = (f"{kind} base", f"{kind} normal", f"{kind} metallicRoughness")
        pngs = texture_pngs(kind)
        for name, slot in zip(names, ("base", "normal", "mr"), strict=True):
            if name not in self.b.textures:
                self.b.png(name, pngs[slot])
        return names

    def _material(self, name: str, color: tuple[float, float, float, float], metallic: float, roughness: float,
                  emissive: tuple[float, float, float], kind: str | None, double_sided: bool) -> None:
        base = normal = mr = None
        if kind:
            base, normal, mr = self._textures(kind)
            roughness = roughness_factor(kind, roughness)  # the texture's G times this averages `roughness`
            color = color_factor(kind, color)  # the detail darkens a little: the average stays the colour
        self.b.material(Material(name, color, metallic, roughness, emissive, base, double_sided,
                                 normal_texture=normal, mr_texture=mr))

    def fixed(self, name: str, hex_color: str, metallic: float = 0.0, roughness: float = 0.5,
              alpha: float = 1.0, emissive: float = 0.0, texture: str | None = None) -> str:
        """A material that ignores the colour variants; `texture` is a surface kind (assets.textures)."""
        color = srgb_to_linear(hex_color, alpha)
        self._material(name, color, metallic, roughness, tuple(c * emissive for c in color[:3]), texture,
                       alpha < 1.0)
        return name

    def role(self, role: str, metallic: float = 0.0, roughness: float = 0.55, texture: str | None = None,
             shade: float = 1.0, alpha: float = 1.0, double_sided: bool = False) -> str:
        """A material that follows the product's colour variants; returns the default look's name."""
        names = []
        for look_name, hex_color, finish in self.looks:
            tex, rough, emissive = texture, roughness, (0.0, 0.0, 0.0)
            if finish:
                rough = SURFACE_FINISH[finish]["roughness"]
                tex = SURFACE_FINISH[finish]["texture"]
            color = _shade(srgb_to_linear(hex_color, alpha), shade)
            met = metallic
            if self.virtual:  # digital goods glow and shimmer, untextured; nobody has to sew them
                emissive = tuple(c * 0.6 for c in color[:3])
                met, rough, tex = 0.6, 0.25, None
            name = role if not names else f"{role} / {look_name}"
            self._material(name, color, met, rough, emissive, tex, double_sided or alpha < 1.0)
            names.append(name)
        self._roles[role] = names
        return names[0]

    def to_glb(self, root: Node) -> bytes:
        if len(self.looks) > 1:
            for i, (look_name, _, _) in enumerate(self.looks):
                self.b.add_variant(look_name, {names[0]: names[i] for names in self._roles.values()})
        self.b.extras = {"product_id": self.product.id}
        return self.b.to_glb(root)


def _node(name: str, parts: list[Part], **kw: Any) -> Node:
    return Node(name, parts=mesh.merge(parts), **kw)


# ---------------------------------------------------------------- apparel


def top_garment(ctx: ModelContext) -> Node:
    """T-shirt, shirt, hoodie, jacket or coat as if worn by an invisible mannequin."""
    t = ctx.product.model["type"]
    p = ctx.params
    loose = float(p.get("looseness", {"hoodie": 1.1, "jacket": 1.08}.get(t, 1.0)))
    length = float(p.get("length", {"tshirt": 0.7, "shirt": 0.76, "hoodie": 0.7, "jacket": 0.74}[t]))
    sleeve = p.get("sleeve", "short" if t == "tshirt" else "long")
    jersey = t in ("tshirt", "hoodie")  # knitted; shirts, denim and coats are woven
    cloth = ctx.role("fabric", roughness=0.85, texture="knit" if jersey else "weave", double_sided=True)
    a, depth = 0.22 * loose, 0.6  # half-width at the chest, depth/width ratio
    prof = [(0.95 * a, 0.0), (0.93 * a, length * 0.35), (a, length * 0.7), (0.96 * a, length * 0.88),
            (0.55 * a, length * 0.99), (0.33 * a, length)]
    parts = [mesh.lathe(prof, ctx.seg(32), cloth, scale_xz=(1.0, depth))]
    shoulder_y = length * 0.9
    sleeve_len = 0.24 if sleeve == "short" else 0.62
    for side in (-1, 1):
        start = np.array([side * 0.88 * a, shoulder_y, 0.0])
        direction = np.array([side * np.cos(np.radians(55)), -np.sin(np.radians(55)), 0.0])
        path = [start + direction * s for s in np.linspace(0, sleeve_len, 6)]
        radii = np.linspace(0.075 * loose, 0.05 if sleeve == "long" else 0.065, 6)
        parts.append(mesh.tube(path, radii, ctx.seg(14), cloth, caps=False))
    neck_r = 0.33 * a
    if t in ("shirt", "jacket"):
        ring = [(neck_r * np.cos(th) * 1.05, length + 0.015, -neck_r * depth * np.sin(th) * 1.05)
                for th in np.linspace(0, 2 * np.pi, 25)]
        parts.append(mesh.tube(ring, 0.018, 8, cloth, caps=False))
        button = ctx.fixed("button", "#2b2b2b" if t == "jacket" else "#efeee8", metallic=0.3 if t == "jacket" else 0,
                           roughness=0.35, texture="metal" if t == "jacket" else None)
        for y in np.linspace(length * 0.12, length * 0.9, 6):
            r_here = float(np.interp(y, [q[1] for q in prof], [q[0] for q in prof]))
            disc = mesh.rotate(mesh.cylinder(0.007, 0.004, 12, button), "x", 90)
            parts.append(mesh.translate(disc, (0, y, r_here * depth + 0.006)))
    if t == "hoodie" or p.get("hood"):
        hood = mesh.scale(mesh.sphere(0.13, 8, ctx.seg(18), cloth), (1.0, 1.05, 0.9))
        parts.append(mesh.translate(hood, (0, length + 0.02, -0.07)))
        pocket = mesh.box((0.3, 0.14, 0.02), (0, length * 0.22, a * depth * 0.98), cloth)
        parts.append(pocket)
    return _node(ctx.product.id, parts)


def dress(ctx: ModelContext) -> Node:
    p = ctx.params
    length, flare = float(p.get("length", 1.1)), float(p.get("flare", 1.2))
    cloth = ctx.role("fabric", roughness=0.6, texture="weave", double_sided=True)
    h = length
    prof = [(0.3 * flare, 0.0), (0.24 * flare, h * 0.25), (0.19, h * 0.5), (0.15, h * 0.62),
            (0.19, h * 0.82), (0.17, h * 0.95), (0.12, h)]
    parts = [mesh.lathe(prof, ctx.seg(36), cloth, scale_xz=(1.0, 0.65))]
    if p.get("sleeve") == "short":
        for side in (-1, 1):
            path = [(side * (0.15 + 0.05 * s), h * 0.96 - 0.08 * s, 0) for s in np.linspace(0, 1, 4)]
            parts.append(mesh.tube(path, 0.06, ctx.seg(12), cloth, caps=False))
    else:
        for side in (-1, 1):
            path = [(side * 0.1, h * 0.97, z) for z in (-0.06, 0.0, 0.07)]
            path = [(side * 0.1, h * 0.97 + 0.06 * np.cos(z * 20), z) for _, _, z in path]
            parts.append(mesh.tube(path, 0.006, 6, cloth))
    return _node(ctx.product.id, parts)


def _half_section(hip: float, depth: float, side: int, around: np.ndarray, y: float) -> np.ndarray:
    """The seat's elliptical section (half width `hip`, half depth `hip * depth`) cut in two at x = 0: the half on
    `side`, as a loop seen from its own centre (side * hip / 2) at the angles `around`, so it lofts onto circles
    sampled at the same angles without twisting."""
    cx = side * hip / 2
    dx, dz = np.cos(around), np.sin(around)
    # Ray from the centre to the ellipse (x / hip)^2 + (z / (hip * depth))^2 = 1 ...
    a = (dx / hip) ** 2 + (dz / (hip * depth)) ** 2
    b = 2 * cx * dx / hip**2
    c = (cx / hip) ** 2 - 1
    t = (-b + np.sqrt(b * b - 4 * a * c)) / (2 * a)
    # ... or to the middle line x = 0, whichever comes first.
    inward = dx * side < -1e-9
    t_mid = np.where(inward, -cx / np.where(inward, dx, 1.0), np.inf)
    t = np.minimum(t, t_mid)
    return np.column_stack([cx + t * dx, np.full(len(around), y), t * dz])


def trousers(ctx: ModelContext) -> Node:
    slim = bool(ctx.params.get("slim"))
    cloth = ctx.role("fabric", roughness=0.8, texture="knit" if slim else "weave", double_sided=True)
    h = 1.02
    hip = 0.19 if not slim else 0.17
    # The seat closes at the crotch and each leg at the hem, so no view looks into hollow tubes.
    seat_depth = 0.62  # the seat's depth as a share of its width (an elliptical section)
    parts = [mesh.lathe([(0.0, h - 0.26), (hip, h - 0.26), (hip * 1.02, h - 0.12), (hip * 0.95, h)], ctx.seg(28),
                        cloth, hard=(1,), scale_xz=(1.0, seat_depth))]
    # Each leg: a loft from exactly its half of the seat's section (a D whose flat side meets the other leg's at
    # the middle) through the thigh and the knee down to a closed hem: the seat flows into the legs, no ledge.
    knee_r, hem_r = (0.07, 0.045) if slim else (0.085, 0.075)
    around = np.linspace(0, 2 * np.pi, ctx.seg(20) + 1)[:-1]
    heights = [h - 0.26, h - 0.34, h - 0.44, h * 0.45, h * 0.2, 0.0]
    #           centre x, half width x, half depth z (circles below the D)
    circles = [(0.095, 0.092, 0.1), (0.1, 0.088, 0.09), (0.1, knee_r, knee_r),
               (0.1, (knee_r + hem_r) / 2, (knee_r + hem_r) / 2), (0.1, hem_r, hem_r)]
    for side in (-1, 1):
        rings = [_half_section(hip, seat_depth, side, around, heights[0])]
        rings += [np.column_stack([side * cx + rx * np.cos(around), np.full(len(around), y), rz * np.sin(around)])
                  for y, (cx, rx, rz) in zip(heights[1:], circles, strict=True)]
        parts.append(mesh.loft(rings, cloth))
    band = ctx.role("band", roughness=0.7, shade=0.8, texture="knit")
    ring = [(hip * 0.96 * np.cos(t), h - 0.02, -hip * 0.6 * np.sin(t)) for t in np.linspace(0, 2 * np.pi, 29)]
    parts.append(mesh.tube(ring, 0.02, 8, band, caps=False))
    return _node(ctx.product.id, parts)


def skirt(ctx: ModelContext) -> Node:
    cloth = ctx.role("fabric", roughness=0.5, texture="weave", double_sided=True)
    h = 0.72
    part = mesh.lathe([(0.34, 0.0), (0.26, h * 0.6), (0.16, h)], ctx.seg(64), cloth, scale_xz=(1.0, 0.8))
    pos = part.positions.astype(np.float64)
    theta = np.arctan2(pos[:, 2], pos[:, 0])
    pleat = 1.0 + 0.05 * np.abs(np.sin(16 * theta)) * (1.0 - pos[:, 1] / h)  # sunray pleats open downwards
    pos[:, 0] *= pleat
    pos[:, 2] *= pleat
    part = mesh.recompute_normals(Part(pos.astype(np.float32), part.normals, part.uvs, part.indices, cloth))
    return _node(ctx.product.id, [part])


# ---------------------------------------------------------------- shoes


def _knots(s: np.ndarray, knots: Sequence[tuple[float, float]]) -> np.ndarray:
    xs, ys = zip(*knots, strict=True)
    return np.interp(s, xs, ys)


def _foot(length: float, side: int, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A last's footprint, heel (s=0, -z) to toe (s=1, +z): (s, x, z) of a closed outline, counter-clockwise
    seen from above. Widest at the ball (70 %), a waist at the arch, the toe box bent toward the big toe
    (the inside, -x for the right shoe: side=+1)."""
    s = (1 - np.cos(np.linspace(0, np.pi, n))) / 2  # denser at heel and toe, where the outline turns
    half_w = _knots(s, [(0, 0.030), (0.18, 0.034), (0.42, 0.031), (0.7, 0.046), (0.9, 0.038), (1, 0.02)])
    half_w = half_w * np.sqrt(np.clip(1 - (2 * s - 1) ** 8, 0, 1)) * (length / 0.27)
    centre = -side * 0.012 * s**2 * (length / 0.27)
    z = (s - 0.5) * length
    outline_s = np.concatenate([s, s[::-1][1:-1]])
    x = np.concatenate([centre + half_w, (centre - half_w)[::-1][1:-1]])
    return outline_s, x, np.concatenate([z, z[::-1][1:-1]])


def _shoe(ctx: ModelContext, kind: str, side: int) -> list[Part]:
    """One shoe on a foot-shaped last: a sole with toe spring (or a raised heel), an upper that rises to the
    collar at the heel and the throat, a lined opening; laces, lugs, a shaft or a stiletto by kind."""
    p = ctx.params
    length = 0.29 if ctx.product.size_chart == "shoes-men" else 0.26
    # Running and trail sneakers are knit mesh, court sneakers, boots and heels leather (the catalog's
    # material option, where there is one, overrides this through SURFACE_FINISH).
    upper_kind = "knit" if kind == "sneaker" and not p.get("low") else "leather"
    upper = ctx.role("upper", roughness=0.7 if kind == "sneaker" else 0.45, texture=upper_kind)
    sole = ctx.fixed("sole", "#f4f1ea" if kind == "sneaker" else "#2a211c", roughness=0.8)
    lining = ctx.fixed("lining", "#3a3330", roughness=0.9)
    sole_h = {"sneaker": 0.028, "boot": 0.024, "heel": 0.007}[kind]
    heel_h = 0.075 if kind == "heel" else 0.0

    def lift(s: np.ndarray) -> np.ndarray:
        """How high the sole's underside is along the foot: toe spring, or the arch of a high heel."""
        if kind == "heel":
            return heel_h * _knots(s, [(0, 1), (0.22, 1), (0.62, 0.05), (0.75, 0), (1, 0.004 / heel_h)])
        return 0.012 * np.clip((s - 0.78) / 0.22, 0, 1) ** 2

    s, x, z = _foot(length, side, ctx.seg(18))
    y0 = lift(s)
    rings = [np.column_stack([x, y0, z]), np.column_stack([x, y0 + sole_h, z])]
    parts = [mesh.loft(rings, sole)]
    # The upper: rings pulled in toward the foot's middle line as they rise, higher at the collar and throat.
    if kind == "heel":  # a pump: low sides, cut away at the vamp
        top = _knots(s, [(0, 0.055), (0.3, 0.04), (0.55, 0.034), (0.8, 0.03), (1, 0.022)])
    else:
        top = _knots(s, [(0, 0.075), (0.2, 0.08), (0.45, 0.085), (0.7, 0.058), (0.9, 0.04), (1, 0.03)])
        if p.get("low"):
            top = top * 0.85
    mid_x, mid_z = float(np.mean(x)), float(np.mean(z))
    angles = np.linspace(0, np.radians(78 if kind != "heel" else 55), 7)
    shell = []
    for a in angles:
        pull = np.cos(a)
        shell.append(np.column_stack([mid_x + (x - mid_x) * pull * 0.98, y0 + sole_h + top * np.sin(a),
                                      mid_z + (z - mid_z) * (0.6 + 0.38 * pull)]))
    if kind == "heel":  # open: a footbed inside the rim instead of a closed top
        parts.append(mesh.loft(shell, upper, cap_start=False, cap_end=False))
        rim = shell[-1]
        bed = np.column_stack([mid_x + (rim[:, 0] - mid_x) * 0.92, y0 + sole_h + 0.003,
                               mid_z + (rim[:, 2] - mid_z) * 0.95])
        parts.append(mesh.loft([rim, bed], lining, cap_start=False))
        # The block heel: a post tapering a little from the heel cup to the floor.
        hz = -length / 2 + 0.03
        ring = np.linspace(0, 2 * np.pi, 13)[:-1]
        heel_rings = [np.column_stack([mid_x + r * np.cos(ring), np.full(12, y), hz + r * 1.1 * np.sin(ring)])
                      for r, y in ((0.011, 0.0), (0.012, heel_h * 0.5), (0.017, heel_h + 0.002))]
        parts.append(mesh.loft(heel_rings, sole))
        return parts
    parts.append(mesh.loft(shell, upper, cap_start=False))
    # The collar: a lined oval opening at the back of the top.
    ring = np.linspace(0, 2 * np.pi, 21)[:-1]
    cz = -length * 0.2
    # The top's cap is a fan from its centroid: the opening sits where that fan passes over cz, and goes in.
    rim = shell[-1]
    centre, rear = rim.mean(axis=0), rim[int(np.argmin(rim[:, 2]))]
    t = (centre[2] - cz) / (centre[2] - rear[2])
    collar_y = float(centre[1] + t * (rear[1] - centre[1])) + 0.002
    opening = [np.column_stack([mid_x + 0.03 * np.cos(ring), np.full(20, collar_y), cz + 0.05 * np.sin(ring)]),
               np.column_stack([mid_x + 0.027 * np.cos(ring), np.full(20, collar_y - 0.025),
                                cz + 0.045 * np.sin(ring)])]
    parts.append(mesh.loft(opening, lining, cap_start=False))
    if p.get("lugs"):
        for lz in np.linspace(-length * 0.4, length * 0.35, 7):
            parts.append(mesh.box((0.06, 0.006, 0.012), (mid_x, 0.003, lz), sole))
        parts = [mesh.translate(q, (0, 0.004, 0)) for q in parts]
    if kind == "boot":
        shaft = mesh.lathe([(0.044, 0), (0.045, 0.09), (0.047, 0.11)], ctx.seg(24), upper, scale_xz=(1.0, 1.3))
        parts.append(mesh.translate(shaft, (mid_x, collar_y - 0.01, cz)))
    if kind == "sneaker":
        lace = ctx.fixed("lace", "#f8f8f8", roughness=0.9)
        for lz in np.linspace(-length * 0.08, length * 0.16, 5):
            ls = lz / length + 0.5
            ly = sole_h + float(np.interp(ls, s[: len(s) // 2 + 1], top[: len(s) // 2 + 1])) * 0.985
            parts.append(mesh.box((0.045, 0.005, 0.007), (mid_x, ly, lz), lace))
    return parts


def shoe_pair(ctx: ModelContext) -> Node:
    kind = {"sneaker": "sneaker", "boot": "boot", "heel": "heel"}[ctx.product.model["type"]]
    left = [mesh.translate(q, (-0.065, 0, 0)) for q in _shoe(ctx, kind, -1)]
    right = [mesh.translate(q, (0.065, 0, 0.01)) for q in _shoe(ctx, kind, 1)]
    return Node(ctx.product.id, children=[_node("left", left), _node("right", right)])


# ---------------------------------------------------------------- beauty


def lipstick(ctx: ModelContext) -> Node:
    r = 0.0085 if ctx.params.get("slim") else 0.0105
    gold = ctx.fixed("case metal", "#c9a45c", metallic=1.0, roughness=0.25, texture="metal")
    colour = ctx.role("bullet", roughness=0.35)
    case = mesh.lathe([(0, 0), (r, 0), (r, 0.045), (r * 0.92, 0.045), (r * 0.92, 0.052), (0, 0.052)], ctx.seg(32),
                      gold, hard=(1, 2, 3, 4))
    bullet = mesh.lathe([(0, 0.05), (r * 0.78, 0.05), (r * 0.78, 0.07), (r * 0.45, 0.082), (0, 0.084)],
                        ctx.seg(32), colour, hard=(1, 2))
    cap = mesh.lathe([(0, 0), (r * 1.02, 0), (r * 1.02, 0.045), (0, 0.045)], ctx.seg(32), gold, hard=(1, 2))
    cap = mesh.translate(cap, (r * 3.2, 0, 0))
    return Node(ctx.product.id, children=[_node("body", [case, bullet]), _node("cap", [cap])])


def perfume(ctx: ModelContext) -> Node:
    glass = ctx.fixed("glass", "#e8f1f4", roughness=0.05, alpha=0.35, texture="glass")
    juice = ctx.role("juice", roughness=0.1, alpha=0.85)
    gold = ctx.fixed("cap metal", "#c9a45c", metallic=1.0, roughness=0.2, texture="metal")
    parts = [mesh.box((0.07, 0.08, 0.035), (0, 0.04, 0), glass), mesh.box((0.062, 0.065, 0.027), (0, 0.037, 0), juice),
             mesh.cylinder(0.008, 0.012, ctx.seg(20), gold, y0=0.08),
             mesh.translate(mesh.sphere(0.018, 10, ctx.seg(24), gold), (0, 0.105, 0))]
    return _node(ctx.product.id, parts)


def jar(ctx: ModelContext) -> Node:
    p = ctx.params
    h = float(p.get("height", 0.05))
    r = 0.035
    if p.get("glass"):
        body = ctx.fixed("glass", "#f1f6f7", roughness=0.05, alpha=0.3, texture="glass")
        fill = ctx.role("contents", roughness=0.15, alpha=0.9)
        parts = [mesh.lathe([(0, 0), (r, 0), (r, h), (r * 0.85, h * 1.05), (0, h * 1.05)], ctx.seg(32), body,
                            hard=(1, 2)),
                 mesh.cylinder(r * 0.93, h * 0.85, ctx.seg(32), fill, y0=0.003)]
        lid_col = ctx.fixed("lid", "#3b2a1a", metallic=0.6, roughness=0.4, texture="metal")
    else:
        body = ctx.role("ceramic", roughness=0.25)
        parts = [mesh.lathe([(0, 0), (r * 1.3, 0), (r * 1.35, h * 0.9), (0, h * 0.9)], ctx.seg(32), body, hard=(1, 2))]
        lid_col = ctx.fixed("lid", "#c9a45c", metallic=1.0, roughness=0.3, texture="metal")
        r = r * 1.35
    top = h * 1.05 if p.get("glass") else h * 0.9
    parts.append(mesh.lathe([(0, top), (r * 1.02, top), (r * 1.02, top + 0.018), (0, top + 0.02)], ctx.seg(32),
                            lid_col, hard=(1, 2)))
    return _node(ctx.product.id, parts)


def dropper_bottle(ctx: ModelContext) -> Node:
    amber = ctx.role("glass", roughness=0.08, alpha=0.8, texture="glass")
    black = ctx.fixed("dropper", "#151515", roughness=0.6)
    body = mesh.lathe([(0, 0), (0.016, 0), (0.016, 0.07), (0.008, 0.08), (0.008, 0.086), (0, 0.086)], ctx.seg(28),
                      amber, hard=(1, 2, 4))
    collar = mesh.cylinder(0.01, 0.016, ctx.seg(24), black, y0=0.084)
    bulb = mesh.lathe([(0, 0.1), (0.008, 0.104), (0.008, 0.118), (0, 0.124)], ctx.seg(24), black)
    return _node(ctx.product.id, [body, collar, bulb])


def palette(ctx: ModelContext) -> Node:
    case = ctx.fixed("card case", "#2b2b2e", roughness=0.7)
    parts = [mesh.box((0.16, 0.012, 0.11), (0, 0.006, 0), case)]
    shades = [ctx.role(f"shade {k}", roughness=0.5 + 0.1 * (k % 2), shade=0.5 + 0.25 * k, metallic=0.2 * (k % 2))
              for k in range(4)]
    for i in range(4):
        for j in range(3):
            pan = mesh.cylinder(0.014, 0.004, ctx.seg(20), shades[(i + j) % 4], y0=0.011)
            parts.append(mesh.translate(pan, (-0.054 + 0.036 * i, 0, -0.033 + 0.033 * j)))
    return _node(ctx.product.id, parts)


def nail_polish(ctx: ModelContext) -> Node:
    glass = ctx.fixed("glass", "#f4f8f9", roughness=0.05, alpha=0.3, texture="glass")
    lacquer = ctx.role("lacquer", roughness=0.1)
    cap = ctx.fixed("cap", "#111111", roughness=0.3)
    parts = [mesh.lathe([(0, 0), (0.018, 0), (0.019, 0.04), (0.007, 0.048), (0, 0.048)], ctx.seg(28), glass,
                        hard=(1, 2)),
             mesh.lathe([(0, 0.002), (0.016, 0.002), (0.017, 0.036), (0, 0.036)], ctx.seg(28), lacquer, hard=(1, 2)),
             mesh.cylinder(0.008, 0.045, ctx.seg(20), cap, y0=0.046)]
    return _node(ctx.product.id, parts)


# ---------------------------------------------------------------- furniture


def _dims(ctx: ModelContext) -> tuple[float, float, float]:
    d = ctx.product.dimensions_cm or {}
    return d.get("width", 100) / 100, d.get("depth", 50) / 100, d.get("height", 80) / 100


def sofa(ctx: ModelContext) -> Node:
    w, d, h = _dims(ctx)
    seats = int(ctx.params.get("seats", 3))
    cloth = ctx.role("upholstery", roughness=0.9, texture="weave")
    oak = ctx.fixed("oak", "#a87b4f", roughness=0.55, texture="wood")
    arm_w, leg_h = 0.16, 0.1
    parts = [mesh.box((w, 0.2, d), (0, leg_h + 0.1, 0), cloth),
             mesh.box((arm_w, h * 0.72 - leg_h, d), (-(w - arm_w) / 2, leg_h + (h * 0.72 - leg_h) / 2, 0), cloth),
             mesh.box((arm_w, h * 0.72 - leg_h, d), ((w - arm_w) / 2, leg_h + (h * 0.72 - leg_h) / 2, 0), cloth),
             mesh.box((w - 2 * arm_w, h - leg_h - 0.2, 0.2), (0, leg_h + 0.2 + (h - leg_h - 0.2) / 2, -d / 2 + 0.1),
                      cloth)]
    seat_w = (w - 2 * arm_w) / seats
    cushion_parts = seats if ctx.detail >= 1 else 1  # the far LOD merges the cushions into one block
    cw = (w - 2 * arm_w) / cushion_parts
    for i in range(cushion_parts):
        x = -w / 2 + arm_w + cw * (i + 0.5)
        parts.append(mesh.box((cw - 0.01, 0.14, d - 0.24), (x, leg_h + 0.27, 0.1), cloth))
    for i in range(seats):
        x = -w / 2 + arm_w + seat_w * (i + 0.5)
        parts.append(mesh.box((seat_w - 0.02, h * 0.45, 0.14), (x, leg_h + 0.34 + h * 0.2, -d / 2 + 0.26), cloth))
    for sx in (-1, 1):
        for sz in (-1, 1):
            leg = mesh.lathe([(0, 0), (0.018, 0), (0.024, leg_h), (0, leg_h)], ctx.seg(12), oak, hard=(1, 2))
            parts.append(mesh.translate(leg, (sx * (w / 2 - 0.06), 0, sz * (d / 2 - 0.06))))
    return _node(ctx.product.id, parts)


def table(ctx: ModelContext) -> Node:
    w, d, h = _dims(ctx)
    wood = ctx.role("wood", roughness=0.5, texture="wood")
    top_t = 0.03
    if ctx.params.get("oval"):
        top = mesh.lathe([(0, h - top_t), (1, h - top_t), (1, h), (0, h)], ctx.seg(48), wood, hard=(1, 2),
                         scale_xz=(w / 2, d / 2))
    else:
        top = mesh.box((w, top_t, d), (0, h - top_t / 2, 0), wood)
    parts = [top]
    for sx in (-1, 1):
        for sz in (-1, 1):
            path = [(sx * w * 0.3, h - top_t, sz * d * 0.28), (sx * w * 0.33, 0.0, sz * d * 0.31)]
            parts.append(mesh.tube(path, [0.022, 0.014], ctx.seg(12), wood))
    return _node(ctx.product.id, parts)


def chair(ctx: ModelContext) -> Node:
    w, d, h = _dims(ctx)
    wood = ctx.role("wood", roughness=0.45, texture="wood")
    cane = ctx.fixed("cane", "#d8bf8a", roughness=0.85, texture="weave")
    seat_h = 0.46
    parts = [mesh.lathe([(0, seat_h - 0.03), (1, seat_h - 0.03), (1, seat_h), (0, seat_h)], ctx.seg(32), cane,
                        hard=(1, 2), scale_xz=(w / 2, d * 0.42))]
    for sx in (-1, 1):
        parts.append(mesh.tube([(sx * w * 0.36, seat_h, d * 0.3), (sx * w * 0.4, 0, d * 0.36)], 0.015, ctx.seg(10),
                               wood))
        back = [(sx * w * 0.34, 0.0, -d * 0.34), (sx * w * 0.34, seat_h, -d * 0.34), (sx * w * 0.32, h, -d * 0.44)]
        parts.append(mesh.tube(back, 0.016, ctx.seg(10), wood))
    arc = [(w * 0.34 * np.cos(t), h - 0.04, -d * 0.44 - 0.06 * np.sin(t)) for t in np.linspace(0, np.pi, 12)]
    parts.append(mesh.tube(arc, 0.02, ctx.seg(10), wood))
    ring = [(w * 0.4 * np.cos(t), 0.2, -d * 0.36 * np.sin(t)) for t in np.linspace(0, 2 * np.pi, 25)]
    parts.append(mesh.tube(ring, 0.01, 8, wood, caps=False))
    return _node(ctx.product.id, parts)


def floor_lamp(ctx: ModelContext) -> Node:
    _, _, h = _dims(ctx)
    metal = ctx.role("metal", metallic=1.0, roughness=0.3, texture="metal")
    marble = ctx.fixed("marble", "#e9e6e1", roughness=0.2)
    linen = ctx.fixed("linen shade", "#f2ead9", roughness=0.9, texture="weave", alpha=0.95)
    bulb = ctx.fixed("bulb", "#fff4d6", emissive=1.0)
    parts = [mesh.cylinder(0.17, 0.04, ctx.seg(32), marble)]
    arc = [(0.12 * np.sin(t), 0.04 + (h - 0.04) * np.sin(t * 0.5) ** 0.8, 0.0)
           for t in np.linspace(0, np.pi, 16)]
    parts.append(mesh.tube(arc, 0.012, ctx.seg(10), metal))
    end = np.array(arc[-1])
    shade = mesh.lathe([(0.2, 0), (0.12, 0.2)], ctx.seg(32), linen)
    parts.append(mesh.translate(shade, end + np.array([0, -0.2, 0])))
    parts.append(mesh.translate(mesh.sphere(0.04, 8, 16, bulb), end + np.array([0, -0.12, 0])))
    return _node(ctx.product.id, parts)


def bookshelf(ctx: ModelContext) -> Node:
    w, d, h = _dims(ctx)
    wood = ctx.role("wood", roughness=0.55, texture="wood")
    t = 0.022
    shelves = int(ctx.params.get("shelves", 5))
    parts = [mesh.box((t, h, d), (-w / 2 + t / 2, h / 2, 0), wood),
             mesh.box((t, h, d), (w / 2 - t / 2, h / 2, 0), wood),
             mesh.box((w, h, 0.008), (0, h / 2, -d / 2 + 0.004), wood)]
    book_cols = ["#8c2f39", "#2e4a62", "#d8b25c", "#3c6e47", "#e8e2d0"]
    books = [ctx.fixed(f"book {i}", c, roughness=0.7) for i, c in enumerate(book_cols)]
    rng = np.random.default_rng(7)  # fixed seed: same books every build
    for i in range(shelves + 1):
        y = 0.05 + i * (h - 0.08) / shelves
        parts.append(mesh.box((w - 2 * t, t, d - 0.01), (0, y, 0.005), wood))
        if i < shelves and ctx.detail >= 1:
            x = -w / 2 + t + 0.02
            while x < w * 0.15:
                bw, bh = rng.uniform(0.02, 0.045), rng.uniform(0.18, 0.28)
                parts.append(mesh.box((bw, bh, d * 0.7), (x + bw / 2, y + t / 2 + bh / 2, 0), books[rng.integers(5)]))
                x += bw + 0.003
    return _node(ctx.product.id, parts)


# ---------------------------------------------------------------- electronics


def fridge(ctx: ModelContext) -> Node:
    """Cabinet plus two doors hinged on the right edge: rotate node `door` about +Y to open it."""
    w, d, h = _dims(ctx)
    enamel = ctx.role("enamel", metallic=0.1, roughness=0.3)
    inside = ctx.fixed("liner", "#f5f7f8", roughness=0.4)
    chrome = ctx.fixed("chrome", "#d9dde0", metallic=1.0, roughness=0.15, texture="metal")
    glass = ctx.fixed("shelf glass", "#dff0f2", roughness=0.05, alpha=0.4, texture="glass")
    t, door_t, body_d = 0.04, 0.06, d - 0.06
    zc = -0.03  # the cabinet sits behind the doors
    parts = [mesh.box((t, h, body_d), (-w / 2 + t / 2, h / 2, zc), enamel),
             mesh.box((t, h, body_d), (w / 2 - t / 2, h / 2, zc), enamel),
             mesh.box((w, t, body_d), (0, h - t / 2, zc), enamel), mesh.box((w, 0.08, body_d), (0, 0.04, zc), enamel),
             mesh.box((w, h, t), (0, h / 2, zc - body_d / 2 + t / 2), enamel),
             mesh.box((w - 2 * t, h - 0.12 - t, 0.004), (0, h / 2, zc - body_d / 2 + t + 0.002), inside)]
    split = h * 0.32
    parts.append(mesh.box((w - 2 * t, t, body_d - t), (0, split, zc + t / 2), enamel))
    for y in (split + 0.35, split + 0.7, split + 1.0):
        if y < h - 0.1:
            parts.append(mesh.box((w - 2 * t - 0.01, 0.006, body_d - t - 0.04), (0, y, zc), glass))
    hinge_x, front_z = w / 2, zc + body_d / 2

    def door(name: str, y0: float, y1: float) -> Node:
        hgt = y1 - y0
        slab = mesh.box((w, hgt - 0.006, door_t), (-w / 2, y0 + hgt / 2, door_t / 2), enamel)
        liner = mesh.box((w - 0.08, hgt - 0.08, 0.004), (-w / 2, y0 + hgt / 2, -0.002), inside)
        hy = (y0 + 0.1, y0 + 0.4) if name == "door" else (y1 - 0.3, y1 - 0.08)
        handle = mesh.tube([(-w + 0.06, hy[0], door_t + 0.03), (-w + 0.06, hy[1], door_t + 0.03)], 0.012, 12, chrome)
        return Node(name, parts=mesh.merge([slab, liner, handle]), translation=(hinge_x, 0.0, front_z),
                    extras={"hinge_axis": [0, 1, 0], "open_angle_deg": 110})

    return Node(ctx.product.id, children=[_node("cabinet", parts), door("door", split, h), door("freezer_door", 0.08,
                                                                                               split)])


def tv(ctx: ModelContext) -> Node:
    """A slim panel with round corners, a thin bezel round a glossy screen, a housing bulge at the back and
    two feet near the ends."""
    w, d, h = _dims(ctx)
    black = ctx.role("bezel", metallic=0.4, roughness=0.35)
    screen = ctx.fixed("screen", "#0e1422", roughness=0.05, emissive=0.35, texture="glass")
    stand_h, panel_t = 0.07, 0.012
    panel_h = h - stand_h
    centre_y = stand_h + panel_h / 2
    corner = ctx.seg(4)
    parts = [mesh.translate(mesh.extrude(mesh.rounded_rect(w, panel_h, 0.01, corner), panel_t, black,
                                         z0=-panel_t / 2), (0, centre_y, 0)),
             mesh.translate(mesh.extrude(mesh.rounded_rect(w - 0.016, panel_h - 0.016, 0.004, corner), 0.001,
                                         screen, z0=panel_t / 2), (0, centre_y, 0)),
             mesh.translate(mesh.extrude(mesh.rounded_rect(w * 0.62, panel_h * 0.55, 0.04, corner), 0.03, black,
                                         z0=-panel_t / 2 - 0.03), (0, centre_y - panel_h * 0.1, 0))]
    for side in (-1, 1):
        fx = side * (w / 2 - 0.1)
        parts.append(mesh.box((0.05, 0.012, d * 0.9), (fx, 0.006, 0), black))
        parts.append(mesh.box((0.03, stand_h + 0.04, 0.016), (fx, (stand_h + 0.04) / 2, -0.01), black))
    return _node(ctx.product.id, parts)


def headphones(ctx: ModelContext) -> Node:
    shell = ctx.role("shell", metallic=0.2, roughness=0.4)
    pad = ctx.fixed("cushion", "#1a1a1a", roughness=0.8, texture="leather")  # protein-leather ear pads
    r = 0.085
    band = [(r * np.cos(t), 0.1 + r * np.sin(t) * 1.1, 0.0) for t in np.linspace(0.05, np.pi - 0.05, 20)]
    parts = [mesh.tube(band, 0.012, ctx.seg(12), shell)]
    for side in (-1, 1):
        cup = mesh.rotate(mesh.lathe([(0, 0), (0.045, 0), (0.05, 0.025), (0, 0.03)], ctx.seg(28), shell, hard=(1,)),
                          "z", side * 90)
        parts.append(mesh.translate(cup, (side * (r + 0.028), 0.085, 0)))
        cushion = mesh.rotate(mesh.lathe([(0, 0), (0.045, 0), (0.045, 0.02), (0, 0.02)], ctx.seg(28), pad, hard=(1, 2)),
                              "z", side * 90)
        parts.append(mesh.translate(cushion, (side * (r - 0.0), 0.085, 0)))
    return _node(ctx.product.id, [mesh.translate(q, (0, -0.04 + 0.0, 0)) for q in parts])


def phone(ctx: ModelContext) -> Node:
    """A slab with round corners and a lit lock screen, standing on its short edge; a camera island with
    three lenses at the back, side buttons."""
    body = ctx.role("body", metallic=0.5, roughness=0.3, texture="metal")
    screen = ctx.fixed("screen", "#141c30", roughness=0.05, emissive=0.3, texture="glass")
    lens = ctx.fixed("lens", "#111418", metallic=0.8, roughness=0.1)
    w, h, t = 0.072, 0.148, 0.008
    corner = ctx.seg(6)
    parts = [mesh.translate(mesh.extrude(mesh.rounded_rect(w, h, 0.009, corner), t, body, z0=-t / 2), (0, h / 2, 0)),
             mesh.translate(mesh.extrude(mesh.rounded_rect(w - 0.005, h - 0.005, 0.0075, corner), 0.0004, screen,
                                         z0=t / 2), (0, h / 2, 0))]
    island = (-w / 2 + 0.021, h - 0.021)
    parts.append(mesh.translate(mesh.extrude(mesh.rounded_rect(0.032, 0.032, 0.008, corner), 0.0015, body,
                                             z0=-t / 2 - 0.0015), (*island, 0)))
    for dx, dy in ((-0.0075, 0.0075), (-0.0075, -0.0075), (0.0075, 0.0)):
        lens_part = mesh.rotate(mesh.cylinder(0.0055, 0.0015, ctx.seg(20), lens), "x", -90)
        parts.append(mesh.translate(lens_part, (island[0] + dx, island[1] + dy, -t / 2 - 0.0015)))
    for y, length in ((h - 0.035, 0.012), (h - 0.052, 0.012), (h - 0.045, 0.022)):
        x = -w / 2 - 0.0006 if length == 0.012 else w / 2 + 0.0006
        parts.append(mesh.box((0.0012, length, 0.003), (x, y, 0), body))
    return _node(ctx.product.id, parts)


def laptop(ctx: ModelContext) -> Node:
    w, d, t = 0.31, 0.22, 0.008
    body = ctx.role("aluminium", metallic=1.0, roughness=0.35, texture="metal")
    keys = ctx.fixed("keys", "#1c1c1e", roughness=0.7)
    screen = ctx.fixed("screen", "#07080b", roughness=0.05, emissive=0.0, texture="glass")
    base = [mesh.box((w, t, d), (0, t / 2, 0), body), mesh.box((w * 0.85, 0.001, d * 0.42), (0, t, -d * 0.1), keys)]
    lid_parts = [mesh.box((w, d * 0.95, 0.006), (0, d * 0.475, -0.003), body),
                 mesh.box((w * 0.94, d * 0.86, 0.001), (0, d * 0.48, 0.0005), screen)]
    open_rot = (float(-np.sin(np.radians(-7))), 0.0, 0.0, float(np.cos(np.radians(-7))))  # tilted 14° back
    lid = Node("lid", parts=mesh.merge(lid_parts), translation=(0, t, -d / 2), rotation=open_rot,
               extras={"hinge_axis": [1, 0, 0], "open_angle_deg": 105})
    return Node(ctx.product.id, children=[_node("base", base), lid])


def speaker(ctx: ModelContext) -> Node:
    fabric = ctx.role("fabric", roughness=0.95, texture="knit")
    top = ctx.fixed("top", "#2a2a2c", roughness=0.4)
    parts = [mesh.lathe([(0, 0), (0.05, 0), (0.055, 0.01), (0.055, 0.16), (0.05, 0.17)], ctx.seg(32), fabric),
             mesh.lathe([(0.05, 0.17), (0, 0.172)], ctx.seg(32), top)]
    return _node(ctx.product.id, parts)


# ---------------------------------------------------------------- groceries


def carton_box(ctx: ModelContext) -> Node:
    w, h, d = ctx.params.get("size_m", [0.19, 0.28, 0.07])
    print_col = ctx.role("print", roughness=0.6)
    label = ctx.fixed("label", "#fbf8f1", roughness=0.6)
    parts = [mesh.box((w, h, d), (0, h / 2, 0), print_col), mesh.box((w * 0.7, h * 0.35, 0.001), (0, h * 0.55, d / 2),
                                                                      label)]
    if ctx.params.get("bag"):
        parts.append(mesh.box((w * 1.02, 0.02, d * 0.3), (0, h + 0.01, 0), print_col))
    return _node(ctx.product.id, parts)


def can(ctx: ModelContext) -> Node:
    alu = ctx.fixed("aluminium", "#d3d6d9", metallic=1.0, roughness=0.3, texture="metal")
    paint = ctx.role("paint", metallic=0.4, roughness=0.35)
    r, h = 0.033, 0.115
    parts = [mesh.lathe([(0, 0.002), (r * 0.8, 0), (r, 0.01)], ctx.seg(32), alu),
             mesh.lathe([(r, 0.01), (r, h - 0.012)], ctx.seg(32), paint),
             mesh.lathe([(r, h - 0.012), (r * 0.82, h), (r * 0.8, h - 0.004), (0, h - 0.004)], ctx.seg(32), alu)]
    return _node(ctx.product.id, parts)


def bottle(ctx: ModelContext) -> Node:
    h, r = float(ctx.params.get("height", 0.29)), float(ctx.params.get("radius", 0.037))
    glass = ctx.role("glass", roughness=0.05, alpha=0.85, texture="glass")
    label = ctx.fixed("label", "#f4ecd8", roughness=0.7)
    cap = ctx.fixed("cap", "#1e1e1e", metallic=0.6, roughness=0.3, texture="metal")
    parts = [mesh.lathe([(0, 0), (r, 0), (r, h * 0.6), (r * 0.35, h * 0.8), (r * 0.35, h * 0.93), (0, h * 0.93)],
                        ctx.seg(32), glass, hard=(1,)),
             mesh.lathe([(r * 1.01, h * 0.2), (r * 1.01, h * 0.45)], ctx.seg(32), label),
             mesh.cylinder(r * 0.4, h * 0.07, ctx.seg(20), cap, y0=h * 0.93)]
    return _node(ctx.product.id, parts)


def fruit(ctx: ModelContext) -> Node:
    skin = ctx.role("skin", roughness=0.35)
    stem = ctx.fixed("stem", "#5a3b1f", roughness=0.8)
    leaf = ctx.fixed("leaf", "#4d8a2f", roughness=0.6)
    a = np.linspace(0, np.pi, 14)
    prof = [(0.04 * np.sin(t) * (1 + 0.08 * np.sin(t)), 0.04 * (1 - np.cos(t)) - 0.006 * np.sin(2 * t))
            for t in a]
    prof[0], prof[-1] = (0.0, 0.005), (0.0, 0.072)  # dimples at both poles
    parts = [mesh.lathe(prof, ctx.seg(28), skin),
             mesh.tube([(0, 0.07, 0), (0.003, 0.085, 0), (0.006, 0.092, 0)], 0.0025, 6, stem),
             mesh.translate(mesh.scale(mesh.sphere(0.015, 4, 8, leaf), (1.0, 0.15, 0.5)), (0.014, 0.086, 0))]
    return _node(ctx.product.id, parts)


def milk_carton(ctx: ModelContext) -> Node:
    w, h = 0.07, 0.2
    print_col = ctx.role("print", roughness=0.6)
    white = ctx.fixed("board", "#f7f7f4", roughness=0.6)
    roof = np.degrees(np.arctan(0.035 / (w / 2)))
    slope = np.hypot(w / 2, 0.035)
    parts = [mesh.box((w, h, w), (0, h / 2, 0), white), mesh.box((w + 0.001, h * 0.55, w + 0.001), (0, h * 0.45, 0),
                                                                 print_col),
             mesh.box((w, 0.018, 0.004), (0, h + 0.035 + 0.009, 0), white)]
    for sz in (-1, 1):
        panel = mesh.box((w, 0.003, slope), (0, 0, 0), white)
        panel = mesh.rotate(panel, "x", sz * roof)
        parts.append(mesh.translate(panel, (0, h + 0.0175, sz * w / 4)))
    return _node(ctx.product.id, parts)


# ---------------------------------------------------------------- virtual goods and bundles


def _feather(length: float, width: float, material: str, n: int) -> Part:
    """A flat feather along +x from the origin: rounded at the quill, widest a third of the way, pointed."""
    u = np.linspace(0, np.pi, n)
    x = length * (1 - np.cos(u)) / 2
    half = width / 2 * np.sin(u) ** 0.7 * (1 - 0.35 * x / length)
    outline = np.concatenate([np.column_stack([x, half]), np.column_stack([x, -half])[::-1][1:-1]])
    return mesh.extrude(outline, 0.003, material, z0=-0.0015)


def wings(ctx: ModelContext) -> Node:
    """A pair of wings of overlapping feathers fanned from the shoulder blades: long flight feathers
    outside, short coverts near the joint."""
    film = ctx.role("film", alpha=0.6, double_sided=True)
    parts = []
    n = ctx.seg(10)
    for side in (-1, 1):
        rows = [(np.linspace(0.34, 0.22, 6), np.linspace(12, 62, 6), 0.06, 0.0),   # flight feathers
                (np.linspace(0.2, 0.13, 5), np.linspace(18, 58, 5), 0.05, 0.006)]  # coverts, in front
        for lengths, angles, width, dz in rows:
            for length, angle in zip(lengths, angles, strict=True):
                f = mesh.rotate(_feather(float(length), width, film, n), "z", float(angle))
                if side < 0:
                    f = mesh.scale(f, (-1, 1, 1))
                parts.append(mesh.translate(f, (side * 0.05, 0.3, -0.1 + dz)))
    return _node(ctx.product.id, parts)


def giftbox(ctx: ModelContext) -> Node:
    w, d, h = ctx.params.get("size_m", [0.36, 0.26, 0.16])
    paper = ctx.role("paper", roughness=0.5)
    ribbon = ctx.fixed("ribbon", "#d9b45a", metallic=0.5, roughness=0.3)
    parts = [mesh.box((w, h * 0.88, d), (0, h * 0.44, 0), paper),
             mesh.box((w * 1.03, h * 0.16, d * 1.03), (0, h * 0.92, 0), paper),
             mesh.box((w * 1.035, h * 1.005, 0.03), (0, h / 2, 0), ribbon),
             mesh.box((0.03, h * 1.005, d * 1.035), (0, h / 2, 0), ribbon)]
    for side in (-1, 1):
        loop = [(side * 0.05 * (1 - np.cos(t)), h + 0.025 * np.sin(t) + 0.005, 0)
                for t in np.linspace(0, 2 * np.pi, 16)]
        parts.append(mesh.tube(loop, 0.008, 8, ribbon, caps=False))
    return _node(ctx.product.id, parts)


GENERATORS: dict[str, Callable[[ModelContext], Node]] = {
    "tshirt": top_garment, "shirt": top_garment, "hoodie": top_garment, "jacket": top_garment,
    "dress": dress, "trousers": trousers, "skirt": skirt,
    "sneaker": shoe_pair, "boot": shoe_pair, "heel": shoe_pair,
    "lipstick": lipstick, "perfume": perfume, "jar": jar, "dropper_bottle": dropper_bottle, "palette": palette,
    "nail_polish": nail_polish,
    "sofa": sofa, "table": table, "chair": chair, "floor_lamp": floor_lamp, "bookshelf": bookshelf,
    "fridge": fridge, "tv": tv, "headphones": headphones, "phone": phone, "laptop": laptop, "speaker": speaker,
    "carton_box": carton_box, "can": can, "bottle": bottle, "fruit": fruit, "milk_carton": milk_carton,
    "wings": wings, "giftbox": giftbox,
}


def lod_levels(product: Product) -> list[float]:
    """Detail levels to generate: big items get a lighter LOD for far away."""
    big = product.category in BIG_ITEM_CATEGORIES or product.model["type"] in BIG_ITEM_TYPES
    return [1.0, 0.5] if big else [1.0]


def build_product_glb(product: Product, detail: float = 1.0) -> bytes:
    kind = product.model["type"]
    generator = GENERATORS.get(kind)
    if generator is None:
        raise ValueError(f"{product.source_file}: {product.id!r}.model.type: unknown model type {kind!r}; "
                         f"known: {', '.join(sorted(GENERATORS))}")
    ctx = ModelContext(product, detail)
    root = generator(ctx)
    low = _lowest_y(root, 0.0)
    if abs(low) > 1e-4:  # stand it on the ground: bottom centre at the origin
        root.translation = (0.0, -low, 0.0)
    return ctx.to_glb(root)


def _lowest_y(node: Node, offset: float) -> float:
    y = offset + (node.translation[1] if node.translation else 0.0)
    lows = [y + float(p.positions[:, 1].min()) for p in node.parts]
    lows += [_lowest_y(child, y) for child in node.children]
    return min(lows) if lows else float("inf")
