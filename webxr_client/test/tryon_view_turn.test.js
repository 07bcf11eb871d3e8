import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mirrorHint, pitchToTarget, turnFraction, ViewTurn, wrapAngle, yawOf, yawToTarget } from '../src/tryon/view_turn.js';

const near = (a, b, eps = 1e-9) => assert.ok(Math.abs(a - b) < eps, `${a} != ${b}`);

test('yaw to the mirror: positive to the left, wrapped, zero straight ahead', () => {
  near(yawOf(0, -1), 0); // the rig's rotation.y = 0 looks down -Z
  near(yawToTarget([0, 0], [0, -1], [0, -2]), 0);
  near(yawToTarget([0, 0], [0, -1], [-2, 0]), Math.PI / 2); // a mirror at -X stands to the left
  near(yawToTarget([0, 0], [0, -1], [2, 0]), -Math.PI / 2);
  near(Math.abs(yawToTarget([0, 0], [0, -1], [0, 2])), Math.PI); // behind
  // From a view turned to +X, a mirror at -Z is 90 degrees to the left; the eye's position counts.
  near(yawToTarget([5, 5], [1, 0], [5, 3]), Math.PI / 2);
  near(wrapAngle(3 * Math.PI / 2), -Math.PI / 2);
  near(yawToTarget([0, 0], [0, 0], [1, 1]), 0); // looking straight down: no floor direction, no turn
});

test('pitch to the mirror: from a view looking down at a low shelf back up to the mannequin', () => {
  near(pitchToTarget(0, 0, 2), 0);
  near(pitchToTarget(Math.sin(-0.8), -0.3, 1.7), Math.atan2(-0.3, 1.7) + 0.8); // looks 0.8 rad down, chest below eye
  near(pitchToTarget(0, 1, 1), Math.PI / 4);
  assert.ok(Number.isFinite(pitchToTarget(1.0000001, 0, 0)));
});

test('the desktop turn is eased over 0.4 s, adds up to the whole angle and never overshoots', () => {
  near(turnFraction(0), 0);
  near(turnFraction(0.2), 0.5);
  near(turnFraction(0.4), 1);
  near(turnFraction(9), 1);
  const turn = new ViewTurn(Math.PI / 2, -0.3);
  const steps = [];
  for (let i = 0; i < 30 && !turn.done; i += 1) steps.push(turn.step(1 / 60));
  assert.ok(steps.length >= 23 && steps.length <= 25, `${steps.length} frames at 60 Hz`); // ~0.4 s, not a snap
  near(steps.reduce((a, [y]) => a + y, 0), Math.PI / 2, 1e-12);
  near(steps.reduce((a, [, p]) => a + p, 0), -0.3, 1e-12);
  assert.ok(steps.every(([y, p]) => y >= 0 && p <= 0));
  assert.ok(Math.max(...steps.map(([y]) => y)) < 0.2 * (Math.PI / 2), 'no single frame does most of the turn');
  assert.ok(steps[0][0] < steps[12][0], 'starts gently');
  // A slow frame (a software renderer) finishes the turn instead of stretching it out.
  const slow = new ViewTurn(-1);
  const [a, b] = [slow.step(0.25), slow.step(0.25)];
  near(a[0] + b[0], -1);
  near(a[1] + b[1], 0);
  assert.ok(slow.done);
  near(new ViewTurn(1).step(NaN)[0], 0);
});

test('the headset hint says which way to look, and nothing once the mirror is in view', () => {
  assert.equal(mirrorHint(0.1), null);
  assert.equal(mirrorHint((25 * Math.PI) / 180), null);
  assert.match(mirrorHint(Math.PI / 2), /left/);
  assert.match(mirrorHint(-Math.PI / 3), /right/);
  assert.match(mirrorHint(Math.PI), /behind/);
  assert.match(mirrorHint(-2.6), /behind/);
});
