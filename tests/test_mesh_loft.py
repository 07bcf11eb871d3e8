"""The loft primitive (shoes, phone, TV, feathers): closed, facing outward, with the right volume."""

from __future__ import annotations

import numpy as np

from assets import mesh


def _volume(part: mesh.Part) -> float:
    p, f = part.positions.astype(np.float64), part.indices.astype(np.int64)
    return float(np.einsum("ij,ij->i", p[f[:, 0]], np.cross(p[f[:, 1]], p[f[:, 2]])).sum() / 6)


def _outward_share(part: mesh.Part) -> float:
    p, f = part.positions.astype(np.float64), part.indices.astype(np.int64)
    face_n = np.cross(p[f[:, 1]] - p[f[:, 0]], p[f[:, 2]] - p[f[:, 0]])
    return float((np.einsum("ij,ij->i", face_n, p[f].mean(axis=1) - p.mean(axis=0)) > 0).mean())


def test_an_extruded_rounded_rectangle_is_a_closed_outward_slab_of_the_right_volume() -> None:
    w, h, r, t = 0.072, 0.148, 0.009, 0.008
    slab = mesh.extrude(mesh.rounded_rect(w, h, r, 8), t, "body")
    expected = (w * h - (4 - np.pi) * r * r) * t
    assert abs(_volume(slab) - expected) / expected < 0.005
    assert _outward_share(slab) == 1.0
    lo, hi = slab.positions.min(axis=0), slab.positions.max(axis=0)
    assert np.allclose(hi - lo, (w, h, t), atol=1e-6)
    # Unit shading normals (the writer and the validator require them).
    n = slab.normals.astype(np.float64)
    assert np.allclose(np.linalg.norm(n, axis=1), 1, atol=1e-5)


def test_a_loop_given_clockwise_still_faces_outward() -> None:
    outline = mesh.rounded_rect(0.1, 0.05, 0.01)[::-1]
    slab = mesh.extrude(outline, 0.02)
    assert _outward_share(slab) == 1.0
    assert _volume(slab) > 0


def test_an_open_loft_has_no_caps() -> None:
    ring = np.column_stack([np.cos(np.linspace(0, 2 * np.pi, 17)[:-1]), np.zeros(16),
                            np.sin(np.linspace(0, 2 * np.pi, 17)[:-1])])
    closed = mesh.loft([ring, ring + (0, 1, 0)])
    opened = mesh.loft([ring, ring + (0, 1, 0)], cap_start=False, cap_end=False)
    assert closed.triangle_count - opened.triangle_count == 2 * 16
    assert opened.triangle_count == 2 * 16
