import { test } from 'node:test';
import assert from 'node:assert/strict';
import { keyboardVector, deadzone, walkStep, SnapTurn, turnAboutHead, SNAP_ANGLE, WALK_SPEED } from '../src/locomotion_core.js';

const close = (a, b, eps = 1e-9) => assert.ok(Math.abs(a - b) < eps, `${a} != ${b}`);

test('keys map to strafe, forward, turn', () => {
  assert.deepEqual(keyboardVector(new Set(['KeyW'])), [0, 1, 0]);
  assert.deepEqual(keyboardVector(new Set(['KeyA', 'ArrowDown', 'KeyE'])), [-1, -1, 1]);
  assert.deepEqual(keyboardVector(new Set(['KeyW', 'KeyS'])), [0, 0, 0]);
});

test('walking forward at yaw 0 goes to -z; at yaw 90 deg (turned left) goes to -x', () => {
  const [x, z] = walkStep(0, 1, 0, 0.1);
  close(x, 0);
  close(z, -WALK_SPEED * 0.1);
  const [x2, z2] = walkStep(0, 1, Math.PI / 2, 0.1);
  close(x2, -WALK_SPEED * 0.1);
  close(z2, 0);
  const [sx, sz] = walkStep(1, 0, 0, 0.1); // strafe right at yaw 0 is +x
  close(sx, WALK_SPEED * 0.1);
  close(sz, 0);
});

test('diagonals are not faster and a long frame hitch is clamped', () => {
  const [x, z] = walkStep(1, 1, 0.3, 0.05);
  close(Math.hypot(x, z), WALK_SPEED * 0.05);
  const [hx, hz] = walkStep(0, 1, 0, 2.0);
  close(Math.hypot(hx, hz), WALK_SPEED * 0.1);
  assert.deepEqual(walkStep(0, 0, 0, 0.1), [0, 0]);
  assert.deepEqual(walkStep(0, 1, 0, NaN), [0, 0]);
});

test('dead zone ignores drift and still reaches full scale', () => {
  assert.equal(deadzone(0.1), 0);
  close(deadzone(1), 1);
  close(deadzone(-1), -1);
  assert.ok(deadzone(0.5) > 0 && deadzone(0.5) < 0.5);
  assert.equal(deadzone(NaN), 0);
});

test('snap turn fires once per push and re-arms at centre', () => {
  const snap = new SnapTurn();
  const out = [0, 0.5, 0.8, 0.9, 1.0, 0.5, 0.2, 0.9, -0.9, 0.0, -0.95].map((x) => snap.update(x));
  assert.deepEqual(out, [0, 0, -SNAP_ANGLE, 0, 0, 0, 0, -SNAP_ANGLE, 0, 0, SNAP_ANGLE]);
});

test('turning about the head keeps the head where it is', () => {
  // Rig at origin, head 0.5 m to its right. After a 90 deg turn the head must not have moved:
  // the head is rigOrigin + R(yaw) * offset.
  const [rx, rz] = turnAboutHead(0, 0, 0.5, 0, Math.PI / 2);
  // Offset from the new rig origin, rotated by +90 deg about y: (0.5, 0) -> (0, -0.5)
  const headX = rx + 0;
  const headZ = rz - 0.5;
  close(headX, 0.5);
  close(headZ, 0);
});
