"""Generated PBR texture sets (assets/textures.py): tileable, valid glTF normal maps, deterministic PNGs."""

import io

import numpy as np
import pytest

from assets import mesh
from assets.gltf import png_bytes, tangents
from assets.textures import (
    KINDS,
    _fields,
    color_factor,
    decode_normal,
    encode_normal,
    height_to_normal,
    texture_pngs,
    texture_set,
)

Image = pytest.importorskip("PIL.Image")  # Pillow comes with matplotlib (dev extra)


def _seam_ok(img: np.ndarray, axis: int) -> tuple[float, float]:
    """Mean |difference| across the wrap-around seam, and the largest one between interior neighbours.

    A pattern may put a feature edge exactly on the seam (a thread gap, a plank joint); then the seam
    looks like the same edge inside the tile, never like a jump the tile does not have elsewhere.
    """
    a = img.astype(np.float64)
    seam = np.abs(np.take(a, 0, axis=axis) - np.take(a, -1, axis=axis)).mean()
    other = 1 - axis if a.ndim == 2 else tuple(i for i in range(a.ndim) if i != axis)
    inner = np.abs(np.diff(a, axis=axis)).mean(axis=other).max()
    return float(seam), float(inner)


@pytest.mark.parametrize("kind", KINDS)
def test_every_texture_tiles_without_a_seam(kind):
    ts = texture_set(kind)
    for name, img in (("height", ts.height * 255), ("base", ts.base), ("normal", ts.normal), ("mr", ts.mr)):
        for axis, edge in ((1, "left/right"), (0, "top/bottom")):
            seam, inner = _seam_ok(img, axis)
            # The seam is just one more pair of neighbours: no jump bigger than the texture's own detail.
            assert seam <= 1.05 * inner + 1.0, f"{kind} {name}: {edge} seam {seam:.2f} vs interior {inner:.2f}"


@pytest.mark.parametrize("kind", KINDS)
def test_normal_maps_are_unit_length_and_face_outwards(kind):
    ts = texture_set(kind)
    assert ts.normal.dtype == np.uint8 and ts.normal.shape[2] == 3
    n = decode_normal(ts.normal)
    length = np.linalg.norm(n, axis=-1)
    assert np.all(np.abs(length - 1.0) < 0.02), f"{kind}: |n| in [{length.min():.3f}, {length.max():.3f}]"
    assert ts.normal[..., 2].min() >= 128  # +Z towards the viewer: never below the surface
    assert ts.base.dtype == np.uint8 and ts.base.ndim == 2
    assert ts.base.min() >= 128, f"{kind}: base detail must stay near white (colour lives in the factor)"
    assert np.all(ts.mr[..., 0] == 255) and np.all(ts.mr[..., 2] == 255)  # metallic: the factor decides
    assert ts.mr[..., 1].min() >= 1 and 0.3 < ts.roughness_mean <= 1.0
    size = ts.base.shape[0]
    assert ts.base.shape == (size, size) and size & (size - 1) == 0 and size <= 256


def test_normal_map_uses_the_gltf_convention_green_up_red_right():
    n = 64
    y, x = np.mgrid[0:n, 0:n]
    bump = np.exp(-((x - 32) ** 2 + (y - 32) ** 2) / 60.0)
    px = encode_normal(height_to_normal(bump, 8.0)).astype(int)
    assert px[32, 32, 0] in (127, 128) and px[32, 32, 1] in (127, 128) and px[32, 32, 2] == 255  # the top: flat
    assert px[26, 32, 1] > 140  # above the peak in the image (smaller row): the slope faces up, +Y green
    assert px[38, 32, 1] < 116  # below it faces down
    assert px[32, 38, 0] > 140 and px[32, 26, 0] < 116  # right of the peak faces +X, left faces -X


def test_texture_sets_are_deterministic():
    for kind in KINDS:
        n = texture_set(kind).base.shape[0]
        again = _fields(kind, n)
        assert np.array_equal(again[0], texture_set(kind).height), kind
        assert texture_pngs(kind)["normal"] == png_bytes(texture_set(kind).normal), kind


