// Plaza wire codec, client side: pose uploads (client -> server) and snapshot frames (server -> client).
// A line-by-line port of the server's reference implementation (server/realtime/pose.py, quantize.py,
// codec.py, sim/client.py); tests round-trip frames made by the server's own encoder.
// Pure: Uint8Array in, plain objects out; no sockets, no three.js.

export const KIND_POSE_UPLOAD = 0x01;
export const KIND_SNAPSHOT = 0x02;
export const PART_NAMES = ['head', 'left_controller', 'right_controller', 'left_hand', 'right_hand', 'body'];
export const N_PARTS = 6;
export const N_HAND_JOINTS = 25;
export const N_BODY_JOINTS = 22;
export const N_HAND_ANGLES = 20;
// Float32 values per part in an upload (world space; hands: 25 joints x pos+rot in WebXR joint order).
export const PART_FLOATS = [7, 7, 7, N_HAND_JOINTS * 7, N_HAND_JOINTS * 7, 3 + N_BODY_JOINTS * 4];
// Integer components per part in a quantized snapshot state.
export const PART_COMPONENTS = [7, 7, 7, 3 + 4 + N_HAND_ANGLES + 1, 3 + 4 + N_HAND_ANGLES + 1, 3 + N_BODY_JOINTS * 4];
export const PART_OFFSETS = PART_COMPONENTS.reduce((acc, k) => [...acc, acc[acc.length - 1] + k], [0]);
export const N_COMPONENTS = PART_OFFSETS[N_PARTS];
const PART_MASK_BYTES = PART_COMPONENTS.map((k) => Math.ceil(k / 8));
const UPLOAD_HEADER_BYTES = 8; // u8 kind, u8 presence, u16 seq, u32 ack tick
// Upload presence bit 6: after the floats, one u8 trigger value (0..255 = 0..1) per present controller, left first.
export const UPLOAD_TRIGGERS = 0x40;
const CONTROLLER_PARTS = [1, 2];
const FRAME_HEADER_BYTES = 11; // u8 kind, u8 flags, u32 tick, u32 server time ms, u8 section count
const SECTION_HEADER_BYTES = 7; // u8 baseline offset (0 = absolute), u16 block count, u32 byte length
const PRESENCE_CHANGED = 0x80;
const ROT_HALF = 511; // code of a zero ratio
const ROT_MAX = 2 * ROT_HALF; // codes run 0..1022; 1023 is never sent and is clamped
const KEEP = [[1, 2, 3], [0, 2, 3], [0, 1, 3], [0, 1, 2]];

export class ProtocolError extends Error {}

/** Bytes of an upload with this presence byte (bit 6: one trigger byte per present controller). */
export function uploadSize(presence) {
  let floats = 0;
  for (let p = 0; p < N_PARTS; p += 1) if ((presence >> p) & 1) floats += PART_FLOATS[p];
  const triggers = presence & UPLOAD_TRIGGERS ? CONTROLLER_PARTS.filter((p) => (presence >> p) & 1).length : 0;
  return UPLOAD_HEADER_BYTES + 4 * floats + triggers;
}

/** A trigger value 0..1 -> its byte. */
export function quantizeTrigger(value) {
  const v = Number.isFinite(value) ? Math.min(1, Math.max(0, value)) : 0;
  return Math.round(v * 255);
}

/**
 * A pose upload. parts: {partIndex: array of PART_FLOATS[part] numbers}; the head (0) is required.
 * triggers (optional): {1: left, 2: right controller trigger value 0..1}; when given for a present controller,
 * presence bit 6 is set and each present controller's trigger byte follows the floats (0 if it has none).
 * @returns {Uint8Array}
 */
