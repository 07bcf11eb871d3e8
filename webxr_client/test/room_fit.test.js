import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkRoom, placement } from '../src/room_fit.js';

const room = { width: 400, depth: 300, height: 250 };
const door = { width: 80, height: 200 };
const sofa = { width: 220, depth: 95 };

test('room numbers are checked in words', () => {
  assert.deepEqual(checkRoom({ width: 400, depth: 300, height: 250, doorWidth: 80, doorHeight: 200 }), { room, door });
  assert.match(checkRoom({ width: 40, depth: 300, height: 250, doorWidth: 80, doorHeight: 200 }).error, /room width/);
  assert.match(checkRoom({ width: 400, depth: 300, height: 250, doorWidth: 'x', doorHeight: 200 }).error, /door width/);
});

test('a sofa placed in the room: clear of the walls, through a wall, in the way of the door', () => {
  const middle = placement(room, door, sofa, { x: 0, z: -50, yaw: 0 });
  assert.deepEqual(middle, { inside: true, wallGapCm: 53, blocksDoor: false });
  const wall = placement(room, door, sofa, { x: 120, z: -50, yaw: 0 });
  assert.equal(wall.inside, false);
  assert.equal(wall.wallGapCm, -30);
  // Turned 90 degrees it is 95 wide and 220 deep: at x = 0 it reaches the door's swing.
  const turned = placement(room, door, sofa, { x: 0, z: 0, yaw: Math.PI / 2 });
  assert.equal(turned.inside, true);
  assert.equal(turned.blocksDoor, true);
  // Against the back wall, turned, at the side: clear.
  assert.equal(placement(room, door, sofa, { x: 150, z: -30, yaw: Math.PI / 2 }).blocksDoor, false);
});
