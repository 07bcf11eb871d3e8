import { test } from 'node:test';
import assert from 'node:assert/strict';
import { JitterBuffer, interpolate } from '../src/net/jitter_buffer.js';

// Deterministic pseudo-random numbers so failures reproduce.
function rng(seed) {
  let s = seed;
  return () => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648);
}

// A walker moving along x at 1.2 m/s, turning about y at 1 rad/s: [x, y, z, qx, qy, qz, qw].
const SPEED = 1.2 / 1000; // m per ms
function truth(tMs) {
  const a = (tMs / 1000) / 2;
  return [SPEED * tMs, 1.6, 0, 0, Math.sin(a), 0, Math.cos(a)];
}

/** Feeds 60 Hz snapshots with the given transit-time function, renders at 90 Hz; returns render log. */
function run({ seconds = 4, transit = () => 20, loss = () => false, gapAt = null, gapMs = 0 }) {
  const buf = new JitterBuffer({ quatOffsets: [3] });
  const arrivals = [];
  for (let t = 0; t <= seconds * 1000; t += 1000 / 60) {
    if (loss(t)) continue;
    if (gapAt !== null && t >= gapAt && t < gapAt + gapMs) continue;
    arrivals.push({ server: t, local: t + 5000 + transit(t) }); // local clock runs 5 s ahead of the server
  }
  arrivals.sort((a, b) => a.local - b.local);
  const frames = [];
  let next = 0;
  for (let now = 5000 + 100; now <= 5000 + seconds * 1000; now += 1000 / 90) {
    while (next < arrivals.length && arrivals[next].local <= now) {
      buf.push(arrivals[next].server, arrivals[next].local, truth(arrivals[next].server));
      next += 1;
    }
    const pose = buf.sample(now);
    if (pose) frames.push({ now, pose, play: buf.playTime, delay: buf.delayMs });
  }
  return { buf, frames };
}

test('good link: about 50 ms behind and exactly on the motion path', () => {
  const { buf, frames } = run({ transit: () => 20 });
  const steady = frames.filter((f) => f.now > 6000);
  for (const f of steady) {
    const lag = (f.now - 5000 - 20) - f.play; // how far behind the newest possible sample
    assert.ok(lag > 40 && lag < 65, `lag ${lag.toFixed(1)} ms`);
    const expected = truth(f.play);
    assert.ok(Math.abs(f.pose[0] - expected[0]) < 1e-6, 'position interpolated linearly');
    const dot = Math.abs(f.pose.slice(3).reduce((s, v, i) => s + v * expected[3 + i], 0));
    assert.ok(dot > 0.999999, 'rotation slerped');
  }
  assert.equal(buf.stats.extrapolated, 0);
  assert.equal(buf.stats.resyncs, 0);
});

test('jittery link: delay widens and playback is not starved', () => {
  const r = rng(3);
  const { buf, frames } = run({ transit: () => 20 + r() * 60, seconds: 6 });
  const late = frames.filter((f) => f.now > 8000);
  const meanDelay = late.reduce((s, f) => s + f.delay, 0) / late.length;
  assert.ok(meanDelay > 70, `delay should widen under 60 ms jitter, was ${meanDelay.toFixed(1)}`);
  assert.ok(meanDelay < 200, `but not absurdly, was ${meanDelay.toFixed(1)}`);
  assert.ok(buf.stats.extrapolated < late.length * 0.05, `extrapolated ${buf.stats.extrapolated} of ${late.length}`);
});

test('never snaps: per-frame movement stays near the true speed, even with loss and reorder', () => {
  const r = rng(11);
  const { frames } = run({ transit: () => 15 + r() * 40, loss: () => r() < 0.1, seconds: 6 });
  const frameMs = 1000 / 90;
  for (let i = 1; i < frames.length; i += 1) {
    const step = Math.abs(frames[i].pose[0] - frames[i - 1].pose[0]);
    assert.ok(step <= SPEED * frameMs * 1.25, `frame ${i} moved ${step.toFixed(4)} m`);
    assert.ok(frames[i].play >= frames[i - 1].play, 'playback clock never runs backwards');
  }
});

test('a reconnect gap holds the last pose, then cross-fades instead of jumping', () => {
  const { buf, frames } = run({ gapAt: 2000, gapMs: 1500, seconds: 6 });
  assert.ok(buf.stats.fades >= 1, 'cross-faded after the gap');
  let biggest = 0;
  for (let i = 1; i < frames.length; i += 1) {
    biggest = Math.max(biggest, Math.abs(frames[i].pose[0] - frames[i - 1].pose[0]));
  }
  // Crossing ~1.6 m of missed motion over the 200 ms fade (18 frames) is ~0.1-0.2 m per frame,
  // not one 1.6 m jump.
  assert.ok(biggest < 0.3, `largest per-frame step ${biggest.toFixed(3)} m`);
  const end = frames[frames.length - 1];
  assert.ok(Math.abs(end.pose[0] - truth(end.play)[0]) < 1e-6, 'back on the true path after the fade');
});

