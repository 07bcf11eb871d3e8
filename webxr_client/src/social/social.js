// Shopping together (docs/SOCIAL.md), the page's side: the group (HTTP), its live events on the room
// websocket, and what they do here: chat and reactions, pointing beams, "look at this", following a friend
// (walk behind, or jump to them), the shared bag, voice (voice.js), the advisor queue and marks in the air.
// What it looks like is social_panel.js (screens and headset) and social_scene.js (in the store).
import * as THREE from 'three';
import { SocialApi } from './social_api.js';
import { SocialPanel } from './social_panel.js';
import { SocialScene } from './social_scene.js';
import { checkChat, DEFAULT_LIMITS, EMOJI, followStep, GroupState, joinCodeFrom, normalizeCode, socialErrorText,
  StrokeRecorder, yawTowards } from './social_state.js';
import { Voice } from './voice.js';

const SOCIAL_MESSAGES = new Set(['group', 'group_member', 'chat', 'reaction', 'pointed', 'shown', 'following', 'group_bag',
  'group_declined', 'group_removed', 'group_ended', 'advisor_call', 'rtc', 'stroke', 'guide']);
const POINT_EVERY_MS = 150;
const DRAW_COLOR = '#ff5a36';

export const isSocialMessage = (m) => SOCIAL_MESSAGES.has(m?.t);

export class Social {
  /**
   * @param {object} o {shopApi, room() -> RoomClient or null, scene, camera, rig, products, avatars, shop (ShopPanel),
   *   panels, config, setStatus(text), immersive() -> bool, nav: {moveBy(dx, dz), turnBy(dYaw), headXZ(), facing(),
   *   teleportTo(x, z)}, rejoin(room) -> Promise (joins another room of this store), buttons (the HUD's #buttons),
   *   advisor: bool (the advisor page)}
   */
  constructor(o) {
    Object.assign(this, o);
    this.api = new SocialApi(o.shopApi);
    this.group = new GroupState();
    this.blocked = new Set();
    this.limits = { ...DEFAULT_LIMITS };
    this.invitePreview = null; // GET /api/invites/{code} while the join dialog is up
    this.joinCode = o.advisor ? null : joinCodeFrom(window.location.search);
    this.pointMode = false; // phone / headset: the Point button is on, a tap on a product points at it
    this.pointKey = false; // desktop: P held
    this.pointing = null; // product id we point at
    this.lastPointSent = 0;
    this.drawMode = Boolean(o.advisor);
    this.drawing = null; // {recorder, source: 'mouse' | XR source}
    this.calls = []; // the advisor page: waiting calls
    this.message = '';
    this.tone = 'info';
    this.unread = 0;
    this.events = []; // what happened, for tests
    this.features = {}; // room message types the server lacks (false)
    this.scene3d = new SocialScene({ scene: o.scene, avatars: o.avatars, products: o.products, camera: o.camera,
      ownHand: (out) => this.ownHand(out) });
    this.voice = new Voice({ send: (m) => this.send(m), me: () => this.group.you,
      onChange: () => this.panel.render(), log: (t) => console.warn(t) });
    this.panel = new SocialPanel(this);
    o.shop.shared = { id: () => (this.group.active ? this.group.id : null), api: this.api,
      you: () => this.group.you };
    this.listen();
  }

  // --- start ---------------------------------------------------------------------------------------
  /** After the shopper identity and the room: the group we are in, or the invite we were sent. */
  async start() {
    const welcome = this.room()?.session?.welcome;
    if (welcome) this.onWelcome(welcome);
    if (this.joinCode) return this.previewInvite(this.joinCode);
    if (this.advisor) {
      this.panel.show('advisor');
      return this.refreshCalls();
    }
    try {
      this.applyView(await this.api.mine());
    } catch (err) {
      if (err.status !== 404) console.warn(`groups: ${err.message}`); // 404: a server older than the 204
    }
    return undefined;
  }

  /** The welcome of every (re)connection: the server's limits, our presence and voice again. */
  onWelcome(welcome) {
    for (const k of Object.keys(DEFAULT_LIMITS)) if (Number.isFinite(welcome?.limits?.[k])) this.limits[k] = welcome.limits[k];
    if (!this.group.active) return;
    if (document.hidden) this.send({ t: 'presence', away: true });
    if (this.voice.on) this.send({ t: 'voice', on: true });
  }

