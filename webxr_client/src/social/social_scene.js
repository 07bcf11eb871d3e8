// What shopping together draws in the store: a beam from a member's hand to the product they point at (and
// that product outlined in their colour), emoji reactions over the sender's head, and marks drawn in the air
// (strokes) that fade out after their ttl. Everything follows the avatars as they move.
import * as THREE from 'three';
import { strokeOpacity } from './social_state.js';

const REACTION_S = 3;
const BEAM_RADIUS = 0.007;
const PALETTE = [0xf0b429, 0x4fd1c5, 0xf56565, 0x9f7aea, 0x68d391, 0xed64a6];
const _a = new THREE.Vector3();
const _b = new THREE.Vector3();
const _up = new THREE.Vector3(0, 1, 0);

/** A member's colour: the same on every page (from the member id). */
export function memberColor(member) {
  let h = 0;
  for (const c of String(member)) h = (h * 31 + c.charCodeAt(0)) >>> 0;
  return PALETTE[h % PALETTE.length];
}

function emojiTexture(emoji) {
  const canvas = document.createElement('canvas');
  canvas.width = 128;
  canvas.height = 128;
  const ctx = canvas.getContext('2d');
  ctx.font = '96px "Noto Color Emoji", "Apple Color Emoji", "Segoe UI Emoji", sans-serif';
  ctx.textAlign = 'center';
  ctx.textBaseline = 'middle';
  ctx.fillText(emoji, 64, 70);
  const texture = new THREE.CanvasTexture(canvas);
  texture.colorSpace = THREE.SRGBColorSpace;
  return texture;
}

export class SocialScene {
  /**
   * @param {object} o {scene, avatars (RemoteAvatars), products (ProductManager), camera, ownHand() -> Vector3
   *   (where our own beam starts)}
   */
  constructor({ scene, avatars, products, camera, ownHand }) {
    Object.assign(this, { scene, avatars, products, camera, ownHand });
    this.root = new THREE.Group();
    this.root.name = 'social';
    scene.add(this.root);
    this.beams = new Map(); // member -> {avatarId, productId, mesh, box, own}
    this.reactions = []; // {avatarId, emoji, sprite, born, own}
    this.strokes = new Map(); // id -> {mesh, born, ttl, points, color, member}
    this.beamGeometry = new THREE.CylinderGeometry(BEAM_RADIUS, BEAM_RADIUS, 1, 8, 1, true);
    this.beamGeometry.translate(0, 0.5, 0); // from its base, so scale.y is its length
  }

  /** `member` (seated as `avatarId`; `own`: this page) points at `productId` (null: stops pointing). */
  setPointer(member, { avatarId = null, productId = null, own = false } = {}) {
    const old = this.beams.get(member);
    if (!productId || !this.products.items.has(productId)) {
      if (old) this.dropBeam(member);
      return;
    }
    if (old && old.productId === productId) {
      old.avatarId = avatarId;
      return;
    }
    if (old) this.dropBeam(member);
    const color = memberColor(member);
    const mesh = new THREE.Mesh(this.beamGeometry, new THREE.MeshBasicMaterial({ color, transparent: true, opacity: 0.85 }));
    mesh.name = `beam:${member}`;
    mesh.raycast = () => {};
    const box = new THREE.Box3Helper(new THREE.Box3(), color);
    box.name = `highlight:${member}`;
    box.raycast = () => {};
    this.root.add(mesh, box);
    this.beams.set(member, { avatarId, productId, mesh, box, own });
    this.update(performance.now());
  }

  dropBeam(member) {
    const beam = this.beams.get(member);
    if (!beam) return;
    beam.mesh.removeFromParent();
    beam.mesh.material.dispose();
    beam.box.removeFromParent();
    beam.box.dispose?.();
    this.beams.delete(member);
  }

  /** Where a member's beam starts: the right hand when it is drawn, else in front of the chest. */
  handOf(avatarId, out) {
    const avatar = this.avatars.avatars.get(avatarId);
    if (!avatar) return null;
    for (const hand of [avatar.hands[1], avatar.hands[0]]) {
      if (hand.visible && hand.position.lengthSq() > 0.01) return hand.getWorldPosition(out);
    }
    avatar.head.getWorldPosition(out);
    const forward = new THREE.Vector3(0, 0, -1).applyQuaternion(avatar.head.getWorldQuaternion(new THREE.Quaternion()));
    forward.y = 0;
    if (forward.lengthSq() > 1e-6) out.addScaledVector(forward.normalize(), 0.25);
    out.y -= 0.45;
    return out;
  }

  /** An emoji over the sender's head (`avatarId`; null with `own`: over the centre of our own view). */
  react(avatarId, emoji, { own = false } = {}) {
    const sprite = new THREE.Sprite(new THREE.SpriteMaterial({ map: emojiTexture(emoji), transparent: true,
      depthTest: false }));
    sprite.renderOrder = 11;
    sprite.scale.set(0.32, 0.32, 1);
    sprite.name = `reaction:${emoji}`;
    this.root.add(sprite);
    this.reactions.push({ avatarId, emoji, sprite, born: performance.now(), own });
    if (this.reactions.length > 12) this.dropReaction(this.reactions[0]);
    this.update(performance.now());
  }

