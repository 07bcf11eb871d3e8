// Pure: where a product card goes on a screen. Beside the product on a wide screen (right if it fits,
// else left, vertically centred on it, kept clear of the top bar and the help line); on a narrow screen
// (a phone) a sheet across the width, at the bottom, or at the top when the product is in the lower half.
// No DOM, no three.js: node-tested.

export const NARROW_PX = 600;
const GAP = 16;
const SHEET_HYSTERESIS = 0.2; // of the view's height, each side of the middle

/**
 * @param {{x: number, y: number, w: number, h: number} | null} anchor the product's rectangle on screen, px
 *   (null: not in view, e.g. behind the shopper)
 * @param {{w: number, h: number}} card the card's size, px
 * @param {{w: number, h: number, top: number, bottom: number}} view the viewport and the bands kept free
 *   at its top (status, buttons) and bottom (help line)
 * @param {string | null} previous the mode the open card has now (null when it opens)
 * @returns {{left: number, top: number, width: number, mode: 'beside'|'sheet-top'|'sheet-bottom'|'docked'}}
 */
export function cardPlacement(anchor, card, view, previous = null) {
  const usableTop = view.top + 8;
  const usableBottom = view.h - view.bottom - 8;
  if (view.w < NARROW_PX) {
    const width = view.w - 16;
    // The sheet changes ends only once the product is well past the middle: a product near it (the view
    // still turning to it) would otherwise flip the sheet under the shopper's thumb as it reaches a button.
    const centre = anchor ? (anchor.y + anchor.h / 2) / view.h : null;
    const cut = previous === 'sheet-top' ? 0.5 - SHEET_HYSTERESIS : previous === 'sheet-bottom' ? 0.5 + SHEET_HYSTERESIS : 0.5;
    const lower = centre === null ? previous === 'sheet-top' : centre > cut;
    return lower
      ? { left: 8, top: usableTop, width, mode: 'sheet-top' }
      : { left: 8, top: Math.max(usableTop, usableBottom - card.h), width, mode: 'sheet-bottom' };
  }
  const width = card.w;
  const clampTop = (t) => Math.max(usableTop, Math.min(usableBottom - card.h, t));
  if (!anchor) return { left: view.w - width - GAP, top: clampTop(usableTop), width, mode: 'docked' };
  const centreY = anchor.y + anchor.h / 2;
  const right = anchor.x + anchor.w + GAP;
  const left = anchor.x - GAP - width;
  let x;
  if (right + width <= view.w - 8) x = right;
  else if (left >= 8) x = left;
  else x = anchor.x + anchor.w / 2 < view.w / 2 ? view.w - width - 8 : 8; // a product wider than the view
  return { left: x, top: clampTop(centreY - card.h / 2), width, mode: 'beside' };
}