  // --- the group ---------------------------------------------------------------------------------------
  applyView(view) {
    if (!view?.id) return;
    const before = this.group.active;
    this.group.applyView(view);
    if (!before) {
      this.shop.setShared(true); // an advisor sees the shared bag too (the server refuses their edits)
      this.events.push('in_group');
    }
    this.afterMembersChanged();
  }

  afterMembersChanged() {
    const me = this.group.me;
    if (me) this.voice.setSilencedByOwner(Boolean(me.muted));
    this.voice.sync([...this.group.members.values()].map((m) => ({ ...m, blocked: this.blocked.has(m.member) })));
    this.panel.render();
  }

  leftGroup(why) {
    const id = this.group.id;
    this.voice.stop().catch(() => {});
    this.voice.closeAll();
    this.scene3d.clear();
    this.group.reset();
    this.shop.setShared(false);
    this.pointMode = false;
    this.say(why);
    this.events.push(`left:${id}`);
    this.panel.render();
  }

  async create() {
    const room = this.room()?.room;
    if (!room) return this.say('Connect to the store first: shopping together needs the room connection.', 'error');
    return this.act(async () => {
      this.applyView(await this.api.create(room));
      this.panel.tab = 'invite';
      this.say('Send the link or the code to a friend: they appear here beside you.');
    });
  }

  async newInvite() {
    return this.act(async () => {
      const invite = await this.api.newInvite(this.group.id);
      if (invite?.code) this.group.view.invites = [invite, ...(this.group.view.invites ?? [])];
      this.panel.render();
    });
  }

  async leave() {
    const id = this.group.id;
    if (!id) return;
    await this.act(async () => {
      await this.api.leave(id);
      this.leftGroup('You left the group.');
    });
  }

  // --- joining by invite ----------------------------------------------------------------------------------
  async previewInvite(code) {
    const c = normalizeCode(code);
    if (!c) return this.say('An invite code has 6 letters and digits.', 'error');
    this.joinCode = c;
    try {
      this.invitePreview = await this.api.invite(c);
      this.panel.tab = 'join';
      this.panel.show();
    } catch (err) {
      this.invitePreview = null;
      this.say(socialErrorText(err.code, err.message), 'error');
      this.panel.tab = 'invite';
      this.panel.show();
    }
    return this.invitePreview;
  }

  /** Accept: a member of the group, then into its room beside the one who invited us. */
  async accept() {
    const code = this.joinCode;
    if (!code) return;
    await this.act(async () => {
      await this.shopApi.ensureShopper(this.shopApi.name);
      const view = await this.api.accept(code);
      this.clearJoinParam();
      this.invitePreview = null;
      if (view.store && view.store !== this.config.sceneId) {
        // Another store: its page (the group is kept by the server; we land in its room).
        const url = new URL(window.location.href);
        url.searchParams.set('scene', view.store);
        url.searchParams.set('room', view.room);
        url.searchParams.set('with', this.ownerOf(view) ?? '');
        window.location.assign(url.toString());
        return;
      }
      this.applyView(view);
      if (view.room && this.room()?.room !== view.room) await this.rejoin(view.room);
      this.panel.tab = 'people';
      const owner = this.ownerOf(view);
      this.say(`You joined ${view.members?.find((m) => m.member === owner)?.name ?? 'your friend'}'s group.`);
      if (owner) await this.jump(owner, { quiet: true });
    });
  }

  async decline() {
    const code = this.joinCode;
    await this.act(async () => {
      if (code) await this.api.decline(code);
      this.clearJoinParam();
      this.invitePreview = null;
      this.panel.tab = 'invite';
      this.panel.hide();
      this.say('Invite declined.');
    });
  }

  ownerOf(view) {
    return (view.members ?? []).find((m) => m.role === 'owner' && m.member !== view.you)?.member ?? null;
  }

  clearJoinParam() {
    this.joinCode = null;
    const url = new URL(window.location.href);
    if (url.searchParams.has('join')) {
      url.searchParams.delete('join');
      window.history.replaceState(null, '', url.toString());
    }
  }

  // --- moderation ---------------------------------------------------------------------------------------
  async mute(member, muted) { return this.act(async () => this.applyView(await this.api.mute(this.group.id, member, muted))); }
  async remove(member) { return this.act(async () => this.applyView(await this.api.remove(this.group.id, member))); }
  async block(member) {
    return this.act(async () => {
      const answer = this.blocked.has(member) ? await this.api.unblock(member) : await this.api.block(member);
      this.blocked = new Set(answer?.blocked ?? []);
      if (this.blocked.has(member)) this.scene3d.forget(member);
      this.afterMembersChanged();
    });
  }
  async report(member, reason = 'abuse') {
    return this.act(async () => {
      await this.api.report(this.group.id, member, reason, '');
      this.say('Thank you: the store will look at it.');
    });
  }

