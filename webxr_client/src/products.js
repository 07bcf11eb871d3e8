// Products in the store: loading the catalog, placing products on fixtures, the product panel (price,
// stock, provenance, variants), and inspecting a product: grab, rotate, zoom, put back.
import * as THREE from 'three';
import { fetchOptional } from './api.js';
import { formatPrice, formatStock } from './format.js';
import { pick } from './store_scene.js';
import { Panel } from './ui/panel.js';
import { applyVariant, variantNames } from './variants.js';
import { applyStockLevels, choiceStock, optionAxes, pickVariant, preselectSize, variantStock } from './shop/choice.js';

/** One product record in the shape the client uses, whatever spelling the catalog API has. */
export function normalizeProduct(raw) {
  if (!raw || typeof raw !== 'object' || !raw.id) return null;
  const variants = (Array.isArray(raw.variants) ? raw.variants : []).map((v, i) => (typeof v === 'string'
    ? { id: v, name: v }
    : { id: String(v?.id ?? v?.sku ?? i), name: String(v?.name ?? v?.label ?? v?.color ?? v?.id ?? `Option ${i + 1}`),
      color: v?.color_hex ?? v?.hex ?? v?.color ?? null, stock: Number.isFinite(v?.stock) ? v.stock : null,
      materialVariant: v?.material_variant ?? v?.gltf_variant ?? v?.name ?? null }));
  const stocks = variants.map((v) => v.stock).filter(Number.isFinite);
  // What the shopper switches on the model: the colour options when the catalog has them (one button
  // per colour, not per colour x size), else the variants themselves.
  const colours = Array.isArray(raw.options?.color) ? raw.options.color : [];
  const choices = colours.length
    ? colours.map((c) => {
      const name = String(c?.name ?? c);
      const ofColour = (Array.isArray(raw.variants) ? raw.variants : []).filter((v) => v?.options?.color === name);
      const stock = ofColour.map((v) => v.stock).filter(Number.isFinite);
      return { id: name, name, color: c?.hex ?? null, materialVariant: name,
        stock: stock.length ? stock.reduce((a, b) => a + b, 0) : null };
    })
    : variants;
  return {
    id: String(raw.id),
    name: String(raw.name ?? raw.title ?? raw.id),
    category: String(raw.category ?? ''),
    priceMinor: Number.isInteger(raw.price_minor) ? raw.price_minor : (Number.isInteger(raw.price?.minor) ? raw.price.minor : null),
    currency: raw.currency ?? raw.price?.currency ?? null,
    variants,
    choices,
    stock: Number.isFinite(raw.stock) ? raw.stock : (stocks.length ? stocks.reduce((a, b) => a + b, 0) : null),
    modelUrl: pick(raw, 'model_url', 'gltf_url', 'glb_url') ?? null,
    provenance: raw.transparency ?? raw.provenance ?? raw.supply_chain ?? null,
    dimensionsCm: raw.dimensions_cm ?? null,
    // Apparel and shoes sold in sizes: the try-on needs the chart id; the fit style comes from the API.
    sizeChart: typeof raw.size_chart === 'string' && raw.size_chart ? raw.size_chart : null,
    fit: typeof raw.fit === 'string' ? raw.fit : null,
    description: typeof raw.description === 'string' ? raw.description : '',
    raw,
  };
}

/** Catalog list: tries the catalog routes in turn; [] when there is no catalog API yet. */
export async function fetchCatalog(sceneId) {
  const urls = [`/api/products?scene=${encodeURIComponent(sceneId)}`, '/api/products', '/api/catalog'];
  for (const url of urls) {
    const data = await fetchOptional(url).catch(() => null);
    const list = Array.isArray(data) ? data : (data?.products ?? data?.items ?? data?.results);
    if (Array.isArray(list)) return list.map(normalizeProduct).filter(Boolean);
  }
  return [];
}

