// Pure parts of the in-scene UI: laying widgets out on a panel, finding the widget under a point,
// and telling a finger poke from a finger resting near a panel. No three.js, no DOM.

/**
 * Stacks rows top to bottom. Each item: {id, kind: 'title'|'text'|'button', label, height?, columns?}.
 * Consecutive buttons with the same `row` share a line. Returns items with `rect: [x, y, w, h]` in px.
 */
export function stackLayout(items, { width, padding = 16, gap = 10, rowHeight = 56, scale = 1 }) {
  const out = [];
  let y = padding * scale;
  let i = 0;
  while (i < items.length) {
    const item = items[i];
    const height = (item.height ?? (item.kind === 'title' ? rowHeight * 1.2 : rowHeight)) * scale;
    let n = 1; // consecutive items sharing a row id go on one line
    while (item.row !== undefined && i + n < items.length && items[i + n].row === item.row) n += 1;
    const group = items.slice(i, i + n);
    const inner = width - 2 * padding * scale;
    const w = (inner - gap * scale * (group.length - 1)) / group.length;
    group.forEach((it, k) => {
      out.push({ ...it, rect: [padding * scale + k * (w + gap * scale), y, w, height] });
    });
    y += height + gap * scale;
    i += n;
  }
  return { widgets: out, height: y - gap * scale + padding * scale };
}

/** The enabled button under panel pixel (x, y), or null. Only buttons react. */
export function widgetAt(widgets, x, y) {
  for (const w of widgets) {
    if (w.kind !== 'button' || w.disabled) continue;
    const [wx, wy, ww, wh] = w.rect;
    if (x >= wx && x <= wx + ww && y >= wy && y <= wy + wh) return w;
  }
  return null;
}

/** Texture uv (origin bottom-left) to panel pixels (origin top-left). */
export function uvToPixels(u, v, widthPx, heightPx) {
  return [u * widthPx, (1 - v) * heightPx];
}

/**
 * Finger poke on a panel, from the fingertip's depth in front of the panel (metres, + = in front).
 * Presses once when the tip crosses the surface from the front while over the panel; re-arms only
 * after the finger has backed off `releaseDepth`, so resting a finger on a panel clicks once.
 */
export class PokeDetector {
  constructor({ pressDepth = 0.005, releaseDepth = 0.02, maxBehind = 0.05 } = {}) {
    this.pressDepth = pressDepth;
    this.releaseDepth = releaseDepth;
    this.maxBehind = maxBehind;
    this.armed = false;
  }

  /** @returns {boolean} true on the frame the poke happens */
  update(depth, overPanel) {
    if (!Number.isFinite(depth) || !overPanel || depth < -this.maxBehind) {
      this.armed = false; // off the panel, or reached round from behind: needs a fresh approach
      return false;
    }
    if (depth > this.releaseDepth) {
      this.armed = true;
      return false;
    }
    if (this.armed && depth <= this.pressDepth) {
      this.armed = false;
      return true;
    }
    return false;
  }
}