  // --- live messages ---------------------------------------------------------------------------------
  /** A control message of the room (social ones only). */
  onMessage(m) {
    if (!isSocialMessage(m)) return;
    this.events.push(m.t);
    if (this.events.length > 200) this.events.splice(0, 100);
    switch (m.t) {
      case 'group': this.applyView(m.group ?? m.view ?? m); break;
      case 'group_member': {
        const change = this.group.applyMember(m);
        if (change?.left) {
          this.scene3d.forget(m.member);
          if (m.member === this.group.you) return this.leftGroup('You are no longer in the group.');
          this.say(`${change.member?.name ?? 'A member'} ${change.left === 'removed' ? 'was removed' : 'left'}.`);
        } else if (change?.joined) {
          this.say(`${change.member.name ?? 'A friend'} joined the group.`);
        }
        this.afterMembersChanged();
        break;
      }
      case 'chat':
        if (this.blocked.has(m.member)) break;
        this.group.addChat(m);
        if (!(this.panel.open && this.panel.tab === 'chat')) this.unread += 1;
        if (m.member !== this.group.you) this.panel.toast(`${m.name ?? 'A friend'}: ${m.text}`);
        this.panel.render();
        break;
      case 'reaction':
        if (this.blocked.has(m.member)) break;
        if (m.member === this.group.you) break; // drawn when we sent it
        this.scene3d.react(m.avatar ?? null, m.emoji);
        this.panel.toast(`${this.nameOf(m.member)} ${m.emoji}`);
        break;
      case 'pointed':
        if (this.blocked.has(m.member) || m.member === this.group.you) break;
        this.scene3d.setPointer(m.member, { avatarId: m.avatar ?? this.avatarOf(m.member), productId: m.product ?? null });
        break;
      case 'shown':
        if (this.blocked.has(m.member) || m.member === this.group.you || !this.products.items.has(m.product)) break;
        this.products.select(m.product);
        this.shownBy = { member: m.member, product: m.product };
        this.say(`${m.name ?? this.nameOf(m.member)}: look at this!`);
        break;
      case 'following':
        this.group.followers.set(m.member, m.target ?? null);
        this.panel.render();
        break;
      case 'group_bag': this.shop.onGroupBag(m); break;
      case 'group_declined': this.say(`${m.name ?? 'Someone'} declined the invite.`); break;
      case 'group_removed': this.leftGroup('The group owner removed you from the group.'); break;
      case 'group_ended': this.leftGroup('The group has ended.'); break;
      case 'advisor_call': if (this.advisor) this.refreshCalls(); break;
      case 'rtc': this.voice.onSignal(m); break;
      case 'stroke':
        if (this.blocked.has(m.member) || (m.member === this.group.you && this.drawnHere.has(m.id))) break;
        this.scene3d.addStroke(m);
        break;
      default: break;
    }
    return undefined;
  }

  nameOf(member) { return this.group.members.get(member)?.name ?? 'A friend'; }
  avatarOf(member) {
    const seats = this.group.members.get(member)?.avatars ?? [];
    return seats.find((id) => this.avatars.avatars.has(id)) ?? seats[0] ?? null;
  }

  /** A room control message; `null` when the server lacks its type (said once) or the room is down. */
  async send(message) {
    const room = this.room();
    if (!room) return null;
    if (this.features[message.t] === false) return null;
    const reply = await room.request(message);
    if (reply?.t === 'error') {
      if (reply.code === 'unknown_type') this.features[message.t] = false;
      if (message.t !== 'point' || reply.code !== 'rate_limited') this.say(socialErrorText(reply.code, reply.msg), 'error');
    }
    return reply;
  }

  // --- chat and reactions ---------------------------------------------------------------------------------
  async chat(text) {
    const checked = checkChat(text, this.limits.max_chat_chars);
    if (checked.error) return this.say(checked.error, 'error') && false;
    const reply = await this.send({ t: 'chat', text: checked.text });
    return reply?.t === 'ok';
  }

  async react(emoji) {
    if (!EMOJI.includes(emoji)) return false;
    this.scene3d.react(null, emoji, { own: true });
    return (await this.send({ t: 'react', emoji }))?.t === 'ok';
  }

