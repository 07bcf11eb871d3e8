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
