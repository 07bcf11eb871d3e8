"""A small deterministic GLB (glTF 2.0 binary) writer.

Written by hand rather than through trimesh's exporter because we need things it does not emit:
`KHR_materials_variants` colour variants, `KHR_lights_punctual` lights, named articulated nodes
(a fridge door that rotates about its hinge) and byte-identical output for identical input.
"""

from __future__ import annotations

import json
import struct
import zlib
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from assets.mesh import Part

FLOAT, UINT16, UINT32, UBYTE = 5126, 5123, 5125, 5121
ARRAY_BUFFER, ELEMENT_ARRAY_BUFFER = 34962, 34963


@dataclass
class Material:
    name: str
    color: tuple[float, float, float, float] = (0.8, 0.8, 0.8, 1.0)  # linear RGBA
    metallic: float = 0.0
    roughness: float = 0.6
    emissive: tuple[float, float, float] = (0.0, 0.0, 0.0)
    texture: str | None = None  # base colour; keys into GltfBuilder.textures
    double_sided: bool = False
    normal_texture: str | None = None  # tangent-space normal map (TANGENT-less: viewers derive tangents)
    normal_scale: float = 1.0
    mr_texture: str | None = None  # metallicRoughness: roughness in G, metallic in B

    def texture_names(self) -> list[str]:
        return [t for t in (self.texture, self.normal_texture, self.mr_texture) if t]

    def to_json(self, texture_index: dict[str, int]) -> dict[str, Any]:
        pbr: dict[str, Any] = {
            "baseColorFactor": [round(float(c), 5) for c in self.color],
            "metallicFactor": round(float(self.metallic), 4),
            "roughnessFactor": round(float(self.roughness), 4),
        }
        if self.texture:
            pbr["baseColorTexture"] = {"index": texture_index[self.texture]}
        if self.mr_texture:
            pbr["metallicRoughnessTexture"] = {"index": texture_index[self.mr_texture]}
        out: dict[str, Any] = {"name": self.name, "pbrMetallicRoughness": pbr}
        if self.normal_texture:
            normal: dict[str, Any] = {"index": texture_index[self.normal_texture]}
            if self.normal_scale != 1.0:
                normal["scale"] = round(float(self.normal_scale), 4)
            out["normalTexture"] = normal
        if any(self.emissive):
            out["emissiveFactor"] = [round(float(c), 5) for c in self.emissive]
        if self.color[3] < 1.0:
            out["alphaMode"] = "BLEND"
        if self.double_sided:
            out["doubleSided"] = True
        return out


@dataclass
class Light:
    name: str
    kind: str  # point | spot | directional
    color: tuple[float, float, float] = (1.0, 1.0, 1.0)
    intensity: float = 10.0  # candela for point/spot, lux for directional
    range: float | None = None
    outer_cone_deg: float = 45.0

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": self.name,
            "type": self.kind,
            "color": [round(c, 4) for c in self.color],
            "intensity": round(self.intensity, 3),
        }
        if self.range is not None and self.kind != "directional":
            out["range"] = round(self.range, 3)
        if self.kind == "spot":
            out["spot"] = {"innerConeAngle": 0.0, "outerConeAngle": round(np.radians(self.outer_cone_deg), 5)}
        return out


@dataclass
class Node:
    name: str
    parts: list[Part] = field(default_factory=list)
    translation: tuple[float, float, float] | None = None
    rotation: tuple[float, float, float, float] | None = None  # quaternion x, y, z, w
    children: list[Node] = field(default_factory=list)
    light: Light | None = None
    extras: dict[str, Any] | None = None


def quat_y(degrees: float) -> tuple[float, float, float, float]:
    h = np.radians(degrees) / 2
    return (0.0, float(np.sin(h)), 0.0, float(np.cos(h)))


# Spot and directional lights shine down their node's -Z; this turns -Z into -Y (straight down).
POINT_DOWN = (-float(np.sqrt(0.5)), 0.0, 0.0, float(np.sqrt(0.5)))


