import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chooseMirrorSpot, mirrorToWorld, sightClear } from '../src/tryon/mirror_spot.js';
import { WalkableArea } from '../src/walkable.js';

// A 16 x 12 m room like the boutique: a clothes rack 1.2 m in front of a shopper at the origin looking down -Z.
const room = (fixtures = [], walls = []) => WalkableArea.fromScene({
  floor: [[-8, -6], [8, -6], [8, 6], [-8, 6]], avatar_radius: 0.3, fixtures, walls });
const rack = { id: 'rack', center: [0, -1.2], size: [2.8, 1.6, 0.6], rotation_deg: 0 };

test('an empty floor keeps the old spot: 1.7 m straight ahead, facing the shopper', () => {
  const spot = chooseMirrorSpot({ eye: [0, 0], forward: [0, -1], walkable: room() });
  assert.equal(spot.fallback, false);
  assert.equal(spot.angleDeg, 0);
  assert.ok(Math.abs(spot.x) < 1e-9 && Math.abs(spot.z + 1.7) < 1e-9);
  assert.ok(Math.abs(spot.yaw) < 1e-9); // +Z (the mannequin's front) towards the shopper
  // Panels to the shopper's left and right of the mannequin, a little towards the shopper.
  assert.deepEqual(spot.panels.map(([x, z]) => [x, z].map((v) => Math.round(v * 100) / 100)), [[-0.95, -1.45], [0.85, -1.45]]);
});

test('a rack straight ahead: the mirror moves to the side, on free floor, with a clear view', () => {
  const walkable = room([rack]);
  const spot = chooseMirrorSpot({ eye: [0, 0], forward: [0, -1], walkable });
  assert.equal(spot.fallback, false);
  assert.notEqual(spot.angleDeg, 0);
  assert.ok(walkable.isWalkable(spot.x, spot.z));
  const bare = new WalkableArea(walkable.polygons, [], { boxes: walkable.boxes });
  for (const target of [[spot.x, spot.z], ...spot.panels]) {
    assert.ok(bare.isWalkable(...target), `panel or mannequin inside a fixture at ${target}`);
    assert.ok(sightClear(bare, [0, 0], target), `view to ${target} crosses the rack`);
  }
  // The old spot would have put it straight behind the rack.
  const behind = [0, -1.7];
  assert.equal(sightClear(bare, [0, 0], behind), false);
});

test('a wall across the view is respected like a fixture', () => {
  const walls = [{ from: [-8, -1], to: [3, -1], thickness: 0.08 }];
  const walkable = room([], walls);
  const spot = chooseMirrorSpot({ eye: [0, 0], forward: [0, -1], walkable });
  assert.equal(spot.fallback, false);
  // Every sight line stays on the shopper's side of the wall or passes its open end (x > 3).
  for (const [x, z] of [[spot.x, spot.z], ...spot.panels]) assert.ok(z > -1 || x > 3, `${x}, ${z} is behind the wall`);
});

test('a shopper boxed in gets the old spot as a fallback; bad input never throws', () => {
  const box = [[-0.5, -0.5], [0.5, -0.5], [0.5, 0.5], [-0.5, 0.5]];
  const tiny = WalkableArea.fromScene({ floor: box, avatar_radius: 0.3 });
  const spot = chooseMirrorSpot({ eye: [0, 0], forward: [1, 0], walkable: tiny });
  assert.equal(spot.fallback, true);
  assert.ok(Math.abs(spot.x - 1.7) < 1e-9 && Math.abs(spot.z) < 1e-9);
  assert.equal(chooseMirrorSpot({ eye: [0, 0], forward: [0, 0], walkable: null }).z, -1.7); // no direction: -Z
  assert.equal(chooseMirrorSpot({ eye: [NaN, 0], forward: [0, -1], walkable: room() }).fallback, true);
});

test('mirror frame to world follows the yaw', () => {
  const spot = { x: 1, z: 2, yaw: Math.PI / 2 }; // front (+Z) turned to +X
  const [x, z] = mirrorToWorld(spot, [0, 1]);
  assert.ok(Math.abs(x - 2) < 1e-9 && Math.abs(z - 2) < 1e-9);
});
