// Promotions in the page (docs/PROMOTIONS.md): team buys on the product card, the treasure hunt panel, "Invite &
// earn", and the room's `team` / `hunt` messages. The server decides everything (places, charges, finds,
// rewards); the page shows it and asks. Coupons at checkout live in the bag (shop/), drawn by promo_view.js.
import * as THREE from 'three';
import { newActionKey } from '../shop/shop_api.js';
import { PromoApi, teamFromUrl } from './promo_api.js';
import { PromoPanel, sparkle, Toast } from './promo_panel.js';
import { huntItems, problemText, referralItems, teamItems } from './promo_view.js';
import { formatPrice } from '../format.js';

const STALE_MS = 5000; // an open card asks for its teams again after this long

export class Promotions {
  /**
   * @param {object} o {shopApi, shop: ShopPanel, products: ProductManager, panels, camera, scene, store (scene id),
   *   storeName, immersive: () => bool, buttons: the top bar, goToProduct(id), setStatus(text)}
   */
  constructor({ shopApi, shop, products, panels, camera, scene, store, storeName = '', immersive, buttons, goToProduct,
    setStatus = () => {} }) {
    Object.assign(this, { shop, products, panels, camera, scene, store, storeName, immersive, buttons, goToProduct, setStatus });
    this.api = new PromoApi(shopApi);
    this.offers = new Map(); // product id -> offer
    this.teams = new Map(); // product id -> open team views
    this.fetched = new Map(); // product id -> when its teams were asked for (ms)
    this.mine = {}; // team id -> team view with `you`, for teams we are (or were) in
    this.paid = {}; // team id -> what our order of it cost (minor units)
    this.notes = new Map(); // product id -> the last team action's words
    this.busy = false;
    this.hunts = null;
    this.huntMessage = '';
    this.referral = null;
    this.referralMessage = '';
    this.events = []; // what happened, for tests
    const common = { panels, camera, immersive };
    this.toast = new Toast(common);
    this.huntPanel = new PromoPanel({ id: 'hunt-panel', label: 'Treasure hunt', ...common,
      items: () => huntItems(this.hunts, { message: this.huntMessage, storeName }), onPress: () => {} });
    this.invitePanel = new PromoPanel({ id: 'invite-panel', label: 'Invite and earn', ...common,
      items: () => referralItems(this.referral, { origin: location.origin, message: this.referralMessage }),
      onPress: (id) => (id === 'copy-link' ? this.copyReferral() : undefined) });
    this.huntButton = this.topButton('open-hunt', 'Hunt', () => this.toggle(this.huntPanel, () => this.loadHunts()));
    this.huntButton.hidden = true; // until the store turns out to have a hunt
    this.inviteButton = this.topButton('open-invite', 'Invite & earn', () => this.toggle(this.invitePanel, () => this.loadReferrals()));
    // On a phone the top bar is short of room: "Invite" there, "Invite & earn" on wider screens (style.css).
    const wide = Object.assign(document.createElement('span'), { className: 'wide-only', textContent: ' & earn' });
    this.inviteButton.replaceChildren('Invite', wide);
    this.inviteButton.setAttribute('aria-label', 'Invite & earn');
    products.promo = this;
    this.ticker = setInterval(() => this.tick(), 1000);
  }

  topButton(id, label, onClick) {
    const b = Object.assign(document.createElement('button'), { id, type: 'button', textContent: label });
    b.addEventListener('click', onClick);
    this.buttons?.prepend(b);
    return b;
  }

  toggle(panel, load) {
    if (panel.open) return panel.hide();
    this.products.deselect();
    for (const other of [this.huntPanel, this.invitePanel]) if (other !== panel) other.hide();
    panel.show();
    return load();
  }

  /** After the shopper exists: offers, our teams, the store's hunts, and a `?team=` link. */
  async start() {
    const [offers, mine] = await Promise.all([this.api.offers().catch(() => []), this.api.mine().catch(() => [])]);
    for (const o of offers ?? []) this.offers.set(o.product, o);
    for (const t of mine ?? []) this.mine[t.id] = t;
    await Promise.all(Object.values(this.mine).filter((t) => t.you?.order_id).map((t) => this.loadPaid(t)));
    this.products.refreshPromo?.();
    this.loadHunts().catch(() => {});
    const linked = teamFromUrl();
    if (linked) await this.openTeamLink(linked);
  }

