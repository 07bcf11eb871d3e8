// Furniture in your own room: the shopper gives the room's size and its door (or picks a preset), the store
// steps aside for a to-scale copy of that room with the door in the wall behind them, and the piece of
// furniture stands in it to move and turn. Whether it fits the room and gets through the door comes from the
// server (POST /api/sizing/furniture-fit, docs/SIZING.md); whether it stands clear of the walls and the door
// where it is placed is checked here as it moves. On a screen the controls are HTML; in a headset a panel.
import * as THREE from 'three';
import { fetchJson } from './api.js';
import { Panel } from './ui/panel.js';

export const ROOM_PRESETS = [
  { id: 'bedroom', label: 'Small bedroom', room: { width: 300, depth: 320, height: 250 }, door: { width: 80, height: 200 } },
  { id: 'living', label: 'Living room', room: { width: 450, depth: 380, height: 260 }, door: { width: 90, height: 210 } },
  { id: 'studio', label: 'Studio flat', room: { width: 600, depth: 400, height: 250 }, door: { width: 80, height: 200 } },
  { id: 'tiny', label: 'Box room', room: { width: 200, depth: 210, height: 240 }, door: { width: 70, height: 195 } },
];
const MAX_DRAG_REACH_M = 12; // a ray farther than this from the floor point does not move the piece
const DRAG_SLACK_CM = 60; // how far past a wall a dragged piece may go (it shows red there)
const clampTo = (v, limit) => Math.max(-limit, Math.min(limit, v));
const LIMITS = { width: [100, 2000], depth: [100, 2000], height: [180, 600], doorWidth: [50, 300], doorHeight: [150, 400] };

/** Pure: the room form's numbers (cm) checked; {room, door} or {error} in words. */
export function checkRoom({ width, depth, height, doorWidth, doorHeight }) {
  const values = { width, depth, height, doorWidth, doorHeight };
  const names = { width: 'room width', depth: 'room depth', height: 'ceiling height', doorWidth: 'door width',
    doorHeight: 'door height' };
  for (const [key, [lo, hi]] of Object.entries(LIMITS)) {
    const v = Number(values[key]);
    if (!Number.isFinite(v) || v < lo || v > hi) return { error: `The ${names[key]}: between ${lo} and ${hi} cm, please.` };
  }
  if (Number(doorWidth) > Number(width)) return { error: 'The door is wider than its wall.' };
  return { room: { width: +width, depth: +depth, height: +height }, door: { width: +doorWidth, height: +doorHeight } };
}

/**
 * Pure: where an item stands in the room (centre x, z in cm from the room's centre, yaw in radians, footprint
 * w x d cm). The door is in the front wall (+z), centred. -> {inside, wallGapCm (smallest, negative = through a
 * wall), blocksDoor}
 */
export function placement(room, door, item, at) {
  const c = Math.cos(at.yaw);
  const s = Math.sin(at.yaw);
  const corners = [[-1, -1], [1, -1], [1, 1], [-1, 1]].map(([i, j]) => {
    const lx = (i * item.width) / 2;
    const lz = (j * item.depth) / 2;
    return [at.x + lx * c + lz * s, at.z - lx * s + lz * c];
  });
  const hw = room.width / 2;
  const hd = room.depth / 2;
  let gap = Infinity;
  for (const [x, z] of corners) gap = Math.min(gap, hw - x, x + hw, hd - z, z + hd);
  // The door's swing: a square as deep as the door is wide, inside the room in front of it.
  const swing = { x0: -door.width / 2, x1: door.width / 2, z0: hd - door.width, z1: hd };
  const xs = corners.map((p) => p[0]);
  const zs = corners.map((p) => p[1]);
  const blocksDoor = overlapsRect(corners, swing) && Math.min(...xs) < swing.x1 && Math.max(...xs) > swing.x0
    && Math.max(...zs) > swing.z0;
  return { inside: gap >= 0, wallGapCm: Math.round(gap), blocksDoor };
}

