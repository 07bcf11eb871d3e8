// The shopper's bag, checkout, receipt, orders and wardrobe. On a screen an HTML overlay (like the product
// card: words wrap, nothing is cut); in a headset an in-scene panel with the same items (shop_view.js).
// Hold to pay: pointerdown starts the server's timer (POST .../hold {action: "start"}), pointerup or
// leaving the button ends it ({action: "end"}); the server decides whether it was held long enough.
import * as THREE from 'three';
import { Panel } from '../ui/panel.js';
import { hapticCue } from '../xr/haptics.js';
import { ShopError, newActionKey } from './shop_api.js';
import { countdownText, PICKUP_STORES, secondsLeft, shopItems } from './shop_view.js';
import { partLines } from '../social/social_state.js';
import { problemText } from '../promotions/promo_view.js';

const PANEL_WIDTH = 0.62;
const POLL_MS = 700;

const FOR_YOU = 3; // products under the bag

export class ShopPanel {
  /**
   * @param {object} o {api: ShopApi, root: HTMLElement, toggle: HTMLButtonElement, store: scene id (default
   *   pickup), names: {product id: name}, panels, camera, immersive: () => bool, haptic: (cue) => void, a
   *   pulse on the controllers as the pay ring fills (xr/haptics.js; main.js sets it once XR input exists)}
   */
  constructor({ api, root, toggle, store = 'boutique', names = {}, panels = null, camera = null, immersive = () => false,
    haptic = null }) {
    Object.assign(this, { api, root, toggle, names, panels, camera, immersive, store, haptic });
    this.cuedProgress = 0; // the ring's progress at the last haptic check (xr/haptics.js)
    this.onShowProduct = null; // (product id) => walk to it and open its card: "For you" (main.js)
    // Pickup defaults to the store the shopper is in, when it is a pickup point.
    const pickup = PICKUP_STORES.some(([id]) => id === store) ? store : PICKUP_STORES[0][0];
    this.state = { view: 'bag', bag: null, delivery: { type: 'pickup', store: pickup, address: {} }, method: 'test_approve',
      checkout: null, order: null, message: '', busy: false, progress: 0, paying: false, names, options: {},
      which: 'mine', sharedAvailable: false, you: null, part: 'all', coupon: null, coupons: [] };
    // Shopping together: {id() -> group id or null, api: SocialApi, you() -> our member id}, set by social.js.
    this.shared = null;
    this.open = false;
    this.hold = null; // {startedAt (ms), chain: Promise, key: {start, end}}
    this.timer = null;
    this.serverProgress = 0;
    this.events = []; // what happened, for tests: 'hold_too_short', 'placed', ...
    root.addEventListener('click', (e) => {
      const b = e.target.closest('button[data-id]');
      if (b && !b.disabled && b.dataset.id !== 'hold') this.press(b.dataset.id);
    });
    root.addEventListener('input', (e) => {
      const name = e.target.dataset?.field;
      if (name === 'coupon') this.state.coupon = e.target.value.trim().toUpperCase() || null; // promotions
      else if (name) this.state.delivery.address[name] = e.target.value;
    });
    for (const type of ['pointerdown', 'wheel', 'dblclick', 'keydown']) root.addEventListener(type, (e) => e.stopPropagation());
    toggle.addEventListener('click', () => (this.open ? this.close() : this.show('bag')));
  }

  set(patch) {
    Object.assign(this.state, patch);
    this.render();
  }

  async show(view = 'bag') {
    this.open = true;
    // Lists start unknown (null) so the view says "loading", never a false "No orders yet", until the answer.
    this.set({ view, message: '', ...(view === 'orders' ? { orders: null } : {}), ...(view === 'wardrobe' ? { wardrobe: null } : {}) });
    if (view === 'bag') {
      this.api.call('GET', '/api/coupons').then((coupons) => this.set({ coupons })).catch(() => {}); // "Your coupons"
      this.refreshForYou();
      await this.refreshBag();
    }
    const failed = (what) => (err) => { this.set({ message: `Could not load ${what}: ${err.message}` }); return []; };
    if (view === 'orders') this.set({ orders: await this.api.orders().catch(failed('your orders')) });
    if (view === 'wardrobe') this.set({ wardrobe: (await this.api.wardrobe().then((w) => w.items).catch(failed('your wardrobe'))) });
  }

