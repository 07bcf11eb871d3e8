// A body for a shopper who streams only a head and (maybe) two hands: the 22 joints of the protocol's
// skeleton (net/body_pose.js) solved from those few points. The torso hangs under the head and turns
// with it (lagging, as a body does), arms reach the tracked hands by two-bone IK (or, when the hands are
// not tracked, hang and swing against the legs as it walks, or hold a product in front), and the feet stay planted until the body has moved
// away from them, then step one at a time. Pure: no three.js, so node tests can run it.
import { BODY_REST_OFFSETS, N_BODY, REST_HEIGHT_M } from './net/body_pose.js';

export const DEFAULT_HEIGHT_M = REST_HEIGHT_M;
export const MIN_HEIGHT_M = 1.0;
export const MAX_HEIGHT_M = 2.3;
// The eyes of the rest skeleton are at 1.60 m on a 1.70 m body (hips 0.95 m + spine to the skull base
// 0.58 m + the eye offset 0.07 m).
const EYE_RATIO = 1.6 / REST_HEIGHT_M;
const HIPS_TO_SKULL = 0.58; // rest skeleton, metres at 1.70 m
const STANDING_HIPS = 0.95;
const EYE_UP = 0.07;
const EYE_FORWARD = 0.08;
const ANKLE_HEIGHT = 0.07; // above the floor, 1.70 m body
const STEP_MS = 280;
const STEP_LIFT = 0.09;
const STEP_TRIGGER = 0.2; // m (1.70 m body) between a planted foot and where it should be
const HANG = 0.49; // m (1.70 m body) from the shoulder joint down to a hanging hand
const ARM_SWING_PER_M = 1.8; // rad of arm swing per metre the foot on the same side is ahead of the mid-stride
const MAX_ARM_SWING = 0.45; // rad (about 26 degrees, a brisk walk)
const SNAP_DISTANCE = 1.5; // farther than this (a teleport): the feet jump, no stepping across the store

/** A height in metres if it is one a shopper can have (1.0-2.3 m), else null. */
export function validHeight(value) {
  const h = typeof value === 'string' ? Number.parseFloat(value) : value;
  return Number.isFinite(h) && h >= MIN_HEIGHT_M && h <= MAX_HEIGHT_M ? Math.round(h * 100) / 100 : null;
}

/** Where a standing shopper of this height has their eyes (the desktop camera height). */
export function eyeHeightFor(heightM) {
  return (validHeight(heightM) ?? DEFAULT_HEIGHT_M) * EYE_RATIO;
}

const LEN = (i) => Math.hypot(...BODY_REST_OFFSETS[i]);
const UPPER_ARM = LEN(8); // leftUpperArm -> leftLowerArm
const FOREARM = LEN(9);
const THIGH = LEN(15);
const SHIN = LEN(16);

/**
 * Two-bone IK: the middle joint (elbow, knee) and the end for a chain rooted at `root` reaching for
 * `target`, bending towards `pole`. Out of reach: the chain points straight at the target.
 * @returns {[number[], number[]]} [middle, end] world positions
 */
export function solveTwoBone(root, target, a, b, pole) {
  const d = sub(target, root);
  let dist = norm(d);
  const dir = dist > 1e-6 ? scale(d, 1 / dist) : [0, -1, 0];
  dist = Math.min(Math.max(dist, Math.abs(a - b) + 1e-4), a + b - 1e-4);
  const cosA = (a * a + dist * dist - b * b) / (2 * a * dist);
  const along = a * cosA;
  const across = a * Math.sqrt(Math.max(0, 1 - cosA * cosA));
  let p = sub(pole, scale(dir, dot(pole, dir)));
  if (norm(p) < 1e-6) p = Math.abs(dir[1]) < 0.9 ? [0, 1, 0] : [0, 0, 1];
  p = scale(p, 1 / norm(p));
  const middle = add(root, add(scale(dir, along), scale(p, across)));
  return [middle, add(root, scale(dir, dist))];
}

/** Solves one avatar's body frame after frame (it keeps the planted feet and the turning torso). */
export class BodySolver {
  constructor() {
    this.yaw = null; // body facing: 0 = +Z
    this.feet = null; // [{at: [x, z], yaw, step: null | {from, to, fromYaw, toYaw, t0}}] left, right
    this.last = null; // {time, hips: [x, z]}
    this.velocity = [0, 0];
    this.steps = 0;
    this.positions = new Float64Array(3 * N_BODY);
    this.rotations = new Float64Array(4 * N_BODY);
  }