  dropReaction(r) {
    r.sprite.removeFromParent();
    r.sprite.material.map?.dispose();
    r.sprite.material.dispose();
    this.reactions.splice(this.reactions.indexOf(r), 1);
  }

  /** A `stroke` {id, member, points, color, ttl_s}: a tube through its points that fades out. */
  addStroke({ id, member = null, points, color = '#f0b429', ttl_s: ttl = 8 }) {
    const pts = (points ?? []).filter((p) => Array.isArray(p) && p.length === 3 && p.every(Number.isFinite))
      .map((p) => new THREE.Vector3(...p));
    if (pts.length < 2) return null;
    const key = id ?? `local-${performance.now()}-${Math.random()}`;
    if (this.strokes.has(key)) return null;
    const curve = new THREE.CatmullRomCurve3(pts);
    const geometry = new THREE.TubeGeometry(curve, Math.min(256, pts.length * 3), 0.006, 6, false);
    const mesh = new THREE.Mesh(geometry, new THREE.MeshBasicMaterial({ color: new THREE.Color(color), transparent: true }));
    mesh.name = `stroke:${key}`;
    mesh.raycast = () => {};
    this.root.add(mesh);
    this.strokes.set(key, { mesh, born: performance.now(), ttl: Number(ttl) > 0 ? Number(ttl) : 8, points: pts.length,
      color, member });
    return key;
  }

  /** A member left (or we left the group): their beam goes. */
  forget(member) {
    this.dropBeam(member);
  }

  clear() {
    for (const member of [...this.beams.keys()]) this.dropBeam(member);
    for (const r of [...this.reactions]) this.dropReaction(r);
    for (const [key, s] of this.strokes) {
      s.mesh.removeFromParent();
      s.mesh.geometry.dispose();
      this.strokes.delete(key);
    }
  }

  /** Every frame: beams follow hands and products, reactions follow heads and fade, strokes fade. */
  update(now) {
    for (const [member, beam] of this.beams) {
      const item = this.products.items.get(beam.productId);
      const from = beam.own ? this.ownHand?.(_a) : this.handOf(beam.avatarId, _a);
      if (!item || !from) {
        beam.mesh.visible = false;
        beam.box.visible = false;
        if (!item) this.dropBeam(member);
        continue;
      }
      beam.box.box.setFromObject(item.object).expandByScalar(0.03);
      beam.box.box.getCenter(_b);
      const length = _b.distanceTo(from);
      beam.mesh.position.copy(from);
      beam.mesh.quaternion.setFromUnitVectors(_up, _b.clone().sub(from).normalize());
      beam.mesh.scale.set(1, Math.max(0.01, length), 1);
      beam.mesh.visible = length > 0.05;
      beam.box.visible = true;
    }
    for (const r of [...this.reactions]) {
      const age = (now - r.born) / 1000;
      if (age > REACTION_S) {
        this.dropReaction(r);
        continue;
      }
      if (r.own || r.avatarId === null) {
        const eye = this.camera.getWorldPosition(_a);
        const dir = this.camera.getWorldDirection(_b);
        r.sprite.position.copy(eye).addScaledVector(dir, 1.2);
        r.sprite.position.y += 0.25 + age * 0.08;
      } else {
        const avatar = this.avatars.avatars.get(r.avatarId);
        if (!avatar) { this.dropReaction(r); continue; }
        avatar.head.getWorldPosition(r.sprite.position);
        r.sprite.position.y += 0.35 + age * 0.08;
      }
      r.sprite.material.opacity = age < REACTION_S - 0.6 ? 1 : (REACTION_S - age) / 0.6;
    }
    for (const [key, s] of this.strokes) {
      const opacity = strokeOpacity((now - s.born) / 1000, s.ttl);
      if (opacity <= 0) {
        s.mesh.removeFromParent();
        s.mesh.geometry.dispose();
        s.mesh.material.dispose();
        this.strokes.delete(key);
        continue;
      }
      s.mesh.material.opacity = opacity;
    }
  }

  /** What is drawn, for tests: beams (from, to, product), highlights, reactions, strokes. */
  state() {
    const v = (o) => o.getWorldPosition(new THREE.Vector3()).toArray().map((x) => Math.round(x * 1000) / 1000);
    return {
      beams: [...this.beams].map(([member, b]) => {
        const top = new THREE.Vector3(0, 1, 0).applyMatrix4(b.mesh.matrixWorld);
        return { member, product: b.productId, avatar: b.avatarId, own: b.own, visible: b.mesh.visible,
          from: v(b.mesh), to: top.toArray().map((x) => Math.round(x * 1000) / 1000),
          highlight: b.box.visible ? b.box.box.getCenter(new THREE.Vector3()).toArray() : null };
      }),
      reactions: this.reactions.map((r) => ({ avatar: r.avatarId, emoji: r.emoji, own: r.own, at: v(r.sprite) })),
      strokes: [...this.strokes].map(([id, s]) => ({ id, member: s.member, points: s.points, color: s.color,
        opacity: Math.round(s.mesh.material.opacity * 100) / 100 })),
    };
  }
}
