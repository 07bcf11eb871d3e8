// Finding your way: departments (products grouped by category where they stand, plus the scene's zones:
// fitting rooms, checkout, stages), signs hanging over them in the store, a store map on a screen
// (choose a department or a product, or click the map, and you go there), and a first-visit hint.
import * as THREE from 'three';

export const CATEGORY_LABELS = { apparel: 'Clothing', shoes: 'Shoes', beauty: 'Beauty', furniture: 'Furniture',
  electronics: 'Electronics', groceries: 'Groceries', 'virtual-fashion': 'Virtual fashion', bundles: 'Bundles' };
const ZONE_LABELS = { fitting_room: 'Fitting rooms', checkout: 'Checkout', entrance: 'Entrance' };
const SKIP_ZONES = new Set(['window']);

/** "main-stage" -> "Main stage". */
export function prettyId(id) {
  const words = String(id ?? '').replace(/[-_]+/g, ' ').trim();
  return words ? words[0].toUpperCase() + words.slice(1) : '';
}

/**
 * Pure: the store's departments. Products of one category that stand together (within `radius` m of the
 * group's centre) make one department; a category in two corners makes two. Zones come after.
 * @param {Array<{id, name, category, x, z}>} products
 * @param {Array<{id, kind, min: [x, z], max: [x, z]}>} zones
 * @returns {Array<{id, label, kind: 'category' | 'zone', x, z, productIds: string[]}>}
 */
export function departments(products, zones = [], { radius = 6 } = {}) {
  const out = [];
  const byCategory = new Map();
  for (const p of products) {
    if (!Number.isFinite(p.x) || !Number.isFinite(p.z)) continue;
    const key = p.category || 'other';
    if (!byCategory.has(key)) byCategory.set(key, []);
    byCategory.get(key).push(p);
  }
  for (const [category, items] of [...byCategory].sort((a, b) => a[0].localeCompare(b[0]))) {
    const clusters = [];
    for (const p of items) {
      let best = null;
      for (const c of clusters) {
        const d = Math.hypot(c.x - p.x, c.z - p.z);
        if (d <= radius && (!best || d < best.d)) best = { c, d };
      }
      const c = best?.c ?? (clusters[clusters.length] = { x: p.x, z: p.z, ids: [] });
      c.ids.push(p.id);
      const n = c.ids.length;
      c.x += (p.x - c.x) / n;
      c.z += (p.z - c.z) / n;
    }
    clusters.forEach((c, k) => out.push({
      id: `category:${category}${clusters.length > 1 ? `:${k + 1}` : ''}`,
      label: CATEGORY_LABELS[category] ?? prettyId(category), kind: 'category', x: c.x, z: c.z, productIds: c.ids,
    }));
  }
  for (const zone of zones ?? []) {
    if (!zone || SKIP_ZONES.has(zone.kind) || !Array.isArray(zone.min) || !Array.isArray(zone.max)) continue;
    const x = (zone.min[0] + zone.max[0]) / 2;
    const z = (zone.min[1] + zone.max[1]) / 2;
    if (!Number.isFinite(x) || !Number.isFinite(z)) continue;
    out.push({ id: `zone:${zone.id}`, label: ZONE_LABELS[zone.kind] ?? prettyId(zone.id), kind: 'zone', x, z, productIds: [] });
  }
  return out;
}

/**
 * Pure: the places the map lists, one per department name: a category standing in several corners is listed
 * once and goes to its largest group; zones follow.
 */
export function mapPlaces(list) {
  const best = new Map();
  for (const d of list) {
    const have = best.get(d.label);
    if (!have || d.productIds.length > have.productIds.length) best.set(d.label, d);
  }
  return [...best.values()];
}

/** Signs hanging over the departments, both faces readable, turned towards where shoppers come in. */
export class Signage {
  constructor(root, { ceiling = 3.2, facing = [0, 0] } = {}) {
    this.group = new THREE.Group();
    this.group.name = 'signage';
    root.add(this.group);
    this.ceiling = ceiling;
    this.facing = facing;
    this.signs = []; // {department, mesh}
  }

