// In-scene UI panels: a canvas drawn onto a plane. Point at them with a controller ray (or Vision Pro's
// gaze-and-pinch), poke them with an index fingertip, or click them on desktop. Later features (try-on,
// cart, invites, chat, checkout) add their own panels through PanelSystem.add().
import * as THREE from 'three';
import { buttonRows, wrapToWidth } from '../tryon/panel_text.js';
import { stackLayout, uvToPixels, widgetAt, PokeDetector } from './layout.js';

const PX_PER_M = 800;
const LINE_PX = 34; // one wrapped line of text (26 px font), before the simplified mode's scale
const PAD_PX = 16;
const COLORS = { bg: '#1d2330ee', text: '#f4f1ea', muted: '#b9c0cc', button: '#3a6ea5', hover: '#5b93cf',
  disabled: '#555b66', accent: '#f0b429' };

export class Panel {
  /**
   * @param {object} spec {id, width (m), items: [{id, kind, label, row?, disabled?}], onPress(widgetId, panel),
   *   onTop (drawn over everything: a card that products and shelves must never hide), pxPerM (text density)}
   */
  constructor(spec) {
    this.id = spec.id;
    this.widthM = spec.width ?? 0.6;
    // Pixels per metre: the text's size on the panel (a small button seen up close may take a finer one).
    this.pxPerM = spec.pxPerM ?? PX_PER_M;
    this.onPress = spec.onPress ?? (() => {});
    this.scale = 1;
    this.hoverId = null;
    this.canvas = document.createElement('canvas');
    this.texture = new THREE.CanvasTexture(this.canvas);
    this.texture.colorSpace = THREE.SRGBColorSpace;
    this.mesh = new THREE.Mesh(new THREE.PlaneGeometry(1, 1),
      new THREE.MeshBasicMaterial({ map: this.texture, transparent: true, side: THREE.DoubleSide,
        depthTest: !spec.onTop, depthWrite: !spec.onTop }));
    if (spec.onTop) this.mesh.renderOrder = 10;
    this.mesh.userData.panel = this;
    this.mesh.name = `panel:${this.id}`;
    this.poke = new Map(); // hand -> PokeDetector
    this.setItems(spec.items ?? []);
  }

  setItems(items) {
    this.items = items;
    this.layout();
  }

  setScale(scale) {
    this.scale = scale;
    this.layout();
  }

  layout() {
    const widthPx = this.widthM * this.pxPerM;
    const fitted = fitItems(this.items, widthPx, this.scale);
    const { widgets, height } = stackLayout(fitted, { width: widthPx, scale: this.scale });
    this.widgets = widgets;
    this.widthPx = widthPx;
    this.heightPx = Math.max(height, 40);
    const [w, h] = [Math.round(this.widthPx), Math.round(this.heightPx)];
    if (w !== this.canvas.width || h !== this.canvas.height) {
      this.canvas.width = w;
      this.canvas.height = h;
      // three keeps a texture's GPU storage at its first size (three.js issue 26253): uploading a larger canvas
      // into it fails (GL_INVALID_VALUE) and the old contents stay, stretched. Dropping it makes the next
      // render allocate one of the new size.
      this.texture.dispose();
    }
    this.mesh.scale.set(this.widthM * this.scale ** 0.5, (this.heightPx / this.pxPerM) * this.scale ** 0.5, 1);
    this.draw();
  }