  // --- pointing and "look at this" ------------------------------------------------------------------------
  /** Our beam's start: the controller in a headset, else a little right of and below the eyes. */
  ownHand(out = new THREE.Vector3()) {
    const source = this.pointSource;
    if (source?.ray && this.immersive()) return source.ray.getWorldPosition(out);
    this.camera.getWorldPosition(out);
    const q = this.camera.getWorldQuaternion(new THREE.Quaternion());
    return out.add(new THREE.Vector3(0.18, -0.3, -0.25).applyQuaternion(q));
  }

  /** Points at `productId` (null: stops). Sent at most every POINT_EVERY_MS unless the product changes. */
  async pointAt(productId, { force = false } = {}) {
    if (!this.group.active) return false;
    const id = productId && this.products.items.has(productId) ? productId : null;
    const now = performance.now();
    if (id === this.pointing && !force) return false;
    clearTimeout(this.pointTimer);
    if (!force && now - this.lastPointSent < POINT_EVERY_MS) {
      // Hovering across products: the last one is sent once the interval has passed.
      this.pointTimer = setTimeout(() => this.pointAt(id), POINT_EVERY_MS - (now - this.lastPointSent));
      return false;
    }
    this.pointing = id;
    this.lastPointSent = now;
    this.scene3d.setPointer(this.group.you, { productId: id, own: true });
    const from = this.ownHand();
    let dir = [0, 0, -1];
    if (id) {
      const target = this.products.items.get(id).object.getWorldPosition(new THREE.Vector3());
      const d = target.sub(from);
      if (d.lengthSq() > 1e-6) dir = d.normalize().toArray().map(round3);
    }
    const reply = await this.send({ t: 'point', product: id, from: from.toArray().map(round3), dir });
    return reply?.t === 'ok';
  }

  /** A select on a product (click, tap, trigger): in point mode it points instead of opening the card. */
  interceptSelect(productId, source = null) {
    if (!this.group.active || !(this.pointMode || this.pointKey)) return false;
    this.pointSource = source;
    this.pointAt(productId, { force: true });
    return true;
  }

  setPointMode(on) {
    this.pointMode = Boolean(on) && this.group.active;
    if (!this.pointMode && !this.pointKey) this.pointAt(null);
    this.say(this.pointMode ? 'Point mode: tap or select a product to show your friends.' : '');
    this.panel.render();
  }

  /** Desktop: while P is held, what is under the mouse is pointed at (hover(productId) every move). */
  hoverWhilePointing(productId) {
    if (this.pointKey && this.group.active && productId) this.pointAt(productId);
  }

  async showProduct(productId) {
    if (!this.group.active) return 'Start shopping with friends first (Friends).';
    const reply = await this.send({ t: 'show', product: productId });
    return reply?.t === 'ok' ? 'Your friends see it now.' : (reply?.t === 'error' ? socialErrorText(reply.code, reply.msg) : '');
  }

  // --- following -------------------------------------------------------------------------------------
  async follow(member) {
    this.group.following = member;
    this.panel.render();
    await this.send({ t: 'follow', member: member ?? null, jump: false });
    this.say(member ? `Following ${this.nameOf(member)}.` : '');
  }

  /** "Jump to": the server puts us beside them; its `ok` carries `to` (our new feet), like a teleport. */
  async jump(member, { quiet = false } = {}) {
    // No answer (the socket between connections, or a reply slower than the request timeout on a busy
    // machine) is worth asking again: a jump is idempotent. An error answer is final and kept for the record.
    let reply = null;
    for (let attempt = 0; attempt < 3 && !reply; attempt += 1) {
      if (attempt) await new Promise((resolve) => setTimeout(resolve, 1000));
      reply = await this.send({ t: 'follow', member, jump: true });
    }
    if (reply?.t !== 'ok') this.events.push(`jump_failed:${reply?.code ?? 'no_answer'}`);
    const to = reply?.to;
    if (reply?.t === 'ok' && Array.isArray(to)) {
      const [hx, hz] = this.nav.headXZ();
      this.rig.position.x += to[0] - hx;
      this.rig.position.z += to[2] - hz;
      this.faceMember(member);
      this.events.push('jumped');
      if (!quiet) this.say(`You are beside ${this.nameOf(member)}.`);
      return true;
    }
    return false;
  }

  leaderXZ(member) {
    const avatar = this.avatars.avatars.get(this.avatarOf(member));
    if (!avatar) return null;
    const p = avatar.head.getWorldPosition(new THREE.Vector3());
    return [p.x, p.z];
  }

