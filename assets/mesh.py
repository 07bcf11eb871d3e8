"""Parametric mesh parts in plain numpy: boxes, surfaces of revolution, swept tubes.

Every part carries positions, unit normals, UVs (in texture tiles) and triangle indices, with
outward-facing counter-clockwise winding, so the glTF writer can emit it as one primitive.
Everything here is deterministic: same parameters, same bytes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

# One texture tile covers this many metres (fabric weave, wood grain, floor tiles are tiled with it).
TILE_M = 0.25


@dataclass
class Part:
    positions: np.ndarray  # (N,3) float32
    normals: np.ndarray  # (N,3) float32, unit length
    uvs: np.ndarray  # (N,2) float32
    indices: np.ndarray  # (M,3) uint32
    material: str

    @property
    def triangle_count(self) -> int:
        return len(self.indices)


def _finish(positions: np.ndarray, normals: np.ndarray, uvs: np.ndarray, faces: np.ndarray, material: str) -> Part:
    """Normalise normals, drop degenerate triangles and orient every triangle along its vertex normals."""
    positions = np.asarray(positions, dtype=np.float64)
    normals = np.asarray(normals, dtype=np.float64)
    faces = np.asarray(faces, dtype=np.int64).reshape(-1, 3)
    lengths = np.linalg.norm(normals, axis=1, keepdims=True)
    normals = np.where(lengths > 1e-12, normals / np.maximum(lengths, 1e-12), np.array([0.0, 1.0, 0.0]))
    a, b, c = positions[faces[:, 0]], positions[faces[:, 1]], positions[faces[:, 2]]
    cross = np.cross(b - a, c - a)
    area2 = np.linalg.norm(cross, axis=1)
    keep = area2 > 1e-12
    faces, cross = faces[keep], cross[keep]
    # The geometric normal must agree with the shading normals, otherwise the face is seen from behind.
    mean_normal = normals[faces].sum(axis=1)
    flip = np.einsum("ij,ij->i", cross, mean_normal) < 0
    faces[flip] = faces[flip][:, [0, 2, 1]]
    return Part(
        positions.astype(np.float32),
        normals.astype(np.float32),
        np.asarray(uvs, dtype=np.float32),
        faces.astype(np.uint32),
        material,
    )


def _around(circumference: float, arc: float) -> float:
    """Texture tiles per full turn of a surface of revolution. A closed one (arc 2π) gets a whole number
    (at least one), so tiled textures and normal maps meet themselves at the seam instead of breaking."""
    tiles = circumference / TILE_M
    return max(1.0, float(round(tiles))) if arc >= 2 * np.pi - 1e-9 else tiles


def box(size: Sequence[float], center: Sequence[float] = (0, 0, 0), material: str = "default") -> Part:
    """Axis-aligned box with hard edges (4 vertices per face) and per-face planar UVs."""
    sx, sy, sz = (float(v) / 2 for v in size)
    positions, normals, uvs, faces = [], [], [], []
    # (normal axis, sign, u axis, v axis)
    for axis, sign in ((0, 1), (0, -1), (1, 1), (1, -1), (2, 1), (2, -1)):
        u_axis, v_axis = [i for i in range(3) if i != axis]
        half = np.array([sx, sy, sz])
        base = len(positions)
        for du, dv in ((-1, -1), (1, -1), (1, 1), (-1, 1)):
            p = np.zeros(3)
            p[axis] = sign * half[axis]
            p[u_axis] = du * half[u_axis]
            p[v_axis] = dv * half[v_axis]
            positions.append(p)
            n = np.zeros(3)
            n[axis] = sign
            normals.append(n)
            uvs.append((p[u_axis] / TILE_M, p[v_axis] / TILE_M))
        faces += [(base, base + 1, base + 2), (base, base + 2, base + 3)]
    positions_arr = np.array(positions) + np.asarray(center, dtype=np.float64)
    return _finish(positions_arr, np.array(normals), np.array(uvs), np.array(faces), material)


def lathe(
    profile: Sequence[tuple[float, float]],
    segments: int = 24,
    material: str = "default",
    hard: Sequence[int] = (),
    scale_xz: tuple[float, float] = (1.0, 1.0),
    arc: float = 2 * np.pi,
) -> Part:
    """Surface of revolution around +Y of a (radius, height) profile, bottom to top.

    `hard` lists profile indices where the surface has a crease (the vertex ring is split there);
    `scale_xz` squashes the solid into an elliptical one (torsos, soles); `arc` < 2π gives an open shell.
    """
    pts = np.asarray(profile, dtype=np.float64)
    pieces: list[np.ndarray] = []
    start = 0
    for h in sorted(set(hard)):
        if 0 < h < len(pts) - 1:
            pieces.append(pts[start : h + 1])
            start = h
    pieces.append(pts[start:])
    theta = np.linspace(0.0, arc, segments + 1)
    sx, sz = scale_xz
    all_pos, all_nrm, all_uv, all_faces = [], [], [], []
    offset = 0
    arc_len0 = 0.0
    for piece in pieces:
        if len(piece) < 2:
            continue
        seg = np.diff(piece, axis=0)
        seg_n = np.stack([seg[:, 1], -seg[:, 0]], axis=1)  # outward when the profile runs upward
        seg_n /= np.maximum(np.linalg.norm(seg_n, axis=1, keepdims=True), 1e-12)
        vn = np.zeros_like(piece)
        vn[:-1] += seg_n
        vn[1:] += seg_n
        vn /= np.maximum(np.linalg.norm(vn, axis=1, keepdims=True), 1e-12)
        arc_len = arc_len0 + np.concatenate([[0.0], np.cumsum(np.linalg.norm(seg, axis=1))])
        arc_len0 = arc_len[-1]
        r, y = piece[:, 0], piece[:, 1]
        cos, sin = np.cos(theta), np.sin(theta)
        # Ring i, column j; -sin on z keeps the sweep counter-clockwise seen from +Y.
        px = sx * r[:, None] * cos[None, :]
        pz = -sz * r[:, None] * sin[None, :]
        py = np.broadcast_to(y[:, None], px.shape)
        # Normals of an elliptically scaled solid follow the inverse scale.
        nx = vn[:, 0:1] * cos[None, :] / sx
        nz = -vn[:, 0:1] * sin[None, :] / sz
        ny = np.broadcast_to(vn[:, 1:2], nx.shape)
        rings, cols = px.shape
        pos = np.stack([px, py, pz], axis=-1).reshape(-1, 3)
        nrm = np.stack([nx, ny, nz], axis=-1).reshape(-1, 3)
        circumference = 2 * np.pi * max(float(r.max()), 1e-3)
        u = np.broadcast_to((theta / (2 * np.pi) * _around(circumference, arc))[None, :], px.shape)
        v = np.broadcast_to((arc_len / TILE_M)[:, None], px.shape)
        uv = np.stack([u, v], axis=-1).reshape(-1, 2)
        faces = []
        for i in range(rings - 1):
            a0, b0 = i * cols, (i + 1) * cols
            for j in range(cols - 1):
                a, a1, b, b1 = a0 + j, a0 + j + 1, b0 + j, b0 + j + 1
                if r[i] > 1e-9:
                    faces.append((a, a1, b1))
                if r[i + 1] > 1e-9:
                    faces.append((a, b1, b))
        all_pos.append(pos)
        all_nrm.append(nrm)
        all_uv.append(uv)
        all_faces.append(np.array(faces, dtype=np.int64).reshape(-1, 3) + offset)
        offset += len(pos)
    return _finish(
        np.concatenate(all_pos), np.concatenate(all_nrm), np.concatenate(all_uv), np.concatenate(all_faces), material
    )


def cylinder(radius: float, height: float, segments: int = 24, material: str = "default", y0: float = 0.0) -> Part:
    """Closed cylinder standing on y0."""
    return lathe([(0, y0), (radius, y0), (radius, y0 + height), (0, y0 + height)], segments, material, hard=(1, 2))


def sphere(radius: float, rings: int = 12, segments: int = 24, material: str = "default") -> Part:
    """Sphere centred on the origin."""
    a = np.linspace(-np.pi / 2, np.pi / 2, rings + 1)
    return lathe([(radius * np.cos(t), radius * np.sin(t)) for t in a], segments, material)


def tube(
    path: Sequence[Sequence[float]],
    radius: float | Sequence[float],
    segments: int = 12,
    material: str = "default",
    caps: bool = True,
) -> Part:
    """Tube of circular cross-section swept along a 3D polyline (sleeves, legs, rails, headphone bands)."""
    p = np.asarray(path, dtype=np.float64)
    n = len(p)
    radii = np.broadcast_to(np.asarray(radius, dtype=np.float64), (n,))
    tangents = np.gradient(p, axis=0)
    tangents /= np.maximum(np.linalg.norm(tangents, axis=1, keepdims=True), 1e-12)
    ref = np.array([0.0, 0.0, 1.0]) if abs(tangents[0][2]) < 0.9 else np.array([1.0, 0.0, 0.0])
    frames_n = np.zeros((n, 3))
    normal = np.cross(tangents[0], ref)
    for i in range(n):
        normal = normal - np.dot(normal, tangents[i]) * tangents[i]  # carry the frame along without twisting
        normal /= max(np.linalg.norm(normal), 1e-12)
        frames_n[i] = normal
    frames_b = np.cross(tangents, frames_n)
    theta = np.linspace(0, 2 * np.pi, segments + 1)
    ring_dir = np.cos(theta)[None, :, None] * frames_n[:, None, :] + np.sin(theta)[None, :, None] * frames_b[:, None, :]
    pos = (p[:, None, :] + radii[:, None, None] * ring_dir).reshape(-1, 3)
    nrm = ring_dir.reshape(-1, 3)
    length = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(p, axis=0), axis=1))])
    circumference = 2 * np.pi * float(radii.max())
    u = np.broadcast_to((theta / (2 * np.pi) * _around(circumference, 2 * np.pi))[None, :], (n, segments + 1))
    v = np.broadcast_to((length / TILE_M)[:, None], (n, segments + 1))
    uv = np.stack([u, v], axis=-1).reshape(-1, 2)
    cols = segments + 1
    faces = []
    for i in range(n - 1):
        for j in range(segments):
            a, a1, b, b1 = i * cols + j, i * cols + j + 1, (i + 1) * cols + j, (i + 1) * cols + j + 1
            faces += [(a, b, b1), (a, b1, a1)]
    positions, normals, uvs = [pos], [nrm], [uv]
    if caps:
        count = len(pos)
        for end, sign in ((0, -1.0), (n - 1, 1.0)):
            centre = p[end]
            ring = pos[end * cols : end * cols + cols]
            cap_pos = np.vstack([centre, ring])
            cap_n = np.broadcast_to(sign * tangents[end], cap_pos.shape)
            cap_uv = np.vstack([[0.0, 0.0], np.stack([np.cos(theta), np.sin(theta)], axis=1) * radii[end] / TILE_M])
            for j in range(segments):
                faces.append((count, count + 1 + j, count + 2 + j))
            positions.append(cap_pos)
            normals.append(cap_n)
            uvs.append(cap_uv)
            count += len(cap_pos)
    return _finish(np.concatenate(positions), np.concatenate(normals), np.concatenate(uvs), np.array(faces), material)


def transformed(part: Part, matrix: np.ndarray) -> Part:
    """Apply a 4x4 affine transform (normals use the inverse transpose, so scaling keeps them right)."""
    m = np.asarray(matrix, dtype=np.float64)
    lin = m[:3, :3]
    pos = part.positions.astype(np.float64) @ lin.T + m[:3, 3]
    nrm = part.normals.astype(np.float64) @ np.linalg.inv(lin)
    faces = part.indices.astype(np.int64)
    if np.linalg.det(lin) < 0:
        faces = faces[:, [0, 2, 1]]
    return _finish(pos, nrm, part.uvs, faces, part.material)


def translate(part: Part, offset: Sequence[float]) -> Part:
    m = np.eye(4)
    m[:3, 3] = offset
    return transformed(part, m)


def rotation_matrix(axis: str, degrees: float) -> np.ndarray:
    t = np.radians(degrees)
    c, s = np.cos(t), np.sin(t)
    m = np.eye(4)
    i, j = {"x": (1, 2), "y": (2, 0), "z": (0, 1)}[axis]
    m[i, i], m[i, j], m[j, i], m[j, j] = c, -s, s, c
    return m


def rotate(part: Part, axis: str, degrees: float, about: Sequence[float] = (0, 0, 0)) -> Part:
    to_origin = np.eye(4)
    to_origin[:3, 3] = -np.asarray(about, dtype=np.float64)
    back = np.eye(4)
    back[:3, 3] = about
    return transformed(part, back @ rotation_matrix(axis, degrees) @ to_origin)


def scale(part: Part, factors: Sequence[float]) -> Part:
    return transformed(part, np.diag([*factors, 1.0]))


def merge(parts: Sequence[Part]) -> list[Part]:
    """Merge parts that share a material into one (fewer primitives, fewer draw calls)."""
    by_material: dict[str, list[Part]] = {}
    for p in parts:
        by_material.setdefault(p.material, []).append(p)
    merged = []
    for material, group in by_material.items():
        offsets = np.cumsum([0] + [len(p.positions) for p in group[:-1]])
        merged.append(
            Part(
                np.concatenate([p.positions for p in group]),
                np.concatenate([p.normals for p in group]),
                np.concatenate([p.uvs for p in group]),
                np.concatenate([p.indices + np.uint32(o) for p, o in zip(group, offsets, strict=True)]),
                material,
            )
        )
    return merged


def recompute_normals(part: Part) -> Part:
    """Smooth area-weighted vertex normals from the faces (after displacing vertices)."""
    pos = part.positions.astype(np.float64)
    f = part.indices.astype(np.int64)
    face_n = np.cross(pos[f[:, 1]] - pos[f[:, 0]], pos[f[:, 2]] - pos[f[:, 0]])
    normals = np.zeros_like(pos)
    for k in range(3):
        np.add.at(normals, f[:, k], face_n)
    return _finish(pos, normals, part.uvs, f, part.material)


def loft(rings: Sequence[np.ndarray], material: str = "default", cap_start: bool = True,
         cap_end: bool = True) -> Part:
    """A skin through closed loops of 3D points (each (K,3), same K, in the same turning sense): soles,
    phone bodies, feathers. The skin is smooth around and along; the caps are flat fans from each end
    loop's centroid with their own vertices (a hard edge), so a loop must be star-shaped about its centroid."""
    grid = np.asarray(rings, dtype=np.float64)
    n, k = grid.shape[:2]
    closed = np.concatenate([grid, grid[:, :1]], axis=1)  # a seam column, for UVs that run round
    cols = k + 1
    around = np.concatenate([np.zeros((n, 1)), np.cumsum(np.linalg.norm(np.diff(closed, axis=1), axis=2), axis=1)], 1)
    along = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(grid.mean(axis=1), axis=0), axis=1))])
    pos = closed.reshape(-1, 3)
    uv = np.stack([around / TILE_M, np.broadcast_to((along / TILE_M)[:, None], around.shape)], axis=-1).reshape(-1, 2)
    faces = [(i * cols + j, i * cols + j + 1, (i + 1) * cols + j + 1) for i in range(n - 1) for j in range(k)]
    faces += [(i * cols + j, (i + 1) * cols + j + 1, (i + 1) * cols + j) for i in range(n - 1) for j in range(k)]
    f = np.array(faces, dtype=np.int64)
    # Smooth normals from the faces, summed over the seam column and its twin so the seam does not show.
    face_n = np.cross(pos[f[:, 1]] - pos[f[:, 0]], pos[f[:, 2]] - pos[f[:, 0]])
    normals = np.zeros_like(pos)
    for c in range(3):
        np.add.at(normals, f[:, c], face_n)
    normals = normals.reshape(n, cols, 3)
    seam = normals[:, 0] + normals[:, k]
    normals[:, 0], normals[:, k] = seam, seam
    # Outward: the side the skin's normals point to on average, away from the loops' centres.
    if np.einsum("ijk,ijk->", normals, closed - grid.mean(axis=1, keepdims=True)) < 0:
        normals = -normals
        f = f[:, [0, 2, 1]]
    positions, all_n, uvs, all_f = [pos], [normals.reshape(-1, 3)], [uv], [f]
    count = len(pos)
    for end, wanted in ((0, cap_start), (n - 1, cap_end)):
        if not wanted:
            continue
        loop = grid[end]
        centre = loop.mean(axis=0)
        newell = np.cross(loop - centre, np.roll(loop, -1, axis=0) - centre).sum(axis=0)
        away = grid[end].mean(axis=0) - grid[1 if end == 0 else n - 2].mean(axis=0)
        normal = newell if np.dot(newell, away) >= 0 else -newell
        normal /= max(np.linalg.norm(normal), 1e-12)
        cap = np.vstack([centre, loop])
        # Planar UVs in the cap's own plane (two axes orthogonal to its normal).
        u_axis = np.cross(normal, [0.0, 1.0, 0.0] if abs(normal[1]) < 0.9 else [1.0, 0.0, 0.0])
        u_axis /= np.linalg.norm(u_axis)
        v_axis = np.cross(normal, u_axis)
        positions.append(cap)
        all_n.append(np.broadcast_to(normal, cap.shape))
        uvs.append(np.stack([cap @ u_axis, cap @ v_axis], axis=1) / TILE_M)
        all_f.append(np.array([(count, count + 1 + j, count + 1 + (j + 1) % k) for j in range(k)], dtype=np.int64))
        count += len(cap)
    return _finish(np.concatenate(positions), np.concatenate(all_n), np.concatenate(uvs), np.concatenate(all_f),
                   material)


def rounded_rect(width: float, height: float, radius: float, corner_segments: int = 6) -> np.ndarray:
    """Outline (K,2) of a rectangle centred on the origin with round corners, counter-clockwise."""
    r = min(radius, width / 2, height / 2)
    hx, hy = width / 2 - r, height / 2 - r
    points = []
    for (cx, cy), start in (((hx, hy), 0.0), ((-hx, hy), 90.0), ((-hx, -hy), 180.0), ((hx, -hy), 270.0)):
        for t in np.radians(np.linspace(start, start + 90.0, corner_segments + 1)):
            points.append((cx + r * np.cos(t), cy + r * np.sin(t)))
    return np.array(points)


def extrude(outline: np.ndarray, depth: float, material: str = "default", z0: float = 0.0) -> Part:
    """A slab: a 2D outline (x, y) pushed along +Z from z0 by `depth`, closed at both faces."""
    xy = np.asarray(outline, dtype=np.float64)
    front = np.column_stack([xy, np.full(len(xy), z0)])
    back = np.column_stack([xy, np.full(len(xy), z0 + depth)])
    return loft([front, back], material)
