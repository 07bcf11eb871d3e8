// Walkable area of a store: where feet may stand. Pure (no three.js, no DOM) so node tests drive it.
//
// Built from the scene JSON: walkable polygons on the floor (x, z) when the scene has them, minus
// obstacle polygons (shelves, counters), else the scene's bounding box. Accepts the shapes scene data
// tends to come in: [[x, z], ...], [[x, y, z], ...] or [{x, z}, ...].

const EPS = 1e-9;

function toXZ(point) {
  if (Array.isArray(point)) {
    if (point.length === 2) return [Number(point[0]), Number(point[1])];
    if (point.length >= 3) return [Number(point[0]), Number(point[2])];
  } else if (point && typeof point === 'object') {
    return [Number(point.x), Number(point.z)];
  }
  return [NaN, NaN];
}

/** Normalises one polygon; returns null (and never throws) when it is not a usable polygon. */
export function parsePolygon(raw) {
  const points = Array.isArray(raw) ? raw : (raw && Array.isArray(raw.points) ? raw.points : null);
  if (!points || points.length < 3) return null;
  const xz = points.map(toXZ);
  if (xz.some(([x, z]) => !Number.isFinite(x) || !Number.isFinite(z))) return null;
  return xz;
}

/** Even-odd ray casting; points on an edge count as inside so a clamp to the edge stays walkable. */
export function pointInPolygon(x, z, polygon) {
  let inside = false;
  for (let i = 0, j = polygon.length - 1; i < polygon.length; j = i++) {
    const [xi, zi] = polygon[i];
    const [xj, zj] = polygon[j];
    if (onSegment(x, z, xi, zi, xj, zj)) return true;
    if ((zi > z) !== (zj > z) && x < ((xj - xi) * (z - zi)) / (zj - zi) + xi) inside = !inside;
  }
  return inside;
}

function onSegment(x, z, x1, z1, x2, z2) {
  const cross = (x - x1) * (z2 - z1) - (z - z1) * (x2 - x1);
  if (Math.abs(cross) > EPS) return false;
  return x >= Math.min(x1, x2) - EPS && x <= Math.max(x1, x2) + EPS &&
    z >= Math.min(z1, z2) - EPS && z <= Math.max(z1, z2) + EPS;
}

function isPoint(value) {
  return (Array.isArray(value) && typeof value[0] === 'number') ||
    (value !== null && typeof value === 'object' && !Array.isArray(value) && typeof value.x === 'number');
}

function polygonsFrom(value) {
  if (!value) return [];
  const list = Array.isArray(value) ? value : (Array.isArray(value.polygons) ? value.polygons : []);
  if (list.length > 0 && isPoint(list[0])) {  // a single polygon given directly as its points
    const single = parsePolygon(list);
    return single ? [single] : [];
  }
  return list.map(parsePolygon).filter(Boolean);
}

function boxPolygon(min, max) {
  const [x0, z0] = toXZ(min);
  const [x1, z1] = toXZ(max);
  if (![x0, z0, x1, z1].every(Number.isFinite) || x1 <= x0 || z1 <= z0) return null;
  return [[x0, z0], [x1, z0], [x1, z1], [x0, z1]];
}

/** Fixture footprint from scene data: {center: [x, z], size: [w, h, d], rotation_deg}. */
function parseBox(fixture) {
  const c = fixture?.center;
  const size = fixture?.size;
  if (!Array.isArray(c) || !Array.isArray(size) || size.length < 3) return null;
  const [cx, cz] = c.length >= 3 ? [c[0], c[2]] : c;
  const rad = ((Number(fixture.rotation_deg) || 0) * Math.PI) / 180;
  const box = { cx: Number(cx), cz: Number(cz), hw: Number(size[0]) / 2, hd: Number(size[2]) / 2, c: Math.cos(rad), s: Math.sin(rad) };
  return Object.values(box).every(Number.isFinite) ? box : null;
}

/** Interior partition from scene data: {from: [x, z], to: [x, z], thickness}. */
function parseWall(wall) {
  const a = toXZ(wall?.from ?? wall?.start);
  const b = toXZ(wall?.to ?? wall?.end);
  const half = (Number(wall?.thickness) || 0) / 2;
  return [...a, ...b].every(Number.isFinite) ? { a, b, half } : null;
}

function distanceToSegment(x, z, [x1, z1], [x2, z2]) {
  const dx = x2 - x1;
  const dz = z2 - z1;
  const t = Math.max(0, Math.min(1, ((x - x1) * dx + (z - z1) * dz) / Math.max(dx * dx + dz * dz, 1e-12)));
  return Math.hypot(x - (x1 + t * dx), z - (z1 + t * dz));
}

export class WalkableArea {
  /**
   * @param {number[][][]} polygons walkable regions
   * @param {number[][][]} obstacles polygons cut out of them
   * @param {object} options {radius: keep this far (m) from floor edges and fixtures, boxes: fixture footprints}
   */
  constructor(polygons, obstacles = [], { radius = 0, boxes = [], walls = [] } = {}) {
    this.polygons = polygons;
    this.obstacles = obstacles;
    this.radius = radius;
    this.boxes = boxes;
    this.walls = walls; // interior partitions: {a: [x, z], b: [x, z], half: thickness / 2}
  }

