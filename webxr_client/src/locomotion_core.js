// Pure pieces of locomotion, shared by desktop and XR: key/stick to a walk vector, snap turn from a
// thumbstick, and moving a rig so the head (not the rig origin) ends where it should.

export const WALK_SPEED = 1.6; // m/s, brisk shop walk
export const TURN_SPEED = 1.8; // rad/s for keyboard turning
export const SNAP_ANGLE = Math.PI / 6; // 30 degrees per snap, the common comfort default

/** Keys held -> [strafe, forward, turn] each in -1..1. Accepts KeyboardEvent.code values. */
export function keyboardVector(keys) {
  const has = (...codes) => codes.some((c) => keys.has(c));
  const strafe = (has('KeyD', 'ArrowRight') ? 1 : 0) - (has('KeyA', 'ArrowLeft') ? 1 : 0);
  const forward = (has('KeyW', 'ArrowUp') ? 1 : 0) - (has('KeyS', 'ArrowDown') ? 1 : 0);
  const turn = (has('KeyE') ? 1 : 0) - (has('KeyQ') ? 1 : 0);
  return [strafe, forward, turn];
}

/** Dead zone with rescaling so small stick drift does nothing and full tilt still gives 1. */
export function deadzone(value, zone = 0.15) {
  if (!Number.isFinite(value) || Math.abs(value) < zone) return 0;
  return Math.sign(value) * Math.min(1, (Math.abs(value) - zone) / (1 - zone));
}

/**
 * World-space step for a walk vector: yaw is the facing (radians, 0 = looking down -z). Diagonal
 * input is normalised so it is not faster than straight.
 */
export function walkStep(strafe, forward, yaw, dt, speed = WALK_SPEED) {
  const len = Math.hypot(strafe, forward);
  if (len === 0 || !Number.isFinite(dt) || dt <= 0) return [0, 0];
  const k = (Math.min(1, len) / len) * speed * Math.min(dt, 0.1); // clamp dt: a hitch is not a leap
  const s = Math.sin(yaw);
  const c = Math.cos(yaw);
  // forward = (-sin yaw, -cos yaw), right = (cos yaw, -sin yaw)
  return [(strafe * c - forward * s) * k, (-strafe * s - forward * c) * k];
}

/** Snap turn: one step per push past the threshold; the stick must return near centre to re-arm. */
export class SnapTurn {
  constructor({ angle = SNAP_ANGLE, press = 0.7, release = 0.3 } = {}) {
    this.angle = angle;
    this.press = press;
    this.release = release;
    this.armed = true;
  }

  /** @returns {number} yaw change for this frame (radians; positive turns left, counter-clockwise) */
  update(stickX) {
    if (!Number.isFinite(stickX)) return 0;
    if (Math.abs(stickX) < this.release) {
      this.armed = true;
      return 0;
    }
    if (this.armed && Math.abs(stickX) >= this.press) {
      this.armed = false;
      return stickX > 0 ? -this.angle : this.angle;
    }
    return 0;
  }
}

/**
 * Rotating a rig by `dYaw` about the head rather than the rig origin (in room-scale VR the head is
 * rarely above the origin). Returns the rig's new [x, z].
 */
export function turnAboutHead(rigX, rigZ, headX, headZ, dYaw) {
  const dx = rigX - headX;
  const dz = rigZ - headZ;
  const c = Math.cos(dYaw);
  const s = Math.sin(dYaw);
  // Rotation about +y by dYaw: x' = x cos + z sin, z' = -x sin + z cos
  return [headX + dx * c + dz * s, headZ - dx * s + dz * c];
}

export const TELEPORT_RANGE_M = 12; // the server's teleport_range_m (docs/PROTOCOL.md): one jump goes at most this far
const HOP_M = TELEPORT_RANGE_M - 1; // a margin: the server measures from the head, which sways

/**
 * A far trip (the store map) as jumps the server allows: points from `from` to `to` ([x, z]), each at most
 * HOP_M from the one before, each on walkable floor (a point on the straight line, or the nearest walkable one
 * within a metre of it), ending at `to`. Null when no such chain exists along the line (a wall in the way).
 */
export function teleportHops(from, to, isWalkable, hop = HOP_M) {
  const [fx, fz] = from;
  const [tx, tz] = to;
  const length = Math.hypot(tx - fx, tz - fz);
  if (length <= hop) return [[tx, tz]];
  const hops = [];
  let [px, pz] = [fx, fz];
  for (let guard = 0; guard < 100; guard += 1) {
    const left = Math.hypot(tx - px, tz - pz);
    if (left <= hop) {
      hops.push([tx, tz]);
      return hops;
    }
    const next = nearestWalkable(px + ((tx - px) / left) * (hop - 0.6), pz + ((tz - pz) / left) * (hop - 0.6),
      isWalkable, [px, pz], hop);
    if (!next) return null;
    hops.push(next);
    [px, pz] = next;
  }
  return null;
}

/** A walkable point within 1 m of (x, z) that is also within `hop` of `prev`, nearest first; or null. */
function nearestWalkable(x, z, isWalkable, prev, hop) {
  if (isWalkable(x, z)) return [x, z];
  for (const r of [0.25, 0.5, 0.75, 1]) {
    for (let k = 0; k < 12; k += 1) {
      const a = (k / 12) * Math.PI * 2;
      const [cx, cz] = [x + Math.cos(a) * r, z + Math.sin(a) * r];
      if (isWalkable(cx, cz) && Math.hypot(cx - prev[0], cz - prev[1]) <= hop) return [cx, cz];
    }
  }
  return null;
}
