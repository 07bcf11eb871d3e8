// "Shop with friends" on screens (an HTML panel: words wrap, text can be typed and copied) and in a headset (an
// in-scene panel with the same choices; no keyboard there, so chat offers reactions and short phrases). Tabs:
// Invite (code, link, QR code), People (members, follow, voice, moderation), Chat; on `/?join=CODE` the invite
// dialog, on `/?advisor=1` the advisor's queue. A small bar at the bottom carries Point and the voice controls.
import * as THREE from 'three';
import { Panel } from '../ui/panel.js';
import { chatLines, EMOJI, formatCode, inviteLink, memberItems } from './social_state.js';

const XR_WIDTH = 0.7;
const PHRASES = ['This suits you!', 'Come and look', 'Yes!', 'Not sure…', 'Let’s buy it'];

const el = (tag, props = {}, ...children) => {
  const node = Object.assign(document.createElement(tag), props);
  for (const c of children) if (c !== null && c !== undefined && c !== false) node.append(c);
  return node;
};
const button = (id, label, extra = {}) => {
  const b = el('button', { type: 'button', textContent: label, ...extra });
  b.dataset.id = id;
  return b;
};

export class SocialPanel {
  /** @param {import('./social.js').Social} social */
  constructor(social) {
    this.social = social;
    this.tab = social.advisor ? 'advisor' : 'invite';
    this.open = false;
    this.draft = '';
    this.root = el('aside', { id: 'social-panel', hidden: true });
    this.root.setAttribute('role', 'dialog');
    this.root.setAttribute('aria-label', 'Shop with friends');
    this.toggle = button('toggle', social.advisor ? 'Advisor' : 'Friends', { id: 'open-social',
      title: 'Shop with friends: invite, people, chat' });
    this.toggle.setAttribute('aria-label', social.advisor ? 'Advisor desk' : 'Shop with friends');
    social.buttons?.prepend(this.toggle);
    this.toggle.addEventListener('click', () => (this.open ? this.hide() : this.show()));
    this.bar = el('div', { id: 'social-bar', hidden: true });
    this.toastEl = el('div', { id: 'social-toast', hidden: true, role: 'status' });
    this.toastEl.setAttribute('aria-live', 'polite');
    document.body.append(this.root, this.bar, this.toastEl);
    for (const node of [this.root, this.bar]) {
      node.addEventListener('click', (e) => {
        const b = e.target.closest('button[data-id]');
        // A form's submit button is the form's (Enter also "clicks" it): the submit handler sends, once.
        if (b && !b.disabled && b.dataset.id !== 'talk' && b.type !== 'submit') this.press(b.dataset.id);
      });
      for (const type of ['pointerdown', 'wheel', 'dblclick']) node.addEventListener(type, (e) => e.stopPropagation());
    }
    this.root.addEventListener('keydown', (e) => e.stopPropagation());
    this.root.addEventListener('submit', (e) => {
      e.preventDefault();
      const form = e.target;
      if (form.dataset.form === 'chat') this.sendDraft(form.querySelector('input'));
      if (form.dataset.form === 'code') this.social.previewInvite(form.querySelector('input').value);
      if (form.dataset.form === 'staff') this.social.useStaffKey(form.querySelector('input').value);
    });
    this.root.addEventListener('input', (e) => { if (e.target.dataset.field === 'chat') this.draft = e.target.value; });
    // Push-to-talk: held on the bar's button (mouse, touch, pen).
    this.bar.addEventListener('pointerdown', (e) => {
      if (e.target.closest('button[data-id="talk"]')) { e.preventDefault(); this.social.voice.pushToTalk(true); }
    });
    for (const type of ['pointerup', 'pointercancel', 'pointerleave']) {
      this.bar.addEventListener(type, (e) => {
        if (type !== 'pointerleave' || e.target.closest?.('button[data-id="talk"]')) this.social.voice.pushToTalk(false);
      }, true);
    }
    window.addEventListener('resize', () => this.fit());
  }

