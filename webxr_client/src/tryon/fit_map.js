// Pure: from the sizing API's answer to what the try-on scene draws. The recommended size comes straight
// from the API's `avatar`; other sizes (the size switcher) are computed here from the size chart and the
// body estimate the API returned, with the same rules as server/sizing/avatar.py and recommend.py
// (a unit test checks the two agree), so switching sizes needs no further request carrying body data.

export const FIT_COLOURS = {
  tight: '#d7301f', snug: '#fc8d59', regular: '#1a9850', loose: '#4575b4',
  short: '#fc8d59', fine: '#1a9850', long: '#4575b4', unknown: '#bdbdbd',
};
export const LENGTH_MEASUREMENT = { top: 'sleeve', bottom: 'inseam', dress: 'stature', shoe: 'foot_length' };
export const AVATAR_REGIONS = ['chest', 'waist', 'hips', 'shoulder', 'length'];
const LENGTHS = new Set(['sleeve', 'inseam', 'stature']);
const BREADTHS = new Set(['shoulder', 'foot_breadth']);

/** A chart document (GET /api/sizing/charts/{id}) as {kind, labels, ranges: {name: [[lo, hi] per size]}, ease}. */
export function parseChart(doc) {
  if (!doc || !Array.isArray(doc.sizes) || doc.sizes.length === 0) throw new Error('This size chart has no sizes.');
  const labels = doc.sizes.map((s) => String(s.label));
  const names = new Set(doc.sizes.flatMap((s) => Object.keys(s.body ?? {})));
  const ranges = {};
  for (const name of names) {
    if (doc.sizes.every((s) => Array.isArray(s.body?.[name]))) ranges[name] = doc.sizes.map((s) => s.body[name].map(Number));
  }
  return { id: doc.id, kind: doc.kind, labels, ranges, ease: doc.garment_ease ?? {} };
}

const easeOf = (chart, fit, name) => Number(chart.ease?.[fit]?.[name] ?? 0);
const garmentCm = (chart, size, fit, name) => {
  const [lo, hi] = chart.ranges[name][size];
  return 0.5 * (lo + hi) + easeOf(chart, fit, name);
};

/** tight / snug / regular / loose (lengths: short / fine / long), as server/sizing/recommend.py fit_label. */
export function fitLabel(chart, size, fit, name, body) {
  const intended = easeOf(chart, fit, name);
  let ease = garmentCm(chart, size, fit, name) - body;
  if (LENGTHS.has(name)) {
    const [low, high] = chart.ranges[name][size];
    if (body > high + intended + 2) return 'short';
    if (body < low + intended - 2) return 'long';
    return 'fine';
  }
  let steps = [-1, 3, 12];
  if (chart.kind === 'shoe') steps = [0.5, 1, 2.2];
  else if (BREADTHS.has(name)) steps = [-1, 0.5, 3];
  ease += Math.max(0, -intended); // stretch garments are meant to sit below the body size
  if (ease < steps[0]) return 'tight';
  if (ease < steps[1]) return 'snug';
  if (ease < steps[2]) return 'regular';
  return 'loose';
}

/** Body estimate per measurement (cm) from a /recommend answer's `regions`. */
export function bodyFromRegions(regions) {
  const out = {};
  for (const r of regions ?? []) if (Number.isFinite(r?.body_cm)) out[r.region] = r.body_cm;
  return out;
}

/** Fit per chart measurement for one size: [{region, ease_cm, label}] (what the panel lists). */
export function regionFits(chart, sizeLabel, fit, body) {
  const size = chart.labels.indexOf(sizeLabel);
  if (size < 0) throw new Error(`There is no size ${sizeLabel} in this chart.`);
  return Object.keys(chart.ranges).filter((name) => Number.isFinite(body[name])).map((name) => {
    const ease = garmentCm(chart, size, fit, name) - body[name];
    return { region: name, ease_cm: Math.round(ease * 10) / 10, label: fitLabel(chart, size, fit, name, body[name]) };
  });
}

/** The API's `avatar.garment` list for any size of the chart (same shape, same rules as the server). */
export function garmentRegionsForSize(chart, sizeLabel, fit, body) {
  const size = chart.labels.indexOf(sizeLabel);
  if (size < 0) throw new Error(`There is no size ${sizeLabel} in this chart.`);
  const out = [];
  for (const region of AVATAR_REGIONS) {
    const name = region === 'length' ? LENGTH_MEASUREMENT[chart.kind] : region;
    if (chart.kind === 'shoe' && region !== 'length') continue;
    if (!chart.ranges[name] || !Number.isFinite(body[name])) {
      out.push({ region, scale: 1, ease_cm: null, label: 'unknown', colour: FIT_COLOURS.unknown, from_chart: false });
      continue;
    }
    const garment = garmentCm(chart, size, fit, name);
    const label = fitLabel(chart, size, fit, name, body[name]);
    out.push({ region, scale: Math.round((garment / body[name]) * 1e4) / 1e4,
      ease_cm: Math.round((garment - body[name]) * 10) / 10, label, colour: FIT_COLOURS[label], from_chart: true });
  }
  return out;
}

/**
 * What the scene applies to the garment model per region: the final scale relative to the garment as
 * modelled (on the reference avatar) = body_scale x garment scale (docs/SIZING.md), and the colour.
 * Returns {regions: {chest: {scale, colour, label}, ...}, stature} with every avatar region present.
 */
export function garmentDeformation(kind, bodyScale, garment) {
  const finite = (v) => (Number.isFinite(v) && v > 0 ? v : 1);
  const bodyKey = { chest: 'chest', waist: 'waist', hips: 'hips', shoulder: 'shoulder',
    length: LENGTH_MEASUREMENT[kind] ?? 'stature' };
  const regions = {};
  for (const region of AVATAR_REGIONS) {
    const g = (garment ?? []).find((r) => r.region === region);
    const body = finite(bodyScale?.[bodyKey[region]]);
    regions[region] = {
      scale: body * finite(g?.scale),
      colour: /^#[0-9a-f]{6}$/i.test(g?.colour ?? '') ? g.colour : FIT_COLOURS.unknown,
      label: g?.label ?? 'unknown',
    };
  }
  return { regions, stature: finite(bodyScale?.stature) };
}
