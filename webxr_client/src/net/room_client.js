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

export class RoomClient {
  /**
   * @param {object} options {room, name, onPose(id, serverMs, localMs, pose, name), onLeave(id),
   *   onStatus(text), onWelcome(welcome), now: () => ms, shopperKey: () => key or null (sent on join),
 *   onStock(levels by SKU), onShop(confirm_progress / checkout message)}
   */
  constructor(options) {
    this.options = options;
    this.room = options.room;
    this.session = new ClientSession();
    this.ws = null;
    this.seq = 0;
    this.sent = 0;
    this.received = 0;
    this.bytesIn = 0;
    this.closedByUs = false;
    this.attempt = 0;
    this.sendIntervalMs = 1000 / 60;
    this.lastSent = -Infinity;
    this.lastAckAt = -Infinity;
    this.pendingRequests = new Map();
    this.requestId = 0;
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
    return this.connect(reply.ws_url, reply.token); // resolves with the welcome (spawn, name, roster)
  }

  /** Opens the websocket (no credentials in the URL) and presents the seat token in the first message. */
  connect(wsPath, token) {
    const url = new URL(wsPath, window.location.href);
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
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
          }
          this.onControl(value);
        }
      };
      ws.onclose = (event) => {
        this.options.onStatus?.(`Disconnected (${event.code}${event.reason ? `: ${event.reason}` : ''})`);
        if (!welcomed) reject(new Error(event.reason || `the room refused the connection (${event.code})`));
        else this.scheduleReconnect(event.code);
      };
    });
  }

  scheduleReconnect(code) {
    if (this.closedByUs || FINAL_CLOSE_CODES.has(code)) return;
    const token = this.session.welcome?.resume;
    if (!token) return;
    const delay = RECONNECT_DELAYS_MS[Math.min(this.attempt, RECONNECT_DELAYS_MS.length - 1)];
    this.attempt += 1;
    setTimeout(() => {
      const path = `/ws?v=${PROTOCOL_VERSION}&room=${encodeURIComponent(this.room)}`;
      this.connect(path, token).then(() => this.options.onStatus?.('Reconnected'))
        .catch(() => this.scheduleReconnect(0));
    }, delay);
  }

  onSnapshot(snap) {
    this.received += 1;
    this.ackIfQuiet();
    const local = this.options.now();
    const self = this.session.avatarId;
    for (const [id, state] of snap.avatars) {
      if (id === self) continue;
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
    if (message.t === 'left') this.options.onLeave?.(message.avatar);
    if (message.t === 'stock') this.options.onStock?.(message.levels ?? {});
    if (message.t === 'confirm_progress' || message.t === 'checkout') this.options.onShop?.(message);
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
   * parts: {0: head floats, 1/2: controllers, 3/4: hand joints} in world space.
   */
  sendPose(parts, nowMs) {
    if (!this.connected || nowMs - this.lastSent < this.sendIntervalMs * 0.9) return false;
    this.lastSent = nowMs;
    this.seq = (this.seq + 1) & 0xffff;
    this.ws.send(encodePoseUpload(this.seq, this.session.lastTick, parts));
    this.lastAckAt = performance.now();
    this.sent += 1;
    return true;
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