  set(list) {
    this.group.clear();
    this.signs = [];
    const y = Math.max(2.2, Math.min(this.ceiling - 0.3, 2.9));
    // Zones first, then the larger groups; a sign too close to one already hung is left out, so no two overlap.
    const order = [...list].sort((a, b) => (a.kind === b.kind ? b.productIds.length - a.productIds.length
      : (a.kind === 'zone' ? -1 : 1)));
    const hung = [];
    for (const dept of order) {
      if (dept.label === 'Entrance') continue; // the door is its own sign
      if (hung.some((h) => Math.hypot(h.x - dept.x, h.z - dept.z) < 2.4)) continue;
      hung.push(dept);
      const sign = makeSign(dept.label, dept.kind);
      sign.position.set(dept.x, y, dept.z);
      sign.rotation.y = Math.atan2(this.facing[0] - dept.x, this.facing[1] - dept.z);
      sign.userData.department = dept.id;
      this.group.add(sign);
      this.signs.push({ department: dept, mesh: sign });
    }
  }
}

function makeSign(text, kind) {
  const canvas = document.createElement('canvas');
  const ctx = canvas.getContext('2d');
  const font = 'bold 72px system-ui, sans-serif';
  ctx.font = font;
  const w = Math.ceil(Math.min(1400, ctx.measureText(text).width + 96));
  canvas.width = w;
  canvas.height = 128;
  ctx.fillStyle = kind === 'zone' ? '#2f5d62' : '#1d2330';
  ctx.beginPath();
  ctx.roundRect(0, 0, w, 128, 24);
  ctx.fill();
  ctx.fillStyle = '#f4f1ea';
  ctx.font = font;
  ctx.textAlign = 'center';
  ctx.textBaseline = 'middle';
  ctx.fillText(text, w / 2, 68, w - 48);
  const texture = new THREE.CanvasTexture(canvas);
  texture.colorSpace = THREE.SRGBColorSpace;
  texture.anisotropy = 4;
  const height = 0.32; // m: legible from across the shop floor
  const material = new THREE.MeshBasicMaterial({ map: texture, transparent: true });
  const plane = new THREE.PlaneGeometry((height * w) / 128, height);
  const group = new THREE.Group();
  group.name = `sign:${text}`;
  const front = new THREE.Mesh(plane, material);
  const back = new THREE.Mesh(plane, material);
  back.rotation.y = Math.PI; // its own front faces the other way: the words read right from behind too
  back.position.z = -0.005;
  group.add(front, back);
  group.traverse((o) => { o.raycast = () => {}; });
  group.userData.text = text;
  group.userData.widthM = (height * w) / 128;
  return group;
}

/**
 * The store map on a screen: the floor, fixtures, departments, you; a list of departments and a product
 * search. Choosing one (or clicking a spot on the floor) calls go({kind, id, x, z}).
 */
export class StoreMap {
  constructor({ toggle, store, go, where, products = [] }) {
    Object.assign(this, { toggle, store, go, where });
    this.products = products;
    this.departments = [];
    this.root = Object.assign(document.createElement('aside'), { id: 'store-map', hidden: true });
    this.root.setAttribute('role', 'dialog');
    this.root.setAttribute('aria-label', 'Store map');
    this.root.innerHTML = `
      <div class="head"><h2 class="title">Store map</h2><button type="button" id="map-close">Close</button></div>
      <canvas id="map-canvas" width="360" height="240" aria-label="Map of the store: click a spot to go there"></canvas>
      <p class="muted">Choose a department or a product to go there, or click a spot on the map.</p>
      <ul id="map-places" class="places"></ul>
      <input id="map-search" type="search" placeholder="Find a product" aria-label="Find a product" autocomplete="off">
      <ul id="map-products" class="places"></ul>`;
    document.body.append(this.root);
    this.canvas = this.root.querySelector('#map-canvas');
    this.list = this.root.querySelector('#map-places');
    this.search = this.root.querySelector('#map-search');
    this.found = this.root.querySelector('#map-products');
    toggle.addEventListener('click', () => (this.root.hidden ? this.show() : this.hide()));
    this.root.querySelector('#map-close').addEventListener('click', () => this.hide());
    this.search.addEventListener('input', () => this.renderProducts());
    this.canvas.addEventListener('click', (e) => {
      const r = this.canvas.getBoundingClientRect();
      const [x, z] = this.toFloor(((e.clientX - r.left) / r.width) * this.canvas.width, ((e.clientY - r.top) / r.height) * this.canvas.height);
      if (this.store.walkable.isWalkable(x, z)) this.choose({ kind: 'spot', id: 'spot', x, z });
    });
  }