/** Provenance record (materials, origin, certifications, supply-chain steps) as short display lines. */
export function provenanceLines(provenance, max = 4) {
  if (!provenance) return [];
  if (typeof provenance === 'string') return [provenance];
  const item = (x) => {
    if (x === null || typeof x !== 'object') return String(x);
    if (x.step) return `${x.step}${x.where ? ` (${x.where})` : ''}`;
    if (x.name) return `${x.name}${Number.isFinite(x.percent) ? ` ${x.percent}%` : ''}`;
    return Object.values(x).join(' ');
  };
  const join = (v) => (Array.isArray(v) ? v.map(item).join(', ') : item(v));
  const lines = [];
  for (const [key, label] of [['origin', 'Made in'], ['materials', 'Materials'], ['certifications', 'Certified'],
    ['supply_chain', 'Chain'], ['steps', 'Chain']]) {
    if (provenance[key] && (!Array.isArray(provenance[key]) || provenance[key].length)) lines.push(`${label}: ${join(provenance[key])}`);
  }
  return lines.slice(0, max);
}

/**
 * What a product card says and offers, the same on a screen (HTML) and in a headset (panel):
 * {title, price, stock, description, facts: [line], choices: [{id, label, selected, disabled}],
 *  sizes: [{id, label, selected, disabled}], note, actions: [{id, label, disabled}]}.
 * With `canBuy`, the card offers sizes (sold-out ones disabled) and "Add to bag" for the chosen option;
 * `levels` are the room's live stock levels by SKU (`<product>/<variant>`).
 */
export function cardContent(product, { variant = null, size = null, inspecting = false, canTryOn = false,
  variantNames = [], canBuy = false, levels = {}, note = '', added = false, canFitRoom = false, canShow = false } = {}) {
  const options = product.choices.length ? product.choices : variantNames.map((n) => ({ id: n, name: n }));
  const raw = product.raw ?? {};
  const { sizes } = optionAxes(raw);
  // The colour being bought: the one shown, else the first (the model shows it by default).
  const colour = variant ?? (canBuy && product.choices.length ? product.choices[0].id : null);
  const chosen = canBuy ? pickVariant(raw, { colour, size }) : null;
  const live = (c, s) => choiceStock(raw, product.id, { colour: c, size: s }, levels);
  let stock = variant ? product.choices.find((v) => v.id === variant)?.stock ?? product.stock : product.stock;
  if (canBuy) stock = chosen ? variantStock(product.id, chosen, levels) : (live(colour, null) ?? stock);
  const soldOut = (n) => Number.isFinite(n) && n <= 0;
  let buy = [];
  if (canBuy && (raw.variants ?? []).length) {
    let label = 'Add to bag';
    if (!chosen) label = sizes.length && !size ? 'Choose a size' : 'Choose an option';
    else if (soldOut(stock)) label = 'Sold out';
    buy = [{ id: 'addtobag', label, disabled: !chosen || soldOut(stock) }];
  }
  return {
    title: product.name,
    price: product.priceMinor === null ? 'price unavailable' : formatPrice(product.priceMinor, product.currency),
    stock: formatStock(stock),
    description: product.description ?? '',
    facts: provenanceLines(product.provenance),
    choices: options.slice(0, 6).map((v) => {
      const out = canBuy && soldOut(live(v.id, null));
      return { id: `variant:${v.id}`, label: out ? `${v.name} (sold out)` : v.name,
        selected: (canBuy ? colour : variant) === v.id };
    }),
    sizes: canBuy ? sizes.map((s) => {
      const out = soldOut(variantStock(product.id, pickVariant(raw, { colour, size: s }), levels));
      return { id: `size:${s}`, label: out ? `${s} sold out` : s, selected: size === s, disabled: out };
    }) : [],
    note,
    variantId: chosen?.id ?? null,
    actions: [
      ...buy,
      ...(added ? [{ id: 'openbag', label: 'View bag' }] : []),
      ...(canShow ? [{ id: 'show', label: 'Look at this' }] : []), // shopping together: opens it for the friends
      ...(canTryOn && product.sizeChart ? [{ id: 'tryon', label: 'Try on' }] : []),
      ...(canFitRoom && product.category === 'furniture' && product.dimensionsCm ? [{ id: 'roomfit', label: 'Fit in my room' }] : []),
      { id: 'inspect', label: inspecting ? 'Put back' : 'Pick up' },
      { id: 'close', label: 'Close' },
    ],
  };
}

