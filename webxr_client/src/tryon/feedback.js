// Fit feedback ("too tight at the chest") for a shopper with a stored profile. Pure: which regions and verdicts
// to offer for a result, and the body of POST /api/sizing/profiles/{id}/feedback (docs/SIZING.md).
import { LENGTH_MEASUREMENT } from './fit_map.js';

const GIRTH_VERDICTS = [['too_tight', 'Too tight'], ['fits', 'Fits'], ['too_loose', 'Too loose']];
const LENGTH_VERDICTS = [['too_short', 'Too short'], ['fits', 'Fits'], ['too_long', 'Too long']];
const LENGTHS = new Set(['sleeve', 'inseam', 'stature']); // as fit_map's length labels (short / fine / long)

/** Is this the garment's own length (too short / too long) rather than a girth (too tight / too loose)? */
export function isLengthRegion(kind, region) {
  return kind !== 'shoe' && region === LENGTH_MEASUREMENT[kind]; // shoes: foot length is tight / loose
}

/**
 * The regions a shopper may remark on, from the result panel's fit list: [{region, label, length}]. A length
 * that is not the garment's own (a dress chart's sleeve) is left out: the API reads every length remark as
 * the garment's length.
 */
export function feedbackRegions(kind, fits) {
  return (fits ?? []).filter((f) => typeof f?.region === 'string')
    .filter((f) => !LENGTHS.has(f.region) || isLengthRegion(kind, f.region))
    .map((f) => ({ region: f.region, label: f.region.replace('_', ' '), length: isLengthRegion(kind, f.region) }));
}

/** The verdict buttons for a region: [[verdict, label], ...]. */
export function verdictsFor(kind, region) {
  return isLengthRegion(kind, region) ? LENGTH_VERDICTS : GIRTH_VERDICTS;
}

/**
 * The feedback request body. Throws an Error in words when something is missing or does not fit together
 * (a "too long" at the chest), so nothing malformed reaches the API.
 */
export function feedbackRequest({ chartId, kind, size, fit, region, verdict }) {
  if (!chartId || !size) throw new Error('Pick a size before saying how it fits.');
  if (!region) throw new Error('Pick where it fits badly (chest, waist, …) first.');
  const allowed = verdictsFor(kind, region).map(([v]) => v);
  if (!allowed.includes(verdict)) {
    throw new Error(`For the ${region.replace('_', ' ')}, say ${allowed.map((v) => v.replace('_', ' ')).join(', ')}.`);
  }
  // Lengths go as "length": the server maps it to the garment's own length measurement (sleeve, inseam, …).
  const apiRegion = isLengthRegion(kind, region) ? 'length' : region;
  return { chart_id: chartId, size, fit: fit ?? 'regular', verdict, region: apiRegion };
}

/**
 * What the result panel says after a remark: the API's own `message` (what the remark did: a moved estimate,
 * or for a measured region that the value is kept and how close calls lean) first, then whether the
 * recommendation changed. Without a message (an older server) the remark is only acknowledged.
 * @param {{message?: string, verdict: string, region: string, size: string,
 *   before: {size: string}, after: {size: string, confidence: number}}} input
 */
export function feedbackNote({ message, verdict, region, size, before, after }) {
  const said = typeof message === 'string' && message.trim()
    ? message.trim()
    : `Thanks: "${verdict.replace('_', ' ')}" at the ${region.replace('_', ' ')} in ${size} noted.`;
  const rec = after.size === before.size
    ? `We still recommend ${after.size} (${Math.round(after.confidence * 100)}% sure).`
    : `We now recommend ${after.size} instead of ${before.size}.`;
  return `${said} ${rec}`;
}
