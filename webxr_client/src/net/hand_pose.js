// Remote tracked hands: snapshots carry a wrist pose, 20 joint angles and a scale per hand (8-bit codes,
// docs/HAND_MODEL.md). This rebuilds the 25 WebXR joints from them: a port of the server's forward
// kinematics (server/realtime/hand_model.py, joints_from_hand_params). Pure: arrays in, arrays out.

const deg = (d) => (d * Math.PI) / 180;
const THUMB_RANGES = [[-50, 70], [-50, 50], [-30, 90], [-40, 100]];
const FINGER_RANGES = [[-45, 100], [-35, 35], [-20, 120], [-30, 100]];
const ANGLE_RANGES = [...THUMB_RANGES, ...FINGER_RANGES, ...FINGER_RANGES, ...FINGER_RANGES, ...FINGER_RANGES]
  .map(([lo, hi]) => [deg(lo), deg(hi)]);
const SCALE_RANGE = [0.7, 1.3];
const LEVELS = 255;

const CHAIN_START = [1, 5, 10, 15, 20];
const FINGER_METACARPAL_POS = [[-0.020, -0.009, -0.036], [-0.003, -0.008, -0.034], [0.015, -0.006, -0.035], [0.023, -0.009, -0.034]];
const FINGER_PROXIMAL_POS = [[-0.023, -0.007, -0.093], [-0.002, -0.003, -0.0925], [0.018, -0.006, -0.087], [0.035, -0.013, -0.077]];
const FINGER_BONE_LENGTHS = [[0.038, 0.024, 0.022], [0.043, 0.027, 0.025], [0.039, 0.026, 0.024], [0.031, 0.020, 0.022]];
const FINGER_REST_SPLAY = [6, 0, -6, -12].map(deg);
const THUMB_PIVOT_POS = [-0.014, -0.014, -0.022];
const THUMB_METACARPAL_OFFSET = 0.021;
const THUMB_BONE_LENGTHS = [0.053, 0.034, 0.025];
const THUMB_REST_FORWARD = [-0.70, -0.24, -0.67];
const THUMB_REST_UP = [-0.77, 0.33, 0.55];

// 3x3 matrices as row-major arrays of rows.
const mul = (a, b) => a.map((row) => [0, 1, 2].map((j) => row[0] * b[0][j] + row[1] * b[1][j] + row[2] * b[2][j]));
const rx = (t) => [[1, 0, 0], [0, Math.cos(t), -Math.sin(t)], [0, Math.sin(t), Math.cos(t)]];
const ry = (t) => [[Math.cos(t), 0, Math.sin(t)], [0, 1, 0], [-Math.sin(t), 0, Math.cos(t)]];
const norm = (v) => Math.hypot(...v);
const cross = (a, b) => [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]];

/** Rotation (columns X, Y, Z) with -Z along `forward` and +Y as close to `up` as possible. */
function frameFromForwardUp(forward, up) {
  const n = norm(forward);
  const z = forward.map((v) => -v / n);
  const d = up[0] * z[0] + up[1] * z[1] + up[2] * z[2];
  let y = up.map((v, i) => v - d * z[i]);
  const ny = norm(y);
  y = y.map((v) => v / ny);
  const x = cross(y, z);
  return [0, 1, 2].map((i) => [x[i], y[i], z[i]]);
}

const FINGER_METACARPAL_ROT = FINGER_PROXIMAL_POS.map((p, f) =>
  frameFromForwardUp(p.map((v, i) => v - FINGER_METACARPAL_POS[f][i]), [0, 1, 0]));
const FINGER_REST_ROT = FINGER_REST_SPLAY.map(ry);
const THUMB_REST_ROT = frameFromForwardUp(THUMB_REST_FORWARD, THUMB_REST_UP);

/** Offset of `length` along the frame's -Z axis. */
const bone = (frame, length) => [-frame[0][2] * length, -frame[1][2] * length, -frame[2][2] * length];
const add = (a, b) => [a[0] + b[0], a[1] + b[1], a[2] + b[2]];
const scaled = (v, s) => v.map((x) => x * s);