  show(tab = null) {
    if (tab) this.tab = tab;
    this.open = true;
    if (this.tab === 'chat') this.social.unread = 0;
    this.render();
    if (this.tab === 'chat') this.root.querySelector('input[data-field="chat"]')?.focus({ preventScroll: true });
  }

  hide() {
    this.open = false;
    this.root.hidden = true;
    this.social.panels.remove('social');
    this.renderBar();
  }

  toast(text) {
    this.toastEl.textContent = text;
    this.toastEl.hidden = false;
    clearTimeout(this.toastTimer);
    this.toastTimer = setTimeout(() => { this.toastEl.hidden = true; }, 4000);
  }

  async sendDraft(input) {
    const text = input?.value ?? this.draft;
    if (await this.social.chat(text)) {
      this.draft = '';
      if (input) input.value = '';
    }
    this.render();
    this.root.querySelector('input[data-field="chat"]')?.focus({ preventScroll: true });
  }

  async press(id) {
    const s = this.social;
    const [verb, arg] = [id.split(':')[0], id.slice(id.indexOf(':') + 1)];
    switch (verb) {
      case 'toggle': return this.open ? this.hide() : this.show();
      case 'close': return this.hide();
      case 'tab':
        s.message = '';
        return this.show(arg);
      case 'create': return s.create();
      case 'accept': return s.accept();
      case 'decline': return s.decline();
      case 'leave': return s.leave();
      case 'new-invite': return s.newInvite();
      case 'copy': return this.copyLink();
      case 'advisor': return s.callAdvisor();
      case 'follow': return s.follow(arg);
      case 'unfollow': return s.follow(null);
      case 'jump': return s.jump(arg);
      case 'mute': return s.mute(arg, !s.group.members.get(arg)?.muted);
      case 'remove': return s.remove(arg);
      case 'block': return s.block(arg);
      case 'report': return s.report(arg);
      case 'react': return s.react(arg);
      case 'phrase': return s.chat(PHRASES[Number(arg)] ?? '');
      case 'send': return this.sendDraft(this.root.querySelector('input[data-field="chat"]'));
      case 'voice': return s.voice.on ? s.voice.stop() : s.voice.start([...s.group.members.values()]);
      case 'mic': return s.voice.setMuted(!s.voice.muted);
      case 'point': return s.setPointMode(!s.pointMode);
      case 'draw':
        s.drawArmed = !s.drawArmed;
        s.say(s.drawArmed ? 'Draw: drag on the store (or hold the trigger in a headset).' : '');
        return this.render();
      case 'calls': return s.refreshCalls();
      case 'take': return s.acceptCall(arg);
      case 'talk': return s.voice.pushToTalk(!s.voice.talking); // the headset panel: a press toggles it
      default: return undefined;
    }
  }

  async copyLink() {
    const inv = this.social.group.invite();
    if (!inv) return;
    const link = inviteLink(inv.link, inv.code, window.location.origin);
    try {
      await navigator.clipboard.writeText(link);
      this.social.say('Link copied: paste it in a message to a friend.');
    } catch {
      const field = this.root.querySelector('input[data-field="link"]');
      field?.select();
      this.social.say('Select the link and copy it (the browser did not let the page copy).');
    }
  }

  // --- what is shown -------------------------------------------------------------------------------
  tabs() {
    const s = this.social;
    if (!s.group.active) return [];
    const n = s.group.members.size;
    return [
      ...(s.group.isAdvisor ? [] : [['invite', 'Invite']]),
      ['people', `People (${n})`],
      ['chat', s.unread ? `Chat (${s.unread} new)` : 'Chat'],
    ];
  }

  render() {
    const s = this.social;
    this.toggle.textContent = `${s.advisor ? 'Advisor' : 'Friends'}${s.group.active ? ` (${s.group.members.size})` : ''}${s.unread ? ' •' : ''}`;
    if (s.group.active && (this.tab === 'join' || (this.tab === 'invite' && s.group.isAdvisor)
      || (this.tab === 'advisor' && s.group.active))) this.tab = 'people';
    if (!s.group.active && ['people', 'chat'].includes(this.tab)) this.tab = s.advisor ? 'advisor' : 'invite';
    this.renderBar();
    if (!this.open) return;
    if (s.immersive()) {
      this.root.hidden = true;
      this.renderXR();
      return;
    }
    s.panels.remove('social');
    this.xrPanel = null;
    this.renderHtml();
  }

