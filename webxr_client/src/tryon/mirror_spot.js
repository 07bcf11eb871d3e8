// Where the try-on mirror (mannequin plus its two panels) stands. Pure (no three.js, no DOM): it takes the
// shopper's eye and view direction on the floor plus the store's WalkableArea, and returns a spot on walkable
// floor, clear of fixtures, with nothing between the eye and the mannequin or its panels.
import { WalkableArea } from '../walkable.js';

export const MIRROR_DISTANCES = [1.7, 1.4, 2.0, 2.2]; // m ahead; 1.7 first (the old spot), then nearer, then farther
// Straight ahead first, then alternately left and right, wider each time; behind the shopper last.
export const MIRROR_ANGLES_DEG = [0, 20, -20, 40, -40, 60, -60, 90, -90, 120, -120, 150, -150, 180];
// Panels beside the mannequin, in its own frame (x to its left/right as the shopper sees it, z towards the shopper).
export const PANEL_OFFSETS = [[-0.95, 0.25], [0.85, 0.25]];
const SIGHT_CLEARANCE = 0.05; // m: a sight line that grazes a fixture closer than this counts as blocked
const SIGHT_STEP = 0.02; // m between samples on a sight line (thinner than any wall or fixture we draw)

/** Yaw (radians about +Y) that turns an object's +Z towards the shopper standing `dx, dz` away in -direction. */
export function yawFacing(dx, dz) {
  return Math.atan2(-dx, -dz);
}

/** A point in the mirror's frame (x across, z towards the shopper) to world floor coordinates. */
export function mirrorToWorld(spot, [lx, lz]) {
  const c = Math.cos(spot.yaw);
  const s = Math.sin(spot.yaw);
  return [spot.x + c * lx + s * lz, spot.z - s * lx + c * lz];
}

/** True when every sample between a and b (floor x, z) is on the floor and clear of walls, obstacles, fixtures. */
export function sightClear(clearance, [ax, az], [bx, bz]) {
  const length = Math.hypot(bx - ax, bz - az);
  const steps = Math.max(1, Math.ceil(length / SIGHT_STEP));
  // The eye end may stand closer than the clearance to a fixture (shoppers stand next to racks): skip 0.1 m.
  const start = Math.min(steps, Math.ceil(0.1 / SIGHT_STEP));
  for (let i = start; i <= steps; i += 1) {
    const t = i / steps;
    if (!clearance.isWalkable(ax + (bx - ax) * t, az + (bz - az) * t)) return false;
  }
  return true;
}

/**
 * Chooses the mirror spot.
 * @param {{eye: number[], forward: number[], walkable: WalkableArea|null}} input eye and forward as floor [x, z]
 * @returns {{x: number, z: number, yaw: number, distance: number, angleDeg: number, fallback: boolean,
 *           panels: number[][]}} fallback is true when no candidate was clear (the old spot straight ahead)
 */
export function chooseMirrorSpot({ eye, forward, walkable, distances = MIRROR_DISTANCES, angles = MIRROR_ANGLES_DEG,
  panelOffsets = PANEL_OFFSETS }) {
  const [ex, ez] = eye.map(Number);
  let [fx, fz] = (forward ?? [0, -1]).map(Number);
  const norm = Math.hypot(fx, fz);
  if (!Number.isFinite(norm) || norm < 1e-6) [fx, fz] = [0, -1];
  else [fx, fz] = [fx / norm, fz / norm];
  const make = (distance, angleDeg) => {
    const a = (angleDeg * Math.PI) / 180;
    // Turning the view direction by +a about +Y (counter-clockwise seen from above).
    const dx = fx * Math.cos(a) + fz * Math.sin(a);
    const dz = -fx * Math.sin(a) + fz * Math.cos(a);
    const spot = { x: ex + dx * distance, z: ez + dz * distance, yaw: yawFacing(dx, dz), distance, angleDeg };
    spot.panels = panelOffsets.map((p) => mirrorToWorld(spot, p));
    return spot;
  };
  if (walkable && Number.isFinite(ex) && Number.isFinite(ez)) {
    // Panels float at chest height but must not sit inside a fixture or outside the room: radius-0 checks.
    const bare = new WalkableArea(walkable.polygons, walkable.obstacles,
      { radius: 0, boxes: walkable.boxes, walls: walkable.walls });
    const clearance = new WalkableArea(walkable.polygons, walkable.obstacles,
      { radius: SIGHT_CLEARANCE, boxes: walkable.boxes, walls: walkable.walls });
    for (const angleDeg of angles) {
      for (const distance of distances) {
        const spot = make(distance, angleDeg);
        if (!walkable.isWalkable(spot.x, spot.z)) continue; // the mannequin's footprint: an avatar's circle
        if (!spot.panels.every(([px, pz]) => bare.isWalkable(px, pz))) continue;
        const targets = [[spot.x, spot.z], ...spot.panels];
        if (targets.every((t) => sightClear(clearance, [ex, ez], t))) return { ...spot, fallback: false };
      }
    }
  }
  return { ...make(distances[0] ?? 1.7, 0), fallback: true };
}