// Separating-axis test of a convex quad against an axis-aligned rectangle.
function overlapsRect(quad, r) {
  const rect = [[r.x0, r.z0], [r.x1, r.z0], [r.x1, r.z1], [r.x0, r.z1]];
  const axes = [[1, 0], [0, 1]];
  for (let i = 0; i < 2; i += 1) {
    const [ax, az] = [quad[i + 1][0] - quad[i][0], quad[i + 1][1] - quad[i][1]];
    axes.push([-az, ax]);
  }
  return axes.every(([ax, az]) => {
    const p = (pts) => pts.map(([x, z]) => x * ax + z * az);
    const a = p(quad);
    const b = p(rect);
    return Math.max(...a) > Math.min(...b) && Math.max(...b) > Math.min(...a);
  });
}

export class RoomFit {
  /**
   * @param {object} options {scene, store, rig, camera, panels, immersive: () => bool, itemModel(product) -> Object3D,
   *   onStatus(text), api: (body) => Promise<result> (default: the sizing API)}
   */
  constructor({ scene, store, rig, camera, panels, immersive, itemModel, onStatus = () => {}, api = null, look = null }) {
    Object.assign(this, { scene, store, rig, camera, panels, immersive, itemModel, onStatus, look });
    this.api = api ?? ((body) => fetchJson('/api/sizing/furniture-fit', { method: 'POST', body }));
    this.product = null;
    this.form = { ...flat(ROOM_PRESETS[1]) };
    this.room = null; // {room, door} once built
    this.at = { x: 0, z: 0, yaw: 0 }; // item placement, cm and radians, in the room's frame
    this.result = null; // the server's answer
    this.error = null;
    this.group = null;
    this.item = null;
    this.returnTo = null; // where the shopper stood in the store
    this.html = null;
    this.dragging = null; // {dx, dz, y}: the piece is held by a ray (see grab)
  }

  get active() { return Boolean(this.product); }

  get item_cm() {
    const d = this.product?.dimensionsCm ?? {};
    return { width: Number(d.width) || 100, depth: Number(d.depth) || 60, height: Number(d.height) || 80 };
  }

  /** The form for a product (from its card's "Fit in my room"). */
  open(product) {
    this.close();
    this.product = product;
    this.result = null;
    this.error = null;
    this.render();
  }

  choosePreset(id) {
    const preset = ROOM_PRESETS.find((p) => p.id === id);
    if (preset) this.form = { ...flat(preset) };
    return this.build();
  }

  /** Builds the room from the form and asks the server about it; the store steps aside. */
  async build() {
    const checked = checkRoom(this.form);
    if (checked.error) {
      this.error = checked.error;
      this.render();
      return false;
    }
    this.error = null;
    this.room = checked;
    // Against the far wall, 10 cm off it, facing the door (a model's front is +z): the whole piece in view.
    this.at = { x: 0, z: -Math.max(0, checked.room.depth / 2 - this.item_cm.depth / 2 - 10), yaw: 0 };
    this.buildScene();
    this.render();
    try {
      this.result = await this.api({ room: checked.room, doorway: checked.door, product_id: this.product.id });
    } catch (err) {
      this.result = null;
      this.error = `Could not check the fit: ${err.message}`;
    }
    this.render();
    return true;
  }

