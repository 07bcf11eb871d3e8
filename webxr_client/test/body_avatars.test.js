import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bodyFK, BODY_POSE_LENGTH, eyePosition } from '../src/net/body_pose.js';

// avatars.js draws name labels on a canvas: a minimal stand-in is enough outside a browser.
globalThis.document = {
  createElement: () => ({
    width: 0, height: 0,
    getContext: () => new Proxy({}, { get: () => () => {}, set: () => true }),
  }),
};
const { RemoteAvatars } = await import('../src/avatars.js');
const THREE = await import('three');

// A standing body whose left arm swings; its head part is where the server would put it, plus `headError`.
function bodyAt(tMs) {
  const pose = new Float64Array(BODY_POSE_LENGTH);
  pose.set([1, 0.95, -2], 0);
  for (let j = 0; j < 22; j += 1) pose[3 + 4 * j + 3] = 1;
  const a = Math.sin(tMs / 300) * 0.6; // left upper arm about Z
  pose.set([0, 0, Math.sin(a / 2), Math.cos(a / 2)], 3 + 4 * 7);
  return pose;
}

function headPart(body, headError) {
  const eye = eyePosition(bodyFK(body));
  return [eye[0] + headError, eye[1], eye[2], 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1];
}

function run(bodyWhen, headError = 0) {
  const scene = new THREE.Scene();
  const avatars = new RemoteAvatars(scene);
  const log = [];
  let t = 0;
  for (let now = 1000; now < 4000; now += 1000 / 90) {
    while (1000 + t + 20 <= now) {
      const body = bodyAt(t);
      avatars.push(7, t, now, headPart(body, headError), { name: 'Host', body: bodyWhen(t) ? body : undefined });
      t += 1000 / 60;
    }
    avatars.render(now, null);
    const a = avatars.avatars.get(7);
    if (a) log.push({ now, head: a.head.position.toArray(), weight: a.bodyWeight, joints: avatars.bodyJoints(7),
      visible: a.mannequin?.group.visible ?? false });
  }
  return log;
}

test('a body appearing fades in over about 250 ms and the head glides onto its head joint', () => {
  const log = run((t) => t >= 1000, 0.1); // head part 10 cm off the body's eyes: the worst case
  let maxStep = 0;
  for (let i = 1; i < log.length; i += 1) maxStep = Math.max(maxStep, Math.hypot(...log[i].head.map((v, k) => v - log[i - 1].head[k])));
  assert.ok(maxStep < 0.02, `head moved ${maxStep.toFixed(3)} m in one frame`);
  const start = log.find((f) => f.weight > 0);
  const full = log.find((f) => f.weight === 1);
  assert.ok(full.now - start.now > 200 && full.now - start.now < 300, `fade took ${full.now - start.now} ms`);
  const last = log.at(-1);
  assert.equal(last.joints.length, 22);
  assert.ok(last.visible);
  const eye = eyePosition(bodyFK(Float64Array.from(bodyAt(0)))); // hips do not move: eyes stay put
  assert.ok(Math.hypot(...last.head.map((v, k) => v - eye[k])) < 1e-6, 'head at the body\'s eyes');
});

test('a body disappearing fades out and the avatar is head and hands again', () => {
  const log = run((t) => t < 1500);
  const gone = log.filter((f) => f.now > 3000);
  assert.ok(gone.every((f) => f.weight === 0 && !f.visible && f.joints === null));
  const fading = log.filter((f) => f.weight > 0 && f.weight < 1 && f.now > 2000);
  assert.ok(fading.length >= 15, `faded out over ${fading.length} frames`);
});

test('an avatar that never has a body keeps the head and hands look', () => {
  const log = run(() => false);
  assert.ok(log.every((f) => f.weight === 0 && f.joints === null && !f.visible));
});
