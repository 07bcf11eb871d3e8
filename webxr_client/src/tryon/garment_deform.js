// Pure: reshape a garment model per body region and tell which region each vertex belongs to (for the fit
// colours). Works on flat position arrays in the garment's own frame (metres, +Y up, front +Z, bottom centre
// at the origin: the Khronos 3D Commerce convention our product models follow, modelled as worn by the
// reference avatar). Girth regions scale the garment across (x, z); lengths scale it along its length.
import { AVATAR_REGIONS } from './fit_map.js';

// Where each region sits along the garment's height (0 = hem, 1 = top), per garment kind. The figures
// follow the profiles of the parametric models in assets/product_models.py (shirt: chest at 70 % of its
// length, shoulders at 90 %; dress: waist at 62 %; trousers: crotch at about 72 %).
const ANCHORS = {
  top: [['hips', 0], ['waist', 0.3], ['chest', 0.68], ['shoulder', 0.9]],
  dress: [['hips', 0.5], ['waist', 0.62], ['chest', 0.82], ['shoulder', 0.95]],
  bottom: [['hips', 0.78], ['waist', 1]],
};
const SHOULDER_T = 0.9; // tops: sleeves hang from here
const SLEEVE_OUTSIDE = 1.08; // tops: a vertex this far beyond the hem's half-width is sleeve
const CROTCH_T = 0.72; // bottoms: legs below
const HEM_T = { dress: 0.35, bottom: 0.6 }; // below this, the colour shown is the length's

export const REGION_INDEX = Object.fromEntries(AVATAR_REGIONS.map((r, i) => [r, i]));

/** Height range and the hem's half-width over every mesh of a garment (arrays of x,y,z triples). */
export function garmentFrame(positionArrays) {
  let minY = Infinity;
  let maxY = -Infinity;
  for (const p of positionArrays) {
    for (let i = 1; i < p.length; i += 3) {
      minY = Math.min(minY, p[i]);
      maxY = Math.max(maxY, p[i]);
    }
  }
  if (!Number.isFinite(minY) || maxY <= minY) return { minY: 0, maxY: 1, height: 1, hemHalfWidth: 0.2 };
  const height = maxY - minY;
  let hem = 0;
  for (const p of positionArrays) {
    for (let i = 0; i < p.length; i += 3) if ((p[i + 1] - minY) / height < 0.08) hem = Math.max(hem, Math.abs(p[i]));
  }
  return { minY, maxY, height, hemHalfWidth: hem || 0.2 };
}

function along(anchors, regions, t) {
  if (t <= anchors[0][1]) return regions[anchors[0][0]].scale;
  for (let k = 1; k < anchors.length; k += 1) {
    const [r0, t0] = anchors[k - 1];
    const [r1, t1] = anchors[k];
    if (t <= t1) {
      const f = (t - t0) / (t1 - t0);
      return regions[r0].scale * (1 - f) + regions[r1].scale * f;
    }
  }
  return regions[anchors[anchors.length - 1][0]].scale;
}

function nearest(anchors, t) {
  let best = anchors[0];
  for (const a of anchors) if (Math.abs(a[1] - t) < Math.abs(best[1] - t)) best = a;
  return best[0];
}

/**
 * Deforms one mesh's positions. `deformation` is garmentDeformation()'s result; `frame` garmentFrame()'s
 * over the whole garment. Returns {positions: Float32Array, regions: Uint8Array (index in AVATAR_REGIONS)}.
 */
export function deformGarment(positions, kind, deformation, frame) {
  const { regions, stature } = deformation;
  const out = new Float32Array(positions.length);
  const region = new Uint8Array(positions.length / 3);
  const { minY, height, hemHalfWidth } = frame;
  const L = regions.length.scale;
  for (let i = 0, v = 0; i < positions.length; i += 3, v += 1) {
    const x = positions[i];
    const y = positions[i + 1] - minY;
    const z = positions[i + 2];
    const t = y / height;
    let nx = x;
    let ny = y;
    let nz = z;
    let name;
    if (kind === 'shoe') {
      nx = x * L;
      nz = z * L;
      name = 'length';
    } else if (kind === 'top' && t > 0.15 && Math.abs(x) > SLEEVE_OUTSIDE * hemHalfWidth) {
      // A sleeve: it hangs from the shoulder, which moves with the shoulder width; its length follows the sleeve.
      const px = Math.sign(x) * 0.93 * hemHalfWidth;
      const py = SHOULDER_T * height;
      nx = px * regions.shoulder.scale + (x - px) * L;
      ny = py * stature + (y - py) * L;
      nz = z * L;
      name = 'length';
    } else if (kind === 'bottom') {
      const s = along(ANCHORS.bottom, regions, t);
      const yc = CROTCH_T * height;
      nx = x * s;
      nz = z * s;
      ny = y < yc ? y * L : yc * L + (y - yc) * stature;
      name = t < HEM_T.bottom ? 'length' : nearest(ANCHORS.bottom, t);
    } else {
      const anchors = ANCHORS[kind] ?? ANCHORS.top;
      const s = along(anchors, regions, t);
      nx = x * s;
      nz = z * s;
      ny = y * (kind === 'dress' ? L : stature);
      name = kind === 'dress' && t < HEM_T.dress ? 'length' : nearest(anchors, t);
    }
    out[i] = nx;
    out[i + 1] = ny;
    out[i + 2] = nz;
    region[v] = REGION_INDEX[name];
  }
  return { positions: out, regions: region };
}

/** Per-vertex RGB (0..1) from region indices and the region colours ('#rrggbb'); toRgb may convert to linear. */
export function regionColours(regionIndices, regions, toRgb = hexToRgb) {
  const rgb = AVATAR_REGIONS.map((r) => toRgb(regions[r]?.colour ?? '#bdbdbd'));
  const out = new Float32Array(regionIndices.length * 3);
  regionIndices.forEach((k, v) => out.set(rgb[k], v * 3));
  return out;
}

export function hexToRgb(hex) {
  const m = /^#?([0-9a-f]{6})$/i.exec(String(hex));
  const n = m ? parseInt(m[1], 16) : 0xbdbdbd;
  return [((n >> 16) & 255) / 255, ((n >> 8) & 255) / 255, (n & 255) / 255];
}
