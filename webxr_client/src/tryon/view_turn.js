// Bringing the try-on mirror into view when it stands to the side. Pure (no three.js, no DOM): the yaw and
// pitch between the view and the mirror, an eased turn for desktop and touch, and the words for a headset,
// where the page must never turn the shopper's view (that makes people sick); they turn their own head.

export const TURN_SECONDS = 0.4;
export const IN_VIEW_DEG = 30; // the mirror counts as seen when it is this close to the view's centre

/** Yaw (radians about +Y, as the rig's rotation.y) of a floor direction; 0 looks down -Z. */
export function yawOf(dx, dz) {
  return Math.atan2(-dx, -dz);
}

/** Angle wrapped into (-π, π]. */
export function wrapAngle(a) {
  const t = (a + Math.PI) % (2 * Math.PI);
  return (t <= 0 ? t + 2 * Math.PI : t) - Math.PI;
}

/**
 * The yaw to add to the view so it looks from `eye` at `target` (floor [x, z]); positive turns left
 * (counter-clockwise seen from above). 0 when the view has no floor direction (looking straight down).
 */
export function yawToTarget(eye, forward, target) {
  const [fx, fz] = forward;
  const [dx, dz] = [target[0] - eye[0], target[1] - eye[1]];
  if (Math.hypot(fx, fz) < 1e-6 || Math.hypot(dx, dz) < 1e-6) return 0;
  return wrapAngle(yawOf(dx, dz) - yawOf(fx, fz));
}

/**
 * The pitch to add so a view whose direction has vertical component `forwardY` (unit vector) looks at a point
 * `rise` m above the eye and `run` m away on the floor; positive looks up.
 */
export function pitchToTarget(forwardY, rise, run) {
  const now = Math.asin(Math.max(-1, Math.min(1, forwardY)));
  return Math.atan2(rise, Math.max(run, 1e-6)) - now;
}

/** Smoothstep: eases in and out so the turn starts and stops gently; t in seconds. */
export function turnFraction(t, duration = TURN_SECONDS) {
  const x = Math.min(1, Math.max(0, t / duration));
  return x * x * (3 - 2 * x);
}

/**
 * A turn of `yaw` and `pitch` radians spread over `duration`: step(dt) returns [dYaw, dPitch] to add this
 * frame, so the shopper's own mouse-look during the turn adds to it instead of fighting it.
 */
export class ViewTurn {
  constructor(yaw, pitch = 0, duration = TURN_SECONDS) {
    Object.assign(this, { total: [yaw, pitch], duration, elapsed: 0, applied: 0 });
  }

  get done() { return this.elapsed >= this.duration; }

  step(dt) {
    this.elapsed += Math.max(0, Number.isFinite(dt) ? dt : 0);
    const fraction = turnFraction(this.elapsed, this.duration);
    const delta = fraction - this.applied;
    this.applied = fraction;
    return this.total.map((t) => t * delta);
  }
}

/** The headset hint for a mirror `yaw` radians away (positive = left), or null when it is in view. */
export function mirrorHint(yaw, inViewDeg = IN_VIEW_DEG) {
  const deg = Math.abs((wrapAngle(yaw) * 180) / Math.PI);
  if (deg < inViewDeg) return null;
  if (deg > 135) return 'The mirror is behind you ↻';
  return yaw > 0 ? '← Mirror on your left' : 'Mirror on your right →';
}
