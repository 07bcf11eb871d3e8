// Remote avatars: a person under every head. A shopper who streams a head and hands gets a body solved
// from them (avatar_body.js: torso under the head, arms reaching the hands by IK, stepping feet), sized
// by the height the shopper sent (profile messages; 1.70 m when unknown); an avatar with a body part
// (mocap) is drawn on its own 22 joints instead. A product the shopper holds (held messages) is drawn in
// their hand. Each avatar is drawn from its own jitter buffers, so motion is smooth and late packets never snap it.
import * as THREE from 'three';
import { BodySolver, DEFAULT_HEIGHT_M, validHeight } from './avatar_body.js';
import {
  BODY_INDEX, BODY_PARENTS, BODY_QUAT_OFFSETS, bodyFK, bodyPoseArray, eyePosition, N_BODY, REST_HEIGHT_M,
} from './net/body_pose.js';
import { JitterBuffer } from './net/jitter_buffer.js';

// Flat pose layout fed to the jitter buffer: head, left, right as (px, py, pz, qx, qy, qz, qw).
export const POSE_LENGTH = 21;
export const POSE_QUATS = [3, 10, 17];
const JOINTS = 25;
// A body fades in or out over this long when it appears or disappears, so the look never snaps.
const BODY_FADE_MS = 250;
// Limb radius (metres, 1.70 m avatar) of the bone that ends at each body joint; the hips have no bone.
const BONE_RADIUS = [
  0.12, 0.11, 0.12, 0.13, 0.05, 0.055,
  0.05, 0.05, 0.042, 0.035,
  0.05, 0.05, 0.042, 0.035,
  0.075, 0.065, 0.05, 0.04,
  0.075, 0.065, 0.05, 0.04,
];
// The head part of a VR avatar looks down -Z (WebXR's view); a body's head joint faces +Z (T-pose).
const FACE_MINUS_Z = new THREE.Quaternion(0, 1, 0, 0);

const PALETTE = [0xe07a5f, 0x3d405b, 0x81b29a, 0xf2cc8f, 0x6d597a, 0x118ab2, 0xef476f, 0x06d6a0];

function colorFor(id) {
  let h = 0;
  for (const ch of String(id)) h = (h * 31 + ch.charCodeAt(0)) >>> 0;
  return PALETTE[h % PALETTE.length];
}

const shared = {
  head: new THREE.SphereGeometry(0.11, 16, 12),
  visor: new THREE.BoxGeometry(0.16, 0.05, 0.06),
  hand: new THREE.BoxGeometry(0.06, 0.025, 0.1),
  joint: new THREE.SphereGeometry(0.008, 6, 4),
  visorMaterial: new THREE.MeshStandardMaterial({ color: 0x111111, roughness: 0.3 }),
  bone: new THREE.CylinderGeometry(1, 1, 1, 10, 1).translate(0, 0.5, 0), // from its base along +Y
  ball: new THREE.SphereGeometry(1, 10, 8),
};
const UP = new THREE.Vector3(0, 1, 0);

/** The segmented mannequin of a body: one capsule-like bone per joint (cylinder + ball), instanced. */
export class Mannequin {
  constructor(color) {
    this.material = new THREE.MeshStandardMaterial({ color, roughness: 0.7, transparent: true, opacity: 0 });
    this.bones = new THREE.InstancedMesh(shared.bone, this.material, N_BODY);
    this.balls = new THREE.InstancedMesh(shared.ball, this.material, N_BODY);
    this.group = new THREE.Group();
    this.group.name = 'body';
    for (const mesh of [this.bones, this.balls]) {
      mesh.frustumCulled = false; // instances move far from the geometry's bounds
      this.group.add(mesh);
    }
    this.group.visible = false;
    this._m = new THREE.Matrix4();
    this._p = new THREE.Vector3();
    this._d = new THREE.Vector3();
    this._q = new THREE.Quaternion();
    this._s = new THREE.Vector3();
  }