  // --- team buys on the product card -------------------------------------------------------------
  /** The card's team section for `item` (a ProductManager item); [] when the product has no team price. */
  cardItems(item) {
    const id = item.product.id;
    const offer = this.offers.get(id);
    if (!offer) return [];
    if (!this.fetched.has(id) || performance.now() - this.fetched.get(id) > STALE_MS) this.loadTeams(id);
    const mine = Object.fromEntries(Object.entries(this.mine).filter(([, t]) => t.product_id === id));
    return teamItems({ offer, teams: this.teams.get(id) ?? [], mine, paid: this.paid, nowMs: Date.now(),
      regular: { minor: item.product.priceMinor, currency: item.product.currency }, note: this.notes.get(id) ?? '',
      busy: this.busy });
  }

  async loadTeams(productId) {
    this.fetched.set(productId, performance.now());
    try {
      const answer = await this.api.teams(productId);
      this.teams.set(productId, answer.teams ?? []);
      this.products.refreshPromo?.();
    } catch { /* the card shows what it has */ }
  }

  /** A team button on the card: start, join, leave, copy the link, see the orders. */
  async press(widgetId, item) {
    const productId = item.product.id;
    const [verb, teamId] = [widgetId.split(':')[0], widgetId.slice(widgetId.indexOf(':') + 1)];
    if (verb === 'team-orders') {
      this.products.deselect();
      return this.shop.show('orders');
    }
    if (verb === 'team-copy') return this.copyTeamLink(productId, teamId);
    if (this.busy) return undefined;
    this.busy = true;
    this.notes.set(productId, '');
    this.products.refreshPromo?.();
    try {
      let team;
      const { method, delivery } = this.payment(item);
      if (verb === 'team-start') {
        const variantId = item.content?.variantId;
        if (!variantId) throw new Error('Choose a colour and size first.');
        team = await this.api.start(productId, variantId, method, delivery, newActionKey());
        this.notes.set(productId, 'Team started: share the link so friends can join. Nobody pays until it fills.');
      } else if (verb === 'team-join') {
        team = await this.api.join(teamId, method, delivery, newActionKey());
        this.notes.set(productId, team.state === 'open' ? 'You joined: you pay the team price once the team fills.' : '');
      } else if (verb === 'team-leave') {
        team = await this.api.leave(teamId, newActionKey());
        delete this.mine[teamId]; // its view no longer names us
        this.notes.set(productId, 'You left the team: nothing was charged and your unit is back on the shelf.');
      }
      if (team) this.applyTeam(team);
      this.events.push(verb);
    } catch (err) {
      this.notes.set(productId, problemText(err));
      this.events.push(`${verb}:${err.code ?? 'error'}`);
      this.fetched.delete(productId);
    } finally {
      this.busy = false;
      this.products.refreshPromo?.();
    }
    return undefined;
  }

  /** The checkout's payment method and delivery (pickup in a store unless an address was filled in). */
  payment(item) {
    const s = this.shop.state;
    const kind = item.product.raw?.kind;
    if (kind !== 'physical' && kind !== 'bundle') return { method: s.method, delivery: null };
    const d = s.delivery;
    const delivery = d.type === 'address' && d.address?.line1 ? { type: 'address', address: { line2: '', ...d.address } }
      : { type: 'pickup', store: d.store };
    return { method: s.method, delivery };
  }

  async copyTeamLink(productId, teamId) {
    const url = `${location.origin}/?team=${encodeURIComponent(teamId)}`;
    const copied = await navigator.clipboard?.writeText(url).then(() => true, () => false);
    this.notes.set(productId, copied ? `Team link copied: ${url}` : `Team link: ${url}`);
    this.lastCopied = url;
    this.products.refreshPromo?.();
  }

  /** A team view from an answer or a `team` message: the open list, our teams, and what we paid once it completes. */
  applyTeam(team) {
    const list = (this.teams.get(team.product_id) ?? []).filter((t) => t.id !== team.id);
    if (team.state === 'open') list.push(team);
    list.sort((a, b) => a.deadline - b.deadline);
    this.teams.set(team.product_id, list);
    if (team.you && team.you.status === 'left') delete this.mine[team.id];
    else if (team.you) this.mine[team.id] = team;
    else if (this.mine[team.id]) this.mine[team.id] = { ...team, you: this.mine[team.id].you };
    this.products.refreshPromo?.();
  }

