// Room connection: reserve a seat over HTTP, open the websocket, send our own poses at the server's
// tick rate, hand remote avatars' poses to the renderer. Reconnects with the resume token after a drop.
import { encode } from '@msgpack/msgpack';
import { fetchJson } from '../api.js';
import { dequantizeAvatar, encodePoseUpload } from './codec.js';
import { ClientSession, PROTOCOL_VERSION } from './session.js';

const RECONNECT_DELAYS_MS = [250, 500, 1000, 2000, 4000];
const ACK_EVERY_MS = 250; // acknowledge at least this often, well inside the server's max_behind_s
// Close codes after which reconnecting with the same token cannot help.
const FINAL_CLOSE_CODES = new Set([1000, 4001, 4005]);
// The seat is gone (token refused, room closed or moved, server restarted): join again over HTTP.
const REJOIN_CLOSE_CODES = new Set([4003, 4004, 4010]);
// Resume attempts that cannot even connect (the node holding the room died) before joining again, which
// lands wherever the room lives now (docs/SCALING.md).
const RESUMES_BEFORE_REJOIN = 3;

export class RoomClient {
  /**
   * @param {object} options {room, name, onPose(id, serverMs, localMs, pose, name), onLeave(id),
   *   onStatus(text), onWelcome(welcome), now: () => ms, shopperKey: () => key or null (sent on join),
   *   onStock(levels by SKU), onShop(confirm_progress / checkout message),
   *   onProfile(avatar id, height or null) (from roster entries, `joined` and `profile` messages),
   *   onHeld(avatar id, product id or null), onControl(message) (every control message: social/social.js)}
   */
  constructor(options) {
    this.options = options;
    this.room = options.room;
    this.session = new ClientSession();
    this.ws = null;
    this.seq = 0;
    this.sent = 0;
    this.received = 0;
    this.shown = new Set(); // ids of the avatars handed to onPose (others: a welcome's roster prunes them)
    this.bytesIn = 0;
    this.closedByUs = false;
    this.attempt = 0;
    this.sendIntervalMs = 1000 / 60;
    this.lastSent = -Infinity;
    this.lastAckAt = -Infinity;
    this.pendingRequests = new Map();
    this.requestId = 0;
    // Control message types this server has: true (it answered ok), false (unknown_type: a server without
    // it; we stop sending it), absent (not tried yet).
    this.features = {};
    this.profile = null; // {height}: ours, sent after every welcome
    this.holding = null; // product id we hold, sent after every welcome
  }

  get connected() {
    return this.ws?.readyState === WebSocket.OPEN && this.session.welcome !== null;
  }

  /** Reserves a seat and connects; resolves with the server's welcome message. */
  async join() {
    // X-Shopper-Key links the seat to the shopper (pinch-to-pay: docs/PROTOCOL.md, confirm_progress).
    const key = this.options.shopperKey?.();
    const reply = await fetchJson(`/api/rooms/${encodeURIComponent(this.room)}/join`, {
      method: 'POST', body: { name: this.options.name || 'Shopper' }, headers: key ? { 'X-Shopper-Key': key } : {},
    });
    this.reserved = reply;
    this.wsUrl = reply.ws_url; // on many nodes, the owning node's absolute URL: resumes go there too
    return this.connect(reply.ws_url, reply.token); // resolves with the welcome (spawn, name, roster)
  }