  update(fk, scale, opacity) {
    const { positions } = fk;
    for (let k = 0; k < N_BODY; k += 1) {
      const r = BONE_RADIUS[k] * scale;
      this._p.fromArray(positions, 3 * k);
      this.balls.setMatrixAt(k, this._m.compose(this._p, this._q.identity(), this._s.set(r, r, r)));
      const parent = BODY_PARENTS[k];
      if (parent < 0) { // the pelvis: a flat ball instead of a bone
        this.bones.setMatrixAt(k, this._m.makeScale(0, 0, 0));
        this.balls.setMatrixAt(k, this._m.compose(this._p, this._q.fromArray(fk.rotations, 0), this._s.set(0.15 * scale, 0.08 * scale, 0.1 * scale)));
        continue;
      }
      const from = new THREE.Vector3().fromArray(positions, 3 * parent);
      this._d.subVectors(this._p, from);
      const length = this._d.length();
      this._q.setFromUnitVectors(UP, length > 1e-6 ? this._d.divideScalar(length) : UP);
      this.bones.setMatrixAt(k, this._m.compose(from, this._q, this._s.set(r, length, r)));
    }
    this.bones.instanceMatrix.needsUpdate = true;
    this.balls.instanceMatrix.needsUpdate = true;
    this.material.opacity = opacity;
    this.material.depthWrite = opacity > 0.99; // a half-faded body must not hide what is behind it
    this.group.visible = opacity > 0;
  }
}

// A held product is drawn at most this big (m), whatever it is: a sofa in a hand would hide the shopper.
const HELD_MAX_M = 0.45;

class RemoteAvatar {
  constructor(id, name) {
    this.id = id;
    this.root = new THREE.Group();
    this.root.name = `avatar:${id}`;
    const material = new THREE.MeshStandardMaterial({ color: colorFor(id), roughness: 0.6 });
    this.head = new THREE.Mesh(shared.head, material);
    const visor = new THREE.Mesh(shared.visor, shared.visorMaterial);
    visor.position.set(0, 0.01, -0.09);
    this.head.add(visor);
    this.hands = [new THREE.Mesh(shared.hand, material), new THREE.Mesh(shared.hand, material)];
    this.jointMeshes = [null, null];
    this.label = makeLabel(name ?? id);
    this.root.add(this.head, ...this.hands, this.label);
    this.buffer = new JitterBuffer({ quatOffsets: POSE_QUATS });
    this.jointBuffers = [null, null];
    this.jointsActive = [false, false];
    this.lastSeen = 0;
    // Body (mocap): its own buffer on the head buffer's clock, drawn once it has faded in.
    this.color = colorFor(id);
    this.bodyBuffer = null;
    this.bodyActive = false;
    this.bodyWeight = 0; // 0 = head and hands look, 1 = full body; moves over BODY_FADE_MS
    this.bodyFk = null; // world joints of the body as last drawn (tests read them through bodyJoints())
    this.heightM = REST_HEIGHT_M; // from the shopper's profile message or roster entry; 1.70 m when unknown
    this.heightKnown = false;
    this.mannequin = null;
    this.lastRender = null;
    // The body solved from the head and hands (shoppers without a mocap body).
    this.solver = new BodySolver();
    this.figure = new Mannequin(this.color);
    this.figure.group.name = 'figure';
    this.figureFk = null;
    this.root.add(this.figure.group);
    // The product in the shopper's hand: {productId, object, placeholder}.
    this.held = null;
    this.heldRoot = new THREE.Group();
    this.heldRoot.name = 'held';
    this.root.add(this.heldRoot);
  }

  /** The shopper's height in metres (null or out of range: 1.70 m). */
  setHeight(height) {
    const h = validHeight(height);
    this.heightM = h ?? DEFAULT_HEIGHT_M;
    this.heightKnown = h !== null;
  }

  /** What the shopper holds: a product id (drawn from `model`, {object, placeholder}) or null. */
  setHeld(productId, model = null) {
    if (this.held?.productId === productId && !(this.held?.placeholder && model && !model.placeholder)) return;
    this.heldRoot.clear();
    this.held = null;
    if (!productId) return;
    const object = model?.object ?? heldPlaceholder();
    // Shrink it to a hand's size, with its bottom-centre at the hand.
    const box = new THREE.Box3().setFromObject(object);
    const size = box.getSize(new THREE.Vector3());
    const k = Math.min(1, HELD_MAX_M / Math.max(size.x, size.y, size.z, 1e-3));
    object.scale.multiplyScalar(k);
    object.position.set(0, -0.04, 0);
    object.traverse((o) => { o.raycast = () => {}; }); // not something the viewer can pick
    this.heldRoot.add(object);
    this.held = { productId, object, placeholder: model ? Boolean(model.placeholder) : true };
  }

  pushBody(serverTime, localTime, body) {
    const flat = body instanceof Float64Array || Array.isArray(body) ? Float64Array.from(body) : bodyPoseArray(body);
    if (!flat || flat.length !== 3 + 4 * N_BODY || !flat.every(Number.isFinite)) return false;
    if (!this.bodyBuffer) {
      this.bodyBuffer = new JitterBuffer({ quatOffsets: BODY_QUAT_OFFSETS, clock: this.buffer });
      this.mannequin = new Mannequin(this.color);
      this.root.add(this.mannequin.group);
    }
    return this.bodyBuffer.push(serverTime, localTime, flat);
  }

