// A promotions panel (the Hunt, "Invite & earn"): on a screen an HTML overlay at the left below the top bar
// (words wrap, links can be selected and copied), in a headset an in-scene panel in front of the eye with the
// same items. Plus the toast (a short line at the top of the screen, or a small panel in view in a headset).
import * as THREE from 'three';
import { Panel } from '../ui/panel.js';
import { itemNodes } from './promo_html.js';
import { fitBelowTopBar, placeInFront } from '../ui/overlay_place.js';

const XR_WIDTH = 0.6;

export class PromoPanel {
  /**
   * @param {object} o {id: DOM and panel id, label: dialog name, items: () => items, onPress(id),
   *   panels, camera, immersive: () => bool}
   */
  constructor({ id, label, items, onPress, panels, camera, immersive }) {
    Object.assign(this, { id, items, onPress, panels, camera, immersive });
    this.open = false;
    this.root = Object.assign(document.createElement('aside'), { id, hidden: true, className: 'promo-panel' });
    this.root.setAttribute('role', 'dialog');
    this.root.setAttribute('aria-label', label);
    document.body.append(this.root);
    this.root.addEventListener('click', (e) => {
      const b = e.target.closest('button[data-id]');
      if (b && !b.disabled) this.press(b.dataset.id);
    });
    for (const type of ['pointerdown', 'wheel', 'dblclick', 'keydown']) this.root.addEventListener(type, (e) => e.stopPropagation());
    window.addEventListener('resize', () => this.fit());
  }

  press(id) {
    if (id === 'close') return this.hide();
    return this.onPress(id);
  }

  show() {
    this.open = true;
    this.placed = false;
    this.render();
  }

  hide() {
    this.open = false;
    this.root.hidden = true;
    this.panels?.remove(this.id);
  }

  render() {
    if (!this.open) return;
    const items = this.items();
    if (this.immersive() && this.panels) {
      this.root.hidden = true;
      let panel = this.panels.get(this.id);
      if (!panel) {
        panel = this.panels.add(new Panel({ id: this.id, width: XR_WIDTH, items, onTop: true, onPress: (w) => this.press(w) }));
      } else {
        panel.setItems(items);
      }
      if (!this.placed) this.place(panel);
      this.placed = true;
      return;
    }
    this.panels?.remove(this.id);
    this.placed = false;
    this.root.replaceChildren(...itemNodes(items));
    this.root.hidden = false;
    this.fit();
  }

  fit() {
    fitBelowTopBar(this.root);
  }

  /** In a headset: in front of the eye, a little to the right (the bag opens to the left). */
  place(panel) {
    if (this.camera) placeInFront(panel, this.camera, 0.12);
  }
}

/** A line that says what just happened: HTML at the top of a screen, a small in-scene panel in a headset. */
export class Toast {
  constructor({ panels, camera, immersive }) {
    Object.assign(this, { panels, camera, immersive });
    this.el = Object.assign(document.createElement('div'), { id: 'promo-toast', hidden: true, role: 'status' });
    this.el.setAttribute('aria-live', 'polite');
    document.body.append(this.el);
    this.shown = []; // every toast, for tests
  }

  show(text, ms = 5000) {
    this.shown.push(text);
    clearTimeout(this.timer);
    if (this.immersive() && this.panels) {
      this.el.hidden = true;
      this.panels.remove('promo-toast');
      const panel = this.panels.add(new Panel({ id: 'promo-toast', width: 0.45, onTop: true, onPress: () => {},
        items: [{ id: 'toast', kind: 'text', label: text }] }));
      const eye = this.camera.getWorldPosition(new THREE.Vector3());
      const forward = this.camera.getWorldDirection(new THREE.Vector3());
      panel.mesh.position.copy(eye).addScaledVector(forward, 0.9);
      panel.mesh.position.y += 0.18;
      panel.mesh.lookAt(eye);
    } else {
      this.el.textContent = text;
      this.el.hidden = false;
    }
    this.timer = setTimeout(() => this.hide(), ms);
  }

  hide() {
    this.el.hidden = true;
    this.panels?.remove('promo-toast');
  }
}

/** A burst of golden sparks where something was found; it fades by itself (no frame-loop hook needed). */
export function sparkle(scene, position, { count = 70, seconds = 1.6 } = {}) {
  const geometry = new THREE.BufferGeometry();
  const start = new Float32Array(count * 3);
  const velocity = new Float32Array(count * 3);
  for (let i = 0; i < count; i += 1) {
    const a = Math.random() * Math.PI * 2;
    const up = 0.6 + Math.random() * 1.4;
    const out = 0.3 + Math.random() * 0.7;
    velocity.set([Math.cos(a) * out, up, Math.sin(a) * out], i * 3);
  }
  geometry.setAttribute('position', new THREE.BufferAttribute(start, 3));
  const material = new THREE.PointsMaterial({ color: 0xffd35a, size: 0.05, transparent: true, depthWrite: false,
    blending: THREE.AdditiveBlending });
  const points = new THREE.Points(geometry, material);
  points.name = 'hunt-sparkle';
  points.position.copy(position);
  points.frustumCulled = false;
  points.raycast = () => {};
  const born = performance.now();
  points.onBeforeRender = () => {
    const t = (performance.now() - born) / 1000;
    if (t > seconds) {
      scene.remove(points);
      geometry.dispose();
      material.dispose();
      return;
    }
    const pos = geometry.attributes.position.array;
    for (let i = 0; i < count * 3; i += 3) {
      pos[i] = velocity[i] * t;
      pos[i + 1] = velocity[i + 1] * t - 0.9 * t * t;
      pos[i + 2] = velocity[i + 2] * t;
    }
    geometry.attributes.position.needsUpdate = true;
    material.opacity = 1 - t / seconds;
  };
  scene.add(points);
  return points;
}