/** The in-headset panel's items for a card's content. Long words wrap on the panel (ui/panel.js). */
export function panelItems(content) {
  return [
    { id: 'title', kind: 'title', label: content.title },
    { id: 'price', kind: 'text', label: `${content.price} · ${content.stock}` },
    ...(content.promo ?? []), // promotions/: a team price, open teams, Start / Join / Leave
    ...(content.description ? [{ id: 'description', kind: 'text', label: content.description, muted: true }] : []),
    ...content.facts.map((line, i) => ({ id: `prov${i}`, kind: 'text', label: line, muted: true })),
    ...content.choices.map((c) => ({ id: c.id, kind: 'button', label: c.label, row: 'variants', selected: c.selected })),
    ...(content.sizes ?? []).map((c) => ({ id: c.id, kind: 'button', label: c.label, row: 'sizes', selected: c.selected,
      disabled: c.disabled })),
    ...(content.note ? [{ id: 'note', kind: 'text', label: content.note }] : []),
    ...content.actions.map((a) => ({ id: a.id, kind: 'button', label: a.label, row: 'actions', disabled: a.disabled })),
  ];
}

// In a headset the card stands between the shopper and the product, to its side, at most this far away
// and at least this close, so it stays large in view (a 0.5 m panel at 1.2 m spans 23 degrees).
const PANEL_NEAR = 0.7;
const PANEL_FAR = 1.2;
const PANEL_BEFORE_PRODUCT = 0.35;

const _v = new THREE.Vector3();
const _q = new THREE.Quaternion();
const _box = new THREE.Box3();
const _corner = new THREE.Vector3();

export class ProductManager {
  constructor({ store, panels, camera, gltfLoader, onChange = () => {}, onTryOn = null, card = null,
    immersive = () => false, shop = null, onRoomFit = null, onShow = null, canShow = null }) {
    // Shopping together: "Look at this" on the card (while in a group) brings it up for the friends.
    this.onShow = onShow; // (product id) => Promise<note>
    this.canShow = canShow; // () => bool
    this.onRoomFit = onRoomFit; // (product) => void; furniture cards offer "Fit in my room" when set
    // Buying (shop/): {add(product, variantId) -> Promise<note>, recommendedSize(productId)}; null: no buying.
    this.shop = shop;
    this.promo = null; // promotions/promotions.js: the card's team section (cardItems, press)
    this.levels = {}; // live stock by SKU, from the room's `stock` messages
    this.store = store;
    this.card = card; // ui/product_card.js on screens; null: panels everywhere
    this.immersive = immersive;
    this.hovered = null;
    this.hoverBox = new THREE.Box3Helper(new THREE.Box3(), 0xf0b429);
    this.hoverBox.visible = false;
    this.hoverBox.name = 'product-hover';
    this.hoverBox.raycast = () => {}; // a highlight, not something to click
    this.onTryOn = onTryOn; // (product) => void; the panel offers "Try on" for sized products when set
    this.panels = panels;
    this.camera = camera;
    this.gltfLoader = gltfLoader;
    this.onChange = onChange;
    this.items = new Map(); // id -> {product, object, home: {position, quaternion, parent}, gltf, variant}
    this.selected = null;
    this.inspecting = null; // {id, holder, distance}
  }

