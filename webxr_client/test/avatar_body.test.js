import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BodySolver, eyeHeightFor, solveTwoBone, validHeight } from '../src/avatar_body.js';

const dist = (a, b) => Math.hypot(a[0] - b[0], a[1] - b[1], a[2] - b[2]);
const joint = (fk, k) => Array.from(fk.positions.subarray(3 * k, 3 * k + 3));
// A head looking down -Z (identity rotation) at the eye height of a standing shopper.
const headAt = (x, z, h = 1.7) => [x, eyeHeightFor(h), z, 0, 0, 0, 1];

test('heights are checked like the server does (1.0-2.3 m) and give the eye height', () => {
  assert.equal(validHeight(1.82), 1.82);
  assert.equal(validHeight('1.9'), 1.9);
  assert.equal(validHeight(0.5), null);
  assert.equal(validHeight(null), null);
  assert.equal(validHeight(Number.NaN), null);
  assert.ok(Math.abs(eyeHeightFor(1.7) - 1.6) < 1e-9);
  assert.ok(Math.abs(eyeHeightFor(null) - 1.6) < 1e-9);
  assert.ok(eyeHeightFor(1.9) > 1.78);
});

test('two-bone IK keeps the bone lengths and reaches a target within reach', () => {
  const [mid, end] = solveTwoBone([0, 1.4, 0], [0.3, 1.1, -0.3], 0.27, 0.25, [0, -1, 0]);
  assert.ok(Math.abs(dist([0, 1.4, 0], mid) - 0.27) < 1e-6);
  assert.ok(Math.abs(dist(mid, end) - 0.25) < 1e-6);
  assert.ok(dist(end, [0.3, 1.1, -0.3]) < 1e-3);
  // Out of reach: straight towards it, never longer than the chain.
  const [, far] = solveTwoBone([0, 1.4, 0], [2, 1.4, 0], 0.27, 0.25, [0, -1, 0]);
  assert.ok(Math.abs(far[0] - 0.52) < 1e-3 && Math.abs(far[1] - 1.4) < 1e-6);
});

test('a standing body has its feet on the floor, hands reaching the controllers, and is sized by height', () => {
  for (const h of [1.5, 1.7, 1.95]) {
    const solver = new BodySolver();
    const left = [-0.25, 0.72 * h, -0.3]; // facing -Z, the left is -X
    const fk = solver.update(0, { head: headAt(0, 0, h), hands: [left, null], height: h });
    const toes = Math.min(joint(fk, 17)[1], joint(fk, 21)[1]);
    assert.ok(toes >= 0 && toes < 0.05, `toes at ${toes}`);
    assert.ok(dist(joint(fk, 9), left) < 1e-3, 'the left hand reaches the controller');
    // The right hand hangs at the side, below the hips.
    assert.ok(joint(fk, 13)[1] < joint(fk, 0)[1]);
    // Bigger shoppers have longer legs.
    const leg = dist(joint(fk, 14), joint(fk, 15)) + dist(joint(fk, 15), joint(fk, 16));
    assert.ok(Math.abs(leg - 0.82 * (h / 1.7)) < 1e-6);
  }
});

test('feet stay planted while the body stands and step when it walks', () => {
  const solver = new BodySolver();
  let fk = solver.update(0, { head: headAt(0, 0) });
  const planted = joint(fk, 16);
  for (let t = 16; t < 1000; t += 16) fk = solver.update(t, { head: headAt(0, 0) });
  assert.equal(solver.steps, 0);
  assert.ok(dist(joint(fk, 16), planted) < 1e-9);
  // Walk 3 m along -Z at 1.2 m/s: the feet take turns and end near the body.
  let lifted = false;
  for (let t = 1000; t < 3500; t += 16) {
    fk = solver.update(t, { head: headAt(0, -1.2 * (t - 1000) / 1000) });
    if (joint(fk, 16)[1] > planted[1] + 0.03 || joint(fk, 20)[1] > planted[1] + 0.03) lifted = true;
  }
  for (let t = 3500; t < 4500; t += 16) fk = solver.update(t, { head: headAt(0, -3) });
  assert.ok(solver.steps >= 6, `${solver.steps} steps`);
  assert.ok(lifted, 'a stepping foot leaves the floor');
  for (const k of [16, 20]) assert.ok(Math.abs(joint(fk, k)[2] - -3) < 0.35, `foot ${k} at ${joint(fk, k)}`);
  // A teleport moves the feet at once.
  const before = solver.steps;
  fk = solver.update(4600, { head: headAt(5, -3) });
  assert.equal(solver.steps, before);
  assert.ok(Math.abs(joint(fk, 16)[0] - 5) < 0.3);
});

test('without tracked hands a held product is carried in front of the chest', () => {
  const solver = new BodySolver();
  const fk = solver.update(0, { head: headAt(0, 0), holding: true });
  const hand = joint(fk, 13);
  assert.ok(hand[2] < -0.2, 'in front (the head looks down -Z)');
  assert.ok(hand[1] > 1.0);
});

test('hanging arms swing against the legs while walking and hang still when standing', () => {
  const solver = new BodySolver();
  let fk = solver.update(0, { head: headAt(0, 0) });
  const still = [joint(fk, 9), joint(fk, 13)];
  for (let t = 16; t < 600; t += 16) fk = solver.update(t, { head: headAt(0, 0) });
  assert.ok(dist(joint(fk, 9), still[0]) < 1e-6 && dist(joint(fk, 13), still[1]) < 1e-6, 'standing: no swing');
  // Walk along -Z (the body faces -Z): whenever the left foot is well ahead of the right, the left hand is
  // behind the right one, and the other way round.
  let against = 0;
  let strides = 0;
  for (let t = 600; t < 3600; t += 16) {
    fk = solver.update(t, { head: headAt(0, -1.2 * (t - 600) / 1000) });
    const leftFootAhead = joint(fk, 20)[2] - joint(fk, 16)[2]; // -Z is forward: right z minus left z
    const leftHandAhead = joint(fk, 13)[2] - joint(fk, 9)[2];
    if (Math.abs(leftFootAhead) > 0.15) {
      strides += 1;
      if (Math.sign(leftHandAhead) === -Math.sign(leftFootAhead) && Math.abs(leftHandAhead) > 0.05) against += 1;
    }
  }
  assert.ok(strides > 20, `the feet were apart ${strides} times`);
  assert.ok(against / strides > 0.9, `arms against legs ${against} of ${strides}`);
});