  buildScene() {
    const again = this.group; // an updated room stands where the first one did
    const keep = again ? { position: again.position.clone(), rotationY: again.rotation.y } : null;
    this.clearScene();
    const { room, door } = this.room;
    const [w, d, h] = [room.width / 100, room.depth / 100, room.height / 100];
    const group = new THREE.Group();
    group.name = 'room-fit';
    // The shopper stands just inside the door, looking into the room.
    if (!this.returnTo) this.returnTo = { position: this.rig.position.clone(), rotationY: this.rig.rotation.y };
    const eye = this.camera.getWorldPosition(new THREE.Vector3());
    const dir = this.camera.getWorldDirection(new THREE.Vector3()).setY(0);
    if (dir.lengthSq() < 1e-6) dir.set(0, 0, -1);
    dir.normalize();
    group.position.set(eye.x + dir.x * (d / 2 - 0.5), 0.002, eye.z + dir.z * (d / 2 - 0.5));
    group.rotation.y = Math.atan2(-dir.x, -dir.z); // the room's -z is where the shopper looks
    if (keep) {
      // Same door spot as before: the room grows away from it.
      const fwd = new THREE.Vector3(-Math.sin(keep.rotationY), 0, -Math.cos(keep.rotationY));
      const oldDepth = this.lastDepth ?? d;
      group.position.copy(keep.position).addScaledVector(fwd, (d - oldDepth) / 2);
      group.position.y = 0.002;
      group.rotation.y = keep.rotationY;
    }
    this.lastDepth = d;
    const floor = new THREE.Mesh(new THREE.PlaneGeometry(w, d), new THREE.MeshStandardMaterial({ map: gridTexture(w, d), roughness: 0.9 }));
    floor.rotation.x = -Math.PI / 2;
    floor.name = 'room-floor';
    group.add(floor);
    const wallMat = new THREE.MeshStandardMaterial({ color: 0xf3efe7, roughness: 0.9, transparent: true, opacity: 0.55,
      side: THREE.DoubleSide, depthWrite: false });
    const wall = (len, x, z, yaw, y0 = 0, y1 = h) => {
      const m = new THREE.Mesh(new THREE.PlaneGeometry(len, y1 - y0), wallMat);
      m.position.set(x, (y0 + y1) / 2, z);
      m.rotation.y = yaw;
      group.add(m);
    };
    wall(w, 0, -d / 2, 0);
    wall(d, -w / 2, 0, Math.PI / 2);
    wall(d, w / 2, 0, Math.PI / 2);
    // The front wall, with the door: two pieces beside it and a lintel over it.
    const dw = door.width / 100;
    const dh = Math.min(door.height / 100, h);
    const side = (w - dw) / 2;
    wall(side, -w / 2 + side / 2, d / 2, 0);
    wall(side, w / 2 - side / 2, d / 2, 0);
    if (dh < h) wall(dw, 0, d / 2, 0, dh, h);
    const frameMat = new THREE.MeshStandardMaterial({ color: 0x7a5c3e, roughness: 0.6 });
    for (const [x, y, sx, sy] of [[-dw / 2, dh / 2, 0.05, dh], [dw / 2, dh / 2, 0.05, dh], [0, dh, dw + 0.05, 0.05]]) {
      const bar = new THREE.Mesh(new THREE.BoxGeometry(sx, sy, 0.1), frameMat);
      bar.position.set(x, y, d / 2);
      group.add(bar);
    }
    // Skirting lines so the room's edges read on any floor.
    const edge = new THREE.LineSegments(new THREE.EdgesGeometry(new THREE.BoxGeometry(w, h, d)),
      new THREE.LineBasicMaterial({ color: 0x2f5d62 }));
    edge.position.y = h / 2;
    group.add(edge);
    // The item: its model at real size, a box of its size until (or if) there is none.
    const item = new THREE.Group();
    item.name = 'room-item';
    const size = this.item_cm;
    const model = this.itemModel?.(this.product) ?? null;
    if (model) item.add(model);
    else {
      const box = new THREE.Mesh(new THREE.BoxGeometry(size.width / 100, size.height / 100, size.depth / 100),
        new THREE.MeshStandardMaterial({ color: 0x9c8468, roughness: 0.8 }));
      box.position.y = size.height / 200;
      item.add(box);
    }
    // The footprint outline: green where it stands clear, red where it hits a wall or the door's swing.
    this.outline = new THREE.LineLoop(new THREE.BufferGeometry().setFromPoints([[-1, -1], [1, -1], [1, 1], [-1, 1]]
      .map(([i, j]) => new THREE.Vector3((i * size.width) / 200, 0.01, (j * size.depth) / 200))),
    new THREE.LineBasicMaterial({ color: 0x2e9b4f }));
    this.outline.raycast = () => {}; // a line's pick threshold is wide: only the piece itself is grabbed
    item.add(this.outline);
    group.add(item);
    this.item = item;
    this.group = group;
    this.scene.add(group);
    this.store.root.visible = false; // the shopper already stands just inside the door
    // On a screen, the first room: look down at it a little, so its floor and the whole piece are in view.
    // A wide screen also turns a little left: the form covers the left of the view, the room shows right of it.
    if (!again && !this.immersive()) this.look?.(window.innerWidth > 1.3 * window.innerHeight ? 0.3 : 0, -0.3);
    this.place();
  }