  setDepartments(list) {
    this.departments = list;
    this.places = mapPlaces(list);
    this.list.replaceChildren(...this.places.map((d) => {
      const li = document.createElement('li');
      const b = Object.assign(document.createElement('button'), { type: 'button', textContent: d.label });
      b.dataset.go = d.id;
      if (d.kind === 'zone') b.classList.add('zone');
      b.addEventListener('click', () => this.choose(d));
      li.append(b);
      return li;
    }));
    if (!this.root.hidden) this.draw();
  }

  renderProducts() {
    const words = this.search.value.toLowerCase().split(/\s+/).filter(Boolean);
    const hits = words.length ? this.products.filter((p) => words.every((w) => `${p.name} ${p.category}`.toLowerCase().includes(w))).slice(0, 8) : [];
    this.found.replaceChildren(...hits.map((p) => {
      const li = document.createElement('li');
      const b = Object.assign(document.createElement('button'), { type: 'button', textContent: p.name });
      b.dataset.go = `product:${p.id}`;
      b.addEventListener('click', () => this.choose({ kind: 'product', id: p.id, x: p.x, z: p.z }));
      li.append(b);
      return li;
    }));
  }

  show() {
    // Below the top bar, however many rows its buttons take (a phone wraps them).
    const hud = document.getElementById('hud');
    if (hud) this.root.style.top = `${Math.round(hud.getBoundingClientRect().bottom + 4)}px`;
    this.root.hidden = false;
    this.root.scrollTop = 0; // opened again after a search: the map first, not the old results
    this.search.value = '';
    this.renderProducts();
    this.fit();
    this.draw();
  }

  hide() {
    this.root.hidden = true;
  }

  choose(place) {
    this.hide();
    this.go(place);
  }

  /** The canvas fills the panel's width, keeping the floor's aspect ratio. */
  fit() {
    const [minX, minZ, maxX, maxZ] = this.store.walkable.extent();
    const cssW = Math.max(200, this.root.clientWidth - 28);
    const aspect = Math.max(0.3, Math.min(1.6, (maxZ - minZ) / Math.max(0.1, maxX - minX)));
    const cssH = Math.round(Math.min(cssW * aspect, window.innerHeight * 0.4));
    const ratio = Math.min(window.devicePixelRatio || 1, 2);
    this.canvas.style.width = `${cssW}px`;
    this.canvas.style.height = `${cssH}px`;
    this.canvas.width = Math.round(cssW * ratio);
    this.canvas.height = Math.round(cssH * ratio);
  }

  /** Floor x, z -> canvas pixels and back (north, -z, is up). */
  frame() {
    const [minX, minZ, maxX, maxZ] = this.store.walkable.extent();
    const pad = 10 * (this.canvas.width / 360);
    const k = Math.min((this.canvas.width - 2 * pad) / Math.max(0.1, maxX - minX), (this.canvas.height - 2 * pad) / Math.max(0.1, maxZ - minZ));
    const ox = (this.canvas.width - k * (maxX - minX)) / 2;
    const oy = (this.canvas.height - k * (maxZ - minZ)) / 2;
    return { k, toPx: (x, z) => [ox + (x - minX) * k, oy + (z - minZ) * k], minX, minZ, ox, oy };
  }

  toFloor(px, py) {
    const { k, minX, minZ, ox, oy } = this.frame();
    return [minX + (px - ox) / k, minZ + (py - oy) / k];
  }