  draw() {
    const ctx = this.canvas.getContext('2d');
    const { width, height } = this.canvas;
    ctx.clearRect(0, 0, width, height);
    ctx.fillStyle = COLORS.bg;
    roundRect(ctx, 0, 0, width, height, 24);
    ctx.fill();
    for (const w of this.widgets) {
      const [x, y, ww, wh] = w.rect;
      if (w.kind === 'button') {
        ctx.fillStyle = w.disabled ? COLORS.disabled : (w.id === this.hoverId ? COLORS.hover : (w.selected ? COLORS.accent : COLORS.button));
        roundRect(ctx, x, y, ww, wh, 12);
        ctx.fill();
      }
      ctx.fillStyle = w.kind === 'text' && w.muted ? COLORS.muted : COLORS.text;
      ctx.textBaseline = 'middle';
      ctx.textAlign = w.kind === 'button' ? 'center' : 'left';
      const tx = w.kind === 'button' ? x + ww / 2 : x;
      const lines = w.lines ?? [String(w.label ?? '')];
      // A label that still does not fit (one long word) is drawn smaller, never cut.
      let size = 1;
      ctx.font = panelFont(w.kind, this.scale);
      const widest = Math.max(...lines.map((l) => ctx.measureText(l).width));
      if (widest > ww - 8) {
        size = Math.max(0.5, (ww - 8) / widest);
        ctx.font = panelFont(w.kind, this.scale * size);
      }
      const step = LINE_PX * (w.kind === 'title' ? 1.4 : 1) * this.scale * size;
      lines.forEach((line, k) => ctx.fillText(line, tx, y + wh / 2 + (k - (lines.length - 1) / 2) * step));
      w.drawn = { lines, fontScale: size };
    }
    this.texture.needsUpdate = true;
  }

  /** Widget under a raycast hit on this panel's mesh. */
  widgetAtHit(hit) {
    if (!hit?.uv) return null;
    const [x, y] = uvToPixels(hit.uv.x, hit.uv.y, this.widthPx, this.heightPx);
    return widgetAt(this.widgets, x, y);
  }

  setHover(widgetId) {
    if (widgetId === this.hoverId) return;
    this.hoverId = widgetId;
    this.draw();
  }

  press(widgetId) {
    const widget = this.widgets.find((w) => w.id === widgetId && w.kind === 'button' && !w.disabled);
    if (widget) this.onPress(widget.id, this);
    return Boolean(widget);
  }
}

/** The font a panel draws a widget's label in. */
export function panelFont(kind, scale = 1) {
  return `${kind === 'title' ? 'bold ' : ''}${Math.round((kind === 'title' ? 38 : 26) * scale)}px system-ui, sans-serif`;
}

let measuring = null;

/** Width in px of a label as a panel draws it, so callers can wrap lines and split button rows to fit. */
export function textWidth(text, kind = 'text', scale = 1) {
  measuring ??= document.createElement('canvas').getContext('2d');
  measuring.font = panelFont(kind, scale);
  return measuring.measureText(String(text ?? '')).width;
}

/** Width in px of each of `n` buttons sharing a row on a panel `widthM` wide (1: a text line's width). */
export function rowItemWidth(widthM, n = 1, scale = 1) {
  const items = Array.from({ length: n }, (_, i) => ({ id: String(i), kind: 'button', row: 'r' }));
  return stackLayout(items, { width: widthM * PX_PER_M, scale }).widgets[0].rect[2];
}

/**
 * Makes every label fit its widget: text and titles wrap into lines (the item grows), a row of buttons whose
 * widest label does not fit is split into even rows. Items that already fit come back unchanged.
 */
function fitItems(items, widthPx, scale) {
  const inner = widthPx - 2 * PAD_PX * scale;
  const out = [];
  for (let i = 0; i < items.length; i += 1) {
    const item = items[i];
    if (item.kind === 'button' && item.row !== undefined) {
      let n = 1;
      while (i + n < items.length && items[i + n].kind === 'button' && items[i + n].row === item.row) n += 1;
      const group = items.slice(i, i + n);
      const rows = buttonRows(group.map((b) => String(b.label ?? '')), (k) => rowItemWidth(widthPx / PX_PER_M, k, scale),
        (t) => textWidth(t, 'button', scale));
      group.forEach((b, k) => out.push(rows[rows.length - 1] ? { ...b, row: `${b.row}#${rows[k]}` } : b));
      i += n - 1;
    } else if (item.kind === 'text' || item.kind === 'title') {
      const lines = wrapToWidth(item.label, inner, (t) => textWidth(t, item.kind, scale));
      if (lines.length <= 1) out.push(item);
      else out.push({ ...item, lines, height: Math.max(item.height ?? 0, lines.length * LINE_PX * (item.kind === 'title' ? 1.4 : 1) + 12) });
    } else {
      out.push(item);
    }
  }
  return out;
}