@pytest.mark.parametrize("channels", [1, 3, 4])
def test_png_bytes_decodes_to_the_same_pixels(channels):
    rng = np.random.default_rng(3)
    smooth = np.cumsum(rng.integers(0, 3, (32, 64, channels)), axis=1) % 256  # favours a filter
    for pixels in (smooth.astype(np.uint8), rng.integers(0, 256, (16, 8, channels), dtype=np.uint8)):
        img = pixels[:, :, 0] if channels == 1 else pixels
        decoded = np.array(Image.open(io.BytesIO(png_bytes(img))))
        assert np.array_equal(decoded, img)


def test_textures_decode_as_png_of_the_stored_arrays():
    for kind in KINDS:
        ts, pngs = texture_set(kind), texture_pngs(kind)
        for slot, arr in (("base", ts.base), ("normal", ts.normal), ("mr", ts.mr)):
            assert np.array_equal(np.array(Image.open(io.BytesIO(pngs[slot]))), arr), (kind, slot)
        assert sum(map(len, pngs.values())) < 96 * 1024, f"{kind}: texture set too big"


def test_tangents_follow_u_with_the_bitangent_up_the_image():
    box = mesh.box((1.0, 0.5, 0.3), (0, 0, 0), "m")
    t = tangents(box)
    assert t.shape == (len(box.positions), 4)
    assert np.allclose(np.linalg.norm(t[:, :3], axis=1), 1.0, atol=1e-5)
    assert np.allclose(np.abs(t[:, 3]), 1.0)
    assert np.allclose(np.einsum("ij,ij->i", t[:, :3], box.normals), 0.0, atol=1e-5)
    # On every face: +u is the tangent, and cross(N, T) * w is the direction in which v decreases.
    f = box.indices.astype(int)
    for tri in f:
        p, uv = box.positions[tri].astype(float), box.uvs[tri].astype(float)
        e1, e2, d1, d2 = p[1] - p[0], p[2] - p[0], uv[1] - uv[0], uv[2] - uv[0]
        det = d1[0] * d2[1] - d2[0] * d1[1]
        dpdu = (e1 * d2[1] - e2 * d1[1]) / det
        dpdv = (e2 * d1[0] - e1 * d2[0]) / det
        tv = t[tri[0]]
        assert np.dot(tv[:3], dpdu) > 0.99 * np.linalg.norm(dpdu)
        assert np.dot(np.cross(box.normals[tri[0]], tv[:3]) * tv[3], -dpdv) > 0.99 * np.linalg.norm(dpdv)
    # Degenerate UVs (all zero) still give unit tangents perpendicular to the normal.
    flat = mesh.Part(box.positions, box.normals, np.zeros_like(box.uvs), box.indices, "m")
    tf = tangents(flat)
    assert np.allclose(np.linalg.norm(tf[:, :3], axis=1), 1.0, atol=1e-5)
    assert np.allclose(np.einsum("ij,ij->i", tf[:, :3], flat.normals), 0.0, atol=1e-5)


def test_closed_lathes_and_tubes_wrap_a_whole_number_of_tiles():
    """Otherwise a tiled normal map breaks along the seam where the sweep meets itself."""
    for part in (mesh.lathe([(0.0, 0.0), (0.13, 0.0), (0.1, 0.3)], 24, "m"),
                 mesh.tube([(0, 0, 0), (0, 0.5, 0)], 0.07, 12, "m", caps=False),
                 mesh.cylinder(0.01, 0.05, 16, "m")):
        u = part.uvs[:, 0].astype(np.float64)
        assert u.min() == pytest.approx(0.0, abs=1e-6)
        assert u.max() >= 1.0 - 1e-6 and abs(u.max() - round(u.max())) < 1e-5


@pytest.mark.parametrize("kind", KINDS)
def test_colour_factor_keeps_the_average_colour_under_the_detail(kind):
    srgb = texture_set(kind).base.astype(np.float64) / 255.0
    mean = np.where(srgb <= 0.04045, srgb / 12.92, ((srgb + 0.055) / 1.055) ** 2.4).mean()
    want = (0.4, 0.2, 0.05, 0.8)
    got = color_factor(kind, want)
    assert np.allclose(np.array(got[:3]) * mean, want[:3], atol=1e-6) and got[3] == want[3]
    assert color_factor(kind, (1.0, 1.0, 1.0, 1.0)) == (1.0, 1.0, 1.0, 1.0)  # never above 1
