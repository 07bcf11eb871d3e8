// The store assistant, the page's side (docs/OPERATIONS.md "The assistant"): "Ask" opens a panel where the
// shopper types a question (or picks a suggested one in a headset); the server answers from the catalog. A
// "where" question, or "Take me there" after any answer about a product, comes with a route over the walkable
// floor: the assistant appears in front of the shopper and walks it, the shopper's view following (a smooth walk
// on a screen; hops in a headset, where a gliding view makes people sick), the arrows on the floor showing the
// way, and the product's card opens on arrival. Friends in the shopper's group see the assistant lead them (the
// server's `guide` event). "Talk to a person" calls a staff advisor (shopping together's call).
import * as THREE from 'three';
import { Panel } from '../ui/panel.js';
import { itemNodes } from '../promotions/promo_html.js';
import { fitBelowTopBar, placeInFront } from '../ui/overlay_place.js';
import { Guide } from './guide.js';
import { LEAD_M, RouteWalk, STRAY_M, headingTo } from './route_walk.js';

const MAX_QUESTION = 300; // the server's max_question_chars (docs/PROTOCOL.md section 12)
const HOP_M = 2.0; // in a headset the view hops along the route this far at a time
const OWN_STEPS_M = 0.3; // on a screen, this much walking of one's own during the walk stops it
const LINGER_S = 8; // the assistant stays by the product this long after arriving
const XR_WIDTH = 0.62;
const NARROW_PX = 700; // a phone: the panel spans the screen

const wrap = (a) => Math.atan2(Math.sin(a), Math.cos(a));

export class StoreAssistant {
  /**
   * @param {object} o {store (scene id), shopApi, scene, camera, panels, products (ProductManager), social (or null),
   *   immersive() -> bool, buttons (the HUD's #buttons), nav: {headXZ() -> [x, z], facing() -> yaw, turnBy(dYaw),
   *   placeHead(x, z) (moves the view, no checks: the route is walkable), teleportTo(x, z)}, setStatus(text),
   *   walkable (store_scene's: where the assistant may stand), floorY, onLead() (a walk begins)}
   */
  constructor(o) {
    Object.assign(this, o);
    this.open = false;
    this.answer = null; // the last answer (POST /api/assistant/ask)
    this.question = '';
    this.busy = false;
    this.message = '';
    this.walk = null; // our own walk: {route, guide, t, product, lastHead, arrivedAt}
    this.friends = new Map(); // member -> {route, guide, t}
    this.events = []; // what happened, for tests
    this.root = Object.assign(document.createElement('aside'), { id: 'assistant-panel', hidden: true,
      className: 'promo-panel' });
    this.root.setAttribute('role', 'dialog');
    this.root.setAttribute('aria-label', 'Ask the store');
    document.body.append(this.root);
    this.root.addEventListener('click', (e) => {
      const b = e.target.closest('button[data-id]');
      if (b && !b.disabled) this.press(b.dataset.id);
    });
    this.root.addEventListener('submit', (e) => {
      e.preventDefault();
      this.ask(this.root.querySelector('input[data-field="question"]')?.value ?? '');
    });
    // Typing a question must not walk the shopper (WASD) or pick products behind the panel.
    for (const type of ['pointerdown', 'wheel', 'dblclick', 'keydown', 'keyup']) {
      this.root.addEventListener(type, (e) => e.stopPropagation());
    }
    window.addEventListener('resize', () => this.fit());
    this.button = Object.assign(document.createElement('button'), { id: 'open-assistant', type: 'button',
      textContent: 'Ask' });
    this.button.setAttribute('aria-label', 'Ask the store assistant');
    this.button.addEventListener('click', () => this.toggle());
    this.buttons?.prepend(this.button);
  }

  /** Questions a shopper in a headset can pick (no keyboard there), from products of this store. */
  suggestions() {
    const names = [...this.products.items.values()].map((i) => i.product.name);
    const picks = [names[0], names[Math.floor(names.length / 2)], names[names.length - 1]].filter(Boolean);
    const unique = [...new Set(picks)];
    return [unique[0] && `Where is the ${unique[0]}?`, unique[1] && `What is the ${unique[1]} made of?`,
      unique[2] && `Is the ${unique[2]} in stock?`].filter(Boolean);
  }

  toggle() {
    if (this.open) return this.hide();
    this.products.deselect?.();
    this.open = true;
    this.placed = false;
    this.render();
    if (!this.immersive()) this.root.querySelector('input[data-field="question"]')?.focus();
    return true;
  }

