"""Generated tileable PBR texture sets (numpy only, seeded, so every build makes the same bytes).

Each surface kind (fabric weave, knit, boucle, leather, wood, floor planks, brushed metal, glass) is a
tileable height field plus a roughness field on the unit torus; from them come three images:
  base   near-white greyscale detail (the colour stays in the material's baseColorFactor, so the
         product's colour variants keep working: the texture only darkens grooves and grain a little,
         and `color_factor` brightens the factor so the average stays the catalog's colour);
  normal tangent-space normal map derived from the height field, glTF convention: +X right (towards
         +u), +Y up (towards the top of the image, OpenGL-style green), RGB = (n + 1) / 2 * 255, B >= 128;
  mr     glTF metallicRoughness: R unused (255), roughness in G, metallic in B (255: the material's
         metallicFactor decides). The material's roughnessFactor multiplies G, so a material asks for
         `roughness_factor(kind, wanted)` to get `wanted` on average.
Tileable by construction: every field is built from functions with whole periods per tile or from
noise filtered in the Fourier domain (periodic), and gradients use wrap-around differences.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np

from assets.gltf import png_bytes

KINDS = ("weave", "knit", "boucle", "leather", "wood", "planks", "metal", "glass")
SIZE = 128  # pixels per tile edge (planks: 256, a floor tile is a metre)


@dataclass(frozen=True)
class TextureSet:
    kind: str
    base: np.ndarray  # (n, n) uint8, near-white grey
    normal: np.ndarray  # (n, n, 3) uint8, encoded tangent-space normals
    mr: np.ndarray  # (n, n, 3) uint8: R 255, G roughness, B metallic 255
    height: np.ndarray  # (n, n) float64 in [0, 1], what the normal map was derived from

    @property
    def roughness_mean(self) -> float:
        return float(self.mr[..., 1].mean()) / 255.0


def periodic_noise(n: int, rng: np.random.Generator, freq: float, aniso: tuple[float, float] = (1.0, 1.0),
                   band: bool = False) -> np.ndarray:
    """Tileable noise: white noise low- (or band-) passed in the Fourier domain; zero mean, unit std.

    `freq` is in cycles per tile; `aniso` stretches it per axis (x, y): (0.05, 1) makes streaks along x.
    """
    white = rng.standard_normal((n, n))
    fy = np.fft.fftfreq(n, 1.0 / n)[:, None] / aniso[1]
    fx = np.fft.fftfreq(n, 1.0 / n)[None, :] / aniso[0]
    r = np.hypot(fx, fy)
    filt = np.exp(-((r - freq) / (0.35 * freq)) ** 2) if band else np.exp(-((r / freq) ** 2))
    filt[0, 0] = 0.0
    out = np.real(np.fft.ifft2(np.fft.fft2(white) * filt))
    return out / max(float(out.std()), 1e-12)


def tiled_noise(n: int, rng: np.random.Generator, freq: float, reps: int, **kw) -> np.ndarray:
    """`periodic_noise` with a period of n / reps pixels, repeated: the same look at the same density,
    but the PNG's deflate finds the repeats, so a noisy normal map costs about 1 / reps² of the bytes."""
    return np.tile(periodic_noise(n // reps, rng, freq / reps, **kw), (reps, reps))


def _norm01(h: np.ndarray) -> np.ndarray:
    lo, hi = float(h.min()), float(h.max())
    return (h - lo) / max(hi - lo, 1e-12)


def height_to_normal(height: np.ndarray, depth: float) -> np.ndarray:
    """Unit tangent-space normals (n, n, 3) from a height field in [0, 1]; `depth` = relief in pixels.

    Rows grow downwards (glTF's v) while the map's +Y points up the image, hence the sign of ny.
    """
    h = height * depth
    dx = (np.roll(h, -1, axis=1) - np.roll(h, 1, axis=1)) / 2.0  # dh / d column (+u, +X)
    dy = (np.roll(h, -1, axis=0) - np.roll(h, 1, axis=0)) / 2.0  # dh / d row (-Y)
    n = np.stack([-dx, dy, np.ones_like(h)], axis=-1)
    return n / np.linalg.norm(n, axis=-1, keepdims=True)


def encode_normal(n: np.ndarray) -> np.ndarray:
    return np.clip(np.round((n * 0.5 + 0.5) * 255.0), 0, 255).astype(np.uint8)


def decode_normal(pixels: np.ndarray) -> np.ndarray:
    return pixels.astype(np.float64) / 255.0 * 2.0 - 1.0


def _smooth(t: np.ndarray) -> np.ndarray:
    t = np.clip(t, 0.0, 1.0)
    return t * t * (3 - 2 * t)


def _fields(kind: str, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """(height [0,1], base brightness [0,1], roughness [0,1], relief in pixels) for one kind."""
    rng = np.random.default_rng(abs(hash_kind(kind)))
    y, x = (np.mgrid[0:n, 0:n] + 0.5) / n  # tile coordinates: x = u (columns), y = v (rows)
    if kind == "weave":  # plain weave: each warp thread goes over one weft thread, then under the next
        k = 16
        fx, fy = x * k, y * k
        ix, iy = np.floor(fx), np.floor(fy)
        warp = np.sin(np.pi * (fx - ix)) ** 0.6 * (0.55 + 0.45 * np.cos(np.pi * (fy - 0.5) + np.pi * ix))
        weft = np.sin(np.pi * (fy - iy)) ** 0.6 * (0.55 + 0.45 * np.cos(np.pi * (fx - 0.5) + np.pi * iy + np.pi))
        h = _norm01(np.maximum(warp, weft))
        return h, 0.84 + 0.16 * h, 0.85 + 0.15 * (1 - h), 2.2
    if kind == "knit":  # stockinette: columns of V-shaped stitches
        kc, kr = 12, 16
        fx = x * kc
        px = fx - np.floor(fx)
        d = np.abs(px - 0.5)  # 0 in the middle of a column, 0.5 between columns
        leg = np.sin(np.pi * ((y * kr + 0.9 * (0.5 - d)) % 1.0)) ** 0.8
        h = leg * (0.45 + 0.55 * _smooth(d / 0.12)) * (0.6 + 0.4 * np.sin(np.pi * px) ** 0.4)
        h = _norm01(h)
        return h, 0.82 + 0.18 * h, 0.85 + 0.15 * (1 - h), 2.6
    if kind == "boucle":  # loopy nubs of a curly yarn
        nubs = np.clip(tiled_noise(n, rng, 11, 2, band=True), 0, None) ** 0.7
        h = _norm01(nubs + 0.35 * tiled_noise(n, rng, 30, 4))
        return h, 0.8 + 0.2 * h, 0.9 + 0.1 * (1 - h), 3.0
    if kind == "leather":  # pebble grain: a network of creases where band noise crosses zero
        cells = tiled_noise(n, rng, 20, 2, band=True)
        h = 1.0 - np.exp(-((cells / 0.45) ** 2))
        h = _norm01(h + 0.12 * tiled_noise(n, rng, 48, 4))
        return h, 0.9 + 0.1 * h, 0.8 + 0.2 * (1 - h), 1.6
    if kind in ("wood", "planks"):
        return _wood(kind, n, rng, x, y)
    if kind == "metal":  # brushed: fine streaks along u
        streak = periodic_noise(n, rng, 48, aniso=(0.04, 1.0))
        s = _norm01(streak + 0.3 * periodic_noise(n, rng, 64, aniso=(0.1, 1.0)))
        return s, 0.93 + 0.07 * s, 0.7 + 0.3 * s, 0.6
    if kind == "glass":  # clean glass with faint smudges and a barely-there waviness
        smudge = _norm01(periodic_noise(n, rng, 4) + 0.5 * periodic_noise(n, rng, 9))
        wave = _norm01(periodic_noise(n, rng, 3))
        return wave, np.full((n, n), 1.0), 0.25 + 0.75 * smudge**2, 0.25
    raise ValueError(f"unknown texture kind {kind!r}; known: {', '.join(KINDS)}")


def _wood(kind: str, n: int, rng: np.random.Generator, x: np.ndarray, y: np.ndarray):
    """Grain running along u: growth rings bent by low-frequency noise, open pores as fine streaks."""
    rings_per_tile, planks = (10, 1) if kind == "wood" else (48, 4)
    bend = periodic_noise(n, rng, 3, aniso=(0.5, 1.0))
    pores = tiled_noise(n, rng, 56, 4, aniso=(0.06, 1.0))
    row = np.floor(y * planks)
    # Each plank: own grain offset and an end joint at a staggered position (a quarter tile apart).
    joint = (row * 0.5 + (row % 2) * 0.25) % 1.0 if kind == "planks" else np.zeros_like(y)
    offset = (row * 0.37) % 1.0
    phase = (y * rings_per_tile + 0.7 * bend + offset) % 1.0
    late = np.exp(-(((phase - 0.5) / 0.14) ** 2))  # dense late wood: darker, slightly sunken
    h = 0.75 - 0.35 * late + 0.1 * pores
    base = 0.9 - 0.14 * late + 0.03 * pores
    if kind == "planks":
        py = y * planks - row
        edge_v = np.minimum(py, 1 - py) * n / planks  # pixels to the long edges
        px = (x - joint) % 1.0
        edge_u = np.minimum(px, 1 - px) * n  # pixels to the board's end joint
        groove = _smooth(np.minimum(edge_v, edge_u) / 2.0)
        h = h * groove
        base = base * (0.75 + 0.25 * groove) * (0.96 + 0.04 * ((row * 7) % 3) / 2)
    h = _norm01(h)
    return h, np.clip(base, 0, 1), 0.8 + 0.2 * late + 0.05 * pores, 1.2


def hash_kind(kind: str) -> int:
    """A stable seed per kind (Python's hash() of a str changes between runs)."""
    return sum((i + 1) * ord(c) for i, c in enumerate(kind)) * 7919


@cache
def texture_set(kind: str) -> TextureSet:
    n = 256 if kind == "planks" else SIZE
    h, base, rough, depth = _fields(kind, n)
    grey = np.clip(np.round(np.clip(base, 0, 1) * 255), 0, 255).astype(np.uint8)
    g = np.clip(np.round(np.clip(rough, 0, 1) * 255), 1, 255).astype(np.uint8)
    mr = np.stack([np.full_like(g, 255), g, np.full_like(g, 255)], axis=-1)
    return TextureSet(kind, grey, encode_normal(height_to_normal(h, depth)), mr, h)


@cache
def texture_pngs(kind: str) -> dict[str, bytes]:
    """PNG bytes per slot ("base", "normal", "mr"), encoded once per build process."""
    ts = texture_set(kind)
    return {"base": png_bytes(ts.base), "normal": png_bytes(ts.normal), "mr": png_bytes(ts.mr)}


def color_factor(kind: str, rgba: tuple[float, float, float, float]) -> tuple[float, float, float, float]:
    """The baseColorFactor that keeps the designer's (catalog's) colour on average under this kind's
    near-white detail: divided by the detail's mean linear value, each channel at most 1."""
    srgb = texture_set(kind).base.astype(np.float64) / 255.0
    mean = float(np.where(srgb <= 0.04045, srgb / 12.92, ((srgb + 0.055) / 1.055) ** 2.4).mean())
    r, g, b, a = rgba
    return (min(r / mean, 1.0), min(g / mean, 1.0), min(b / mean, 1.0), a)


def roughness_factor(kind: str, wanted: float) -> float:
    """The roughnessFactor that makes this kind's texture average `wanted` (at most 1)."""
    return min(1.0, wanted / texture_set(kind).roughness_mean)