  /** "For you" under the bag (GET /api/recommendations): from this shopper's bag and orders, else what sells here. */
  refreshForYou() {
    this.api.call('GET', `/api/recommendations?store=${encodeURIComponent(this.store)}&k=${FOR_YOU}`)
      .then((forYou) => this.set({ forYou })).catch(() => {}); // a missing row is no loss
    this.api.call('GET', '/api/me/trail').then((trail) => this.set({ trail })).catch(() => {});
  }

  /** The shopper's choice: their in-store trail counts for "For you" (kept 30 days), or is erased now. */
  async setTrail(on) {
    const trail = await this.api.call('PUT', '/api/me/trail', { consent: on });
    this.set({ trail, message: on ? 'Your picks now learn from what you look at and pick up here.'
      : 'Erased: nothing of your visit is kept.', tone: 'info' });
    this.refreshForYou();
  }

  close() {
    this.open = false;
    this.root.hidden = true;
    this.panels?.remove('shop');
    this.stopTimer();
  }

  /** Whether the bag shown is the group's shared bag ("Our bag"). */
  get ours() {
    return this.state.which === 'ours' && Boolean(this.shared?.id());
  }

  /** The group came or went: the "My bag / Our bag" toggle appears or goes (and falls back to my bag). */
  setShared(available) {
    this.state.sharedAvailable = Boolean(available);
    this.state.you = this.shared?.you() ?? null;
    if (!available && this.state.which === 'ours') {
      this.state.which = 'mine';
      this.refreshBag();
    } else {
      this.render();
    }
  }

  /** `which`: 'mine' or 'ours'. */
  async showBag(which) {
    this.state.which = which === 'ours' && this.shared?.id() ? 'ours' : 'mine';
    await this.show('bag');
  }

  async refreshBag() {
    try {
      const bag = this.ours ? await this.shared.api.bag(this.shared.id()) : await this.api.bag();
      this.state.bag = bag;
      this.updateToggle();
      this.render();
    } catch (err) {
      this.set({ message: err.message, tone: 'error' });
    }
  }

  updateToggle() {
    // The checkout and the receipt name lines by SKU only: the bag's option words ("Ink/M") label them.
    for (const li of this.state.bag?.lines ?? []) this.state.options[`${li.product_id}/${li.variant_id}`] = li.option;
    const n = (this.state.bag?.lines ?? []).reduce((a, li) => a + li.quantity, 0);
    const word = this.ours ? 'Our bag' : 'Bag';
    this.toggle.textContent = n ? `${word} (${n})` : word;
  }

  /** The product card's "Add to bag": resolves with the card's note. */
  async add(product, variantId) {
    try {
      const ours = this.ours;
      this.state.bag = ours ? await this.shared.api.add(this.shared.id(), product.id, variantId, 1, newActionKey())
        : await this.api.add(product.id, variantId, 1, newActionKey());
      this.updateToggle();
      if (this.open && this.state.view === 'bag') this.render();
      if (!ours) this.refreshForYou();
      return ours ? 'Added to our bag.' : 'Added to your bag.';
    } catch (err) {
      if (err.code === 'out_of_stock') return 'Sold out: that option cannot be added.';
      return err.message;
    }
  }

  async press(id) {
    const s = this.state;
    try {
      if (id === 'close') return this.close();
      if (id === 'back') return this.show('bag');
      if (id === 'orders' || id === 'wardrobe') return this.show(id);
      if (id.startsWith('see:')) {
        this.close();
        return this.onShowProduct?.(id.slice(4));
      }
      if (id === 'trail:on' || id === 'trail:off') return this.setTrail(id === 'trail:on');
      if (id === 'checkout') return this.set({ view: 'setup', message: '' });
      if (id === 'which:mine' || id === 'which:ours') return this.showBag(id.slice(6));
      if (id === 'part:all' || id === 'part:mine') return this.set({ part: id.slice(5) });
      if (id.startsWith('coupon-apply:')) return this.set({ coupon: id.slice(13), message: `Coupon ${id.slice(13)} will be used at checkout.`, tone: 'info' });
      if (id === 'coupon-clear') return this.set({ coupon: null, message: '' });
      if (id.startsWith('qty+:') || id.startsWith('qty-:') || id.startsWith('remove:')) return this.editLine(id);
      if (id.startsWith('delivery:')) return this.set({ delivery: { ...s.delivery, type: id.slice(9) } });
      if (id.startsWith('store:')) return this.set({ delivery: { ...s.delivery, store: id.slice(6) } });
      if (id.startsWith('method:')) return this.set({ method: id.slice(7) });
      if (id === 'open-checkout') return this.openCheckout();
      if (id === 'cancel-checkout') return this.cancel();
      // On a screen: pointerdown / pointerup on the button. In a headset the panel's press is the select start
      // (trigger, pinch, gaze-and-pinch); its select end (selectEnded) releases.
      if (id === 'hold') return this.holdStart();
    } catch (err) {
      this.set({ message: err.message, tone: 'error', busy: false });
    }
    return undefined;
  }

