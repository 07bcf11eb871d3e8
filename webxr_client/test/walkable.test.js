import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WalkableArea, pointInPolygon, parsePolygon } from '../src/walkable.js';

// An L-shaped shop floor: 10 x 4 m corridor plus a 4 x 6 m wing, with a 1 x 1 m shelf in the corridor.
const L = [[0, 0], [10, 0], [10, 4], [4, 4], [4, 10], [0, 10]];
const shelf = [[6, 1], [7, 1], [7, 2], [6, 2]];

test('point in polygon follows the L shape, edges count as inside', () => {
  assert.equal(pointInPolygon(2, 2, L), true);
  assert.equal(pointInPolygon(2, 8, L), true);
  assert.equal(pointInPolygon(8, 8, L), false); // the missing corner of the L
  assert.equal(pointInPolygon(10, 2, L), true); // on the outer wall
  assert.equal(pointInPolygon(-0.01, 2, L), false);
});

test('scene polygons and obstacles decide walkability', () => {
  const area = WalkableArea.fromScene({ walkable: { polygons: [L] }, obstacles: [shelf] });
  assert.equal(area.isWalkable(5, 2), true);
  assert.equal(area.isWalkable(6.5, 1.5), false); // inside the shelf
  assert.equal(area.isWalkable(6, 1.5), true); // standing against it
  assert.equal(area.isWalkable(8, 8), false);
  assert.equal(area.isWalkable(NaN, 1), false);
});

test('accepts [x, y, z] and {x, z} points and a bare polygon', () => {
  const a = WalkableArea.fromScene({ walkable: [[0, 0, 0], [2, 0, 0], [2, 0, 2], [0, 0, 2]] });
  assert.equal(a.isWalkable(1, 1), true);
  assert.equal(a.isWalkable(3, 1), false);
  const b = WalkableArea.fromScene({ walkable: [[{ x: 0, z: 0 }, { x: 1, z: 0 }, { x: 1, z: 1 }]] });
  assert.equal(b.isWalkable(0.7, 0.2), true);
  assert.equal(b.isWalkable(0.2, 0.7), false);
});

test('falls back to scene bounds, then to a default square, never throws on junk', () => {
  const bounded = WalkableArea.fromScene({ bounds_min: [-3, 0, -2], bounds_max: [3, 3, 2] });
  assert.equal(bounded.isWalkable(2.9, 1.9), true);
  assert.equal(bounded.isWalkable(3.5, 0), false);
  for (const junk of [null, 42, 'x', { walkable: 'nope' }, { walkable: [[1, 2]] }, { bounds_min: [1], bounds_max: 'a' }]) {
    const area = WalkableArea.fromScene(junk);
    assert.equal(area.isWalkable(0, 0), true);
    assert.equal(area.isWalkable(50, 0), false);
  }
  assert.equal(parsePolygon([[0, 0], [1, 'a'], [1, 1]]), null);
});

test('moving into a wall slides along it; into a corner stops', () => {
  const area = WalkableArea.fromScene({ walkable: [L], obstacles: [shelf] });
  // Heading diagonally out through the outer wall at z=0: keeps the x part of the motion.
  assert.deepEqual(area.constrainMove([5, 0.2], [5.5, -0.3]), [5.5, 0.2]);
  // Into the shelf from the left: x is blocked, z motion kept.
  assert.deepEqual(area.constrainMove([5.9, 1.2], [6.3, 1.4]), [5.9, 1.4]);
  // Into the outer corner: nowhere to go.
  assert.deepEqual(area.constrainMove([9.9, 0.1], [10.5, -0.5]), [9.9, 0.1]);
  // Free move is untouched.
  assert.deepEqual(area.constrainMove([1, 1], [1.5, 1.2]), [1.5, 1.2]);
});

test('every constrained move ends walkable (random walk)', () => {
  const area = WalkableArea.fromScene({ walkable: [L], obstacles: [shelf] });
  let pos = [1, 1];
  let seed = 7;
  const rand = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
  for (let i = 0; i < 5000; i += 1) {
    const to = [pos[0] + (rand() - 0.5) * 0.8, pos[1] + (rand() - 0.5) * 0.8];
    pos = area.constrainMove(pos, to);
    assert.equal(area.isWalkable(pos[0], pos[1]), true, `escaped at step ${i}: ${pos}`);
  }
});

test('teleport only onto walkable floor', () => {
  const area = WalkableArea.fromScene({ walkable: [L], obstacles: [shelf] });
  assert.equal(area.canTeleportTo(2, 9), true);
  assert.equal(area.canTeleportTo(9, 9), false);
  assert.equal(area.canTeleportTo(6.5, 1.5), false);
});

test('a stand point near a shelf is walkable, close, and on the near side', () => {
  const area = WalkableArea.fromScene({ walkable: [L], obstacles: [shelf] });
  const p = area.standPointNear(6.5, 1.5, [2, 2]);
  assert.ok(area.isWalkable(...p));
  assert.ok(Math.hypot(p[0] - 6.5, p[1] - 1.5) <= 0.81);
  assert.ok(p[0] < 6.5, `should stand on the side facing the shopper, got ${p}`);
  assert.equal(area.standPointNear(50, 50), null);
});