function quatToMat([x, y, z, w]) {
  return [
    [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
    [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
    [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
  ];
}

/** Rotation matrix -> unit quaternion [x, y, z, w] with w >= 0 (Shepperd's method, as the server). */
function matToQuat(r) {
  const [m00, m11, m22] = [r[0][0], r[1][1], r[2][2]];
  const cand = [
    [1 + m00 - m11 - m22, r[0][1] + r[1][0], r[0][2] + r[2][0], r[2][1] - r[1][2]],
    [r[0][1] + r[1][0], 1 - m00 + m11 - m22, r[1][2] + r[2][1], r[0][2] - r[2][0]],
    [r[0][2] + r[2][0], r[1][2] + r[2][1], 1 - m00 - m11 + m22, r[1][0] - r[0][1]],
    [r[2][1] - r[1][2], r[0][2] - r[2][0], r[1][0] - r[0][1], 1 + m00 + m11 + m22],
  ];
  let best = 0;
  for (let i = 1; i < 4; i += 1) if (cand[i][i] > cand[best][best]) best = i;
  const n = norm(cand[best]);
  const q = cand[best].map((v) => v / n);
  return q[3] < 0 ? q.map((v) => -v) : q;
}

export function dequantizeAngles(codes) {
  return ANGLE_RANGES.map(([lo, hi], i) => lo + Math.min(255, Math.max(0, codes[i])) * ((hi - lo) / LEVELS));
}

export function dequantizeScale(code) {
  return SCALE_RANGE[0] + Math.min(255, Math.max(0, code)) * ((SCALE_RANGE[1] - SCALE_RANGE[0]) / LEVELS);
}

/**
 * The 25 joints of a hand from its wrist pose and 21 codes (20 angles + scale).
 * @returns {Float64Array} 25 x (px, py, pz, qx, qy, qz, qw), world space, WebXR joint order
 */
export function handJointsFromCodes(wristPos, wristQuat, codes, isLeft) {
  const angles = dequantizeAngles(codes);
  const sc = dequantizeScale(codes[20]);
  const lp = new Array(25);
  const lr = new Array(25);
  lp[0] = [0, 0, 0];
  lr[0] = [[1, 0, 0], [0, 1, 0], [0, 0, 1]];
  for (let f = 0; f < 5; f += 1) {
    const start = CHAIN_START[f];
    const a = angles.slice(4 * f, 4 * f + 4);
    let base; let lengths; let out; let frame;
    if (f === 0) {
      // The thumb's 2-DOF frame sits at a pivot; the metacarpal joint rides on its first bone.
      base = scaled(THUMB_PIVOT_POS, sc);
      lengths = THUMB_BONE_LENGTHS;
      out = [2, 3, 4];
      frame = mul(mul(THUMB_REST_ROT, rx(-a[0])), ry(a[1]));
      lp[1] = add(base, bone(frame, sc * THUMB_METACARPAL_OFFSET));
      lr[1] = frame;
    } else {
      lengths = FINGER_BONE_LENGTHS[f - 1];
      lp[start] = scaled(FINGER_METACARPAL_POS[f - 1], sc);
      lr[start] = FINGER_METACARPAL_ROT[f - 1];
      base = scaled(FINGER_PROXIMAL_POS[f - 1], sc);
      out = [start + 2, start + 3, start + 4];
      frame = mul(mul(FINGER_REST_ROT[f - 1], rx(-a[0])), ry(a[1]));
      lp[start + 1] = base;
      lr[start + 1] = frame;
    }
    let joint = base;
    out.forEach((j, k) => {
      joint = add(joint, bone(frame, sc * lengths[k]));
      if (k < 2) frame = mul(frame, rx(-a[k + 2])); // the tip keeps the distal joint's frame
      lp[j] = joint;
      lr[j] = frame;
    });
  }
  // The model is a right hand: mirror x for a left one (positions x -> -x, rotations S R S).
  const s = isLeft ? -1 : 1;
  const wristM = quatToMat(wristQuat);
  const result = new Float64Array(25 * 7);
  for (let j = 0; j < 25; j += 1) {
    const p = [lp[j][0] * s, lp[j][1], lp[j][2]];
    const r = lr[j].map((row, i) => row.map((v, k) => v * (i === 0 && k > 0 ? s : 1) * (k === 0 && i > 0 ? s : 1)));
    const wp = [0, 1, 2].map((i) => wristPos[i] + wristM[i][0] * p[0] + wristM[i][1] * p[1] + wristM[i][2] * p[2]);
    const q = j === 0 ? wristQuat : matToQuat(mul(wristM, r));
    result.set([...wp, ...q], j * 7);
  }
  return result;
}
