// Pure: shopping together (docs/SOCIAL.md). The group as this page knows it (the server's group view plus the
// live `group_member` / `chat` messages), what the members and chat panels say, invite codes, following a
// friend, strokes in the air. No DOM, no three.js: node-tested (webxr_client/test/social.test.js).

export const EMOJI = ['👍', '❤️', '😂', '😮', '👏', '🔥'];
export const CODE_ALPHABET = '23456789ABCDEFGHJKMNPQRSTUVWXYZ';
export const CODE_LENGTH = 6;
// Used until the server's welcome says otherwise (welcome.limits.max_chat_chars, max_stroke_points).
export const DEFAULT_LIMITS = { max_chat_chars: 500, max_stroke_points: 64, chat_history_lines: 50, points_per_s: 10,
  strokes_per_s: 4, max_reach_m: 1.5 };
export const FOLLOW_GAP_M = 1.2;
export const FOLLOW_SPEED_M_S = 1.6;
const CHAT_KEEP = 100;

/** An invite code as typed or pasted ("k7m 4px", "K7M-4PX"): the 6 characters, upper case, or null. */
export function normalizeCode(text) {
  const code = String(text ?? '').toUpperCase().replace(/[\s-]/g, '');
  if (code.length !== CODE_LENGTH) return null;
  return [...code].every((c) => CODE_ALPHABET.includes(c)) ? code : null;
}

/** The code to read out or type on a phone: two groups of three ("K7M 4PX"). */
export function formatCode(code) {
  const c = String(code ?? '');
  return c.length === CODE_LENGTH ? `${c.slice(0, 3)} ${c.slice(3)}` : c;
}

/** The invite code of a page's address (`?join=CODE`), or null. */
export function joinCodeFrom(search) {
  const q = new URLSearchParams(search);
  return q.has('join') ? normalizeCode(q.get('join')) : null;
}

/** The full invite link for a group view's relative `link` ("/?join=K7M4PX"). */
export function inviteLink(link, code, origin) {
  const path = link || `/?join=${code}`;
  try {
    return new URL(path, origin).toString();
  } catch {
    return path;
  }
}

/** A chat line to send: {text} (trimmed), or {error} in words. */
export function checkChat(text, maxChars = DEFAULT_LIMITS.max_chat_chars) {
  const t = String(text ?? '').replace(/\s+/g, ' ').trim();
  if (!t) return { error: 'Type something first.' };
  const n = [...t].length;
  if (n > maxChars) return { error: `That is ${n} characters; ${maxChars} at most.` };
  return { text: t };
}

/** The member with the smaller id makes the WebRTC offer. */
export const makesOffer = (me, peer) => String(me) < String(peer);

const ROLE_WORDS = { owner: 'owner', member: 'member', advisor: 'advisor' };

/**
 * The group as this page knows it. `apply*` take the server's messages; everything else reads.
 */
export class GroupState {
  constructor() {
    this.reset();
  }

  reset() {
    this.view = null; // the last group view
    this.members = new Map(); // member id -> {member, name, role, presence, muted, voice, avatars, room}
    this.chat = []; // {member, name, avatar, text, at}
    this.following = null; // member id we follow
    this.followers = new Map(); // member id -> target member id (from `following`)
    this.declined = [];
  }

  get id() { return this.view?.id ?? null; }
  get you() { return this.view?.you ?? null; }
  get active() { return Boolean(this.view); }
  get me() { return this.members.get(this.you) ?? null; }
  get isOwner() { return this.me?.role === 'owner'; }
  get isAdvisor() { return this.me?.role === 'advisor'; }
  get muted() { return Boolean(this.me?.muted); }

  /** A whole group view (HTTP answer or the `group` message). */
  applyView(view) {
    if (!view || !view.id) return;
    if (this.view && this.view.id !== view.id) this.reset();
    const voice = new Map([...this.members].map(([id, m]) => [id, m.voice]));
    this.view = view;
    this.members = new Map((view.members ?? []).map((m) => [m.member,
      { voice: voice.get(m.member) ?? false, ...m, avatars: m.avatars ?? [] }]));
    if (Array.isArray(view.chat)) {
      const seen = new Set(this.chat.map(chatKey));
      for (const line of view.chat) if (!seen.has(chatKey(line))) this.chat.push(line);
      this.chat.sort((a, b) => (a.at ?? 0) - (b.at ?? 0));
      this.chat = this.chat.slice(-CHAT_KEEP);
    }
  }

