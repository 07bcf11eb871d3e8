// Protocol state of one client, sans-I/O (the JS twin of sim/client.py's ClientSession): feed it every
// binary frame received; it keeps the delta baselines, the roster and the last tick to acknowledge.
import { decode } from '@msgpack/msgpack';
import { decodeFrame, KIND_SNAPSHOT } from './codec.js';

export const HISTORY_TICKS = 64;
export const PROTOCOL_VERSION = 2;

export class ClientSession {
  constructor() {
    this.welcome = null;
    this.roster = new Map(); // avatar id -> {id, name, external, height}
    this.lastTick = 0;
    this.history = new Map(); // avatar id -> Map(tick -> state)
    this.errors = [];
    this.snapshots = 0;
    this.decodeErrors = 0;
  }

  get avatarId() {
    return this.welcome ? this.welcome.avatar : null;
  }

  /**
   * @param {Uint8Array} data one binary websocket message
   * @returns {{kind: 'snapshot', value} | {kind: 'control', value} | {kind: 'decode_error', value: Error}}
   */
  receive(data) {
    const bytes = data instanceof Uint8Array ? data : new Uint8Array(data);
    try {
      if (bytes[0] === KIND_SNAPSHOT) {
        this.snapshots += 1;
        const snap = decodeFrame(bytes, (id, tick) => this.history.get(id)?.get(tick) ?? null);
        this.remember(snap);
        return { kind: 'snapshot', value: snap };
      }
      const message = decode(bytes);
      if (!message || typeof message !== 'object') throw new Error('control message is not a map');
      this.control(message);
      return { kind: 'control', value: message };
    } catch (err) {
      this.decodeErrors += 1;
      return { kind: 'decode_error', value: err };
    }
  }

  remember(snap) {
    this.lastTick = Math.max(this.lastTick, snap.tick);
    const oldest = snap.tick - HISTORY_TICKS;
    for (const [id, state] of snap.avatars) {
      let ticks = this.history.get(id);
      if (!ticks) this.history.set(id, (ticks = new Map()));
      ticks.set(snap.tick, state);
      if (ticks.size > 8) for (const t of ticks.keys()) if (t < oldest) ticks.delete(t);
    }
  }

  control(message) {
    switch (message.t) {
      case 'welcome':
        this.welcome = message;
        this.roster = new Map((message.roster ?? []).map((a) => [a.id, a]));
        // A (re)connection starts a new baseline stream.
        this.history.clear();
        this.lastTick = 0;
        break;
      case 'joined':
        this.roster.set(message.avatar.id, message.avatar);
        break;
      case 'profile': { // {avatar, height}: another shopper's height (metres, or null)
        const entry = this.roster.get(message.avatar);
        if (entry) entry.height = message.height ?? null;
        break;
      }
      case 'renamed': { // {avatar, name}: another shopper's new name (the label follows on its next snapshot)
        const entry = this.roster.get(message.avatar);
        if (entry && typeof message.name === 'string') entry.name = message.name;
        break;
      }
      case 'held': { // {avatar, product}: what another shopper holds (a product id, or null)
        const entry = this.roster.get(message.avatar);
        if (entry) entry.held = message.product ?? null;
        break;
      }
      case 'left':
        this.roster.delete(message.avatar);
        this.history.delete(message.avatar);
        break;
      case 'error':
        this.errors.push(message);
        if (this.errors.length > 50) this.errors.shift();
        break;
      default:
        break;
    }
  }
}