  renderHtml() {
    const s = this.social;
    const focused = document.activeElement?.dataset?.field === 'chat';
    const head = el('div', { className: 'head' }, el('h2', { className: 'title', textContent: s.advisor ? 'Advisor desk' : 'Shop with friends' }),
      button('close', 'Close', { className: 'close' }));
    const tabs = this.tabs();
    const tabRow = tabs.length ? el('div', { className: 'tabs', role: 'tablist' }) : null;
    for (const [id, label] of tabs) {
      const b = button(`tab:${id}`, label, { className: this.tab === id ? 'selected' : '' });
      b.setAttribute('role', 'tab');
      b.setAttribute('aria-selected', String(this.tab === id));
      tabRow.append(b);
    }
    const body = el('div', { className: 'body' });
    body.dataset.tab = this.tab;
    body.append(...this.htmlBody());
    const msg = s.message ? el('p', { className: `message ${s.tone}`, textContent: s.message }) : null;
    this.root.replaceChildren(head, ...(tabRow ? [tabRow] : []), body, ...(msg ? [msg] : []));
    this.root.dataset.tab = this.tab;
    this.root.hidden = false;
    this.fit();
    const log = this.root.querySelector('.chat-log');
    if (log) log.scrollTop = log.scrollHeight; // newest at the bottom, in view
    if (focused) this.root.querySelector('input[data-field="chat"]')?.focus({ preventScroll: true });
  }