  hide() {
    this.open = false;
    this.root.hidden = true;
    this.panels?.remove('assistant-panel');
  }

  // --- asking ----------------------------------------------------------------------------------------
  async ask(text, { guide = false } = {}) {
    const question = String(text ?? '').trim().slice(0, MAX_QUESTION);
    if (!question || this.busy) return null;
    this.question = question;
    this.busy = true;
    this.message = guide ? 'Finding the way…' : 'Thinking…';
    this.render();
    let answer = null;
    try {
      const [x, z] = this.nav.headXZ();
      answer = await this.shopApi.call('POST', '/api/assistant/ask', { store: this.store, question,
        from: [Math.round(x * 100) / 100, Math.round(z * 100) / 100], ...(guide ? { guide: true } : {}) });
      this.answer = answer;
      this.message = '';
      this.events.push(`answer:${answer.intent}`);
    } catch (err) {
      this.message = err.status === 429 ? 'Many questions at once: ask again in a moment.'
        : (err.message || 'The assistant could not be reached.');
    } finally {
      this.busy = false;
    }
    if (answer?.route?.length && answer.product) this.lead(answer);
    else if (answer && guide && answer.product) this.message = 'I could not find a way there from where you stand.';
    this.render();
    return answer;
  }

  takeMeThere() {
    if (!this.answer?.product) return null;
    return this.ask(this.question, { guide: true });
  }

  async talkToPerson() {
    const social = this.social;
    if (!social) {
      this.message = 'Talking to a person needs the store connection.';
      return this.render();
    }
    if (!social.group.active) await social.create();
    if (!social.group.active) {
      this.message = 'Could not start a call: try again in a moment.';
      return this.render();
    }
    if (!social.group.view?.advisor_call) await social.callAdvisor();
    this.events.push('handover');
    this.message = social.group.view?.advisor_call
      ? 'A person from the store has been called: they join you here as soon as they are free.'
      : 'Could not call a person just now: try again in a moment.';
    return this.render();
  }

  press(id) {
    if (id === 'close') return this.hide();
    if (id === 'ask') return this.ask(this.root.querySelector('input[data-field="question"]')?.value ?? '');
    if (id === 'take-me') return this.takeMeThere();
    if (id === 'person') return this.talkToPerson();
    if (id === 'stop') return this.stop('Stopped. Ask again whenever you like.');
    if (id.startsWith('suggest:')) return this.ask(this.suggestions()[Number(id.slice(8))] ?? '');
    return null;
  }

  // --- walking -------------------------------------------------------------------------------------
  /** Our own walk: the assistant appears ahead and leads; the view follows. */
  lead(answer) {
    this.stop();
    const route = new RouteWalk(answer.route, answer.speed);
    const guide = new Guide({ scene: this.scene, floorY: this.floorY ?? 0 });
    guide.showRoute(route);
    this.walk = { route, guide, t: 0, start: performance.now(), product: answer.product, lastHead: this.nav.headXZ(), arrivedAt: null,
      hopFrom: 0, drift: 0 };
    this.placeGuide(this.walk, route.state(0));
    this.events.push('leading');
    this.onLead?.(); // simplified mode: its list steps aside, so the walk is seen
    // Out of the way of the walk: in a headset a panel left in the air would be behind us after the first hop;
    // on a narrow screen it would cover the assistant. "Ask" brings it back (with Stop); walking off stops too.
    if (this.immersive() || window.innerWidth < NARROW_PX) this.hide();
    this.setStatus?.(`Follow the assistant to ${this.productName(answer.product)}.`);
  }

  stop(message = '') {
    if (this.walk) {
      this.walk.guide.dispose();
      this.walk = null;
      this.events.push('stopped');
    }
    if (message) {
      this.message = message;
      this.render();
    }
  }

  /** A friend's walk (the server's `guide` event): the assistant leads them; we only watch. */
  onMessage(m) {
    if (m?.t !== 'guide' || !Array.isArray(m.route) || !m.route.length) return;
    this.friends.get(m.member)?.guide.dispose();
    let route;
    try {
      route = new RouteWalk(m.route, m.speed);
    } catch {
      return;
    }
    const guide = new Guide({ scene: this.scene, label: `Assistant · ${String(m.name ?? 'friend').slice(0, 8)}`,
      floorY: this.floorY ?? 0 });
    guide.showRoute(route);
    this.friends.set(m.member, { route, guide, t: 0, start: performance.now(), product: m.product });
    this.events.push(`friend_guide:${m.product}`);
    this.setStatus?.(`The assistant is taking ${m.name ?? 'your friend'} to ${this.productName(m.product)}.`);
  }