function roundRect(ctx, x, y, w, h, r) {
  ctx.beginPath();
  ctx.roundRect(x, y, w, h, r);
}

const _local = new THREE.Vector3();

/** Keeps the panels, routes rays, fingertips and clicks to them. */
export class PanelSystem {
  constructor(scene) {
    this.scene = scene;
    this.panels = new Map();
    this.raycaster = new THREE.Raycaster();
    this.scale = 1;
  }

  add(panel) {
    this.panels.set(panel.id, panel);
    panel.setScale(this.scale);
    this.scene.add(panel.mesh);
    return panel;
  }

  remove(id) {
    const panel = this.panels.get(id);
    if (!panel) return;
    panel.mesh.removeFromParent();
    this.panels.delete(id);
  }

  get(id) {
    return this.panels.get(id) ?? null;
  }

  /** Large controls for the simplified mode. */
  setScale(scale) {
    this.scale = scale;
    for (const panel of this.panels.values()) panel.setScale(scale);
  }

  meshes() {
    return [...this.panels.values()].filter((p) => p.mesh.visible && p.mesh.parent).map((p) => p.mesh);
  }

  /** Nearest panel hit along a ray: {panel, widget, distance} or null. Updates hover highlight. */
  pick(origin, direction, { hover = true } = {}) {
    this.raycaster.set(origin, direction);
    const hit = this.raycaster.intersectObjects(this.meshes(), false)[0];
    const panel = hit?.object.userData.panel ?? null;
    const widget = panel ? panel.widgetAtHit(hit) : null;
    const found = panel ? { panel, widget, distance: hit.distance, point: hit.point } : null;
    if (hover) this.setHover(found);
    return found;
  }

  /** Highlights the button of a pick() result on its panel, and no button elsewhere. */
  setHover(found) {
    for (const p of this.panels.values()) p.setHover(p === found?.panel ? found.widget?.id ?? null : null);
  }

  /** Select (trigger, pinch, click) along a ray: presses the widget under it. True if a panel took it. */
  selectAlong(origin, direction) {
    const hit = this.pick(origin, direction, { hover: false });
    if (!hit) return false;
    if (hit.widget) hit.panel.press(hit.widget.id);
    return true; // the panel swallows clicks on its background too
  }

  /** Fingertip pokes: tips is [{key, position: Vector3}] in world space. */
  pokeWith(tips) {
    for (const panel of this.panels.values()) {
      if (!panel.mesh.visible || !panel.mesh.parent) continue;
      panel.mesh.updateWorldMatrix(true, false);
      const inverse = panel.mesh.matrixWorld.clone().invert();
      for (const tip of tips) {
        _local.copy(tip.position).applyMatrix4(inverse);
        // Plane geometry spans -0.5..0.5 in local x, y; local z is scaled by 1, so it is metres.
        const over = Math.abs(_local.x) <= 0.5 && Math.abs(_local.y) <= 0.5;
        let detector = panel.poke.get(tip.key);
        if (!detector) panel.poke.set(tip.key, (detector = new PokeDetector()));
        if (detector.update(_local.z, over)) {
          const widget = widgetAt(panel.widgets, (_local.x + 0.5) * panel.widthPx, (0.5 - _local.y) * panel.heightPx);
          if (widget) panel.press(widget.id);
        }
      }
    }
  }
}

/** Puts a panel `distance` m ahead of the eyes (level, a little below them), facing them: menus and maps. */
export function placeBeforeEyes(mesh, camera, distance) {
  const eye = camera.getWorldPosition(new THREE.Vector3());
  const dir = camera.getWorldDirection(new THREE.Vector3());
  dir.y = 0;
  if (dir.lengthSq() < 1e-6) dir.set(0, 0, -1);
  dir.normalize();
  mesh.position.copy(eye).addScaledVector(dir, distance);
  mesh.position.y -= 0.08;
  mesh.lookAt(eye);
}
