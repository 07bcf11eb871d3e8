import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CUES, hapticCue, pulseControllers } from '../src/xr/haptics.js';

test('a filling ring ticks at each quarter, pulses firmly when full and softly when let go', () => {
  const seen = [];
  let before = 0;
  for (const p of [0.05, 0.1, 0.2, 0.26, 0.3, 0.49, 0.51, 0.74, 0.76, 0.9, 1]) {
    seen.push(hapticCue(before, p));
    before = p;
  }
  assert.deepEqual(seen.filter(Boolean), [CUES.quarter, CUES.quarter, CUES.quarter, CUES.done]);
  assert.equal(hapticCue(0.4, 0), CUES.cancel);
  assert.equal(hapticCue(0, 0), null); // idle: nothing
  assert.equal(hapticCue(1, 0), null); // a filled ring reset after the receipt is not a cancel
  assert.equal(hapticCue(1, 1), null); // and full is pulsed once
});

test('pulses go to controllers with an actuator, on the asked side only', () => {
  const calls = [];
  const source = (handedness, actuators) => ({ inputSource: { handedness,
    gamepad: actuators ? { hapticActuators: actuators } : undefined } });
  const actuator = (name) => ({ pulse: (v, ms) => { calls.push([name, v, ms]); return Promise.resolve(true); } });
  const sources = [source('left', [actuator('L')]), source('right', [actuator('R')]), source('right', null),
    source('none', [])];
  assert.equal(pulseControllers(sources, CUES.done), 2);
  assert.deepEqual(calls, [['L', 0.8, 120], ['R', 0.8, 120]]);
  calls.length = 0;
  assert.equal(pulseControllers(sources, CUES.quarter, 'right'), 1);
  assert.deepEqual(calls, [['R', 0.25, 25]]);
});