  /** Places products on fixtures: the fixture's own list when the scene has one, else round-robin. */
  place(products) {
    const fixtures = this.store.fixtures;
    const byId = new Map(products.map((p) => [p.id, p]));
    const placed = new Set();
    const slots = fixtures.map(() => []);
    fixtures.forEach((f, i) => {
      // Placements with world positions (server/scenes) win; else the fixture's product list.
      const entries = Array.isArray(f.def.placements) && f.def.placements.length ? f.def.placements : f.def.products ?? [];
      for (const entry of entries) {
        const id = typeof entry === 'string' ? entry : entry?.product_id ?? entry?.id;
        if (!byId.has(id) || placed.has(id)) continue;
        placed.add(id);
        const world = Array.isArray(entry?.position) && entry.position.length >= 3 && entry.position.every(Number.isFinite)
          ? entry.position : null;
        if (world) {
          const item = this.add(byId.get(id), this.store.root, world);
          item.object.rotation.y = ((Number(entry.rotation_deg) || 0) * Math.PI) / 180;
          item.home.quaternion.copy(item.object.quaternion);
        } else {
          slots[i].push({ product: byId.get(id), offset: entry?.offset ?? null });
        }
      }
    });
    // A scene that lists its products shows only those; a bare scene gets the catalog spread over it.
    const sceneLists = fixtures.some((f) => (f.def.placements ?? f.def.products ?? []).length > 0);
    if (!sceneLists) {
      products.forEach((p, k) => fixtures.length && slots[k % fixtures.length].push({ product: p, offset: null }));
      products.forEach((p) => placed.add(p.id));
    }
    fixtures.forEach((f, i) => {
      const row = slots[i];
      row.forEach((slot, k) => {
        const along = (k - (row.length - 1) / 2) * Math.min(0.7, (Math.max(f.size[0], f.size[2]) - 0.2) / Math.max(1, row.length));
        const alongX = f.size[0] >= f.size[2];
        const offset = Array.isArray(slot.offset) && slot.offset.length >= 3 ? slot.offset
          : [alongX ? along : 0, f.size[1], alongX ? 0 : along];
        this.add(slot.product, f.object, offset);
      });
    });
    return products.filter((p) => placed.has(p.id));
  }

  add(product, parent, offset) {
    const object = new THREE.Group();
    object.name = `product:${product.id}`;
    object.userData.productId = product.id;
    object.position.set(offset[0], offset[1], offset[2]);
    object.add(placeholderModel(product));
    parent.add(object);
    const item = { product, object, home: { parent, position: object.position.clone(), quaternion: object.quaternion.clone(), scale: 1 }, gltf: null, variant: null };
    this.items.set(product.id, item);
    if (product.modelUrl && this.gltfLoader) this.loadModel(item);
    return item;
  }

  async loadModel(item) {
    try {
      const gltf = await this.gltfLoader.loadAsync(item.product.modelUrl);
      item.gltf = gltf;
      item.object.clear();
      item.object.add(gltf.scene);
      gltf.scene.traverse((o) => { o.userData.productId = item.product.id; });
      if (item.variant) await this.setVariant(item.product.id, item.variant);
      this.onChange('model', item);
    } catch (err) {
      console.warn(`Model for ${item.product.name} did not load (${err.message ?? err}); keeping a placeholder.`);
    }
  }

  productAt(object) {
    for (let o = object; o; o = o.parent) if (o.userData?.productId) return this.items.get(o.userData.productId) ?? null;
    return null;
  }

  /** Product hit along a ray: {item, distance} or null. */
  pick(raycaster) {
    const roots = [...this.items.values()].map((i) => i.object);
    const hit = raycaster.intersectObjects(roots, true)[0];
    const item = hit ? this.productAt(hit.object) : null;
    return item ? { item, distance: hit.distance, point: hit.point } : null;
  }

  select(id) {
    const item = this.items.get(id);
    if (!item) return;
    this.selected = id;
    this.showPanel(item);
    this.hover(this.hovered);
    this.onChange('select', item);
    if (this.shop) this.refreshStock(id);
  }

  /**
   * Live stock of one product (GET /api/products/{id}/stock): the catalog list carries the seeded levels, so
   * an opened card asks once; the room's `stock` messages keep it current from then on.
   */
  async refreshStock(id) {
    const data = await fetchOptional(`/api/products/${encodeURIComponent(id)}/stock`).catch(() => null);
    if (!Array.isArray(data?.variants)) return;
    this.applyStock(Object.fromEntries(data.variants.filter((v) => v?.id).map((v) => [`${id}/${v.id}`, v.stock])));
  }