  draw() {
    const ctx = this.canvas.getContext('2d');
    const { k, toPx } = this.frame();
    const scale = this.canvas.width / 360;
    ctx.clearRect(0, 0, this.canvas.width, this.canvas.height);
    ctx.fillStyle = '#e9e1d3';
    for (const polygon of this.store.walkable.polygons) {
      ctx.beginPath();
      polygon.forEach(([x, z], i) => (i ? ctx.lineTo(...toPx(x, z)) : ctx.moveTo(...toPx(x, z))));
      ctx.closePath();
      ctx.fill();
    }
    ctx.fillStyle = '#8c6a4f';
    for (const f of this.store.fixtures) {
      const p = f.object.position;
      ctx.save();
      ctx.translate(...toPx(p.x, p.z));
      ctx.rotate(-f.object.rotation.y);
      ctx.fillRect((-f.size[0] / 2) * k, (-f.size[2] / 2) * k, f.size[0] * k, f.size[2] * k);
      ctx.restore();
    }
    ctx.font = `bold ${Math.round(13 * scale)}px system-ui, sans-serif`;
    ctx.textAlign = 'center';
    ctx.textBaseline = 'middle';
    const drawn = []; // label rectangles: a label that would overlap one already drawn is left out
    const order = [...this.departments].sort((a, b) => (a.kind === b.kind ? b.productIds.length - a.productIds.length
      : (a.kind === 'zone' ? -1 : 1)));
    for (const d of order) {
      const [x, y] = toPx(d.x, d.z);
      const w = ctx.measureText(d.label).width + 10 * scale;
      const cx = Math.min(Math.max(x, w / 2), this.canvas.width - w / 2);
      const rect = [cx - w / 2, y - 10 * scale, w, 20 * scale];
      if (drawn.some((r) => rect[0] < r[0] + r[2] && r[0] < rect[0] + rect[2] && rect[1] < r[1] + r[3] && r[1] < rect[1] + rect[3])) continue;
      drawn.push(rect);
      ctx.fillStyle = d.kind === 'zone' ? '#2f5d62e6' : '#1d2330e6';
      ctx.beginPath();
      ctx.roundRect(cx - w / 2, y - 10 * scale, w, 20 * scale, 6 * scale);
      ctx.fill();
      ctx.fillStyle = '#fff';
      ctx.fillText(d.label, cx, y + scale);
    }
    const me = this.where();
    if (me) {
      const [x, y] = toPx(me.x, me.z);
      ctx.fillStyle = '#1f7ae0';
      ctx.beginPath();
      ctx.arc(x, y, 7 * scale, 0, Math.PI * 2);
      ctx.fill();
      // Facing arrow: yaw 0 looks down -z (up on the map).
      ctx.strokeStyle = '#1f7ae0';
      ctx.lineWidth = 3 * scale;
      ctx.beginPath();
      ctx.moveTo(x, y);
      ctx.lineTo(x - Math.sin(me.yaw) * 16 * scale, y - Math.cos(me.yaw) * 16 * scale);
      ctx.stroke();
      ctx.fillStyle = '#1d2330';
      ctx.fillText('You', x, y + 16 * scale);
    }
  }
}

const HINT_KEY = 'plaza.hinted';
const RELEASE_MS = 400; // after a pointerup: the click a tap makes comes first

/**
 * The first visit's hint: a few words on how to get around, for the device in hand. It never takes a click
 * meant for the store (only its button is clickable) and goes away for good on "Got it", or once the shopper
 * has done something (clicked or tapped, pressed a key, opened the map or a product).
 */
export class FirstVisitHint {
  constructor({ storeName, touch, storage = safeStorage() }) {
    this.storage = storage;
    this.root = null;
    if (storage?.getItem(HINT_KEY)) return;
    this.root = Object.assign(document.createElement('div'), { id: 'first-hint' });
    this.root.setAttribute('role', 'note');
    const how = touch
      ? 'Drag on the left to walk, on the right to look. Tap a product to see it.'
      : 'Walk with WASD or the arrow keys, drag to look. Click a product to see it.';
    this.root.innerHTML = `<p><strong>Welcome to ${escapeHtml(storeName)}.</strong> ${how}
      <b>Map</b> finds a department; <b>You</b> sets your name.</p><button type="button" id="hint-ok">Got it</button>`;
    document.body.append(this.root);
    this.root.querySelector('#hint-ok').addEventListener('click', () => this.dismiss());
    this.onAct = (e) => { if (!this.root?.contains(e.target)) this.dismiss(); };
    // A tap or click dismisses it once it is over: the hint going changes the bands a product card is placed
    // between, and a card that moved between pointerdown and click would take the tap on another button.
    this.onRelease = (e) => {
      if (!this.root?.contains(e.target)) setTimeout(() => this.dismiss(), e.type === 'click' ? 0 : RELEASE_MS);
    };
    window.addEventListener('click', this.onRelease, true);
    window.addEventListener('pointerup', this.onRelease, true);
    window.addEventListener('keydown', this.onAct, true);
  }

  get shown() {
    return Boolean(this.root?.isConnected);
  }

  dismiss() {
    if (!this.root) return;
    this.root.remove();
    this.root = null;
    window.removeEventListener('click', this.onRelease, true);
    window.removeEventListener('pointerup', this.onRelease, true);
    window.removeEventListener('keydown', this.onAct, true);
    try { this.storage?.setItem(HINT_KEY, '1'); } catch { /* not remembered */ }
  }
}

function escapeHtml(text) {
  return String(text).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]));
}

function safeStorage() {
  try { return window.localStorage; } catch { return null; }
}