export function encodePoseUpload(seq, ackTick, parts, triggers = null) {
  let presence = 0;
  for (let p = 0; p < N_PARTS; p += 1) {
    const values = parts[p];
    if (values === undefined || values === null) continue;
    if (values.length !== PART_FLOATS[p]) {
      throw new ProtocolError(`${PART_NAMES[p]} needs ${PART_FLOATS[p]} numbers, got ${values.length}`);
    }
    presence |= 1 << p;
  }
  if (!(presence & 1)) throw new ProtocolError('a pose upload needs the head');
  const controllers = CONTROLLER_PARTS.filter((p) => (presence >> p) & 1);
  if (triggers && controllers.some((p) => triggers[p] !== undefined && triggers[p] !== null)) presence |= UPLOAD_TRIGGERS;
  const bytes = new Uint8Array(uploadSize(presence));
  const view = new DataView(bytes.buffer);
  view.setUint8(0, KIND_POSE_UPLOAD);
  view.setUint8(1, presence);
  view.setUint16(2, seq & 0xffff, true);
  view.setUint32(4, ackTick >>> 0, true);
  let at = UPLOAD_HEADER_BYTES;
  for (let p = 0; p < N_PARTS; p += 1) {
    if (!((presence >> p) & 1)) continue;
    for (const v of parts[p]) {
      view.setFloat32(at, v, true);
      at += 4;
    }
  }
  if (presence & UPLOAD_TRIGGERS) for (const p of controllers) bytes[at++] = quantizeTrigger(triggers[p] ?? 0);
  return bytes;
}

/** Packed u32 "smallest three" rotation -> [index, a, b, c]. */
export function unpackQuat(packed) {
  return [packed >>> 30, (packed >>> 20) & 0x3ff, (packed >>> 10) & 0x3ff, packed & 0x3ff];
}

/**
 * Quantized [index, a, b, c] -> unit quaternion [x, y, z, w]. The three kept components were stored as
 * ratios to the dropped (largest, positive) one, code = round(r * 511) + 511; rebuild (r0, r1, r2, 1) in
 * order and normalise (server/realtime/quantize.py).
 */
export function dequantizeQuat(qi, at = 0) {
  const idx = qi[at] & 3;
  const out = [0, 0, 0, 0];
  KEEP[idx].forEach((k, i) => { out[k] = (Math.min(ROT_MAX, Math.max(0, qi[at + 1 + i])) - ROT_HALF) / ROT_HALF; });
  out[idx] = 1;
  const n = Math.hypot(...out);
  return out.map((v) => v / n);
}

function readAbsolute(view, bytes, at) {
  const id = view.getUint16(at, true);
  const presence = view.getUint8(at + 2);
  at += 3;
  const comps = new Int32Array(N_COMPONENTS);
  for (let part = 0; part < N_PARTS; part += 1) {
    if (!((presence >> part) & 1)) continue;
    const base = PART_OFFSETS[part];
    for (let j = 0; j < 3; j += 1) comps[base + j] = view.getInt16(at + 2 * j, true);
    at += 6;
    const nRot = part === 5 ? N_BODY_JOINTS : 1;
    for (let r = 0; r < nRot; r += 1) {
      const q = unpackQuat(view.getUint32(at, true));
      at += 4;
      for (let j = 0; j < 4; j += 1) comps[base + 3 + 4 * r + j] = q[j];
    }
    if (part === 3 || part === 4) {
      for (let j = 0; j < 21; j += 1) comps[base + 7 + j] = bytes[at + j];
      at += 21;
    }
  }
  return [id, { presence, components: comps }, at];
}

function readDelta(view, bytes, at, lookup) {
  const id = view.getUint16(at, true);
  const bits = view.getUint8(at + 2);
  at += 3;
  const base = lookup(id);
  const comps = Int32Array.from(base.components);
  let presence = base.presence;
  if (bits & PRESENCE_CHANGED) {
    presence = bytes[at];
    at += 1;
    for (let part = 0; part < N_PARTS; part += 1) {
      const now = (presence >> part) & 1;
      const before = (base.presence >> part) & 1;
      // Absent parts are zero; parts that (re)appear start from zero.
      if (!now || !before) comps.fill(0, PART_OFFSETS[part], PART_OFFSETS[part + 1]);
    }
  }
  for (let part = 0; part < N_PARTS; part += 1) {
    if (!((bits >> part) & 1)) continue;
    const nmask = PART_MASK_BYTES[part];
    const mask = bytes.subarray(at, at + nmask);
    if (mask.length !== nmask) throw new ProtocolError('truncated snapshot frame (component mask)');
    at += nmask;
    for (let j = 0; j < PART_COMPONENTS[part]; j += 1) {
      if (!((mask[j >> 3] >> (j & 7)) & 1)) continue;
      let value = 0;
      let shift = 0;
      for (;;) {
        if (at >= bytes.length) throw new ProtocolError('truncated snapshot frame (varint)');
        const byte = bytes[at];
        at += 1;
        value += (byte & 0x7f) * 2 ** shift;
        shift += 7;
        if (!(byte & 0x80)) break;
        if (shift > 28) throw new ProtocolError('varint too long in snapshot frame');
      }
      const diff = value % 2 === 1 ? -(value + 1) / 2 : value / 2; // zigzag
      comps[PART_OFFSETS[part] + j] += diff;
    }
  }
  return [id, { presence, components: comps }, at];
}

