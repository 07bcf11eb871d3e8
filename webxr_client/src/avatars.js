// Remote avatars: head, two hands (and 25 hand joints when present), a name over the head. Each
// avatar is drawn from its own jitter buffer, so motion is smooth and late packets never snap it.
import * as THREE from 'three';
import { JitterBuffer } from './net/jitter_buffer.js';

// Flat pose layout fed to the jitter buffer: head, left, right as (px, py, pz, qx, qy, qz, qw).
export const POSE_LENGTH = 21;
export const POSE_QUATS = [3, 10, 17];
const JOINTS = 25;

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
};

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
    this.label.position.set(pose[0], pose[1] + 0.28, pose[2]);
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
}

function setPart(object, pose, o) {
  object.position.set(pose[o], pose[o + 1], pose[o + 2]);
  object.quaternion.set(pose[o + 3], pose[o + 4], pose[o + 5], pose[o + 6]);
}

function makeLabel(text) {
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
  constructor(scene) {
    this.scene = scene;
    this.avatars = new Map();
  }

  /** A pose for avatar `id`, stamped with server time (ms), received at local time (ms). */
  push(id, serverTimeMs, localTimeMs, pose, { name, leftJoints, rightJoints } = {}) {
    let avatar = this.avatars.get(id);
    if (!avatar) {
      avatar = new RemoteAvatar(id, name);
      this.avatars.set(id, avatar);
      this.scene.add(avatar.root);
    } else if (name) {
      avatar.setName(name);
    }
    avatar.buffer.push(serverTimeMs, localTimeMs, pose);
    [leftJoints, rightJoints].forEach((joints, side) => {
      // Tracked hand: draw its joints; controller or nothing: the joint spheres go away.
      avatar.jointsActive[side] = Boolean(joints);
      if (joints) avatar.pushJoints(side, serverTimeMs, localTimeMs, joints);
    });
    avatar.lastSeen = localTimeMs;
  }

  remove(id) {
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
    }
  }

  render(now, camera) {
    for (const avatar of this.avatars.values()) avatar.render(now, camera);
  }

  /** Head world positions by avatar id (for tests and the simplified view). */
  heads() {
    return Object.fromEntries([...this.avatars].map(([id, a]) => [id, a.head.position.toArray()]));
  }
}