  /** From scene JSON; falls back to the bounds, then to a 20 m square so a bare scene is still usable. */
  static fromScene(scene) {
    const s = scene && typeof scene === 'object' ? scene : {};
    const walk = s.walkable ?? s.walkable_area ?? s.navmesh ?? s.floor_polygons ?? s.floor;
    let polygons = polygonsFrom(walk);
    if (polygons.length === 0) {
      const box = boxPolygon(s.bounds_min ?? s.bounds?.min, s.bounds_max ?? s.bounds?.max);
      polygons = box ? [box] : [boxPolygon([-10, 0, -10], [10, 0, 10])];
    }
    const obstacles = polygonsFrom(s.obstacles ?? s.blocked ?? walk?.holes ?? walk?.obstacles);
    // Like the server (server/scenes/model.py): an avatar is a 0.3 m circle that keeps clear of the
    // floor's edges and of fixture footprints, so client and server agree on where one may stand.
    const boxes = Array.isArray(s.fixtures) ? s.fixtures.map(parseBox).filter(Boolean) : [];
    const radius = Number.isFinite(s.avatar_radius) ? s.avatar_radius : (s.floor ? 0.3 : 0);
    const walls = (Array.isArray(s.walls) ? s.walls : []).map(parseWall).filter(Boolean);
    return new WalkableArea(polygons, obstacles, { radius, boxes, walls });
  }

  isWalkable(x, z) {
    if (!Number.isFinite(x) || !Number.isFinite(z)) return false;
    const r = this.radius;
    const inside = this.polygons.some((p) => pointInPolygon(x, z, p) &&
      (r <= 0 || p.every((a, i) => distanceToSegment(x, z, a, p[(i + 1) % p.length]) >= r)));
    if (!inside) return false;
    for (const w of this.walls) {
      if (distanceToSegment(x, z, w.a, w.b) < w.half + r) return false;
    }
    for (const b of this.boxes) {
      const dx = x - b.cx;
      const dz = z - b.cz;
      // Inverse of a +Y rotation, exactly as the server's Fixture.to_local.
      const lx = b.c * dx - b.s * dz;
      const lz = b.s * dx + b.c * dz;
      if (Math.abs(lx) < b.hw + r && Math.abs(lz) < b.hd + r) return false;
    }
    return !this.obstacles.some((p) => strictlyInside(x, z, p));
  }

  /**
   * Where a walker heading from `from` to `to` ends up: the target if walkable, else sliding along
   * the blocking wall (one axis at a time), else staying put. Never returns a non-walkable point
   * unless `from` itself was not walkable (then it lets the walker move back in).
   */
  constrainMove(from, to) {
    const [fx, fz] = from;
    const [tx, tz] = to;
    if (this.isWalkable(tx, tz)) return [tx, tz];
    if (!this.isWalkable(fx, fz)) return [tx, tz];
    if (this.isWalkable(tx, fz)) return [tx, fz];
    if (this.isWalkable(fx, tz)) return [fx, tz];
    return [fx, fz];
  }

  /** Teleport targets must land on walkable floor: no walking through walls by teleport either. */
  canTeleportTo(x, z) {
    return this.isWalkable(x, z);
  }

  /**
   * Where to stand to look at something at (x, z): the closest walkable ring point (0.8-3 m away),
   * preferring the side nearest to `from`. Null when nothing nearby is walkable.
   */
  standPointNear(x, z, from = [x, z]) {
    for (const r of [0.8, 1.1, 1.4, 1.8, 2.3, 3]) {
      let best = null;
      for (let k = 0; k < 32; k += 1) {
        const a = (k / 32) * 2 * Math.PI;
        const px = x + r * Math.cos(a);
        const pz = z + r * Math.sin(a);
        if (!this.isWalkable(px, pz)) continue;
        const d = Math.hypot(px - from[0], pz - from[1]);
        if (!best || d < best.d) best = { p: [px, pz], d };
      }
      if (best) return best.p;
    }
    return null;
  }

  /** Axis-aligned extent of the walkable polygons: [minX, minZ, maxX, maxZ]. */
  extent() {
    let minX = Infinity; let minZ = Infinity; let maxX = -Infinity; let maxZ = -Infinity;
    for (const polygon of this.polygons) {
      for (const [x, z] of polygon) {
        minX = Math.min(minX, x); minZ = Math.min(minZ, z); maxX = Math.max(maxX, x); maxZ = Math.max(maxZ, z);
      }
    }
    return [minX, minZ, maxX, maxZ];
  }
}

function strictlyInside(x, z, polygon) {
  // Obstacle edges are walkable (you can stand against a shelf).
  for (let i = 0, j = polygon.length - 1; i < polygon.length; j = i++) {
    if (onSegment(x, z, polygon[i][0], polygon[i][1], polygon[j][0], polygon[j][1])) return false;
  }
  return pointInPolygon(x, z, polygon);
}