  /** Moves (cm, in the room's frame: +x right, -z away from the door) or turns (radians) the item. */
  nudge(dx = 0, dz = 0, dyaw = 0) {
    if (!this.room) return null;
    this.at = { x: this.at.x + dx, z: this.at.z + dz, yaw: this.at.yaw + dyaw };
    this.place();
    this.render();
    return this.check();
  }

  check() {
    return this.room ? placement(this.room.room, this.room.door, this.item_cm, this.at) : null;
  }

  /** Where a ray (world) meets the room's floor, in the room's frame (cm), or null (it points up). */
  floorPoint(origin, direction) {
    if (!this.group) return null;
    this.group.updateMatrixWorld();
    const toRoom = this.group.matrixWorld.clone().invert();
    const o = origin.clone().applyMatrix4(toRoom);
    const d = direction.clone().transformDirection(toRoom);
    if (d.y > -1e-3 || o.y <= 0) return null;
    const t = -o.y / d.y;
    if (t > MAX_DRAG_REACH_M) return null;
    return { x: (o.x + d.x * t) * 100, z: (o.z + d.z * t) * 100 };
  }

  /**
   * A select (trigger, pinch, mouse or finger) along a ray that hits the piece picks it up to slide over the
   * floor: true if it did. The grab point stays under the ray, wherever on the piece it was taken.
   */
  grab(origin, direction) {
    if (!this.item) return false;
    const hit = new THREE.Raycaster(origin, direction, 0, MAX_DRAG_REACH_M).intersectObject(this.item, true)[0];
    if (!hit) return false;
    // Held at the grabbed spot: the piece keeps its offset from it and slides at its height (see dragTo).
    const under = this.group.worldToLocal(hit.point.clone());
    this.dragging = { dx: this.at.x - under.x * 100, dz: this.at.z - under.z * 100, y: Math.max(0, under.y) };
    return true;
  }

  /** The ray moved while holding: the piece follows it over the floor (never far outside the room). */
  dragTo(origin, direction) {
    if (!this.dragging || !this.room) return;
    // Follow along the plane at the height where it was grabbed, so the piece does not run away from a
    // low-angle ray.
    const lifted = origin.clone().sub(new THREE.Vector3(0, this.dragging.y, 0));
    const p = this.floorPoint(lifted, direction);
    if (!p) return;
    const { width, depth } = this.room.room;
    const slack = DRAG_SLACK_CM;
    this.at = { ...this.at, x: clampTo(p.x + this.dragging.dx, width / 2 + slack),
      z: clampTo(p.z + this.dragging.dz, depth / 2 + slack) };
    this.place();
  }

  /** Let go: the verdict for where it now stands. */
  release() {
    if (!this.dragging) return null;
    this.dragging = null;
    this.render();
    return this.check();
  }

  place() {
    if (!this.item) return;
    this.item.position.set(this.at.x / 100, 0, this.at.z / 100);
    this.item.rotation.y = this.at.yaw;
    const ok = this.check();
    this.outline.material.color.set(ok.inside && !ok.blocksDoor ? 0x2e9b4f : 0xd64545);
  }

  clearScene() {
    this.dragging = null;
    this.group?.removeFromParent();
    this.group = null;
    this.item = null;
    this.store.root.visible = true;
  }

  /** Back to the store, where the shopper stood. */
  close() {
    if (this.returnTo) {
      this.rig.position.copy(this.returnTo.position);
      this.rig.rotation.y = this.returnTo.rotationY;
      this.returnTo = null;
    }
    this.clearScene();
    this.product = null;
    this.room = null;
    this.panels.remove('room-fit');
    if (this.html) this.html.hidden = true;
  }