def _png_filter(img: np.ndarray, kind: int) -> np.ndarray:
    """PNG scanline filter `kind` (0 none, 1 sub, 2 up, 3 average, 4 Paeth) over (H, W*bpp) bytes."""
    bpp = img.shape[2] if img.ndim == 3 else 1
    raw = img.reshape(img.shape[0], -1).astype(np.int16)
    left = np.zeros_like(raw)
    left[:, bpp:] = raw[:, :-bpp]
    up = np.zeros_like(raw)
    up[1:] = raw[:-1]
    if kind == 0:
        pred = np.zeros_like(raw)
    elif kind == 1:
        pred = left
    elif kind == 2:
        pred = up
    elif kind == 3:
        pred = (left + up) // 2
    else:
        upleft = np.zeros_like(raw)
        upleft[1:, bpp:] = raw[:-1, :-bpp]
        p = left + up - upleft
        pa, pb, pc = np.abs(p - left), np.abs(p - up), np.abs(p - upleft)
        pred = np.where((pa <= pb) & (pa <= pc), left, np.where(pb <= pc, up, upleft))
    return ((raw - pred) % 256).astype(np.uint8)


def png_bytes(pixels: np.ndarray) -> bytes:
    """Encode an (H, W) grey or (H, W, 3|4) uint8 image as PNG (stdlib zlib, fixed settings).

    One scanline filter for the whole image, the one that compresses smallest: deterministic, and
    smooth generated textures shrink several-fold compared with no filtering.
    """
    if pixels.ndim == 2:
        pixels = pixels[:, :, None]
    h, w, c = pixels.shape
    color_type = {1: 0, 3: 2, 4: 6}[c]
    best = b""
    for kind in range(5):
        rows = _png_filter(pixels, kind)
        raw = np.concatenate([np.full((h, 1), kind, dtype=np.uint8), rows], axis=1).tobytes()
        packed = zlib.compress(raw, 9)
        if not best or len(packed) < len(best):
            best = packed

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", w, h, 8, color_type, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", best) + chunk(b"IEND", b"")


def tangents(part: Part) -> np.ndarray:
    """Per-vertex glTF tangents (N, 4): xyz along +u, w such that cross(normal, xyz) * w points along -v.

    glTF's v grows down the image while a normal map's +Y (green) points up it, so the bitangent is
    the direction of decreasing v (what exporters that flip v, like Blender's, write). Triangles are
    accumulated per vertex (Lengyel's method); where the UVs are degenerate (poles, zero-area UVs) any
    unit vector perpendicular to the normal is used.
    """
    pos, nrm, uv = (np.asarray(a, dtype=np.float64) for a in (part.positions, part.normals, part.uvs))
    f = part.indices.astype(np.int64)
    e1, e2 = pos[f[:, 1]] - pos[f[:, 0]], pos[f[:, 2]] - pos[f[:, 0]]
    d1, d2 = uv[f[:, 1]] - uv[f[:, 0]], uv[f[:, 2]] - uv[f[:, 0]]
    det = d1[:, 0] * d2[:, 1] - d2[:, 0] * d1[:, 1]
    ok = np.abs(det) > 1e-12
    r = np.where(ok, 1.0 / np.where(ok, det, 1.0), 0.0)[:, None]
    sdir = (e1 * d2[:, 1:2] - e2 * d1[:, 1:2]) * r  # dP/du
    tdir = (e2 * d1[:, 0:1] - e1 * d2[:, 0:1]) * r  # dP/dv
    t_acc, b_acc = np.zeros_like(pos), np.zeros_like(pos)
    for k in range(3):
        np.add.at(t_acc, f[:, k], sdir)
        np.add.at(b_acc, f[:, k], tdir)
    t = t_acc - nrm * np.einsum("ij,ij->i", nrm, t_acc)[:, None]
    length = np.linalg.norm(t, axis=1)
    bad = length < 1e-9
    if bad.any():
        helper = np.where(np.abs(nrm[bad, 0:1]) < 0.9, [[1.0, 0.0, 0.0]], [[0.0, 0.0, 1.0]])
        t[bad] = np.cross(nrm[bad], helper)
        length[bad] = np.linalg.norm(t[bad], axis=1)
    t /= length[:, None]
    w = np.where(np.einsum("ij,ij->i", np.cross(nrm, t), -b_acc) < 0, -1.0, 1.0)
    return np.column_stack([t, w]).astype(np.float32)