  async editLine(id) {
    const [op, lineId] = id.split(':');
    const line = this.state.bag.lines.find((li) => li.line_id === lineId);
    if (!line) return;
    this.set({ busy: true, message: '' });
    const key = newActionKey();
    try {
      let bag;
      const quantity = line.quantity + (op === 'qty+' ? 1 : -1);
      if (this.ours) {
        const g = this.shared.id();
        bag = op === 'remove' ? await this.shared.api.removeLine(g, lineId, key)
          : await this.shared.api.setQuantity(g, lineId, quantity, key);
      } else if (op === 'remove') bag = await this.api.remove(lineId, key);
      else bag = await this.api.setQuantity(lineId, quantity, key);
      this.state.bag = bag;
      this.updateToggle();
      this.set({ busy: false });
    } catch (err) {
      this.set({ busy: false, message: err.message, tone: 'error' });
    }
  }

  deliveryBody() {
    const lines = this.ours ? partLines(this.state.bag, this.state.part, this.state.you).lines : (this.state.bag?.lines ?? []);
    if (!lines.some((li) => li.kind === 'physical' || li.kind === 'bundle')) return null;
    const d = this.state.delivery;
    return d.type === 'pickup' ? { type: 'pickup', store: d.store }
      : { type: 'address', address: { line2: '', ...d.address } };
  }

  async openCheckout() {
    this.set({ busy: true, message: '' });
    try {
      const shared = this.ours ? { group: this.shared.id(), part: this.state.part } : null;
      const checkout = await this.api.openCheckout(this.state.method, this.deliveryBody(), newActionKey(), shared,
        this.state.coupon);
      if (checkout.state === 'failed') {
        this.set({ busy: false, view: 'failed', reason: checkout.reason });
        return;
      }
      this.set({ busy: false, view: 'checkout', checkout, paying: false, progress: 0 });
      this.startTimer();
    } catch (err) {
      this.set({ busy: false, message: problemText(err), tone: 'error' });
    }
  }

  async cancel() {
    const c = this.state.checkout;
    this.stopTimer();
    if (c) await this.api.cancel(c.id, newActionKey()).catch(() => null);
    this.events.push('cancelled');
    await this.show('bag');
  }

  startTimer() {
    this.stopTimer();
    this.timer = setInterval(() => this.tick(), 250);
  }