  /** The assistant on the route, LEAD_M ahead; over the last LEAD_M it steps aside to a spot beside the route's
   *  end, turned to the product, so the shopper walks up to the product, not into the assistant. */
  placeGuide(walk, state) {
    const now = performance.now();
    const { route } = walk;
    walk.aside ??= this.asideSpot(walk);
    const k = route.length > 0 ? Math.min(Math.max((state.walked + LEAD_M - route.length) / LEAD_M, 0), 1) : 1;
    const at = state.leader;
    const x = at.x + (walk.aside.x - at.x) * k;
    const z = at.z + (walk.aside.z - at.z) * k;
    walk.guide.place(now, x, z, k > 0.5 ? walk.aside.heading : at.heading, this.camera);
    walk.guide.trim(state.walked);
  }

  /** Beside the end of the route (0.8 m to the side), facing the product. */
  asideSpot(walk) {
    const end = walk.route.at(walk.route.length);
    const item = this.products.items.get(walk.product);
    const p = item ? item.object.getWorldPosition(new THREE.Vector3()) : null;
    const heading = p ? headingTo([end.x, end.z], [p.x, p.z]) : end.heading;
    for (const side of [heading + Math.PI / 2, heading - Math.PI / 2]) { // left of the shopper there, or right
      const spot = { x: end.x - Math.sin(side) * 0.8, z: end.z - Math.cos(side) * 0.8, heading };
      if (!this.walkable || this.walkable.isWalkable(spot.x, spot.z)) return spot;
    }
    return { x: end.x, z: end.z, heading }; // a dead end: it waits where the route ends
  }

  /** Every frame. The walk keeps wall-clock time, not frame time: slow frames take longer strides, and a
   *  friend's page shows the assistant where the leader's page has it. */
  update() {
    const now = performance.now();
    for (const [member, friend] of this.friends) {
      friend.t = (now - friend.start) / 1000;
      const state = friend.route.state(friend.t);
      this.placeGuide(friend, state);
      if (state.done && friend.t > friend.route.seconds + LINGER_S) {
        friend.guide.dispose();
        this.friends.delete(member);
      }
    }
    const walk = this.walk;
    if (!walk) return;
    if (walk.arrivedAt !== null) {
      walk.t = (now - walk.start) / 1000;
      this.placeGuide(walk, walk.route.state(walk.t));
      if (walk.t - walk.arrivedAt > LINGER_S) this.stop();
      return;
    }
    const [hx, hz] = this.nav.headXZ();
    // The shopper walks off by themselves (keys, stick, a teleport; in a headset, more than a few steps of their
    // own): what moved the view since the last frame adds up, and past a little the assistant lets them go.
    walk.drift += Math.hypot(hx - walk.lastHead[0], hz - walk.lastHead[1]);
    if (walk.drift > (this.immersive() ? STRAY_M : OWN_STEPS_M)) {
      this.stop('You went your own way. Ask again whenever you like.');
      return;
    }
    walk.t = (now - walk.start) / 1000;
    const state = walk.route.state(walk.t);
    this.placeGuide(walk, state);
    const f = state.follower;
    if (this.immersive()) {
      // Hops: the view jumps to where the walk has us once the assistant is well ahead, and at the end.
      // Each hop also faces the way on (a teleport with its direction, as headset teleports do): the
      // assistant is in view after every hop without the shopper hunting for it.
      if (state.done || state.walked - walk.hopFrom >= HOP_M) {
        this.nav.teleportTo(f.x, f.z);
        const ahead = state.leader;
        if (!state.done && Math.hypot(ahead.x - f.x, ahead.z - f.z) > 0.3) {
          this.nav.turnBy(wrap(headingTo([f.x, f.z], [ahead.x, ahead.z]) - this.nav.facing()));
        }
        walk.hopFrom = state.walked;
      }
      walk.lastHead = this.nav.headXZ();
    } else {
      this.nav.placeHead(f.x, f.z);
      // The view turns smoothly to the assistant ahead (to the product once there).
      const ahead = state.leader;
      if (Math.hypot(ahead.x - f.x, ahead.z - f.z) > 0.3) {
        const turn = wrap(headingTo([f.x, f.z], [ahead.x, ahead.z]) - this.nav.facing());
        this.nav.turnBy(turn * (1 - Math.exp(-4 * Math.max(0, now - (walk.lastNow ?? now)) / 1000)));
      }
      walk.lastHead = [f.x, f.z];
    }
    walk.lastNow = now;
    if (state.done) this.arrive(walk);
  }