class GltfBuilder:
    """Collects materials, textures, variants and a node tree, then writes one GLB."""

    def __init__(self, generator: str = "Plaza asset generator") -> None:
        self.generator = generator
        self.materials: dict[str, Material] = {}
        self.textures: dict[str, bytes] = {}  # name -> PNG bytes (power-of-two sizes only)
        self.variants: list[str] = []
        # (node name, default material) -> {variant name: material name}; applied to primitives using it.
        self.variant_materials: dict[str, dict[str, str]] = {}
        self.extras: dict[str, Any] = {}

    def material(self, m: Material) -> str:
        self.materials[m.name] = m
        return m.name

    def texture(self, name: str, pixels: np.ndarray) -> str:
        h, w = pixels.shape[:2]
        if w & (w - 1) or h & (h - 1):
            raise ValueError(f"texture {name!r} is {w}x{h}; glTF commerce budgets need power-of-two sizes")
        self.textures[name] = png_bytes(pixels)
        return name

    def png(self, name: str, data: bytes) -> str:
        """Register an already encoded PNG (shared texture sets are encoded once per build)."""
        w, h = struct.unpack(">II", data[16:24])
        if w & (w - 1) or h & (h - 1):
            raise ValueError(f"texture {name!r} is {w}x{h}; glTF commerce budgets need power-of-two sizes")
        self.textures[name] = data
        return name

    def add_variant(self, variant: str, mapping: dict[str, str]) -> None:
        """Declare a colour variant: for each default material name, the material used in this variant."""
        self.variants.append(variant)
        for default_material, variant_material in mapping.items():
            self.variant_materials.setdefault(default_material, {})[variant] = variant_material

    def to_glb(self, root: Node) -> bytes:
        buf = bytearray()
        buffer_views: list[dict[str, Any]] = []
        accessors: list[dict[str, Any]] = []
        meshes: list[dict[str, Any]] = []
        nodes: list[dict[str, Any]] = []
        lights: list[dict[str, Any]] = []
        used_materials: list[str] = []

        def add_view(data: bytes, target: int | None) -> int:
            while len(buf) % 4:
                buf.append(0)
            view: dict[str, Any] = {"buffer": 0, "byteOffset": len(buf), "byteLength": len(data)}
            if target is not None:
                view["target"] = target
            buf.extend(data)
            buffer_views.append(view)
            return len(buffer_views) - 1

        def add_accessor(array: np.ndarray, component: int, kind: str, target: int, minmax: bool = False) -> int:
            acc: dict[str, Any] = {
                "bufferView": add_view(np.ascontiguousarray(array).tobytes(), target),
                "componentType": component,
                "count": int(array.shape[0]),
                "type": kind,
            }
            if minmax:
                acc["min"] = [float(v) for v in array.min(axis=0)]
                acc["max"] = [float(v) for v in array.max(axis=0)]
            accessors.append(acc)
            return len(accessors) - 1

        def material_index(name: str) -> int:
            if name not in self.materials:
                raise KeyError(f"material {name!r} used by a mesh but never defined")
            if name not in used_materials:
                used_materials.append(name)
            return used_materials.index(name)

        def add_node(node: Node) -> int:
            index = len(nodes)
            entry: dict[str, Any] = {"name": node.name}
            nodes.append(entry)
            if node.translation is not None:
                entry["translation"] = [round(float(v), 6) for v in node.translation]
            if node.rotation is not None:
                entry["rotation"] = [round(float(v), 7) for v in node.rotation]
            if node.parts:
                primitives = []
                for part in node.parts:
                    attributes = {
                        "POSITION": add_accessor(part.positions, FLOAT, "VEC3", ARRAY_BUFFER, minmax=True),
                        "NORMAL": add_accessor(part.normals, FLOAT, "VEC3", ARRAY_BUFFER),
                        "TEXCOORD_0": add_accessor(part.uvs, FLOAT, "VEC2", ARRAY_BUFFER),
                    }
                    # Normal-mapped materials (by default or in any colour variant) get TANGENT, so every viewer
                    # uses the same tangent frame (the validator warns about runtime-generated ones).
                    looks = [part.material, *self.variant_materials.get(part.material, {}).values()]
                    if any(self.materials[m].normal_texture for m in looks if m in self.materials):
                        attributes["TANGENT"] = add_accessor(tangents(part), FLOAT, "VEC4", ARRAY_BUFFER)
                    small = len(part.positions) < 65536
                    idx = part.indices.astype(np.uint16 if small else np.uint32).reshape(-1)
                    prim: dict[str, Any] = {
                        "attributes": attributes,
                        "indices": add_accessor(idx, UINT16 if small else UINT32, "SCALAR", ELEMENT_ARRAY_BUFFER),
                        "material": material_index(part.material),
                        "mode": 4,
                    }
                    mapping = self.variant_materials.get(part.material)
                    if mapping:
                        by_material: dict[str, list[int]] = {}
                        for variant, mat in mapping.items():
                            by_material.setdefault(mat, []).append(self.variants.index(variant))
                        prim["extensions"] = {
                            "KHR_materials_variants": {
                                "mappings": [
                                    {"material": material_index(mat), "variants": sorted(vs)}
                                    for mat, vs in by_material.items()
                                ]
                            }
                        }
                    primitives.append(prim)
                meshes.append({"name": node.name, "primitives": primitives})
                entry["mesh"] = len(meshes) - 1
            if node.light is not None:
                lights.append(node.light.to_json())
                entry["extensions"] = {"KHR_lights_punctual": {"light": len(lights) - 1}}
            if node.extras:
                entry["extras"] = node.extras
            if node.children:
                entry["children"] = [add_node(child) for child in node.children]
            return index

        root_index = add_node(root)

        # One image per distinct texture, however many materials (and variants) share it.
        texture_names = sorted({t for m in used_materials for t in self.materials[m].texture_names()})
        missing = [t for t in texture_names if t not in self.textures]
        if missing:
            raise KeyError(f"textures {missing} used by a material but never defined")
        texture_index = {name: i for i, name in enumerate(texture_names)}
        images, textures = [], []
        for name in texture_names:
            images.append({"name": name, "bufferView": add_view(self.textures[name], None), "mimeType": "image/png"})
            textures.append({"sampler": 0, "source": len(images) - 1})
        while len(buf) % 4:
            buf.append(0)

        doc: dict[str, Any] = {
            "asset": {"version": "2.0", "generator": self.generator},
            "scene": 0,
            "scenes": [{"name": root.name, "nodes": [root_index]}],
            "nodes": nodes,
            "meshes": meshes,
            "materials": [self.materials[m].to_json(texture_index) for m in used_materials],
            "accessors": accessors,
            "bufferViews": buffer_views,
            "buffers": [{"byteLength": len(buf)}],
        }
        if images:
            doc["images"] = images
            doc["textures"] = textures
            # Repeat + trilinear: tiled fabric and floor textures stay crisp up close and calm far away.
            doc["samplers"] = [{"magFilter": 9729, "minFilter": 9987, "wrapS": 10497, "wrapT": 10497}]
        extensions: dict[str, Any] = {}
        if self.variants and any("extensions" in p for m in meshes for p in m["primitives"]):
            extensions["KHR_materials_variants"] = {"variants": [{"name": v} for v in self.variants]}
        if lights:
            extensions["KHR_lights_punctual"] = {"lights": lights}
        if extensions:
            doc["extensions"] = extensions
            doc["extensionsUsed"] = sorted(extensions)
        if self.extras:
            doc["extras"] = self.extras
        if not meshes:
            del doc["meshes"], doc["accessors"]
        json_bytes = json.dumps(doc, separators=(",", ":"), sort_keys=True).encode()
        json_bytes += b" " * (-len(json_bytes) % 4)
        total = 12 + 8 + len(json_bytes) + 8 + len(buf)
        out = bytearray(struct.pack("<III", 0x46546C67, 2, total))
        out += struct.pack("<II", len(json_bytes), 0x4E4F534A) + json_bytes
        out += struct.pack("<II", len(buf), 0x004E4942) + bytes(buf)
        return bytes(out)


def srgb_to_linear(hex_color: str, alpha: float = 1.0) -> tuple[float, float, float, float]:
    """'#rrggbb' (as designers write colours) -> linear RGBA factors (what glTF expects)."""
    h = hex_color.lstrip("#")
    srgb = np.array([int(h[i : i + 2], 16) / 255.0 for i in (0, 2, 4)])
    lin = np.where(srgb <= 0.04045, srgb / 12.92, ((srgb + 0.055) / 1.055) ** 2.4)
    return (float(lin[0]), float(lin[1]), float(lin[2]), alpha)