  setName(name) {
    if (!name || name === this.label.userData.text) return;
    this.root.remove(this.label);
    this.label = makeLabel(name);
    this.root.add(this.label);
  }

  pushJoints(side, serverTime, localTime, joints) {
    if (!joints || joints.length !== JOINTS * 7) return;
    if (!this.jointBuffers[side]) {
      this.jointBuffers[side] = new JitterBuffer({ quatOffsets: Array.from({ length: JOINTS }, (_, j) => j * 7 + 3) });
      const mesh = new THREE.InstancedMesh(shared.joint, this.hands[side].material, JOINTS);
      mesh.frustumCulled = false;
      this.jointMeshes[side] = mesh;
      this.root.add(mesh);
    }
    this.jointBuffers[side].push(serverTime, localTime, joints);
  }

  render(now, camera) {
    const pose = this.buffer.sample(now);
    if (!pose) return false;
    setPart(this.head, pose, 0);
    setPart(this.hands[0], pose, 7);
    setPart(this.hands[1], pose, 14);
    // A hand at the origin means "not tracked" in the pose upload: hide it instead of drawing it at the feet.
    this.hands.forEach((h, i) => { h.visible = !(pose[7 * (i + 1)] === 0 && pose[7 * (i + 1) + 1] === 0 && pose[7 * (i + 1) + 2] === 0); });
    this._renderBody(now);
    this._renderFigure(now, pose);
    const s = this.heightM / REST_HEIGHT_M;
    this.head.scale.setScalar(s);
    this.label.position.set(this.head.position.x, this.head.position.y + 0.2 + 0.08 * s, this.head.position.z);
    if (camera) this.label.quaternion.copy(camera.getWorldQuaternion(new THREE.Quaternion()));
    const m = new THREE.Matrix4();
    for (let side = 0; side < 2; side += 1) {
      const buffer = this.jointBuffers[side];
      if (this.jointMeshes[side]) this.jointMeshes[side].visible = this.jointsActive[side];
      const joints = this.jointsActive[side] ? buffer?.sample(now) : null;
      if (!joints) continue;
      for (let j = 0; j < JOINTS; j += 1) {
        m.compose(new THREE.Vector3(joints[j * 7], joints[j * 7 + 1], joints[j * 7 + 2]),
          new THREE.Quaternion(joints[j * 7 + 3], joints[j * 7 + 4], joints[j * 7 + 5], joints[j * 7 + 6]), new THREE.Vector3(1, 1, 1));
        this.jointMeshes[side].setMatrixAt(j, m);
      }
      this.jointMeshes[side].instanceMatrix.needsUpdate = true;
      this.hands[side].visible = false; // the joints show the hand
    }
    return true;
  }

  _renderBody(now) {
    const dt = this.lastRender === null ? 0 : Math.max(0, now - this.lastRender);
    this.lastRender = now;
    const goal = this.bodyActive ? 1 : 0;
    const step = dt / BODY_FADE_MS;
    this.bodyWeight = goal > this.bodyWeight ? Math.min(goal, this.bodyWeight + step) : Math.max(goal, this.bodyWeight - step);
    const body = this.bodyBuffer && this.bodyWeight > 0 ? this.bodyBuffer.sample(now) : null;
    if (!body) {
      if (this.mannequin) this.mannequin.group.visible = false;
      return;
    }
    const fk = bodyFK(body, this.heightM, this.bodyFk ?? undefined);
    this.bodyFk = fk;
    const w = this.bodyWeight;
    this.mannequin.update(fk, this.heightM / REST_HEIGHT_M, smooth(w));
    // The head follows the body's head joint, blended from the head part while the body fades in or out
    // (the server derives that head part from the same joint, so the two agree up to quantization).
    const eye = eyePosition(fk, this.heightM);
    const h = BODY_INDEX.head;
    const headRot = new THREE.Quaternion().fromArray(fk.rotations, 4 * h).multiply(FACE_MINUS_Z);
    const k = smooth(w);
    this.head.position.lerp(new THREE.Vector3(...eye), k);
    this.head.quaternion.slerp(headRot, k);
    // The body's own hands replace the controller boxes.
    if (w >= 1) this.hands.forEach((hand) => { hand.visible = false; });
  }

