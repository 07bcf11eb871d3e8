// A walk along the assistant's route (floor points [x, z] from POST /api/assistant/ask): where the leader and
// the one who follows are after some time, and which way they face. Pure: the guide and node tests use it.

export const LEAD_M = 2.0; // the assistant walks this far ahead of the shopper it leads
export const STRAY_M = 1.6; // a shopper this far from where the walk has them has walked off: the walk stops

export class RouteWalk {
  /** @param {Array<[number, number]>} points at least one; @param {number} speed m/s (> 0) */
  constructor(points, speed) {
    this.points = points.filter((p) => Array.isArray(p) && Number.isFinite(p[0]) && Number.isFinite(p[1]));
    if (!this.points.length) throw new Error('a route needs at least one point');
    this.speed = Number.isFinite(speed) && speed > 0 ? speed : 1;
    this.cumulative = [0];
    for (let i = 1; i < this.points.length; i += 1) {
      const [ax, az] = this.points[i - 1];
      const [bx, bz] = this.points[i];
      this.cumulative.push(this.cumulative[i - 1] + Math.hypot(bx - ax, bz - az));
    }
    this.length = this.cumulative[this.cumulative.length - 1];
  }

  /** The floor point `d` metres along the route (clamped to its ends) and the heading there (radians; 0 = -Z, the
   *  way a WebXR view looks, positive turning left as three.js' rotation.y does). */
  at(d) {
    const dist = Math.min(Math.max(d, 0), this.length);
    let i = 1;
    while (i < this.points.length - 1 && this.cumulative[i] < dist) i += 1;
    if (this.points.length === 1) return { x: this.points[0][0], z: this.points[0][1], heading: 0 };
    const [ax, az] = this.points[i - 1];
    const [bx, bz] = this.points[i];
    const seg = this.cumulative[i] - this.cumulative[i - 1];
    const k = seg > 1e-9 ? (dist - this.cumulative[i - 1]) / seg : 1;
    return { x: ax + (bx - ax) * k, z: az + (bz - az) * k, heading: Math.atan2(-(bx - ax), -(bz - az)) };
  }

  /** Where the shopper (`follower`) and the assistant (`leader`, LEAD_M ahead, never past the end) are `t`
   *  seconds into the walk, and whether the shopper has arrived. */
  state(t) {
    const walked = Math.min(Math.max(t, 0) * this.speed, this.length);
    return { follower: this.at(walked), leader: this.at(walked + LEAD_M), walked, done: walked >= this.length };
  }

  /** Seconds the whole walk takes. */
  get seconds() {
    return this.length / this.speed;
  }
}

/** The heading (radians, as RouteWalk.at) from floor point a to floor point b. */
export function headingTo(a, b) {
  return Math.atan2(-(b[0] - a[0]), -(b[1] - a[1]));
}