test('reset for a new time base keeps the shown pose and fades from it', () => {
  const buf = new JitterBuffer();
  for (let t = 0; t <= 500; t += 16) buf.push(t, 1000 + t, [t / 100]);
  const before = buf.sample(1600)[0];
  buf.reset();
  // New connection: the server clock restarted near zero, the avatar now stands 3 m further on.
  for (let t = 0; t <= 300; t += 16) buf.push(t, 2000 + t, [before + 3]);
  const first = buf.sample(2300)[0];
  assert.ok(Math.abs(first - before) < 0.05, `first frame after reset jumped from ${before} to ${first}`);
  const settled = buf.sample(2600)[0];
  assert.ok(Math.abs(settled - (before + 3)) < 1e-9, 'arrives after the fade');
});

test('drops duplicates and junk, keeps out-of-order samples sorted', () => {
  const buf = new JitterBuffer();
  assert.equal(buf.push(100, 1000, [1]), true);
  assert.equal(buf.push(100, 1001, [2]), false);
  assert.equal(buf.push(50, 1002, [0.5]), true);
  assert.equal(buf.push(NaN, 1003, [0]), false);
  assert.equal(buf.push(120, 1004, [NaN]), false);
  assert.equal(buf.push(130, 1005, null), false);
  assert.deepEqual(buf.samples.map((s) => s.t), [50, 100]);
  assert.equal(new JitterBuffer().sample(0), null);
});

test('quaternion interpolation takes the short way round and stays unit length', () => {
  const a = [0, 0, 0, 1];
  const b = [0, 0, 0, -1]; // same rotation as a
  const mid = interpolate(a, b, 0.5, [0]);
  assert.ok(Math.abs(Math.abs(mid[3]) - 1) < 1e-9);
  const c = [0, Math.sin(Math.PI / 4), 0, Math.cos(Math.PI / 4)]; // 90 deg about y
  const half = interpolate(a, c, 0.5, [0]);
  assert.ok(Math.abs(half[1] - Math.sin(Math.PI / 8)) < 1e-9, '45 degrees halfway');
  assert.ok(Math.abs(Math.hypot(...half) - 1) < 1e-9);
});

// A body pose: hips walking along x at 1.2 m/s, every joint turning about its own axis at 1 rad/s.
const BODY_Q = Array.from({ length: 22 }, (_, j) => 3 + 4 * j);
function bodyTruth(tMs) {
  const out = [SPEED * tMs, 0.95, 0];
  for (let j = 0; j < 22; j += 1) {
    const axis = [Math.sin(j), Math.cos(j), Math.sin(2 * j)];
    const n = Math.hypot(...axis);
    const half = (tMs / 1000) / 2;
    out.push(...axis.map((a) => (a / n) * Math.sin(half)), Math.cos(half));
  }
  return out;
}

test('body poses: hips lerped, every joint slerped, on the head buffer\'s clock even when the body starts late', () => {
  const head = new JitterBuffer({ quatOffsets: [3] });
  const body = new JitterBuffer({ quatOffsets: BODY_Q, clock: head });
  let checked = 0;
  let previousHips = null;
  for (let now = 5000, t = 0; now <= 8000; now += 1000 / 90) {
    while (5000 + t + 20 + (t % 50 === 0 ? 15 : 0) <= now) { // 60 Hz with a little jitter
      head.push(t, now, truth(t));
      if (t >= 1000) body.push(t, now, bodyTruth(t)); // the body part appears after one second
      t += 1000 / 60;
    }
    head.sample(now);
    const pose = body.sample(now);
    if (!pose) continue;
    assert.equal(body.playTime, head.playTime, 'one clock, one delay for the whole avatar');
    if (previousHips !== null) assert.ok(Math.abs(pose[0] - previousHips) < 0.03, 'hips never jump');
    previousHips = pose[0];
    if (body.playTime > 1100 && body.playTime < body.samples.at(-1).t) {
      const expected = bodyTruth(body.playTime);
      assert.ok(Math.abs(pose[0] - expected[0]) < 1e-6, 'hips lerped');
      for (const o of BODY_Q) {
        const dot = Math.abs(pose[o] * expected[o] + pose[o + 1] * expected[o + 1] + pose[o + 2] * expected[o + 2]
          + pose[o + 3] * expected[o + 3]);
        assert.ok(dot > 0.999999, `joint at ${o} slerped`);
      }
      checked += 1;
    }
  }
  assert.ok(checked > 150, `checked ${checked} frames`);
});

test('a body following a clock cross-fades when the leader re-syncs instead of snapping', () => {
  const head = new JitterBuffer({ quatOffsets: [3] });
  const body = new JitterBuffer({ quatOffsets: BODY_Q, clock: head });
  const feed = (from, to, localShift) => {
    for (let t = from; t <= to; t += 1000 / 60) {
      head.push(t, t + localShift, truth(t));
      body.push(t, t + localShift, bodyTruth(t));
    }
  };
  feed(0, 1000, 5020);
  head.sample(6020); body.sample(6020);
  const before = body.sample(6020)[0];
  // A reconnect: the server clock moved on by 10 s; both buffers are reset and refilled.
  head.reset(); body.reset();
  feed(11000, 13000, -4980);
  head.sample(7040);
  const after = body.sample(7040);
  assert.ok(Math.abs(after[0] - before) < 0.05, `first frame after the jump stays near the old pose (${after[0]} vs ${before})`);
  head.sample(7300);
  const settled = body.sample(7300);
  assert.ok(Math.abs(settled[0] - bodyTruth(body.playTime)[0]) < 1e-6, 'then follows the new stream exactly');
});