  /**
   * @param {number} now ms
   * @param {object} input {head: [px, py, pz, qx, qy, qz, qw] (a WebXR view: looks down -Z),
   *   hands: [left, right] each [x, y, z] or null (not tracked), height (m), floorY, holding (bool)}
   * @returns {{positions: Float64Array, rotations: Float64Array}} world joints (net/body_pose.js order)
   */
  update(now, { head, hands = [null, null], height = DEFAULT_HEIGHT_M, floorY = 0, holding = false }) {
    const s = (validHeight(height) ?? DEFAULT_HEIGHT_M) / REST_HEIGHT_M;
    const dt = this.last ? Math.min(0.25, Math.max(0, (now - this.last.time) / 1000)) : 0;
    // Facing: the head's forward direction flattened; the torso follows it with a lag.
    const hf = rotate(head.slice(3, 7), [0, 0, -1]);
    const headYaw = Math.hypot(hf[0], hf[2]) > 0.15 ? Math.atan2(hf[0], hf[2]) : (this.yaw ?? 0);
    if (this.yaw === null) this.yaw = headYaw;
    const diff = wrapAngle(headYaw - this.yaw);
    // Beyond 50 degrees the body turns at once to keep up; under it, it settles slowly.
    if (Math.abs(diff) > 0.87) this.yaw = wrapAngle(headYaw - Math.sign(diff) * 0.87);
    this.yaw = wrapAngle(this.yaw + diff * (1 - Math.exp(-dt * 2.5)));
    const f = [Math.sin(this.yaw), 0, Math.cos(this.yaw)];
    const l = [f[2], 0, -f[0]]; // left of the body (up x forward)
    const up = [0, 1, 0];
    const at = (base, x, y, z) => add(base, add(scale(l, x * s), add(scale(up, y * s), scale(f, z * s))));

    // Spine: from the eyes back to the skull base, then down to the hips (never above standing height).
    const eye = head.slice(0, 3);
    const skull = [eye[0] - hf[0] * EYE_FORWARD * s, eye[1] - EYE_UP * s, eye[2] - hf[2] * EYE_FORWARD * s];
    const hipsY = Math.min(skull[1] - HIPS_TO_SKULL * s, floorY + STANDING_HIPS * s);
    const hips = [skull[0] - f[0] * 0.04 * s, hipsY, skull[2] - f[2] * 0.04 * s];
    const P = this.positions;
    const put = (k, v) => { P[3 * k] = v[0]; P[3 * k + 1] = v[1]; P[3 * k + 2] = v[2]; };
    const spine = sub(skull, hips);
    const rest = [0, 0.10, 0.22, 0.34, 0.48].map((r) => r / HIPS_TO_SKULL);
    [0, 1, 2, 3, 4].forEach((k) => put(k, add(hips, scale(spine, rest[k]))));
    put(5, skull);
    const upperChest = add(hips, scale(spine, rest[3]));

    // Feet: planted on the floor; a foot steps when the body has moved (or turned) away from it.
    const hipsXZ = [hips[0], hips[2]];
    if (this.last && dt > 0) {
      const v = [(hipsXZ[0] - this.last.hips[0]) / dt, (hipsXZ[1] - this.last.hips[1]) / dt];
      const k = 1 - Math.exp(-dt * 8);
      this.velocity = [this.velocity[0] + (v[0] - this.velocity[0]) * k, this.velocity[1] + (v[1] - this.velocity[1]) * k];
    }
    const moved = this.last ? Math.hypot(hipsXZ[0] - this.last.hips[0], hipsXZ[1] - this.last.hips[1]) : Infinity;
    this.last = { time: now, hips: hipsXZ };
    const home = (side, lead) => [hips[0] + l[0] * 0.1 * s * side + this.velocity[0] * lead,
      hips[2] + l[2] * 0.1 * s * side + this.velocity[1] * lead];
    if (!this.feet || moved > SNAP_DISTANCE) {
      this.feet = [1, -1].map((side) => ({ at: home(side, 0), yaw: this.yaw, step: null }));
    }
    const speed = Math.hypot(...this.velocity);
    this.feet.forEach((foot, i) => {
      const side = i === 0 ? 1 : -1;
      const other = this.feet[1 - i];
      if (foot.step) {
        const t = Math.min(1, (now - foot.step.t0) / STEP_MS);
        foot.at = lerp2(foot.step.from, foot.step.to, t);
        foot.yaw = foot.step.fromYaw + wrapAngle(foot.step.toYaw - foot.step.fromYaw) * t;
        foot.lift = Math.sin(Math.PI * t) * STEP_LIFT * s;
        if (t >= 1) { foot.step = null; foot.lift = 0; }
        return;
      }
      const want = home(side, 0);
      const off = Math.hypot(want[0] - foot.at[0], want[1] - foot.at[1]);
      const turned = Math.abs(wrapAngle(this.yaw - foot.yaw)) > 0.6;
      // One foot at a time, unless the other is far behind (running, or a fast turn).
      if ((off > STEP_TRIGGER * s || turned) && (!other.step || off > 2.5 * STEP_TRIGGER * s)) {
        // Land ahead of where the body is going, so a walking body is not always behind its feet.
        const lead = Math.min(0.45, STEP_MS / 1000 + (speed > 0.2 ? 0.15 : 0));
        foot.step = { from: foot.at.slice(), to: home(side, lead), fromYaw: foot.yaw, toYaw: this.yaw, t0: now };
        this.steps += 1;
      }
    });
    for (const [i, base] of [[0, 14], [1, 18]]) {
      const side = i === 0 ? 1 : -1;
      const foot = this.feet[i];
      const hip = at(hips, 0.09 * side, -0.05, 0);
      const ankle = [foot.at[0], floorY + ANKLE_HEIGHT * s + (foot.lift ?? 0), foot.at[1]];
      const [knee, reached] = solveTwoBone(hip, ankle, THIGH * s, SHIN * s, f);
      const ff = [Math.sin(foot.yaw), 0, Math.cos(foot.yaw)];
      const toes = [reached[0] + ff[0] * 0.13 * s, reached[1] - 0.05 * s, reached[2] + ff[2] * 0.13 * s];
      put(base, hip); put(base + 1, knee); put(base + 2, reached); put(base + 3, toes);
    }
    // Arms (after the feet, which they swing against): shoulder, then the two-bone chain to the hand
    // (tracked), holding in front, or hanging and swinging opposite to the leg on its own side as it walks.
    // How far the left foot is ahead of the right (the stride's phase; zero when standing).
    const stride = ((this.feet[0].at[0] - this.feet[1].at[0]) * f[0] + (this.feet[0].at[1] - this.feet[1].at[1]) * f[2]) / s;
    const hanging = (root, side) => {
      const swing = Math.max(-MAX_ARM_SWING, Math.min(MAX_ARM_SWING, -side * ARM_SWING_PER_M * stride / 2));
      return at(root, 0.04 * side, -HANG * Math.cos(swing), 0.04 + HANG * Math.sin(swing));
    };
    for (const [side, base] of [[1, 6], [-1, 10]]) {
      const shoulder = at(upperChest, 0.03 * side, 0.10, 0);
      const root = at(shoulder, 0.12 * side, 0, 0);
      const tracked = hands[side > 0 ? 0 : 1];
      let target = tracked;
      if (!target) {
        target = holding && side < 0 && !hands[0]
          ? at(upperChest, -0.08, -0.12, 0.34) // a product held up in front, right hand
          : hanging(root, side);
      }
      const pole = add(add(scale(up, -1), scale(f, -0.4)), scale(l, 0.5 * side));
      const [elbow, hand] = solveTwoBone(root, target, UPPER_ARM * s, FOREARM * s, pole);
      put(base, shoulder); put(base + 1, root); put(base + 2, elbow); put(base + 3, hand);
    }

    const q = [0, Math.sin(this.yaw / 2), 0, Math.cos(this.yaw / 2)];
    for (let k = 0; k < N_BODY; k += 1) this.rotations.set(q, 4 * k);
    return { positions: this.positions, rotations: this.rotations };
  }
}

function add(a, b) { return [a[0] + b[0], a[1] + b[1], a[2] + b[2]]; }
function sub(a, b) { return [a[0] - b[0], a[1] - b[1], a[2] - b[2]]; }
function scale(a, k) { return [a[0] * k, a[1] * k, a[2] * k]; }
function dot(a, b) { return a[0] * b[0] + a[1] * b[1] + a[2] * b[2]; }
function norm(a) { return Math.hypot(a[0], a[1], a[2]); }
function lerp2(a, b, t) { return [a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t]; }
function wrapAngle(a) { return Math.atan2(Math.sin(a), Math.cos(a)); }

// Rotate v by the unit quaternion q = [x, y, z, w].
function rotate(q, v) {
  const [qx, qy, qz, qw] = q;
  const tx = 2 * (qy * v[2] - qz * v[1]);
  const ty = 2 * (qz * v[0] - qx * v[2]);
  const tz = 2 * (qx * v[1] - qy * v[0]);
  return [v[0] + qw * tx + (qy * tz - qz * ty), v[1] + qw * ty + (qz * tx - qx * tz), v[2] + qw * tz + (qx * ty - qy * tx)];
}