  /** `group_member` {member, ...changed}: joined, presence, muted, voice, role, or `left`. Returns what changed. */
  applyMember(patch) {
    if (!patch?.member) return null;
    if (patch.left) {
      const gone = this.members.get(patch.member);
      this.members.delete(patch.member);
      if (this.following === patch.member) this.following = null;
      return { left: patch.left, member: gone ?? patch };
    }
    const before = this.members.get(patch.member);
    const { t, group, ...fields } = patch;
    this.members.set(patch.member, { presence: 'here', muted: false, voice: false, role: 'member', avatars: [],
      ...before, ...fields });
    return { joined: !before, member: this.members.get(patch.member) };
  }

  addChat(line) {
    this.chat.push(line);
    if (this.chat.length > CHAT_KEEP) this.chat.shift();
  }

  /** The member seated as avatar `avatarId` (members' `avatars`), or null. */
  memberByAvatar(avatarId) {
    for (const m of this.members.values()) if ((m.avatars ?? []).includes(avatarId)) return m;
    return null;
  }

  /** Other members, the owner first, then by name. */
  others() {
    return [...this.members.values()].filter((m) => m.member !== this.you)
      .sort((a, b) => (a.role === 'owner' ? -1 : 0) - (b.role === 'owner' ? -1 : 0) || String(a.name).localeCompare(b.name));
  }

  /** Who the current first invite is: {code, link}. */
  invite() {
    const inv = (this.view?.invites ?? [])[0];
    return inv ? { code: inv.code, link: inv.link } : (this.view?.code ? { code: this.view.code, link: this.view.link } : null);
  }
}

const chatKey = (l) => `${l.member}|${l.at}|${l.text}`;

/** One member's line in the panel: "Ana · owner · here · 🎙 · muted". */
export function memberLine(m, you) {
  const parts = [m.member === you ? `${m.name} (you)` : m.name, ROLE_WORDS[m.role] ?? m.role];
  parts.push(m.presence === 'away' ? 'away' : 'here');
  if (m.voice) parts.push('voice on');
  if (m.muted) parts.push('muted');
  return parts.join(' · ');
}

/**
 * The members panel's items (the same list for the HTML panel and the headset panel): each member's line,
 * then its buttons (follow / stop, jump to, and for the owner mute / remove; block and report for everyone).
 */
export function memberItems(state, { blocked = new Set(), canFollow = true } = {}) {
  const items = [];
  const you = state.you;
  const mine = state.members.get(you);
  if (mine) items.push({ id: `member:${you}`, kind: 'text', label: memberLine(mine, you) });
  for (const m of state.others()) {
    items.push({ id: `member:${m.member}`, kind: 'text', label: memberLine(m, you) });
    const row = `m-${m.member}`;
    if (canFollow) {
      items.push(state.following === m.member
        ? { id: `unfollow:${m.member}`, kind: 'button', label: 'Stop following', row, selected: true }
        : { id: `follow:${m.member}`, kind: 'button', label: 'Follow', row });
      items.push({ id: `jump:${m.member}`, kind: 'button', label: 'Jump to', row, disabled: m.presence === 'away' });
    }
    if (state.isOwner && m.role !== 'advisor') {
      items.push({ id: `mute:${m.member}`, kind: 'button', label: m.muted ? 'Unmute' : 'Mute', row: `${row}-mod` });
      items.push({ id: `remove:${m.member}`, kind: 'button', label: 'Remove', row: `${row}-mod` });
    }
    items.push({ id: `block:${m.member}`, kind: 'button', label: blocked.has(m.member) ? 'Unblock' : 'Block', row: `${row}-mod` });
    items.push({ id: `report:${m.member}`, kind: 'button', label: 'Report', row: `${row}-mod` });
  }
  return items;
}

/** Chat lines as the panel shows them, oldest first (newest at the bottom): "Ana: hello". */
export function chatLines(state, last = 30) {
  return state.chat.slice(-last).map((l) => ({ member: l.member, mine: l.member === state.you,
    label: `${l.member === state.you ? 'You' : (l.name ?? 'Someone')}: ${l.text}` }));
}

/** "added by you" / "added by Ana" for a shared bag line. */
export function addedBy(line, you) {
  if (!line?.added_by) return '';
  return line.added_by === you ? 'added by you' : `added by ${line.added_by_name ?? 'a friend'}`;
}