  /** Opens the websocket (no credentials in the URL) and presents the seat token in the first message. */
  connect(wsPath, token) {
    const url = new URL(wsPath, window.location.href);
    url.protocol = url.protocol === 'https:' || url.protocol === 'wss:' ? 'wss:' : 'ws:';
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url);
      ws.binaryType = 'arraybuffer';
      this.ws = ws;
      let welcomed = false;
      ws.onopen = () => ws.send(encode({ t: 'auth', token }));
      ws.onmessage = (event) => {
        if (typeof event.data === 'string') return;
        this.bytesIn += event.data.byteLength;
        const { kind, value } = this.session.receive(new Uint8Array(event.data));
        if (kind === 'snapshot') this.onSnapshot(value);
        else if (kind === 'control') {
          if (value.t === 'welcome' && !welcomed) {
            welcomed = true;
            this.attempt = 0;
            this.sendIntervalMs = 1000 / (value.tick_hz || 60);
            this.options.onWelcome?.(value);
            resolve(value);
            this.onControl(value);
            this.resendState();
            return;
          }
          this.onControl(value);
        }
      };
      ws.onclose = (event) => {
        this.options.onStatus?.(`Disconnected (${event.code}${event.reason ? `: ${event.reason}` : ''})`);
        if (!welcomed) {
          const error = new Error(event.reason || `the room refused the connection (${event.code})`);
          error.closeCode = event.code;
          reject(error);
        }
        else this.scheduleReconnect(event.code);
      };
    });
  }

  scheduleReconnect(code) {
    if (this.closedByUs || FINAL_CLOSE_CODES.has(code)) return;
    const token = this.session.welcome?.resume;
    const delay = RECONNECT_DELAYS_MS[Math.min(this.attempt, RECONNECT_DELAYS_MS.length - 1)];
    this.attempt += 1;
    const rejoin = !token || REJOIN_CLOSE_CODES.has(code) || this.attempt > RESUMES_BEFORE_REJOIN;
    setTimeout(() => {
      const path = this.wsUrl || `/ws?v=${PROTOCOL_VERSION}&room=${encodeURIComponent(this.room)}`;
      const again = rejoin ? this.join() : this.connect(path, token);
      again.then(() => this.options.onStatus?.(rejoin ? 'Joined again' : 'Reconnected'))
        .catch((error) => this.scheduleReconnect(error?.closeCode ?? 0));
    }, delay);
  }

  onSnapshot(snap) {
    this.received += 1;
    this.ackIfQuiet();
    const local = this.options.now();
    const self = this.session.avatarId;
    for (const [id, state] of snap.avatars) {
      if (id === self) continue;
      this.shown.add(id);
      const pose = dequantizeAvatar(state);
      this.options.onPose?.(id, snap.serverTimeMs, local, pose, this.session.roster.get(id)?.name);
    }
  }

  /**
   * The server judges a client's lag by its acknowledgements (PROTOCOL.md section 10): pose uploads carry
   * them, and while none go out (a background tab stops animation frames) an `ack` message does.
   */
  ackIfQuiet() {
    const now = performance.now();
    if (now - this.lastAckAt < ACK_EVERY_MS || this.ws?.readyState !== WebSocket.OPEN) return;
    this.lastAckAt = now;
    this.ws.send(encode({ t: 'ack', tick: this.session.lastTick }));
  }

  onControl(message) {
    if (message.t === 'welcome') {
      // The roster replaces what we knew: whoever left while we were away (a `left` we never got) goes now,
      // not as a frozen ghost (session.control has already put the new roster in place).
      for (const id of [...this.shown]) {
        if (this.session.roster.has(id)) continue;
        this.shown.delete(id);
        this.options.onLeave?.(id);
      }
      for (const entry of message.roster ?? []) {
        if (entry?.id === message.avatar) continue;
        if (entry?.height !== undefined) this.options.onProfile?.(entry.id, entry.height);
        if (entry?.held) this.options.onHeld?.(entry.id, entry.held);
      }
    }
    if (message.t === 'joined' && message.avatar?.height !== undefined) {
      this.options.onProfile?.(message.avatar.id, message.avatar.height);
    }
    if (message.t === 'profile' && message.avatar !== this.session.avatarId) {
      this.options.onProfile?.(message.avatar, message.height ?? null);
    }
    if (message.t === 'held' && message.avatar !== this.session.avatarId) {
      this.options.onHeld?.(message.avatar, message.product ?? null);
    }
    if (message.t === 'left') {
      this.shown.delete(message.avatar);
      this.options.onLeave?.(message.avatar);
    }
    if (message.t === 'stock') this.options.onStock?.(message.levels ?? {});
    if (message.t === 'confirm_progress' || message.t === 'checkout') this.options.onShop?.(message);
    this.options.onControl?.(message); // every control message (shopping together picks its own)
    if (message.id !== undefined && this.pendingRequests.has(message.id)) {
      this.pendingRequests.get(message.id)(message);
      this.pendingRequests.delete(message.id);
    }
  }

  /** Sends a control message; resolves with the reply that echoes its id (or null after 5 s). */
  request(message) {
    if (!this.connected) return Promise.resolve(null);
    this.requestId += 1;
    const id = this.requestId;
    this.ws.send(encode({ ...message, id }));
    return new Promise((resolve) => {
      this.pendingRequests.set(id, resolve);
      setTimeout(() => {
        if (this.pendingRequests.delete(id)) resolve(null);
      }, 5000);
    });
  }

  /**
   * Our pose, called every rendered frame; sent at most at the server's tick rate.
   * parts: {0: head floats, 1/2: controllers, 3/4: hand joints} in world space; optional parts.triggers {1/2: 0..1}.
   */
  sendPose(parts, nowMs) {
    if (!this.connected || nowMs - this.lastSent < this.sendIntervalMs * 0.9) return false;
    this.lastSent = nowMs;
    this.seq = (this.seq + 1) & 0xffff;
    this.ws.send(encodePoseUpload(this.seq, this.session.lastTick, parts, parts.triggers ?? null));
    this.lastAckAt = performance.now();
    this.sent += 1;
    return true;
  }

  /**
   * A control message the server may not have yet (PROTOCOL.md 5.1 lists what it has): sent as a request;
   * an `unknown_type` answer marks the type missing and it is not sent again on this page.
   */
  async sendOptional(message) {
    if (this.features[message.t] === false) return null;
    const reply = await this.request(message);
    if (reply?.t === 'error' && reply.code === 'unknown_type') this.features[message.t] = false;
    else if (reply?.t === 'ok') this.features[message.t] = true;
    return reply;
  }

  /** Our height (metres, 1.0-2.3) for the others to draw us at: `{"t": "profile", "height": h}`. */
  setProfile(height) {
    this.profile = { height };
    return this.sendOptional({ t: 'profile', height });
  }

  /** A new name over our avatar, in place (`rename`): the reply, or null when the server is older (no `rename`). */
  async rename(name) {
    const reply = await this.sendOptional({ t: 'rename', name });
    return reply?.t === 'error' && reply.code === 'unknown_type' ? null : reply;
  }

  /** The product we hold (id) or null when we put it down: `{"t": "hold", "product": ...}`. */
  setHolding(productId) {
    if ((productId ?? null) === this.holding) return Promise.resolve(null);
    this.holding = productId ?? null;
    return this.sendOptional({ t: 'hold', product: this.holding });
  }

  /** After a (re)connection the server may have forgotten our height and what we hold: say them again. */
  resendState() {
    if (this.profile) this.sendOptional({ t: 'profile', height: this.profile.height });
    if (this.holding) this.sendOptional({ t: 'hold', product: this.holding });
  }

  /** A teleport moves our floor position instantly; the server allows it only through this message. */
  teleport(x, y, z) {
    return this.request({ t: 'teleport', to: [x, y, z] });
  }

  close() {
    this.closedByUs = true;
    if (this.ws?.readyState === WebSocket.OPEN) this.ws.send(encode({ t: 'leave' }));
    this.ws?.close(1000, 'bye');
  }
}