  faceMember(member) {
    const leader = this.leaderXZ(member);
    if (!leader || this.immersive()) return; // in a headset the page never turns the view
    this.nav.turnBy(yawTowards(this.nav.headXZ(), leader) - this.nav.facing());
  }

  // --- drawing marks ---------------------------------------------------------------------------------
  startStroke(source = 'mouse') {
    if (!this.group.active) return false;
    this.drawing = { recorder: new StrokeRecorder({ maxPoints: this.limits.max_stroke_points,
      intervalMs: Math.max(150, 1000 / (this.limits.strokes_per_s || 4)) }), source };
    this.drawing.recorder.start();
    return true;
  }

  addStrokePoint(p) {
    if (!this.drawing) return;
    this.drawing.recorder.add(p);
    this.flushStroke(false);
  }

  endStroke() {
    if (!this.drawing) return;
    this.flushStroke(true);
    this.drawing = null;
  }

  flushStroke(ended) {
    const rec = this.drawing.recorder;
    const chunk = ended ? rec.end(performance.now()) : rec.take(performance.now());
    if (!chunk) return;
    this.scene3d.addStroke({ points: chunk, color: DRAW_COLOR, ttl_s: 8, member: this.group.you });
    this.send({ t: 'draw', points: chunk, color: DRAW_COLOR }).then((reply) => {
      if (reply?.stroke ?? reply?.sid) this.drawnHere.add(reply.stroke ?? reply.sid);
    });
  }

  get drawnHere() {
    this.drawnIds ??= new Set();
    return this.drawnIds;
  }

  /** A point for the stroke along a ray: on what it hits within reach, else 0.9 m out. */
  strokePointAlong(origin, direction, hits = []) {
    const reach = Math.min(0.9, (this.limits.max_reach_m ?? 1.5) * 0.8);
    const hit = hits.find((h) => h.distance < reach);
    const d = hit ? hit.distance - 0.02 : reach;
    return origin.clone().addScaledVector(direction, d).toArray();
  }

  // --- the advisor -------------------------------------------------------------------------------------
  async callAdvisor() {
    return this.act(async () => {
      if (this.group.view?.advisor_call) {
        const view = await this.api.cancelAdvisor(this.group.id);
        if (view?.id) this.applyView(view);
        this.group.view.advisor_call = null;
        this.say('Advisor call cancelled.');
      } else {
        const view = await this.api.callAdvisor(this.group.id);
        if (view?.id) this.applyView(view);
        else this.group.view.advisor_call = { at: Date.now() / 1000, by: this.group.you };
        this.say('An advisor has been called: they join you here when they are free.');
      }
      this.panel.render();
    });
  }

  async refreshCalls() {
    if (!this.advisor || !this.shopApi.key) return;
    try {
      const calls = await this.api.calls();
      this.calls = Array.isArray(calls) ? calls : (calls?.calls ?? []);
    } catch (err) {
      this.say(err.status === 401 || err.status === 403 ? 'That staff key is not known here.' : err.message, 'error');
    }
    this.panel.render();
  }

  /** The advisor accepts a call: in the group as advisor, into its room, next to the shopper who called. */
  async acceptCall(group) {
    await this.act(async () => {
      const call = this.calls.find((c) => c.group === group);
      const view = await this.api.acceptCall(group);
      this.applyView(view);
      if (view.room && this.room()?.room !== view.room) await this.rejoin(view.room);
      this.calls = this.calls.filter((c) => c.group !== group);
      // The call's `by` is the caller's name (the server's advisor_call documents carry no member id).
      const by = (view.members ?? []).find((m) => m.name === call?.by && m.role !== 'advisor')?.member ?? this.ownerOf(view);
      this.panel.tab = 'people';
      if (by) await this.jump(by, { quiet: true });
      this.say(`You are with ${by ? this.nameOf(by) : 'the shopper'}. Hold Shift and drag to draw a mark.`);
    });
  }

  async useStaffKey(text) {
    const key = String(text ?? '').trim();
    if (!key) return;
    this.shopApi.remember({ shopper_key: key, shopper_id: null, name: 'Advisor' });
    await this.refreshCalls();
    if (this.onStaffKey) await this.onStaffKey();
  }