  deselect() {
    this.selected = null;
    this.panels.remove('product');
    this.card?.hide();
    this.hover(this.hovered);
    this.onChange('deselect', null);
  }

  /** Highlights the product under a pointer or ray (null: none; the selected product stays marked). */
  hover(id) {
    this.hovered = id && this.items.has(id) ? id : null;
    const shown = this.hovered ?? (this.inspecting ? null : this.selected);
    const item = shown ? this.items.get(shown) : null;
    if (!item) {
      this.hoverBox.visible = false;
      return;
    }
    if (!this.hoverBox.parent) this.store.root.add(this.hoverBox);
    this.hoverBox.box.setFromObject(item.object).expandByScalar(0.02);
    this.hoverBox.visible = true;
  }

  /** The product's rectangle on screen in px ({x, y, w, h}), or null when it is behind the camera. */
  screenRect(id, width, height) {
    const item = this.items.get(id);
    if (!item) return null;
    _box.setFromObject(item.object);
    if (_box.isEmpty()) return null;
    let [x0, y0, x1, y1] = [Infinity, Infinity, -Infinity, -Infinity];
    for (let i = 0; i < 8; i += 1) {
      _corner.set(i & 1 ? _box.max.x : _box.min.x, i & 2 ? _box.max.y : _box.min.y, i & 4 ? _box.max.z : _box.min.z);
      _corner.project(this.camera);
      if (_corner.z > 1) return null; // behind the eye
      x0 = Math.min(x0, _corner.x); x1 = Math.max(x1, _corner.x);
      y0 = Math.min(y0, _corner.y); y1 = Math.max(y1, _corner.y);
    }
    if (x1 < -1 || x0 > 1 || y1 < -1 || y0 > 1) return null; // off screen
    const px = (v) => ((v + 1) / 2) * width;
    const py = (v) => ((1 - v) / 2) * height;
    return { x: px(x0), y: py(y1), w: px(x1) - px(x0), h: py(y0) - py(y1) };
  }

  /** Keeps the screen card beside its product as the view moves (every frame on a screen). */
  updateCard(view) {
    this.lastView = view;
    if (!this.card?.visible || !this.selected) return;
    this.card.place(this.screenRect(this.selected, view.w, view.h), view);
  }

  /** After entering or leaving a headset the open card moves to the panel or the screen. */
  refresh() {
    const item = this.selected && this.items.get(this.selected);
    if (item) this.showPanel(item);
  }

  showPanel(item) {
    if (this.shop && item.size === undefined) {
      item.size = preselectSize(optionAxes(item.product.raw).sizes, this.shop.recommendedSize?.(item.product.id));
    }
    const content = cardContent(item.product, { variant: item.variant, inspecting: Boolean(this.inspecting),
      canTryOn: Boolean(this.onTryOn), variantNames: item.gltf ? variantNames(item.gltf) : [],
      canFitRoom: Boolean(this.onRoomFit), canBuy: Boolean(this.shop), size: item.size ?? null, levels: this.levels, note: item.note ?? '',
      canShow: Boolean(this.canShow?.()),
      added: Boolean(item.added) });
    content.promo = this.promo?.cardItems(item) ?? [];
    item.content = content;
    if (this.card && !this.immersive()) {
      this.panels.remove('product');
      this.card.onPress = (id) => this.onPanelPress(id);
      this.card.show(content);
      if (this.lastView) this.updateCard(this.lastView); // in place at once, not a frame later
      return;
    }
    this.card?.hide();
    const items = panelItems(content);
    let panel = this.panels.get('product');
    if (!panel) {
      panel = this.panels.add(new Panel({ id: 'product', width: 0.5, items, onPress: (w) => this.onPanelPress(w),
        onTop: true }));
    } else {
      panel.setItems(items);
    }
    this.placePanel(item, panel);
  }

