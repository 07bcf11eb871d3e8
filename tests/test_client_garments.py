"""Trousers and leggings as a shopper sees them on the shelf and on the try-on mannequin: closed at the hem and
the crotch, not open tubes one can look into (the generator in assets/product_models.py)."""

from __future__ import annotations

import io

import numpy as np
import pytest
import trimesh

from assets.product_models import build_product_glb
from server.commerce.catalog import load_catalog


def _first_hit_up(triangles: np.ndarray, x: float, z: float, below: float) -> float | None:
    """Height of the first surface a ray straight up from (x, below, z) meets (Moller-Trumbore, all triangles)."""
    origin, direction = np.array([x, below, z]), np.array([0.0, 1.0, 0.0])
    a, b, c = triangles[:, 0], triangles[:, 1], triangles[:, 2]
    e1, e2 = b - a, c - a
    p = np.cross(direction, e2)
    det = np.einsum("ij,ij->i", e1, p)
    ok = np.abs(det) > 1e-12
    inv = np.where(ok, 1.0 / np.where(ok, det, 1.0), 0.0)
    t_vec = origin - a
    u = np.einsum("ij,ij->i", t_vec, p) * inv
    q = np.cross(t_vec, e1)
    v = (q @ direction) * inv
    t = np.einsum("ij,ij->i", e2, q) * inv
    hit = ok & (u >= 0) & (v >= 0) & (u + v <= 1) & (t > 0)
    return float(below + t[hit].min()) if hit.any() else None


@pytest.mark.parametrize("product_id", ["yoga-leggings", "chino-men"])
def test_trousers_are_closed_at_the_hems_and_the_crotch(product_id: str) -> None:
    product = load_catalog().get(product_id)
    assert product is not None and product.model["type"] == "trousers"
    scene = trimesh.load(io.BytesIO(build_product_glb(product)), file_type="glb", force="scene")
    body = trimesh.util.concatenate(list(scene.dump()))
    low, high = body.bounds
    tris = body.triangles
    below = low[1] - 0.1
    legs = [_first_hit_up(tris, x, 0.0, below) for x in (-0.1, 0.1)]
    # Each leg's ray stops at its hem, at the floor, not somewhere inside near the waist.
    assert all(y is not None and y < low[1] + 0.02 for y in legs), (legs, low)
    # Between the legs the ray meets the closed seat below the hips, not the waistband from inside.
    seat = _first_hit_up(tris, 0.0, 0.0, below)
    assert seat is not None and seat < high[1] - 0.2, (seat, high)
