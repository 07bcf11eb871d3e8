// The try-on mannequin: a simple parametric body built from the shopper's estimated measurements (cm),
// standing in front of them like a mirror. Only ever drawn locally: body data never leaves this page
// except to the sizing API over HTTP.
import * as THREE from 'three';

// Heights as fractions of stature (adult averages, e.g. Drillis & Contini's segment proportions).
const NECK_BASE = 0.818;
const SHOULDER = 0.8;
const CHEST = 0.72;
const WAIST = 0.6; // at the navel, where ANSUR II (and our charts) measure the waist
const HIPS = 0.5;
const HEAD_RADIUS = 0.058;

/** Half-width (m) of an ellipse of circumference `girthCm` whose depth is `k` times its width (C ~ pi(a+b)). */
export function halfWidth(girthCm, k) {
  return girthCm / 100 / (Math.PI * (1 + k));
}

/**
 * Pure: body landmarks in metres from estimated measurements {stature, chest, waist, hips, shoulder, neck,
 * inseam, thigh, sleeve} (cm). Missing girths fall back to typical proportions of the stature.
 */
export function mannequinDims(m) {
  const H = (Number.isFinite(m.stature) ? m.stature : 170) / 100;
  const cm = (name, fraction) => (Number.isFinite(m[name]) ? m[name] : fraction * H * 100);
  const crotch = Math.min(cm('inseam', 0.47) / 100, HIPS * H - 0.02);
  return {
    height: H,
    crotch,
    neckBase: NECK_BASE * H,
    shoulderY: SHOULDER * H,
    chestY: CHEST * H,
    waistY: WAIST * H,
    hipsY: Math.max(HIPS * H, crotch + 0.04),
    chestHalf: halfWidth(cm('chest', 0.57), 0.7),
    waistHalf: halfWidth(cm('waist', 0.48), 0.75),
    hipsHalf: halfWidth(cm('hips', 0.56), 0.75),
    shoulderHalf: cm('shoulder', 0.23) / 200,
    neckRadius: cm('neck', 0.22) / 100 / (2 * Math.PI),
    thighRadius: cm('thigh', 0.34) / 100 / (2 * Math.PI),
    armLength: Math.max(0.4, cm('sleeve', 0.5) / 100 - cm('shoulder', 0.23) / 200),
    headRadius: HEAD_RADIUS * H,
  };
}

/** A mannequin group (feet at its origin, facing +Z). */
export function buildMannequin(measurements) {
  const d = mannequinDims(measurements);
  const material = new THREE.MeshStandardMaterial({ color: 0xd9d4cc, roughness: 0.9 });
  const group = new THREE.Group();
  group.name = 'tryon:mannequin';
  const torsoProfile = [
    [d.hipsHalf * 0.85, d.crotch], [d.hipsHalf, d.hipsY], [d.waistHalf, d.waistY], [d.chestHalf, d.chestY],
    [Math.max(d.chestHalf * 0.9, d.shoulderHalf * 0.85), d.shoulderY], [d.neckRadius * 1.6, d.neckBase],
    [d.neckRadius, d.neckBase + 0.02], [d.neckRadius, d.neckBase + 0.08],
  ].map(([r, y]) => new THREE.Vector2(r, y));
  const torso = new THREE.Mesh(new THREE.LatheGeometry(torsoProfile, 28).scale(1, 1, 0.72), material);
  torso.name = 'torso';
  group.add(torso);
  const head = new THREE.Mesh(new THREE.SphereGeometry(d.headRadius, 20, 14), material);
  head.scale.set(0.85, 1.1, 0.95);
  head.position.y = d.height - d.headRadius * 1.1;
  group.add(head);
  for (const side of [-1, 1]) {
    const leg = limb(new THREE.Vector3(side * d.hipsHalf * 0.45, d.crotch + 0.03, 0),
      new THREE.Vector3(side * d.hipsHalf * 0.4, 0.02, 0), d.thighRadius, 0.045, material);
    leg.name = side < 0 ? 'leg-left' : 'leg-right';
    group.add(leg);
    // Arms hang at 35 degrees from the body, like the sleeves of the product models.
    const start = new THREE.Vector3(side * d.shoulderHalf * 0.92, d.shoulderY - 0.02, 0);
    const end = start.clone().add(new THREE.Vector3(side * Math.sin(0.61), -Math.cos(0.61), 0).multiplyScalar(d.armLength));
    const arm = limb(start, end, 0.045, 0.03, material);
    arm.name = side < 0 ? 'arm-left' : 'arm-right';
    group.add(arm);
  }
  group.userData.dims = d;
  return group;
}

function limb(from, to, r0, r1, material) {
  const length = from.distanceTo(to);
  const mesh = new THREE.Mesh(new THREE.CylinderGeometry(r0, r1, length, 14), material);
  mesh.position.copy(from).add(to).multiplyScalar(0.5);
  mesh.quaternion.setFromUnitVectors(new THREE.Vector3(0, 1, 0), from.clone().sub(to).normalize());
  return mesh;
}
