import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buttonRows, wrapToWidth } from '../src/tryon/panel_text.js';

// A stand-in for the panel font: 10 px a character, 20 for capitals (the real one is measured in the page).
const measure = (t) => [...t].reduce((w, c) => w + (c >= 'A' && c <= 'Z' ? 20 : 10), 0);

test('lines wrap at spaces to the measured width and keep every word', () => {
  const text = 'Runner-up: L. 62% sure of M.';
  const lines = wrapToWidth(text, 150, measure);
  assert.ok(lines.length > 1);
  assert.ok(lines.every((l) => measure(l) <= 150), lines);
  assert.equal(lines.join(' '), text);
  assert.deepEqual(wrapToWidth(text, 1000, measure), [text]);
  // Capitals are wider: the same number of characters may need more lines.
  assert.ok(wrapToWidth('AAAA BBBB CCCC', 100, measure).length > wrapToWidth('aaaa bbbb cccc', 100, measure).length);
  assert.deepEqual(wrapToWidth('', 100, measure), []);
  assert.deepEqual(wrapToWidth('unbreakable', 50, measure), ['unbreakable']); // its own line, never lost
});

test('button rows hold as many as fit the widest label, spread evenly', () => {
  const widthFor = (n) => (400 - 10 * (n - 1)) / n; // a 400 px row with 10 px gaps
  const sizes = ['XS', 'S', 'M', 'L', 'XL', 'XXL', '3XL']; // widest 'XXL': 60 px + 2 x 10 pad
  const rows = buttonRows(sizes, widthFor, measure, 10);
  assert.deepEqual(rows, [0, 0, 0, 0, 1, 1, 1]); // 4 a row fit (92.5 px); 7 as 4 + 3, not 4 + 2 + 1
  for (let r = 0; r <= Math.max(...rows); r += 1) {
    const n = rows.filter((x) => x === r).length;
    assert.ok(widthFor(n) >= 80, `row ${r}: ${n} buttons of ${widthFor(n)} px`);
  }
  assert.deepEqual(buttonRows(['a', 'b', 'c'], widthFor, measure), [0, 0, 0]); // short labels share one row
  assert.deepEqual(buttonRows(['Too tight', 'Fits', 'Too loose'], () => 50, measure), [0, 1, 2]); // one each
  assert.deepEqual(buttonRows([], widthFor, measure), []);
});

test('the result panel keeps only what the API sentence adds to its own lines', async () => {
  const { conciseSentence } = await import('../src/tryon/panel_text.js');
  // Size and confidence are on the runner-up line, the fit list on the region lines: nothing left to say.
  assert.equal(conciseSentence('M (79% sure). Fit: chest +7 cm regular, waist +6 cm regular, neck -1 cm tight.'), '');
  assert.equal(conciseSentence('L; between M and L: M if you like it fitted, L if you like it relaxed. Fit: chest +3 cm snug.'),
    'L; between M and L: M if you like it fitted, L if you like it relaxed.');
  assert.equal(conciseSentence('S (40% sure). Fit: waist +2 cm snug. Measuring your chest would make this surer.'),
    'Measuring your chest would make this surer.');
  assert.equal(conciseSentence('3XL (61% sure). Even 3XL, our largest size, is likely to be small for you.'),
    'Even 3XL, our largest size, is likely to be small for you.');
});
