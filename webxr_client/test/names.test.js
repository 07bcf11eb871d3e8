import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkName, suggestedName } from '../src/ui/names.js';

test('names follow the server rules and get words when refused', () => {
  assert.deepEqual(checkName('  Zoë   Smith '), { name: 'Zoë Smith' });
  assert.equal(checkName('Zoe\u0308').name, 'Zoë'); // NFC
  assert.match(checkName('').error, /type a name/);
  assert.match(checkName('x'.repeat(33)).error, /32 at most/);
  assert.match(checkName('bad\u202Ename').error, /invisible/);
  assert.match(checkName('zero\u200Bwidth').error, /invisible/);
  assert.equal(checkName('😀 Emoji fan').name, '😀 Emoji fan');
});

test('suggested names are valid, varied and cycle', () => {
  const names = Array.from({ length: 30 }, (_, k) => suggestedName(k));
  assert.equal(new Set(names).size, 30);
  for (const n of names) assert.equal(checkName(n).name, n);
  assert.equal(suggestedName(-1), suggestedName(399));
});
