// The full-body skeleton of mocap avatars: forward kinematics from the wire's body part (hips world
// position + 22 rotations, the hips' in world space, the others local to their parent and relative to
// the T-pose). A port of server/mocap/fk.py `body_fk`, checked against it by test/body_pose.test.js on
// fixtures the server's code generates (tools/make_body_fk_fixture.py). Pure: no three.js.

// Joint order, parents and rest offsets are part of the protocol (server/realtime/skeleton.py).
export const BODY_JOINTS = [
  'hips', 'spine', 'chest', 'upperChest', 'neck', 'head',
  'leftShoulder', 'leftUpperArm', 'leftLowerArm', 'leftHand',
  'rightShoulder', 'rightUpperArm', 'rightLowerArm', 'rightHand',
  'leftUpperLeg', 'leftLowerLeg', 'leftFoot', 'leftToes',
  'rightUpperLeg', 'rightLowerLeg', 'rightFoot', 'rightToes',
];
export const BODY_PARENTS = [-1, 0, 1, 2, 3, 4, 3, 6, 7, 8, 3, 10, 11, 12, 0, 14, 15, 16, 0, 18, 19, 20];
export const N_BODY = BODY_JOINTS.length;
export const BODY_INDEX = Object.fromEntries(BODY_JOINTS.map((name, i) => [name, i]));

// T-pose offsets from the parent (metres, +Y up, facing +Z, left is +X) for an avatar 1.70 m tall.
export const REST_HEIGHT_M = 1.7;
export const BODY_REST_OFFSETS = [
  [0, 0.95, 0], [0, 0.10, 0], [0, 0.12, 0], [0, 0.12, 0], [0, 0.14, 0], [0, 0.10, 0],
  [0.03, 0.10, 0], [0.12, 0, 0], [0.27, 0, 0], [0.25, 0, 0],
  [-0.03, 0.10, 0], [-0.12, 0, 0], [-0.27, 0, 0], [-0.25, 0, 0],
  [0.09, -0.05, 0], [0, -0.42, 0], [0, -0.40, 0], [0, -0.05, 0.13],
  [-0.09, -0.05, 0], [0, -0.42, 0], [0, -0.40, 0], [0, -0.05, 0.13],
];
// From the head joint (skull base) to between the eyes: where the server puts the avatar's head part
// (server/realtime/body.py), so a body's head lands exactly where a head-only view of it would.
export const EYE_OFFSET = [0, 0.07, 0.08];

// Flat body pose as the jitter buffer carries it: hips x y z, then 22 quaternions x y z w.
export const BODY_POSE_LENGTH = 3 + 4 * N_BODY;
export const BODY_QUAT_OFFSETS = Array.from({ length: N_BODY }, (_, j) => 3 + 4 * j);

/** The decoded body part ({p: hips, rotations: 22 x [x, y, z, w]}) as a flat array, or null if malformed. */
export function bodyPoseArray(body) {
  if (!body || !Array.isArray(body.p) || body.p.length !== 3 || !body.rotations || body.rotations.length !== N_BODY) {
    return null;
  }
  const out = new Float64Array(BODY_POSE_LENGTH);
  out.set(body.p, 0);
  for (let j = 0; j < N_BODY; j += 1) {
    const q = body.rotations[j];
    if (!q || q.length !== 4) return null;
    out.set(q, 3 + 4 * j);
  }
  return out.every(Number.isFinite) ? out : null;
}

/**
 * World positions (22 x 3, flat) and rotations (22 x 4, flat) of the body joints for an avatar of this
 * height (the rest offsets are scaled by height / 1.70, as on the server).
 * @param {ArrayLike<number>} pose flat body pose (BODY_POSE_LENGTH numbers)
 */
export function bodyFK(pose, heightM = REST_HEIGHT_M, out = null) {
  if (!pose || pose.length !== BODY_POSE_LENGTH) {
    throw new Error(`a body pose has ${BODY_POSE_LENGTH} numbers (hips + 22 rotations), got ${pose?.length}`);
  }
  if (!(heightM > 0) || !Number.isFinite(heightM)) throw new Error(`avatar height must be a positive number of metres, got ${heightM}`);
  const s = heightM / REST_HEIGHT_M;
  const positions = out?.positions ?? new Float64Array(3 * N_BODY);
  const rotations = out?.rotations ?? new Float64Array(4 * N_BODY);
  const v = [0, 0, 0];
  for (let k = 0; k < N_BODY; k += 1) {
    const p = BODY_PARENTS[k];
    const lo = 3 + 4 * k;
    if (p < 0) {
      positions[0] = pose[0]; positions[1] = pose[1]; positions[2] = pose[2];
      rotations.set([pose[lo], pose[lo + 1], pose[lo + 2], pose[lo + 3]], 0);
      continue;
    }
    const off = BODY_REST_OFFSETS[k];
    rotate(rotations, 4 * p, off[0] * s, off[1] * s, off[2] * s, v);
    positions[3 * k] = positions[3 * p] + v[0];
    positions[3 * k + 1] = positions[3 * p + 1] + v[1];
    positions[3 * k + 2] = positions[3 * p + 2] + v[2];
    mul(rotations, 4 * p, pose, lo, rotations, 4 * k);
  }
  return { positions, rotations };
}

/** World position of the eyes (the head part the server derives from a body) from an FK result. */
export function eyePosition(fk, heightM = REST_HEIGHT_M) {
  const s = heightM / REST_HEIGHT_M;
  const h = BODY_INDEX.head;
  const v = [0, 0, 0];
  rotate(fk.rotations, 4 * h, EYE_OFFSET[0] * s, EYE_OFFSET[1] * s, EYE_OFFSET[2] * s, v);
  return [fk.positions[3 * h] + v[0], fk.positions[3 * h + 1] + v[1], fk.positions[3 * h + 2] + v[2]];
}

// Rotate (x, y, z) by the unit quaternion q[o..o+3] (the same formula as fk.py's quat_rotate).
function rotate(q, o, x, y, z, out) {
  const qx = q[o]; const qy = q[o + 1]; const qz = q[o + 2]; const qw = q[o + 3];
  const tx = 2 * (qy * z - qz * y);
  const ty = 2 * (qz * x - qx * z);
  const tz = 2 * (qx * y - qy * x);
  out[0] = x + qw * tx + (qy * tz - qz * ty);
  out[1] = y + qw * ty + (qz * tx - qx * tz);
  out[2] = z + qw * tz + (qx * ty - qy * tx);
}

// Hamilton product a * b (apply b first), written to out[oo..oo+3]; out may alias neither input's slot.
function mul(a, ao, b, bo, out, oo) {
  const ax = a[ao]; const ay = a[ao + 1]; const az = a[ao + 2]; const aw = a[ao + 3];
  const bx = b[bo]; const by = b[bo + 1]; const bz = b[bo + 2]; const bw = b[bo + 3];
  out[oo] = aw * bx + ax * bw + ay * bz - az * by;
  out[oo + 1] = aw * by - ax * bz + ay * bw + az * bx;
  out[oo + 2] = aw * bz + ax * by - ay * bx + az * bw;
  out[oo + 3] = aw * bw - ax * bx - ay * by - az * bz;
}