/**
 * Decodes a snapshot frame. baseline(avatarId, tick) returns this client's earlier decoded state of an
 * avatar at that tick (delta sections refer to them) or null.
 * @returns {{tick: number, serverTimeMs: number, avatars: Map<number, {presence, components: Int32Array}>}}
 */
export function decodeFrame(data, baseline) {
  const bytes = data instanceof Uint8Array ? data : new Uint8Array(data);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  try {
    const kind = view.getUint8(0);
    if (kind !== KIND_SNAPSHOT) throw new ProtocolError(`not a snapshot frame (kind ${kind})`);
    const tick = view.getUint32(2, true);
    const serverTimeMs = view.getUint32(6, true);
    const sections = view.getUint8(10);
    let at = FRAME_HEADER_BYTES;
    const avatars = new Map();
    for (let s = 0; s < sections; s += 1) {
      const offset = view.getUint8(at);
      const count = view.getUint16(at + 1, true);
      const length = view.getUint32(at + 3, true);
      at += SECTION_HEADER_BYTES;
      const end = at + length;
      const baseTick = tick - offset;
      const lookup = (id) => {
        const state = baseline(id, baseTick);
        if (!state) throw new ProtocolError(`no baseline for avatar ${id} at tick ${baseTick}`);
        return state;
      };
      for (let i = 0; i < count; i += 1) {
        let id; let state;
        if (offset === 0) [id, state, at] = readAbsolute(view, bytes, at);
        else [id, state, at] = readDelta(view, bytes, at, lookup);
        avatars.set(id, state);
      }
      if (at !== end) throw new ProtocolError('section length does not match its blocks');
    }
    return { tick, serverTimeMs, avatars };
  } catch (err) {
    if (err instanceof RangeError) throw new ProtocolError(`truncated snapshot frame: ${err.message}`);
    throw err;
  }
}

/**
 * Quantized state -> metres and unit quaternions in world space:
 * {head: {p, q}, left_controller?: {p, q}, ..., left_hand?: {p, q, codes}, body?: {p, q, rotations}}.
 */
export function dequantizeAvatar(state) {
  const c = state.components;
  const head = [c[0] / 1000, c[1] / 1000, c[2] / 1000];
  const out = { presence: state.presence, head: { p: head, q: dequantizeQuat(c, 3) } };
  for (let part = 1; part < N_PARTS; part += 1) {
    if (!((state.presence >> part) & 1)) continue;
    const o = PART_OFFSETS[part];
    const p = [head[0] + c[o] / 1000, head[1] + c[o + 1] / 1000, head[2] + c[o + 2] / 1000];
    const entry = { p, q: dequantizeQuat(c, o + 3) };
    if (part === 3 || part === 4) entry.codes = Array.from(c.subarray(o + 7, o + 28));
    if (part === 5) entry.rotations = Array.from({ length: N_BODY_JOINTS }, (_, j) => dequantizeQuat(c, o + 3 + 4 * j));
    out[PART_NAMES[part]] = entry;
  }
  return out;
}

/** Tick of a snapshot frame without decoding it. */
export function snapshotTick(data) {
  const bytes = data instanceof Uint8Array ? data : new Uint8Array(data);
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(2, true);
}