  arrive(walk) {
    walk.arrivedAt = walk.t;
    const item = this.products.items.get(walk.product);
    if (item && !this.immersive()) {
      const p = item.object.getWorldPosition(new THREE.Vector3());
      const [hx, hz] = this.nav.headXZ();
      this.nav.turnBy(wrap(headingTo([hx, hz], [p.x, p.z]) - this.nav.facing()));
    }
    this.events.push('arrived');
    this.message = `Here it is: ${this.productName(walk.product)}.`;
    this.hide();
    if (item) this.products.select(walk.product);
    this.setStatus?.(this.message);
  }

  productName(id) {
    return this.products.items.get(id)?.product.name ?? 'the product';
  }

  // --- drawing -----------------------------------------------------------------------------------------
  items() {
    const items = [{ id: 'title', kind: 'title', label: 'Ask the store' }];
    const a = this.answer;
    if (this.message) items.push({ id: 'message', kind: 'text', label: this.message, muted: this.busy });
    if (a && !this.busy) items.push({ id: 'answer', kind: 'text', label: a.text, strong: false });
    if (!a && !this.message) {
      items.push({ id: 'intro', kind: 'text', muted: true,
        label: 'Ask about a product: its price, sizes, colours, stock, what it is made of, or where to find it.' });
    }
    if (this.walk && this.walk.arrivedAt === null) {
      items.push({ id: 'stop', kind: 'button', label: 'Stop', row: 'actions' });
    } else if (a?.product && a.at && !this.busy) {
      items.push({ id: 'take-me', kind: 'button', label: 'Take me there', row: 'actions' });
    }
    items.push({ id: 'person', kind: 'button', label: a?.handover ? 'Talk to a person' : 'Ask a person instead',
      row: 'actions', disabled: this.busy });
    if (this.immersive() || !this.walk) {
      this.suggestions().forEach((label, i) => items.push({ id: `suggest:${i}`, kind: 'button', label,
        row: `suggest:${i}`, disabled: this.busy }));
    }
    items.push({ id: 'close', kind: 'button', label: 'Close', row: 'close' });
    return items;
  }

  render() {
    if (!this.open) return;
    const items = this.items();
    if (this.immersive() && this.panels) {
      this.root.hidden = true;
      let panel = this.panels.get('assistant-panel');
      if (!panel) {
        panel = this.panels.add(new Panel({ id: 'assistant-panel', width: XR_WIDTH, items, onTop: true,
          onPress: (w) => this.press(w) }));
      } else {
        panel.setItems(items);
      }
      if (!this.placed) this.placePanel(panel);
      this.placed = true;
      return;
    }
    this.panels?.remove('assistant-panel');
    this.placed = false;
    const typed = this.root.querySelector('input[data-field="question"]')?.value ?? this.question;
    const nodes = itemNodes(items);
    const form = document.createElement('form');
    form.className = 'ask';
    const input = Object.assign(document.createElement('input'), { type: 'text', maxLength: MAX_QUESTION,
      placeholder: 'Where are the trainers?', value: typed, disabled: this.busy, autocomplete: 'off' });
    input.dataset.field = 'question';
    input.setAttribute('aria-label', 'Your question');
    const send = Object.assign(document.createElement('button'), { type: 'submit', textContent: 'Ask',
      disabled: this.busy });
    send.dataset.id = 'ask';
    form.append(input, send);
    nodes.splice(1, 0, form);
    this.root.replaceChildren(...nodes);
    this.root.hidden = false;
    this.fit();
  }

  fit() {
    fitBelowTopBar(this.root);
  }

  /** In a headset: in front of the eye, a little to the left. */
  placePanel(panel) {
    placeInFront(panel, this.camera, -0.1);
  }

  /** For tests: where our assistant stands and how far along the walk is. */
  state() {
    const w = this.walk;
    return { open: this.open, answer: this.answer, message: this.message, events: [...this.events],
      walking: Boolean(w && w.arrivedAt === null), guide: w?.guide.where ?? null, walked: w ? w.route.state(w.t).walked : 0,
      length: w?.route.length ?? 0, product: w?.product ?? null,
      friends: [...this.friends.entries()].map(([member, f]) => ({ member, guide: f.guide.where })) };
  }
}