  /**
   * In a headset: between the eye and the product, beside the line of sight so the product stays in view,
   * 0.7-1.2 m away (large enough to read), turned to face the eye. It draws over everything (onTop), so a
   * shelf or a product in hand can never hide it.
   */
  placePanel(item, panel) {
    item.object.getWorldPosition(_v);
    const eye = this.camera.getWorldPosition(new THREE.Vector3());
    const flat = _v.clone().sub(eye).setY(0);
    const reach = flat.length();
    const toProduct = reach > 1e-3 ? flat.divideScalar(reach) : new THREE.Vector3(0, 0, -1);
    const distance = Math.max(PANEL_NEAR, Math.min(PANEL_FAR, reach - PANEL_BEFORE_PRODUCT));
    // Beside the line of sight to the product, on the side towards where the shopper looks.
    const right = new THREE.Vector3(-toProduct.z, 0, toProduct.x);
    const forward = this.camera.getWorldDirection(new THREE.Vector3()).setY(0);
    const side = forward.dot(right) < 0 ? -1 : 1;
    const width = panel.mesh.scale.x;
    panel.mesh.position.copy(eye).addScaledVector(toProduct, distance).addScaledVector(right, side * (width / 2 + 0.08));
    panel.mesh.position.y = eye.y - 0.1;
    panel.mesh.lookAt(eye.x, panel.mesh.position.y, eye.z);
  }

  async onPanelPress(widgetId) {
    const item = this.selected && this.items.get(this.selected);
    if (!item) return;
    if (widgetId === 'close') {
      if (this.inspecting) this.putBack();
      this.deselect();
    } else if (widgetId === 'inspect') {
      if (this.inspecting) this.putBack(); else this.inspect(item.product.id);
      this.showPanel(item);
    } else if (widgetId === 'tryon') {
      if (this.inspecting) this.putBack();
      this.onTryOn?.(item.product);
    } else if (widgetId === 'roomfit') {
      if (this.inspecting) this.putBack();
      this.deselect();
      this.onRoomFit?.(item.product);
    } else if (widgetId.startsWith('variant:')) {
      item.note = '';
      await this.setVariant(item.product.id, widgetId.slice('variant:'.length));
      this.showPanel(item);
    } else if (widgetId.startsWith('size:')) {
      item.size = widgetId.slice('size:'.length);
      item.note = '';
      this.showPanel(item);
    } else if (widgetId === 'addtobag' && this.shop && item.content?.variantId) {
      item.note = 'Adding…';
      this.showPanel(item);
      item.note = await this.shop.add(item.product, item.content.variantId);
      item.added = item.note === 'Added to your bag.' || item.note === 'Added to our bag.';
      if (this.selected === item.product.id) this.showPanel(item);
    } else if (widgetId === 'show' && this.onShow) {
      item.note = await this.onShow(item.product.id);
      if (this.selected === item.product.id) this.showPanel(item);
    } else if (widgetId.startsWith('team-') && this.promo) {
      await this.promo.press(widgetId, item);
    } else if (widgetId === 'openbag' && this.shop) {
      if (this.inspecting) this.putBack();
      this.deselect();
      this.shop.openBag();
    }
  }

  /** Promotions: the open card's team section changed (a countdown second, a `team` message); redrawn in place. */
  refreshPromo() {
    const item = this.selected && this.items.get(this.selected);
    if (!item?.content) return;
    item.content.promo = this.promo?.cardItems(item) ?? [];
    if (this.card && !this.immersive()) this.card.updatePromo(item.content.promo);
    else this.panels.get('product')?.setItems(panelItems(item.content));
  }

  /** The room's `stock` message: live levels by SKU; an open card of a changed product is redrawn. */
  applyStock(levels) {
    const changed = applyStockLevels(this.levels, levels);
    if (this.selected && changed.has(this.selected)) this.showPanel(this.items.get(this.selected));
    return changed;
  }