  /** The body under a head-and-hands avatar; it fades out while a mocap body fades in. */
  _renderFigure(now, pose) {
    const k = 1 - smooth(this.bodyWeight);
    if (k <= 0) {
      this.figure.group.visible = false;
      this.figureFk = null;
    } else {
      const hands = [0, 1].map((i) => (this.hands[i].visible ? pose.slice(7 * (i + 1), 7 * (i + 1) + 3) : null));
      // Tracked hand joints: the arm reaches the wrist.
      for (let side = 0; side < 2; side += 1) {
        if (!this.jointsActive[side]) continue;
        const joints = this.jointBuffers[side]?.sample(now);
        if (joints) hands[side] = [joints[0], joints[1], joints[2]];
      }
      const fk = this.solver.update(now, { head: Array.from(pose.slice(0, 7)), hands, height: this.heightM,
        holding: Boolean(this.held) });
      this.figureFk = fk;
      this.figure.update(fk, this.heightM / REST_HEIGHT_M, k);
    }
    // The held product: in the tracked right (else left) hand, else the body's right hand.
    this.heldRoot.visible = Boolean(this.held);
    if (!this.held) return;
    const side = this.hands[1].visible || this.jointsActive[1] ? 1 : (this.hands[0].visible || this.jointsActive[0] ? 0 : 1);
    const fk = this.figureFk ?? this.bodyFk;
    const j = side === 1 ? 13 : 9;
    if (fk) this.heldRoot.position.fromArray(fk.positions, 3 * j);
    else this.heldRoot.position.copy(this.hands[side].position);
    if (fk) this.heldRoot.quaternion.fromArray(fk.rotations, 0);
  }

  /** What the viewer sees of this avatar, for tests: the kind of body, its joints, height and held product. */
  figureState() {
    const fk = this.bodyWeight >= 1 ? this.bodyFk : this.figureFk;
    return {
      kind: this.bodyWeight >= 1 ? 'mocap' : (this.figureFk ? 'solved' : 'head'),
      visible: this.bodyWeight >= 1 ? Boolean(this.mannequin?.group.visible) : this.figure.group.visible,
      height: this.heightM,
      heightKnown: this.heightKnown,
      head: this.head.position.toArray(),
      joints: fk ? Array.from({ length: N_BODY }, (_, k) => Array.from(fk.positions.subarray(3 * k, 3 * k + 3))) : null,
      steps: this.solver.steps,
      held: this.held ? { product: this.held.productId, placeholder: this.held.placeholder,
        at: this.heldRoot.getWorldPosition(new THREE.Vector3()).toArray() } : null,
    };
  }

  /** World positions of the 22 body joints as last drawn, or null without a visible body. */
  bodyJoints() {
    if (!this.bodyFk || this.bodyWeight <= 0) return null;
    return Array.from({ length: N_BODY }, (_, j) => Array.from(this.bodyFk.positions.subarray(3 * j, 3 * j + 3)));
  }
}

function heldPlaceholder() {
  const box = new THREE.Mesh(new THREE.BoxGeometry(0.2, 0.2, 0.2), new THREE.MeshStandardMaterial({ color: 0xb9a27a, roughness: 0.8 }));
  box.position.y = 0.1;
  const group = new THREE.Group();
  group.add(box);
  return group;
}

function smooth(k) {
  return k * k * (3 - 2 * k);
}

function setPart(object, pose, o) {
  object.position.set(pose[o], pose[o + 1], pose[o + 2]);
  object.quaternion.set(pose[o + 3], pose[o + 4], pose[o + 5], pose[o + 6]);
}

export function makeLabel(text) {
  const canvas = document.createElement('canvas');
  canvas.width = 256;
  canvas.height = 64;
  const ctx = canvas.getContext('2d');
  ctx.fillStyle = 'rgba(20, 24, 32, 0.75)';
  ctx.beginPath();
  ctx.roundRect(0, 0, 256, 64, 28);
  ctx.fill();
  ctx.fillStyle = '#fff';
  ctx.font = 'bold 34px system-ui, sans-serif';
  ctx.textAlign = 'center';
  ctx.textBaseline = 'middle';
  ctx.fillText(String(text).slice(0, 18), 128, 33, 240);
  const texture = new THREE.CanvasTexture(canvas);
  texture.colorSpace = THREE.SRGBColorSpace;
  const label = new THREE.Mesh(new THREE.PlaneGeometry(0.4, 0.1),
    new THREE.MeshBasicMaterial({ map: texture, transparent: true, depthWrite: false }));
  label.userData.text = text;
  label.name = 'name-label';
  return label;
}

