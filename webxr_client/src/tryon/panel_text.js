// Pure: fitting the try-on's words onto its panels. Lines are wrapped and button rows split by measured width
// (the panel's own font, passed in as `measure`), so nothing is drawn cut short with "…" whatever the font.

/**
 * Splits text into lines no wider than `maxPx`, at spaces. A single word wider than a line keeps a line of
 * its own (the panel then cuts it; no label here has such a word).
 * @param {string} text
 * @param {number} maxPx
 * @param {(text: string) => number} measure width in px as drawn
 * @returns {string[]}
 */
export function wrapToWidth(text, maxPx, measure) {
  const words = String(text ?? '').split(/\s+/).filter(Boolean);
  const lines = [];
  let line = '';
  for (const word of words) {
    const longer = line ? `${line} ${word}` : word;
    if (line && measure(longer) > maxPx) {
      lines.push(line);
      line = word;
    } else {
      line = longer;
    }
  }
  if (line) lines.push(line);
  return lines;
}

/**
 * Buttons per row for a set of labels: as many as fit with the widest label inside its button (`pad` px both
 * sides), then spread evenly over the rows needed (7 sizes that fit 4 a row: 4 + 3, not 4 + 4 + ... ).
 * @param {string[]} labels
 * @param {(n: number) => number} widthFor the width of each button when `n` share a row
 * @param {(text: string) => number} measure
 * @returns {number[]} the row number of each label
 */
export function buttonRows(labels, widthFor, measure, pad = 10) {
  if (!labels.length) return [];
  const widest = Math.max(...labels.map((l) => measure(l)));
  let perRow = labels.length;
  while (perRow > 1 && widthFor(perRow) < widest + 2 * pad) perRow -= 1;
  const rows = Math.ceil(labels.length / perRow);
  const even = Math.ceil(labels.length / rows);
  return labels.map((_, i) => Math.floor(i / even));
}

/**
 * The API's sentence without what the panel already shows line by line: its "M (79% sure)." opening (the
 * runner-up line says it) and its "Fit: chest +7 cm regular, ..." list (the region lines say it with the body
 * figures), so the panel is not a wall of the same numbers. What remains (between two sizes, a lean from fit
 * remarks, beyond the largest size, what to measure) is kept word for word.
 */
export function conciseSentence(sentence) {
  return String(sentence ?? '')
    .replace(/^\S+ \(\d+% sure\)\.\s*/, '')
    .replace(/\s*Fit: [^.]*\./, '')
    .trim();
}
