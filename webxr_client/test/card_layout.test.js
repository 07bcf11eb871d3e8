import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cardPlacement } from '../src/ui/card_layout.js';

const desk = { w: 1280, h: 720, top: 50, bottom: 40 };
const card = { w: 300, h: 340 };

test('on a wide screen the card stands right of the product, centred on it', () => {
  const p = cardPlacement({ x: 600, y: 300, w: 40, h: 60 }, card, desk);
  assert.equal(p.mode, 'beside');
  assert.equal(p.left, 656);
  assert.equal(p.top, 330 - 170);
});

test('no room on the right: left of the product; never under the top bar or the help line', () => {
  const p = cardPlacement({ x: 1100, y: 650, w: 60, h: 60 }, card, desk);
  assert.equal(p.left, 1100 - 16 - 300);
  assert.equal(p.top, 720 - 40 - 8 - 340);
  const high = cardPlacement({ x: 100, y: 0, w: 60, h: 30 }, card, desk);
  assert.equal(high.top, 58);
});

test('a product out of view docks the card at the right edge', () => {
  assert.deepEqual(cardPlacement(null, card, desk), { left: 1280 - 300 - 16, top: 58, width: 300, mode: 'docked' });
});

test('on a phone the card is a sheet away from the product: bottom, or top when the product is low', () => {
  const phone = { w: 390, h: 844, top: 70, bottom: 60 };
  const high = cardPlacement({ x: 100, y: 200, w: 50, h: 50 }, { w: 374, h: 300 }, phone);
  assert.deepEqual(high, { left: 8, top: 844 - 60 - 8 - 300, width: 374, mode: 'sheet-bottom' });
  const low = cardPlacement({ x: 100, y: 600, w: 50, h: 50 }, { w: 374, h: 300 }, phone);
  assert.deepEqual(low, { left: 8, top: 78, width: 374, mode: 'sheet-top' });
});

test('an open sheet stays at its end until the product is well past the middle', () => {
  const phone = { w: 390, h: 844, top: 70, bottom: 60 };
  const sheet = { w: 374, h: 300 };
  const at = (y, previous) => cardPlacement({ x: 100, y, w: 50, h: 50 }, sheet, phone, previous).mode;
  assert.equal(at(380, null), 'sheet-bottom'); // opens: the middle decides
  assert.equal(at(520, 'sheet-bottom'), 'sheet-bottom'); // a little past the middle: no jump
  assert.equal(at(620, 'sheet-bottom'), 'sheet-top'); // well past it: the sheet moves off the product
  assert.equal(at(320, 'sheet-top'), 'sheet-top');
  assert.equal(at(180, 'sheet-top'), 'sheet-bottom');
  assert.equal(cardPlacement(null, sheet, phone, 'sheet-top').mode, 'sheet-top'); // out of view: stays
});