  htmlBody() {
    const s = this.social;
    const g = s.group;
    const text = (t, className = 'text') => el('p', { className, textContent: t });
    if (this.tab === 'join' && s.invitePreview) {
      const p = s.invitePreview;
      const n = Array.isArray(p.members) ? p.members.length : Number(p.members) || 0;
      return [
        text(`${p.owner_name ?? 'A friend'} invites you to shop together${p.store ? ` in ${storeName(p.store)}` : ''}.`, 'text strong'),
        ...(n ? [text(`${n} ${n === 1 ? 'person is' : 'people are'} in the group.`, 'text muted')] : []),
        text('You will appear beside them in the store; they see your avatar and your name, never your measurements or orders.', 'text muted'),
        el('div', { className: 'row' }, button('accept', 'Accept', { className: 'primary' }), button('decline', 'Decline')),
      ];
    }
    if (this.tab === 'advisor') return this.advisorBody();
    if (!g.active) {
      const form = el('form', { className: 'code-form' }, el('label', { className: 'field', textContent: 'Have a code from a friend?' },
        el('input', { name: 'code', maxLength: 9, placeholder: 'e.g. K7M 4PX', autocomplete: 'off', autocapitalize: 'characters',
          spellcheck: false })), button('join-code', 'Join', { type: 'submit' }));
      form.dataset.form = 'code';
      return [
        text('Invite friends into this store: they see you walk around, you talk, point at things and fill one bag together.'),
        el('div', { className: 'row' }, button('create', 'Start shopping with friends', { className: 'primary' })),
        form,
      ];
    }
    if (this.tab === 'invite') {
      const inv = g.invite();
      const link = inv ? inviteLink(inv.link, inv.code, window.location.origin) : '';
      // The same image element while the code stays (a redraw must not reload and flash it).
      if (inv && this.qr?.dataset.code !== inv.code) {
        this.qr = el('img', { className: 'qr', src: s.api.qrUrl(inv.code), alt: `QR code of the invite link ${link}`,
          width: 148, height: 148 });
        this.qr.dataset.code = inv.code;
      }
      const qr = inv ? this.qr : null;
      const linkField = el('input', { value: link, readOnly: true, className: 'link' });
      linkField.dataset.field = 'link';
      linkField.setAttribute('aria-label', 'Invite link');
      const call = g.view?.advisor_call;
      return [
        text('Your friend opens the link, scans the code with a phone, or types the code on this store’s page.', 'text muted'),
        el('div', { className: 'invite' },
          el('div', { className: 'code-box' }, el('span', { className: 'label', textContent: 'Code' }),
            el('output', { className: 'code', textContent: formatCode(inv?.code ?? '') })), qr),
        el('div', { className: 'row link-row' }, linkField, button('copy', 'Copy link')),
        el('div', { className: 'row' }, button('new-invite', 'New code'),
          button('advisor', call ? 'Cancel the advisor call' : 'Call an advisor'), button('leave', 'Leave group')),
        ...(call ? [text('An advisor has been called and joins you when free.', 'text muted')] : []),
      ];
    }
    if (this.tab === 'people') {
      const list = el('div', { className: 'members' });
      let row = null;
      for (const item of memberItems(g, { blocked: s.blocked })) {
        if (item.kind === 'text') {
          const line = el('div', { className: 'member' }, el('p', { className: 'text', textContent: item.label }));
          line.dataset.id = item.id;
          list.append(line);
          row = null;
        } else {
          const r = item.row.endsWith('-mod') ? 'mod' : 'go';
          if (!row || row.dataset.row !== r) {
            row = el('div', { className: `row ${r}` });
            row.dataset.row = r;
            list.lastChild.append(row);
          }
          row.append(button(item.id, item.label, { className: item.selected ? 'selected' : '', disabled: Boolean(item.disabled) }));
        }
      }
      return [list, this.voiceRow(), ...(g.isAdvisor ? [el('div', { className: 'row' },
        button('draw', s.drawArmed ? 'Drawing: on' : 'Draw marks', { className: s.drawArmed ? 'selected' : '' }))] : []),
      text('Hold P and move the mouse over a product to point at it (a phone: Point, then tap it). Shift + drag draws a mark in the air.', 'text muted')];
    }
    if (this.tab === 'chat') {
      const log = el('ol', { className: 'chat-log' });
      log.setAttribute('aria-live', 'polite');
      const lines = chatLines(g);
      if (!lines.length) log.append(el('li', { className: 'muted', textContent: 'No messages yet. Say hello!' }));
      for (const l of lines) log.append(el('li', { className: l.mine ? 'mine' : '', textContent: l.label }));
      const input = el('input', { value: this.draft, maxLength: s.limits.max_chat_chars, placeholder: g.muted
        ? 'The owner muted you' : 'Write a message', disabled: g.muted, enterKeyHint: 'send', autocomplete: 'off' });
      input.dataset.field = 'chat';
      input.setAttribute('aria-label', 'Message');
      const form = el('form', { className: 'chat-form' }, input, button('send', 'Send', { type: 'submit', disabled: g.muted }));
      form.dataset.form = 'chat';
      const reactions = el('div', { className: 'row reactions' });
      for (const e of EMOJI) {
        const b = button(`react:${e}`, e, { disabled: g.muted });
        b.setAttribute('aria-label', `React ${e}`);
        reactions.append(b);
      }
      return [log, form, reactions];
    }
    return [];
  }

  voiceRow() {
    const v = this.social.voice;
    const g = this.social.group;
    return el('div', { className: 'row voice' },
      button('voice', v.on ? 'Leave voice' : 'Join voice', { className: v.on ? 'selected' : '', disabled: g.muted && !v.on }),
      ...(v.on ? [button('mic', v.muted ? 'Unmute mic' : 'Mute mic', { className: v.muted ? 'selected' : '' })] : []),
      ...(v.error ? [el('p', { className: 'text muted', textContent: v.error })] : []));
  }

  advisorBody() {
    const s = this.social;
    const text = (t, className = 'text') => el('p', { className, textContent: t });
    if (!s.shopApi.key) {
      const form = el('form', {}, el('label', { className: 'field', textContent: 'Your staff key (from the store owner)' },
        el('input', { name: 'staff', autocomplete: 'off', spellcheck: false })), button('staff-key', 'Use this key', { type: 'submit' }));
      form.dataset.form = 'staff';
      return [text('Advisors answer shoppers’ calls and join them in the store.'), form];
    }
    const list = el('ul', { className: 'calls' });
    if (!s.calls.length) list.append(el('li', { className: 'muted', textContent: 'No shopper is waiting. New calls appear here.' }));
    for (const c of s.calls) {
      const who = c.by_name ?? c.by ?? 'A shopper';
      const li = el('li', {}, el('span', { textContent: `${who} · ${storeName(c.store)}${c.at ? ` · waiting ${waited(c.at)}` : ''}` }),
        button(`take:${c.group}`, 'Accept'));
      li.dataset.group = c.group;
      list.append(li);
    }
    return [text('Waiting calls (oldest first)', 'text strong'), list, el('div', { className: 'row' }, button('calls', 'Refresh'))];
  }