  /** Switches the colour/material variant on the model (KHR_materials_variants) or placeholder colour. */
  async setVariant(id, variantId) {
    const item = this.items.get(id);
    if (!item) return false;
    item.variant = variantId;
    const variant = item.product.choices.find((v) => v.id === variantId) ?? { name: variantId };
    if (item.gltf) {
      const names = variantNames(item.gltf);
      if (names.length) {
        const wanted = names.find((n) => n.toLowerCase() === String(variant.materialVariant ?? variant.name).toLowerCase())
          ?? names.find((n) => n.toLowerCase() === String(variantId).toLowerCase());
        if (wanted) await applyVariant(item.gltf.scene, names, wanted, (i) => item.gltf.parser.getDependency('material', i));
      }
    } else if (variant.color) {
      item.object.traverse((o) => { if (o.isMesh) o.material.color?.set(safeColor(variant.color)); });
    }
    this.onChange('variant', item);
    return true;
  }

  /**
   * Takes a product off the shelf into a holder: the camera on desktop (in front of the eyes),
   * or a controller / hand / transient pointer in XR, keeping its current world pose.
   */
  inspect(id, holder = null) {
    const item = this.items.get(id);
    if (!item) return;
    if (this.inspecting) this.putBack();
    const target = holder ?? this.camera;
    if (!holder) {
      // Desktop: float it 0.6 m in front of the eyes, upright.
      this.camera.add(item.object);
      item.object.position.set(0, -0.1, -0.6);
      item.object.quaternion.identity();
    } else {
      target.attach(item.object);
    }
    this.inspecting = { id, holder: target, desktop: !holder };
    this.onChange('grab', item);
  }

  /** Desktop drag: turn the product in hand. */
  rotateInspected(dx, dy) {
    const item = this.inspecting && this.items.get(this.inspecting.id);
    if (!item) return;
    _q.setFromEuler(new THREE.Euler(dy, dx, 0));
    item.object.quaternion.premultiply(_q);
  }

  /** Zoom: scroll, pinch, or thumbstick. Brings the product closer (desktop) and scales it (0.5x-4x). */
  zoomInspected(factor) {
    const item = this.inspecting && this.items.get(this.inspecting.id);
    if (!item || !Number.isFinite(factor) || factor <= 0) return;
    const s = Math.min(4, Math.max(0.5, item.object.scale.x * factor));
    item.object.scale.setScalar(s);
  }

  putBack() {
    const item = this.inspecting && this.items.get(this.inspecting.id);
    this.inspecting = null;
    if (!item) return;
    item.home.parent.add(item.object);
    item.object.position.copy(item.home.position);
    item.object.quaternion.copy(item.home.quaternion);
    item.object.scale.setScalar(1);
    this.onChange('release', item);
  }
}

function safeColor(value) {
  try {
    return new THREE.Color(value);
  } catch {
    return new THREE.Color(0x999999);
  }
}

/** A simple stand-in model, sized from the product dimensions when known. */
export function placeholderModel(product) {
  const dims = product.dimensionsCm;
  let size = [0.3, 0.3, 0.3];
  if (dims && typeof dims === 'object') {
    const d = Array.isArray(dims) ? dims : [dims.width ?? dims.w, dims.height ?? dims.h, dims.depth ?? dims.d];
    if (d.every((x) => Number.isFinite(x) && x > 0)) size = d.map((x) => Math.min(1.2, x / 100));
  }
  const color = product.variants.find((v) => v.color)?.color ?? 0x6c8ebf;
  const material = new THREE.MeshStandardMaterial({ color: safeColor(color), roughness: 0.5 });
  const geometry = /shoe|bag|bottle|cosmetic|beauty/i.test(product.category)
    ? new THREE.CylinderGeometry(size[0] / 2, size[0] / 2, size[1], 20)
    : new THREE.BoxGeometry(size[0], size[1], size[2]);
  const mesh = new THREE.Mesh(geometry, material);
  mesh.position.y = size[1] / 2;
  mesh.name = 'placeholder';
  return mesh;
}