  /** Words for the state: the server's verdict and the placement's. */
  lines() {
    const out = [];
    if (this.error) out.push({ text: this.error, error: true });
    if (this.result) {
      out.push({ text: `${this.result.fits_room ? 'Fits your room' : 'Too big for your room'} · ${this.result.passes_door
        ? `gets through the door (${this.result.door_method})` : 'does not get through the door'}`, strong: true });
      for (const m of this.result.messages ?? []) out.push({ text: m, muted: true });
    }
    const at = this.check();
    if (at) {
      let where = at.inside ? `Where it stands: ${at.wallGapCm} cm from the nearest wall` : 'Where it stands: it goes through a wall';
      if (at.blocksDoor) where += '; it blocks the door';
      out.push({ text: `${where}.`, error: !at.inside || at.blocksDoor });
    }
    return out;
  }

  render() {
    if (!this.product) return;
    if (this.immersive()) {
      if (this.html) this.html.hidden = true;
      this.renderPanel();
    } else {
      this.panels.remove('room-fit');
      this.renderHtml();
    }
  }

  renderHtml() {
    if (!this.html) {
      this.html = Object.assign(document.createElement('aside'), { id: 'room-fit', hidden: true });
      this.html.setAttribute('role', 'dialog');
      this.html.setAttribute('aria-label', 'Fit it in your room');
      document.body.append(this.html);
      this.html.addEventListener('click', (e) => {
        const b = e.target.closest('button[data-id]');
        if (b) this.press(b.dataset.id);
      });
    }
    const f = this.form;
    const num = (key, label) => `<label class="field">${label}<input data-key="${key}" type="number" inputmode="numeric"
      value="${f[key]}" min="${LIMITS[key][0]}" max="${LIMITS[key][1]}"></label>`;
    const hud = document.getElementById('hud');
    if (hud) this.html.style.top = `${Math.round(hud.getBoundingClientRect().bottom + 4)}px`;
    this.html.innerHTML = `<h2 class="title">${escapeHtml(this.product.name)} in your room</h2>
      <p class="muted">${this.item_cm.width} × ${this.item_cm.depth} cm, ${this.item_cm.height} cm high</p>
      <div class="row presets">${ROOM_PRESETS.map((p) => `<button type="button" data-id="preset:${p.id}">${p.label}</button>`).join('')}</div>
      <div class="grid">${num('width', 'Room width (cm)')}${num('depth', 'Room depth (cm)')}${num('height', 'Ceiling (cm)')}
        ${num('doorWidth', 'Door width (cm)')}${num('doorHeight', 'Door height (cm)')}</div>
      <div class="row"><button type="button" data-id="build">${this.room ? 'Update my room' : 'Show my room'}</button></div>
      ${this.lines().map((l) => `<p class="text${l.error ? ' error' : ''}${l.strong ? ' strong' : ''}${l.muted ? ' muted' : ''}">${escapeHtml(l.text)}</p>`).join('')}
      ${this.room ? `<div class="row move"><button type="button" data-id="move:left" aria-label="Move left">◀</button>
        <button type="button" data-id="move:away" aria-label="Move away from the door">▲</button>
        <button type="button" data-id="move:near" aria-label="Move towards the door">▼</button>
        <button type="button" data-id="move:right" aria-label="Move right">▶</button>
        <button type="button" data-id="turn:-15">⟲ 15°</button><button type="button" data-id="turn:+15">⟳ 15°</button>
        <button type="button" data-id="turn:90">Turn 90°</button></div>` : ''}
      <div class="row"><button type="button" data-id="close">Back to the store</button></div>`;
    for (const input of this.html.querySelectorAll('input[data-key]')) {
      input.addEventListener('change', () => { this.form[input.dataset.key] = Number(input.value); });
    }
    this.html.hidden = false;
  }