  stopTimer() {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** The countdown and the ring, updated in place (a redraw would lose the pressed button). */
  tick() {
    const c = this.state.checkout;
    if (!c || this.state.view !== 'checkout') {
      this.cuedProgress = 0;
      return this.stopTimer();
    }
    const left = secondsLeft(c.deadline, Date.now());
    const holdS = c.hold_s || 1;
    const local = this.hold ? Math.min(1, (performance.now() - this.hold.startedAt) / 1000 / holdS) : 0;
    this.state.progress = Math.max(local, this.serverProgress);
    const cue = hapticCue(this.cuedProgress, this.state.progress);
    this.cuedProgress = this.state.progress;
    if (cue) this.haptic?.(cue);
    const timer = this.root.querySelector('[data-id="timer"]');
    if (timer) timer.textContent = countdownText(left);
    this.drawRing();
    if (this.panel && this.immersive()) this.renderPanel();
    if (left <= 0 && !this.state.paying) this.render();
    return undefined;
  }

  drawRing() {
    const ring = this.root.querySelector('.hold-ring');
    if (ring) ring.style.setProperty('--progress', String(this.state.progress));
  }

  // --- hold to pay -------------------------------------------------------------------------------
  holdStart() {
    const c = this.state.checkout;
    if (!c || this.hold || this.state.paying) return;
    const keys = { start: newActionKey(), end: newActionKey() };
    this.hold = { startedAt: performance.now(), keys, chain: this.api.hold(c.id, 'start', keys.start) };
    this.state.message = '';
    const shown = this.root.querySelector('[data-id="message"]');
    if (shown) shown.textContent = ''; // in place: a redraw now would swap the button being pressed
    this.hold.chain.catch((err) => this.set({ message: err.message, tone: 'error' }));
    return undefined;
  }

  /** The headset's select end (any input source): releases a hold in progress. */
  selectEnded() {
    if (this.hold) this.holdEnd();
  }

  async holdEnd() {
    const hold = this.hold;
    if (!hold) return;
    this.hold = null;
    this.state.progress = 0;
    this.drawRing();
    const c = this.state.checkout;
    try {
      await hold.chain; // the start must have reached the server first
      this.set({ paying: true, message: '' });
      const view = await this.api.hold(c.id, 'end', hold.keys.end);
      await this.settle(view);
    } catch (err) {
      if (err instanceof ShopError && err.code === 'hold_too_short') {
        this.events.push('hold_too_short');
        this.set({ paying: false, message: 'Hold a little longer: keep pressing until the ring is full.', tone: 'info' });
      } else if (err instanceof ShopError && err.code === 'bag_changed') {
        this.stopTimer();
        await this.show('bag');
        this.set({ message: 'Your bag changed since checkout opened; check it and go to checkout again.', tone: 'error' });
      } else {
        this.set({ paying: false, message: err.message, tone: 'error' });
      }
    }
  }

  /** After confirming: wait out `paying`, then the receipt or the reason. */
  async settle(view) {
    let v = view;
    for (let i = 0; v.state === 'paying' && i < 200; i += 1) {
      this.set({ paying: true, message: 'Paying…' });
      await new Promise((r) => { setTimeout(r, POLL_MS); });
      v = await this.api.checkout(v.id);
    }
    this.stopTimer();
    this.serverProgress = 0;
    this.state.checkout = v;
    if (v.state === 'placed') {
      const order = await this.api.order(v.id);
      this.events.push('placed');
      this.state.bag = await (this.ours ? this.shared.api.bag(this.shared.id()) : this.api.bag()).catch(() => this.state.bag);
      this.updateToggle();
      this.set({ view: 'receipt', order, paying: false, message: '', coupon: null }); // a coupon is used once
    } else {
      this.events.push(v.state);
      this.set({ view: 'failed', reason: v.reason ?? v.state, paying: false });
    }
  }

  /** `group_bag` {group, by, bag}: a member changed the shared bag; shown at once when "Our bag" is open. */
  onGroupBag(message) {
    if (!this.ours || message.group !== this.shared.id() || !message.bag) return;
    // Two updates can cross on the way: the one with the higher version wins.
    if (Number(this.state.bag?.version) > Number(message.bag.version)) return;
    this.state.bag = message.bag;
    this.updateToggle();
    if (this.open && this.state.view === 'bag') this.render();
  }

  /** The room's `confirm_progress` and `checkout` messages (a pinch-and-hold the server recognised). */
  onRoomMessage(message) {
    const c = this.state.checkout;
    if (!c || message.checkout !== c.id) return;
    if (message.t === 'confirm_progress') {
      this.serverProgress = message.done ? 1 : Math.max(0, Math.min(1, Number(message.progress) || 0));
      this.tick();
    } else if (message.t === 'checkout') {
      if (message.error) this.set({ message: message.msg ?? message.error, tone: 'error' });
      else this.api.checkout(c.id).then((v) => this.settle(v)).catch(() => null);
    }
  }

  // --- drawing -----------------------------------------------------------------------------------
  render() {
    if (!this.open) return;
    const items = shopItems(this.state);
    if (this.immersive() && this.panels) {
      this.root.hidden = true;
      this.renderPanel(items);
      return;
    }
    this.panels?.remove('shop');
    this.panel = null;
    this.renderHtml(items);
  }

  renderHtml(items) {
    const el = (tag, className, textContent) => Object.assign(document.createElement(tag), className ? { className } : {},
      textContent !== undefined ? { textContent } : {});
    const out = [];
    let row = null;
    for (const item of items) {
      let node;
      if (item.kind === 'title') node = el('h2', 'title', item.label);
      else if (item.kind === 'text') node = el('div', `text${item.muted ? ' muted' : ''}${item.strong ? ' strong' : ''}${item.tone ? ` ${item.tone}` : ''}`, item.label);
      else if (item.kind === 'field') {
        node = el('label', 'field', item.label);
        const input = el('input');
        input.dataset.field = item.id.slice(6);
        input.value = item.value;
        input.autocomplete = 'on';
        node.append(input);
      } else {
        node = el('button', `${item.selected ? 'selected' : ''}${item.kind === 'hold' ? ' hold' : ''}`);
        node.type = 'button';
        node.dataset.id = item.id;
        node.disabled = Boolean(item.disabled);
        if (item.selected) node.setAttribute('aria-pressed', 'true');
        if (item.label2) node.setAttribute('aria-label', item.label2);
        if (item.kind === 'hold') {
          const ring = el('span', 'hold-ring');
          ring.setAttribute('aria-hidden', 'true');
          node.append(ring, el('span', 'hold-label', item.label));
          node.addEventListener('pointerdown', (e) => {
            if (e.button !== 0 && e.pointerType === 'mouse') return;
            e.preventDefault(); // no text selection or long-press menu while holding
            this.holdStart();
          });
          for (const type of ['pointerup', 'pointerleave', 'pointercancel']) node.addEventListener(type, () => this.holdEnd());
          node.addEventListener('contextmenu', (e) => e.preventDefault());
        } else {
          node.textContent = item.label;
        }
      }
      if (item.row !== undefined && item.kind !== 'title') {
        if (!row || row.dataset.row !== item.row) {
          row = el('div', `row row-${item.row.startsWith('line-') ? 'line' : item.row}`);
          row.dataset.row = item.row;
          out.push(row);
        }
        row.append(node);
      } else {
        row = null;
        out.push(node);
      }
      if (item.kind === 'text') node.dataset.id = item.id;
    }
    this.root.replaceChildren(...out);
    this.root.dataset.view = this.state.view;
    this.root.hidden = false;
    this.fitToScreen();
    this.drawRing();
  }

  /** Below the top bar (two lines on a phone) and above the help line, scrolling inside when long. */
  fitToScreen() {
    const hud = document.getElementById('buttons')?.getBoundingClientRect();
    const help = document.getElementById('help')?.getBoundingClientRect();
    const top = Math.round((hud?.bottom ?? 50) + 8);
    const bottom = help && help.height ? window.innerHeight - help.top + 8 : 10;
    Object.assign(this.root.style, { top: `${top}px`, maxHeight: `${Math.max(160, window.innerHeight - top - bottom)}px` });
  }

  /** In a headset: the same items on a panel in front of the shopper (address fields need a screen). */
  renderPanel(items = shopItems(this.state)) {
    const panelItems = items.filter((i) => i.kind !== 'field').map((i) => {
      if (i.kind === 'hold') {
        const pct = Math.round((this.state.progress ?? 0) * 100);
        return { ...i, kind: 'button', label: this.state.paying ? i.label : (pct ? `Holding… ${pct}%` : 'Hold to pay (hold the trigger or pinch)') };
      }
      return i;
    });
    if (items.some((i) => i.kind === 'field' && i.id !== 'field:coupon')) {
      panelItems.splice(panelItems.findIndex((i) => i.id === 'method-label'), 0,
        { id: 'address-note', kind: 'text', label: 'Enter an address on a screen, or pick up in a store.', muted: true });
    }
    let panel = this.panels.get('shop');
    if (!panel) {
      panel = this.panels.add(new Panel({ id: 'shop', width: PANEL_WIDTH, items: panelItems, onTop: true,
        onPress: (id) => this.press(id) }));
      this.place(panel);
    } else {
      panel.setItems(panelItems);
    }
    this.panel = panel;
  }

  /** In front of the eye, a little to the left, facing it. */
  place(panel) {
    if (!this.camera) return;
    const eye = this.camera.getWorldPosition(new THREE.Vector3());
    const forward = this.camera.getWorldDirection(new THREE.Vector3()).setY(0).normalize();
    const left = new THREE.Vector3(forward.z, 0, -forward.x);
    panel.mesh.position.copy(eye).addScaledVector(forward, 0.8).addScaledVector(left, 0.1);
    panel.mesh.position.y = eye.y - 0.1;
    panel.mesh.lookAt(eye.x, panel.mesh.position.y, eye.z);
  }

}