  /** The room's `team` message (every room hears it): redraw; a team of ours that filled: what did we pay? */
  async onMessage(m) {
    if (m?.t === 'hunt') return this.onHunt(m);
    if (m?.t !== 'team' || !m.team?.id) return undefined;
    const team = m.team;
    this.events.push(`team:${team.state}`);
    this.applyTeam(team);
    if (!this.mine[team.id] || team.state === 'open') return undefined;
    // Completing, completed or expired: our own status (charged, declined) and order come with our key.
    const full = await this.api.team(team.id).catch(() => null);
    if (!full) return undefined;
    this.applyTeam(full);
    this.notes.delete(full.product_id); // "link copied" and the like are over
    if (full.you?.order_id) {
      await this.loadPaid(full);
      this.toast.show(`Team complete: you paid ${formatPrice(this.paid[full.id], full.currency)} for ${full.product_name}.`);
      this.shop.refreshBag?.();
    } else if (full.state === 'expired') {
      this.toast.show(`Your team for ${full.product_name} did not fill in time: nobody was charged.`);
    }
    this.products.refreshPromo?.();
    return undefined;
  }

  async loadPaid(team) {
    const order = await this.shop.api.order(team.you.order_id).catch(() => null);
    if (order) this.paid[team.id] = order.total_minor;
  }

  /** `/?team=ID`: that team's product card, with the team on it (a product in another store: say so). */
  async openTeamLink(teamId) {
    const team = await this.api.team(teamId).catch(() => null);
    if (!team) {
      this.toast.show('That team link is not valid any more.');
      return;
    }
    this.applyTeam(team);
    this.fetched.set(team.product_id, performance.now());
    if (!this.products.items.has(team.product_id)) {
      this.toast.show(`${team.product_name} is sold in another store; its team cannot be shown here.`);
      return;
    }
    this.notes.set(team.product_id, team.state === 'open' ? 'You were invited to this team: join it below.' : '');
    this.goToProduct(team.product_id);
    this.events.push('team-link');
  }

  /** Every second: the countdowns on an open card. */
  tick() {
    const id = this.products.selected;
    if (id && this.offers.has(id)) this.products.refreshPromo?.();
  }

  // --- treasure hunt -----------------------------------------------------------------------------
  async loadHunts() {
    this.hunts = await this.api.hunts(this.store).catch(() => this.hunts ?? []);
    this.huntButton.hidden = !this.hunts?.length;
    this.huntPanel.render();
  }

  /** `hunt` {store, hunt, item, name, found, total, coupon}: a find the server saw (it was walked to). */
  onHunt(m) {
    this.events.push(`hunt:${m.found}/${m.total}`);
    const hunt = this.hunts?.find((h) => h.id === m.hunt);
    if (hunt) {
      hunt.found = m.found;
      const it = hunt.items.find((x) => x.id === m.item);
      if (it) Object.assign(it, { found: true, name: m.name });
      if (m.coupon) hunt.coupon = m.coupon;
    }
    const done = m.found >= m.total;
    const words = done && m.coupon?.code ? `You found all ${m.total}! Your coupon: ${m.coupon.code}`
      : `Found: ${m.name} (${m.found} of ${m.total})`;
    this.huntMessage = words;
    this.toast.show(words, done ? 9000 : 5000);
    const eye = this.camera.getWorldPosition(new THREE.Vector3());
    const ahead = this.camera.getWorldDirection(new THREE.Vector3()).setY(0).normalize().multiplyScalar(0.9);
    this.lastSparkle = sparkle(this.scene, eye.add(ahead).setY(Math.max(0.4, eye.y - 0.6)));
    this.huntPanel.render();
    this.loadHunts().catch(() => {}); // the server's own words for the whole list
  }

  // --- invite & earn -----------------------------------------------------------------------------
  async loadReferrals() {
    try {
      this.referral = await this.api.referrals();
      this.referralMessage = '';
    } catch (err) {
      this.referralMessage = problemText(err);
    }
    this.invitePanel.render();
  }

  async copyReferral() {
    if (!this.referral) return;
    const url = `${location.origin}${this.referral.link}`;
    const copied = await navigator.clipboard?.writeText(url).then(() => true, () => false);
    this.referralMessage = copied ? 'Link copied.' : 'Select the link above and copy it.';
    this.invitePanel.render();
  }

  /** Entering or leaving a headset: open panels move between the screen and the scene. */
  rerender() {
    this.huntPanel.render();
    this.invitePanel.render();
  }
}