  renderPanel() {
    const f = this.form;
    const items = [{ id: 'title', kind: 'title', label: `${this.product.name} in your room` },
      ...ROOM_PRESETS.map((p) => ({ id: `preset:${p.id}`, kind: 'button', label: p.label, row: 'presets' })),
      { id: 'size', kind: 'text', label: `Room ${f.width} × ${f.depth} cm · door ${f.doorWidth} cm`, muted: true, height: 34 },
      { id: 'w:-10', kind: 'button', label: 'Width −10', row: 'w' }, { id: 'w:+10', kind: 'button', label: 'Width +10', row: 'w' },
      { id: 'd:-10', kind: 'button', label: 'Depth −10', row: 'w' }, { id: 'd:+10', kind: 'button', label: 'Depth +10', row: 'w' },
      ...this.lines().map((l, i) => ({ id: `line${i}`, kind: 'text', label: l.text, muted: l.muted, height: 34 })),
      ...(this.room ? [
        { id: 'move:left', kind: 'button', label: '◀', row: 'move' }, { id: 'move:away', kind: 'button', label: '▲', row: 'move' },
        { id: 'move:near', kind: 'button', label: '▼', row: 'move' }, { id: 'move:right', kind: 'button', label: '▶', row: 'move' },
        { id: 'turn:-15', kind: 'button', label: '⟲ 15°', row: 'turn' }, { id: 'turn:+15', kind: 'button', label: '⟳ 15°', row: 'turn' },
        { id: 'turn:90', kind: 'button', label: 'Turn 90°', row: 'turn' }] : []),
      { id: 'close', kind: 'button', label: 'Back to the store' }];
    let panel = this.panels.get('room-fit');
    if (!panel) {
      panel = this.panels.add(new Panel({ id: 'room-fit', width: 0.8, items: [], onTop: true, onPress: (id) => this.press(id) }));
    }
    panel.setItems(items);
    // Beside the shopper, at arm's length, facing them.
    const eye = this.camera.getWorldPosition(new THREE.Vector3());
    const dir = this.camera.getWorldDirection(new THREE.Vector3()).setY(0).normalize();
    const right = new THREE.Vector3(-dir.z, 0, dir.x);
    panel.mesh.position.copy(eye).addScaledVector(dir, 0.9).addScaledVector(right, -0.45);
    panel.mesh.position.y = eye.y - 0.15;
    panel.mesh.lookAt(eye.x, panel.mesh.position.y, eye.z);
  }

  press(id) {
    if (id === 'close') return this.close();
    if (id === 'build') {
      for (const input of this.html?.querySelectorAll('input[data-key]') ?? []) this.form[input.dataset.key] = Number(input.value);
      return this.build();
    }
    if (id.startsWith('preset:')) return this.choosePreset(id.slice(7));
    const step = { 'move:left': [-10, 0], 'move:right': [10, 0], 'move:away': [0, -10], 'move:near': [0, 10] }[id];
    if (step) return this.nudge(step[0], step[1], 0);
    if (id.startsWith('turn:')) return this.nudge(0, 0, (-Number(id.slice(5)) * Math.PI) / 180);
    const size = /^([wd]):([+-]\d+)$/.exec(id);
    if (size) {
      const key = size[1] === 'w' ? 'width' : 'depth';
      this.form[key] = Math.min(LIMITS[key][1], Math.max(LIMITS[key][0], this.form[key] + Number(size[2])));
      return this.build();
    }
    return undefined;
  }
}

function flat(preset) {
  return { width: preset.room.width, depth: preset.room.depth, height: preset.room.height,
    doorWidth: preset.door.width, doorHeight: preset.door.height };
}

/** A floor with a 50 cm grid, so the room's size reads at a glance. */
function gridTexture(w, d) {
  const canvas = document.createElement('canvas');
  const px = 64; // per metre
  canvas.width = Math.min(1024, Math.max(64, Math.round(w * px)));
  canvas.height = Math.min(1024, Math.max(64, Math.round(d * px)));
  const ctx = canvas.getContext('2d');
  ctx.fillStyle = '#e8dcc6';
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  ctx.strokeStyle = '#b9a98c';
  ctx.lineWidth = 1;
  const sx = canvas.width / w;
  const sy = canvas.height / d;
  for (let x = 0; x <= w + 1e-6; x += 0.5) { ctx.beginPath(); ctx.moveTo(x * sx, 0); ctx.lineTo(x * sx, canvas.height); ctx.stroke(); }
  for (let y = 0; y <= d + 1e-6; y += 0.5) { ctx.beginPath(); ctx.moveTo(0, y * sy); ctx.lineTo(canvas.width, y * sy); ctx.stroke(); }
  const texture = new THREE.CanvasTexture(canvas);
  texture.colorSpace = THREE.SRGBColorSpace;
  return texture;
}

function escapeHtml(text) {
  return String(text).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]));
}