/** What a shared-bag checkout of `part` would take: the lines and their total (minor units). */
export function partLines(bag, part, you) {
  const lines = (bag?.lines ?? []).filter((li) => part === 'all' || li.added_by === you);
  return { lines, total: lines.reduce((a, li) => a + (li.total_minor ?? li.unit_minor * li.quantity), 0) };
}

/**
 * Walking behind a friend: the spot `gap` metres short of the leader on the line from us to them, and the
 * step towards it this frame ([dx, dz], at most `speed` × dt). Already close enough: [0, 0].
 */
export function followStep(self, leader, dt, { gap = FOLLOW_GAP_M, speed = FOLLOW_SPEED_M_S } = {}) {
  const dx = leader[0] - self[0];
  const dz = leader[1] - self[1];
  const d = Math.hypot(dx, dz);
  if (!Number.isFinite(d) || d <= gap + 0.05) return [0, 0];
  const step = Math.min(d - gap, speed * dt);
  return [(dx / d) * step, (dz / d) * step];
}

/** The yaw (three.js, about +Y, 0 = looking down -Z) that faces from `self` to `target`. */
export const yawTowards = (self, target) => Math.atan2(-(target[0] - self[0]), -(target[1] - self[1]));

/**
 * A stroke being drawn: points at least `spacing` m apart; `take(now)` gives the next chunk to send (at most
 * `maxPoints`, at most one per `intervalMs`), each chunk starting where the last one ended so the line is whole.
 */
export class StrokeRecorder {
  constructor({ maxPoints = DEFAULT_LIMITS.max_stroke_points, spacing = 0.01, intervalMs = 250 } = {}) {
    Object.assign(this, { maxPoints, spacing, intervalMs });
    this.points = [];
    this.lastSent = -Infinity;
    this.active = false;
  }

  start() {
    this.active = true;
    this.points = [];
  }

  add(p) {
    if (!this.active || !p.every(Number.isFinite)) return false;
    const last = this.points[this.points.length - 1];
    if (last && Math.hypot(p[0] - last[0], p[1] - last[1], p[2] - last[2]) < this.spacing) return false;
    this.points.push(p.map((v) => Math.round(v * 1000) / 1000));
    return true;
  }

  /** The chunk to send now (or null): when full, when the interval passed, or when the stroke `ended`. */
  take(now, ended = false) {
    const ready = this.points.length >= this.maxPoints || (now - this.lastSent >= this.intervalMs) || ended;
    if (!ready || this.points.length < 2) return null;
    const chunk = this.points.slice(0, this.maxPoints);
    this.points = [chunk[chunk.length - 1], ...this.points.slice(this.maxPoints)];
    this.lastSent = now;
    return chunk;
  }

  end(now) {
    const chunk = this.take(now, true);
    this.active = false;
    this.points = [];
    return chunk;
  }
}

/** A stroke's opacity `age` seconds after it arrived: full for the first 70 % of its life, then fading out. */
export function strokeOpacity(ageS, ttlS) {
  if (!(ttlS > 0) || ageS >= ttlS) return 0;
  const fadeFrom = ttlS * 0.7;
  return ageS <= fadeFrom ? 1 : 1 - (ageS - fadeFrom) / (ttlS - fadeFrom);
}

/** Problem codes of docs/SOCIAL.md in words. */
const SOCIAL_ERRORS = {
  invite_unknown: 'That invite code is not known. Check the code and try again.',
  invite_expired: 'That invite has expired. Ask your friend for a new one.',
  invite_used_up: 'That invite has been used up. Ask your friend for a new one.',
  removed_from_group: 'You were removed from this group and cannot rejoin it.',
  group_full: 'That group is full.',
  not_allowed: 'You are not allowed to do that in this group.',
  not_in_group: 'You are not in a group.',
  rate_limited: 'Slow down a little: too many messages.',
  member_elsewhere: 'Your friend is in another room, so you cannot jump to them.',
  teleport_blocked: 'There is no free spot next to your friend right now.',
  lines_in_checkout: 'Some of these items are in another checkout right now; try again once it ends.',
  unknown_type: 'This server does not have that yet.',
};

export function socialErrorText(code, fallback = '') {
  return SOCIAL_ERRORS[code] ?? (fallback || `That did not work (${String(code || 'error').replaceAll('_', ' ')}).`);
}
