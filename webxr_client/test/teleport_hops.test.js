import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TELEPORT_RANGE_M, teleportHops } from '../src/locomotion_core.js';

const everywhere = () => true;
const dist = (a, b) => Math.hypot(a[0] - b[0], a[1] - b[1]);

test('a near trip is one jump; a far one is jumps the server allows, ending where asked', () => {
  assert.deepEqual(teleportHops([0, 0], [5, 5], everywhere), [[5, 5]]);
  const hops = teleportHops([0, 0], [30, -4], everywhere);
  assert.ok(hops.length >= 3);
  assert.deepEqual(hops.at(-1), [30, -4]);
  let at = [0, 0];
  for (const h of hops) {
    assert.ok(dist(at, h) <= TELEPORT_RANGE_M - 1 + 1e-9, `${at} -> ${h}`);
    at = h;
  }
});

test('a hop that would land off the floor lands on the nearest floor beside the line; a wall across stops it', () => {
  // A pillar (a 0.8 m square) where the first hop would land: the hop moves beside it.
  const pillar = (x, z) => !(Math.abs(x - 10.4) < 0.4 && Math.abs(z) < 0.4);
  const hops = teleportHops([0, 0], [20, 0], pillar);
  assert.ok(hops.every(([x, z]) => pillar(x, z)));
  assert.deepEqual(hops.at(-1), [20, 0]);
  // A wall 3 m thick across the whole floor: no chain of jumps crosses it along the line.
  const wall = (x) => !(x > 8 && x < 12);
  assert.equal(teleportHops([0, 0], [20, 0], wall), null);
});