  // --- every frame -------------------------------------------------------------------------------------
  update(dt, now = performance.now()) {
    if (this.group.following) {
      const leader = this.leaderXZ(this.group.following);
      if (leader) {
        const self = this.nav.headXZ();
        const [dx, dz] = followStep(self, leader, dt);
        if (dx || dz) this.nav.moveBy(dx, dz);
        if (!this.immersive()) {
          const turn = wrapAngle(yawTowards(self, leader) - this.nav.facing());
          if (Math.abs(turn) > 0.02) this.nav.turnBy(Math.sign(turn) * Math.min(Math.abs(turn), 2.5 * dt));
        }
      }
    }
    if (this.drawing && this.drawing.source !== 'mouse' && this.drawing.source?.ray) {
      const ray = this.drawing.source.ray;
      const origin = ray.getWorldPosition(new THREE.Vector3());
      const dir = new THREE.Vector3(0, 0, -1).applyQuaternion(ray.getWorldQuaternion(new THREE.Quaternion()));
      this.addStrokePoint(origin.addScaledVector(dir, 0.06).toArray());
    }
    this.scene3d.update(now);
    this.panel.update?.();
  }

  // --- page events -------------------------------------------------------------------------------------
  listen() {
    document.addEventListener('visibilitychange', () => {
      if (this.group.active) this.send({ t: 'presence', away: document.hidden });
    });
    const typing = (e) => e.target instanceof HTMLInputElement || e.target instanceof HTMLTextAreaElement;
    window.addEventListener('keydown', (e) => {
      if (typing(e) || e.repeat) return;
      if (e.code === 'KeyP' && this.group.active) {
        this.pointKey = true;
        this.say('Pointing: move the mouse over a product; let go of P to stop.');
      }
      if (e.code === 'KeyV' && this.voice.on) this.voice.pushToTalk(true);
    });
    window.addEventListener('keyup', (e) => {
      if (e.code === 'KeyP' && this.pointKey) {
        this.pointKey = false;
        if (!this.pointMode) this.pointAt(null);
        this.say('');
      }
      if (e.code === 'KeyV') this.voice.pushToTalk(false);
    });
    window.addEventListener('blur', () => {
      this.voice.pushToTalk(false);
      if (this.pointKey) { this.pointKey = false; this.pointAt(null); }
    });
  }

  /** Desktop drawing: Shift + drag (or any drag in draw mode) on the store view. */
  attachDrawing(canvas, rayAt, hitsAlong) {
    window.addEventListener('pointerdown', (e) => {
      if (e.target !== canvas || !this.group.active || !(e.shiftKey || (this.drawMode && this.drawArmed))) return;
      e.stopPropagation();
      e.preventDefault();
      this.startStroke('mouse');
      const [o, d] = rayAt(e.clientX, e.clientY);
      this.addStrokePoint(this.strokePointAlong(o, d, hitsAlong(o, d)));
    }, { capture: true });
    window.addEventListener('pointermove', (e) => {
      if (this.drawing?.source !== 'mouse') return;
      e.stopPropagation();
      const [o, d] = rayAt(e.clientX, e.clientY);
      this.addStrokePoint(this.strokePointAlong(o, d, hitsAlong(o, d)));
    }, { capture: true });
    const end = (e) => {
      if (this.drawing?.source !== 'mouse') return;
      e.stopPropagation();
      this.endStroke();
    };
    window.addEventListener('pointerup', end, { capture: true });
    window.addEventListener('pointercancel', end, { capture: true });
  }

  // --- helpers -------------------------------------------------------------------------------------
  say(text, tone = 'info') {
    this.message = text ?? '';
    this.tone = tone;
    if (text && tone === 'error') this.events.push(`said:${text}`);
    this.panel?.render();
    // The panel says it when open; else the status line does (and a toast for what others did).
    if (text && !this.panel?.open) this.setStatus?.(text);
    return true;
  }

  async act(fn) {
    try {
      return await fn();
    } catch (err) {
      this.say(socialErrorText(err.code, err.message), 'error');
      return null;
    }
  }

  /** For tests: the group, chat and what is drawn. */
  state() {
    return { group: this.group.id, you: this.group.you, role: this.group.me?.role ?? null,
      members: [...this.group.members.values()].map((m) => ({ ...m })), chat: this.group.chat.map((l) => ({ ...l })),
      following: this.group.following, pointing: this.pointing, pointMode: this.pointMode, drawMode: this.drawMode,
      invite: this.group.invite(), preview: this.invitePreview, calls: this.calls, message: this.message,
      scene: this.scene3d.state(), voice: { on: this.voice.on, muted: this.voice.muted, sending: this.voice.sending,
        peers: [...this.voice.peers.keys()] }, events: [...this.events] };
  }
}

const round3 = (v) => Math.round(v * 1000) / 1000;
const wrapAngle = (a) => Math.atan2(Math.sin(a), Math.cos(a));