  /** The bar at the bottom of a screen while in a group: Point, and the voice controls. */
  renderBar() {
    const s = this.social;
    if (!s.group.active || s.immersive()) {
      this.bar.hidden = true;
      return;
    }
    const v = s.voice;
    const items = [button('point', s.pointMode ? '👉 Pointing' : '👉 Point', { className: s.pointMode ? 'selected' : '' })];
    if (v.on) {
      const talk = button('talk', v.talking ? '🎙 Talking…' : '🎙 Hold to talk', { className: v.talking ? 'selected' : '' });
      talk.title = 'Hold (or hold V) to talk while your mic is muted';
      items.push(talk, button('mic', v.muted ? '🔇 Muted' : '🎙 Mic on', { className: v.muted ? 'selected' : '' }));
    }
    if (s.group.isAdvisor) items.push(button('draw', s.drawArmed ? '✏️ Drawing' : '✏️ Draw', { className: s.drawArmed ? 'selected' : '' }));
    this.bar.replaceChildren(...items);
    this.bar.hidden = false;
    const help = document.getElementById('help')?.getBoundingClientRect();
    this.bar.style.bottom = `${help && help.height ? Math.round(window.innerHeight - help.top + 6) : 10}px`;
  }

  /** Below the top bar and above the help line, scrolling inside when long. */
  fit() {
    if (this.root.hidden) return;
    const hud = document.getElementById('buttons')?.getBoundingClientRect();
    const top = Math.round((hud?.bottom ?? 50) + 8);
    const barTop = this.bar.hidden ? null : this.bar.getBoundingClientRect().top;
    const help = document.getElementById('help')?.getBoundingClientRect();
    const bottomEdge = Math.min(barTop ?? Infinity, help && help.height ? help.top : window.innerHeight - 10);
    Object.assign(this.root.style, { top: `${top}px`, maxHeight: `${Math.max(180, bottomEdge - top - 8)}px` });
  }

