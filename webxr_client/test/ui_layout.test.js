import { test } from 'node:test';
import assert from 'node:assert/strict';
import { stackLayout, widgetAt, uvToPixels, PokeDetector } from '../src/ui/layout.js';

test('stack layout puts rows below each other and shares a row between same-row buttons', () => {
  const { widgets, height } = stackLayout([
    { id: 't', kind: 'title', label: 'Jacket' },
    { id: 'red', kind: 'button', label: 'Red', row: 'v' },
    { id: 'blue', kind: 'button', label: 'Blue', row: 'v' },
    { id: 'close', kind: 'button', label: 'Close' },
  ], { width: 400, padding: 10, gap: 10, rowHeight: 50 });
  const byId = Object.fromEntries(widgets.map((w) => [w.id, w.rect]));
  assert.deepEqual(byId.t, [10, 10, 380, 60]);
  assert.deepEqual(byId.red, [10, 80, 185, 50]);
  assert.deepEqual(byId.blue, [205, 80, 185, 50]);
  assert.deepEqual(byId.close, [10, 140, 380, 50]);
  assert.equal(height, 200);
});

test('large mode scales rows up', () => {
  const small = stackLayout([{ id: 'b', kind: 'button' }], { width: 400 });
  const large = stackLayout([{ id: 'b', kind: 'button' }], { width: 400, scale: 1.5 });
  assert.ok(large.widgets[0].rect[3] === small.widgets[0].rect[3] * 1.5);
});

test('widgetAt finds enabled buttons only', () => {
  const { widgets } = stackLayout([
    { id: 't', kind: 'text', label: 'price' },
    { id: 'a', kind: 'button', label: 'A' },
    { id: 'b', kind: 'button', label: 'B', disabled: true },
  ], { width: 300, padding: 0, gap: 0, rowHeight: 100 });
  assert.equal(widgetAt(widgets, 150, 50), null); // text is not clickable
  assert.equal(widgetAt(widgets, 150, 150).id, 'a');
  assert.equal(widgetAt(widgets, 150, 250), null); // disabled
  assert.equal(widgetAt(widgets, 400, 150), null);
});

test('uv to pixels flips v', () => {
  assert.deepEqual(uvToPixels(0.25, 1, 400, 200), [100, 0]);
  assert.deepEqual(uvToPixels(1, 0, 400, 200), [400, 200]);
});

test('poke presses once per approach, not while resting, not from behind', () => {
  const poke = new PokeDetector();
  const presses = [0.1, 0.05, 0.01, 0.004, 0.0, -0.01, 0.0, 0.003].map((d) => poke.update(d, true));
  assert.deepEqual(presses, [false, false, false, true, false, false, false, false]);
  // Back off past the release depth, then push again: second press.
  assert.equal(poke.update(0.03, true), false);
  assert.equal(poke.update(0.0, true), true);
  // Hand comes round from behind the panel: never presses.
  const behind = new PokeDetector();
  assert.equal(behind.update(-0.2, true), false);
  assert.equal(behind.update(0.0, true), false);
  // Sliding onto the panel sideways at surface depth: no press without an approach.
  const sideways = new PokeDetector();
  assert.equal(sideways.update(0.03, false), false);
  assert.equal(sideways.update(0.0, true), false);
  assert.equal(poke.update(NaN, true), false);
});