export class RemoteAvatars {
  /**
   * @param {THREE.Scene} scene
   * @param {object} options {productModel(productId) -> {object (a copy to draw), placeholder: bool} or null}
   */
  constructor(scene, { productModel = null } = {}) {
    this.scene = scene;
    this.avatars = new Map();
    this.productModel = productModel;
    this.profiles = new Map(); // avatar id -> {height, held}: known before (or after) the avatar's first pose
  }

  /**
   * Compiles the body's shader (instanced, standard material) while the store loads. Compiled on the first
   * avatar instead, it stalls the page for seconds on a CPU renderer, long enough for the server to drop the
   * connection as lagging (close 4008) and the page to reconnect.
   */
  warmUp(renderer, camera) {
    const probe = new Mannequin(0x888888);
    const fk = { positions: new Float64Array(3 * N_BODY), rotations: new Float64Array(4 * N_BODY) };
    for (let k = 0; k < N_BODY; k += 1) fk.rotations[4 * k + 3] = 1;
    probe.update(fk, 1, 1);
    this.scene.add(probe.group);
    try {
      renderer.compile(this.scene, camera);
    } finally {
      probe.group.removeFromParent();
      probe.bones.dispose();
      probe.balls.dispose();
    }
  }

  /** A shopper's height (profile message or roster entry); null: unknown, drawn at 1.70 m. */
  setHeight(id, height) {
    this.profiles.set(id, { ...this.profiles.get(id), height });
    this.avatars.get(id)?.setHeight(height);
  }

  /** The product a shopper holds (held message), or null when they put it down. */
  setHeld(id, productId) {
    const held = typeof productId === 'string' && productId ? productId : null;
    this.profiles.set(id, { ...this.profiles.get(id), held });
    const avatar = this.avatars.get(id);
    if (avatar) avatar.setHeld(held, held ? this.productModel?.(held) : null);
  }

  /**
   * A pose for avatar `id`, stamped with server time (ms), received at local time (ms). `body` is the
   * decoded body part ({p, rotations}, as `dequantizeAvatar` gives it) or a flat body pose; a pose without
   * one fades the body out again.
   */
  push(id, serverTimeMs, localTimeMs, pose, { name, leftJoints, rightJoints, body } = {}) {
    let avatar = this.avatars.get(id);
    if (!avatar) {
      avatar = new RemoteAvatar(id, name);
      this.avatars.set(id, avatar);
      this.scene.add(avatar.root);
      const profile = this.profiles.get(id);
      if (profile) {
        avatar.setHeight(profile.height);
        if (profile.held) avatar.setHeld(profile.held, this.productModel?.(profile.held));
      }
    } else if (name) {
      avatar.setName(name);
    }
    avatar.buffer.push(serverTimeMs, localTimeMs, pose);
    avatar.bodyActive = Boolean(body) && (avatar.pushBody(serverTimeMs, localTimeMs, body) || avatar.bodyActive);
    [leftJoints, rightJoints].forEach((joints, side) => {
      // Tracked hand: draw its joints; controller or nothing: the joint spheres go away.
      avatar.jointsActive[side] = Boolean(joints);
      if (joints) avatar.pushJoints(side, serverTimeMs, localTimeMs, joints);
    });
    avatar.lastSeen = localTimeMs;
  }

  remove(id) {
    this.profiles.delete(id);
    const avatar = this.avatars.get(id);
    if (!avatar) return;
    avatar.root.removeFromParent();
    this.avatars.delete(id);
  }

  /** New connection (reconnect, new server clock): keep avatars where they are, re-sync their clocks. */
  resetClocks() {
    for (const avatar of this.avatars.values()) {
      avatar.buffer.reset();
      avatar.jointBuffers.forEach((b) => b?.reset());
      avatar.bodyBuffer?.reset();
    }
  }

  render(now, camera) {
    for (const avatar of this.avatars.values()) {
      // A held product drawn as a box until its model has loaded here.
      if (avatar.held?.placeholder && this.productModel) {
        const model = this.productModel(avatar.held.productId);
        if (model && !model.placeholder) avatar.setHeld(avatar.held.productId, model);
      }
      avatar.render(now, camera);
    }
  }

  /** What is drawn for avatar `id` (RemoteAvatar.figureState), or null. */
  figure(id) {
    return this.avatars.get(id)?.figureState() ?? null;
  }

  /** Head world positions by avatar id (for tests and the simplified view). */
  heads() {
    return Object.fromEntries([...this.avatars].map(([id, a]) => [id, a.head.position.toArray()]));
  }

  /** World positions of avatar `id`'s 22 body joints as drawn (null: no body), for tests. */
  bodyJoints(id) {
    return this.avatars.get(id)?.bodyJoints() ?? null;
  }
}