  // --- the headset ---------------------------------------------------------------------------------
  xrItems() {
    const s = this.social;
    const g = s.group;
    const items = [{ id: 'title', kind: 'title', label: s.advisor ? 'Advisor desk' : 'Shop with friends' }];
    for (const [id, label] of this.tabs()) items.push({ id: `tab:${id}`, kind: 'button', label, row: 'tabs', selected: this.tab === id });
    if (this.tab === 'join' && s.invitePreview) {
      items.push({ id: 'who', kind: 'text', label: `${s.invitePreview.owner_name ?? 'A friend'} invites you to shop together.` },
        { id: 'accept', kind: 'button', label: 'Accept', row: 'answer' }, { id: 'decline', kind: 'button', label: 'Decline', row: 'answer' });
    } else if (this.tab === 'advisor') {
      if (!s.calls.length) items.push({ id: 'none', kind: 'text', label: 'No shopper is waiting.', muted: true });
      for (const c of s.calls.slice(0, 5)) {
        items.push({ id: `call:${c.group}`, kind: 'text', label: `${c.by ?? 'A shopper'} · ${storeName(c.store)}` },
          { id: `take:${c.group}`, kind: 'button', label: 'Accept', row: `call-${c.group}` });
      }
      items.push({ id: 'calls', kind: 'button', label: 'Refresh', row: 'end' });
    } else if (!g.active) {
      items.push({ id: 'intro', kind: 'text', label: 'Invite friends: they appear beside you, you talk, point and share a bag.' },
        { id: 'create', kind: 'button', label: 'Start shopping with friends', row: 'start' });
    } else if (this.tab === 'invite') {
      const inv = g.invite();
      items.push({ id: 'code-label', kind: 'text', label: 'Tell your friend this code (or the link):', muted: true },
        { id: 'code', kind: 'title', label: formatCode(inv?.code ?? '') },
        { id: 'link', kind: 'text', label: inv ? inviteLink(inv.link, inv.code, window.location.origin) : '', muted: true },
        { id: 'new-invite', kind: 'button', label: 'New code', row: 'inv' },
        { id: 'advisor', kind: 'button', label: g.view?.advisor_call ? 'Cancel advisor call' : 'Call an advisor', row: 'inv' },
        { id: 'leave', kind: 'button', label: 'Leave group', row: 'inv' });
    } else if (this.tab === 'people') {
      items.push(...memberItems(g, { blocked: s.blocked }));
      const v = s.voice;
      items.push({ id: 'voice', kind: 'button', label: v.on ? 'Leave voice' : 'Join voice', row: 'voice', selected: v.on },
        ...(v.on ? [{ id: 'mic', kind: 'button', label: v.muted ? 'Unmute mic' : 'Mute mic', row: 'voice', selected: v.muted },
          { id: 'talk', kind: 'button', label: v.talking ? 'Talking (press to stop)' : 'Talk', row: 'voice', selected: v.talking }] : []),
        { id: 'point', kind: 'button', label: s.pointMode ? 'Pointing: on' : 'Point with my ray', row: 'tools', selected: s.pointMode },
        { id: 'draw', kind: 'button', label: s.drawArmed ? 'Drawing: on' : 'Draw with the trigger', row: 'tools', selected: s.drawArmed });
    } else if (this.tab === 'chat') {
      const lines = chatLines(g, 6);
      if (!lines.length) items.push({ id: 'none', kind: 'text', label: 'No messages yet.', muted: true });
      lines.forEach((l, i) => items.push({ id: `line${i}`, kind: 'text', label: l.label, muted: l.mine }));
      EMOJI.forEach((e) => items.push({ id: `react:${e}`, kind: 'button', label: e, row: 'emoji', disabled: g.muted }));
      PHRASES.forEach((p, i) => items.push({ id: `phrase:${i}`, kind: 'button', label: p, row: 'phrases', disabled: g.muted }));
    }
    if (s.message) items.push({ id: 'message', kind: 'text', label: s.message, muted: s.tone !== 'error' });
    items.push({ id: 'close', kind: 'button', label: 'Close', row: 'close' });
    return items;
  }

  renderXR() {
    const s = this.social;
    let panel = s.panels.get('social');
    if (!panel) {
      panel = s.panels.add(new Panel({ id: 'social', width: XR_WIDTH, items: this.xrItems(), onTop: true,
        onPress: (id) => this.press(id) }));
      this.placeXR(panel);
    } else {
      panel.setItems(this.xrItems());
    }
    this.xrPanel = panel;
  }

  /** In front of the eye, a little to the right (the bag opens to the left), facing it. */
  placeXR(panel) {
    const cam = this.social.camera;
    const eye = cam.getWorldPosition(new THREE.Vector3());
    const forward = cam.getWorldDirection(new THREE.Vector3()).setY(0);
    if (forward.lengthSq() < 1e-6) forward.set(0, 0, -1);
    forward.normalize();
    const right = new THREE.Vector3(-forward.z, 0, forward.x);
    panel.mesh.position.copy(eye).addScaledVector(forward, 0.85).addScaledVector(right, 0.15);
    panel.mesh.position.y = eye.y - 0.05;
    panel.mesh.lookAt(eye.x, panel.mesh.position.y, eye.z);
  }
}

const STORE_NAMES = { boutique: 'the Boutique', 'space-market': 'the Space Market', 'fairy-beauty': 'Fairy Beauty' };
const storeName = (id) => STORE_NAMES[id] ?? id ?? 'the store';

function waited(at) {
  const s = Math.max(0, Math.round(Date.now() / 1000 - Number(at)));
  return s < 60 ? `${s} s` : `${Math.round(s / 60)} min`;
}
