import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encode } from '@msgpack/msgpack';
import { decodeFrame, dequantizeAvatar, dequantizeQuat, encodePoseUpload, ProtocolError, uploadSize, N_COMPONENTS } from '../src/net/codec.js';
import { ClientSession } from '../src/net/session.js';

// One absolute frame by hand: tick 5, time 1234 ms, avatar 7 with only a head at (1.5, 1.7, -2) facing
// forward (identity: w is the largest component, index 3, the other three are zero ratios, code 511).
function headFrame() {
  const b = new Uint8Array(11 + 7 + 3 + 10);
  const v = new DataView(b.buffer);
  v.setUint8(0, 2); v.setUint32(2, 5, true); v.setUint32(6, 1234, true); v.setUint8(10, 1);
  v.setUint8(11, 0); v.setUint16(12, 1, true); v.setUint32(14, 13, true);
  v.setUint16(18, 7, true); v.setUint8(20, 1);
  v.setInt16(21, 1500, true); v.setInt16(23, 1700, true); v.setInt16(25, -2000, true);
  v.setUint32(27, ((3 << 30) | (511 << 20) | (511 << 10) | 511) >>> 0, true);
  return b;
}

test('decodes a hand-made absolute frame to metres and a unit quaternion', () => {
  const snap = decodeFrame(headFrame(), () => null);
  assert.equal(snap.tick, 5);
  assert.equal(snap.serverTimeMs, 1234);
  const pose = dequantizeAvatar(snap.avatars.get(7));
  assert.deepEqual(pose.head.p, [1.5, 1.7, -2]);
  assert.deepEqual(pose.head.q, [0, 0, 0, 1]); // the identity is exact
  assert.ok(Math.abs(Math.hypot(...pose.head.q) - 1) < 1e-12);
  assert.equal(pose.left_controller, undefined);
});

test('smallest-three dequantization restores the dropped component from the ratios', () => {
  const q = dequantizeQuat([1, 0, 1022, 511]); // y dropped; ratios x = -1, z = +1, w = 0
  const k = 1 / Math.sqrt(3);
  [-k, k, k, 0].forEach((v, i) => assert.ok(Math.abs(q[i] - v) < 1e-12, `${q}`));
  // Code 1023 is never sent; a decoder clamps it to 1022 rather than leaving the unit sphere.
  assert.deepEqual(dequantizeQuat([3, 1023, 511, 511]), dequantizeQuat([3, 1022, 511, 511]));
});

test('truncated frames, wrong kinds and missing baselines are readable errors', () => {
  const frame = headFrame();
  for (let cut = 1; cut < frame.length; cut += 3) {
    assert.throws(() => decodeFrame(frame.subarray(0, cut), () => null), ProtocolError);
  }
  assert.throws(() => decodeFrame(new Uint8Array([9, 0, 0]), () => null), /not a snapshot/);
  const delta = frame.slice(0, 21);
  const v = new DataView(delta.buffer);
  v.setUint8(11, 1); v.setUint32(14, 3, true); v.setUint8(20, 0);
  assert.throws(() => decodeFrame(delta, () => null), /no baseline for avatar 7 at tick 4/);
});

test('uploads: sizes, header, and refusal of bad input', () => {
  assert.equal(uploadSize(1), 8 + 28);
  assert.equal(uploadSize(0b111), 8 + 3 * 28);
  const bytes = encodePoseUpload(70000, 9, { 0: [0, 1.6, 0, 0, 0, 0, 1] });
  const v = new DataView(bytes.buffer);
  assert.deepEqual([v.getUint8(0), v.getUint8(1), v.getUint16(2, true), v.getUint32(4, true)], [1, 1, 70000 & 0xffff, 9]);
  assert.ok(Math.abs(v.getFloat32(12, true) - 1.6) < 1e-6);
  assert.throws(() => encodePoseUpload(1, 0, { 1: new Array(7).fill(0) }), /needs the head/);
  assert.throws(() => encodePoseUpload(1, 0, { 0: [1, 2, 3] }), /head needs 7 numbers/);
});

test('uploads: controller trigger values ride after the floats behind presence bit 6', () => {
  const head = [0, 1.6, 0, 0, 0, 0, 1];
  const grip = [0.2, 1.2, -0.3, 0, 0, 0, 1];
  const plain = encodePoseUpload(1, 0, { 0: head, 2: grip });
  assert.equal(plain[1], 0b101);
  assert.equal(plain.length, uploadSize(0b101));
  assert.equal(encodePoseUpload(1, 0, { 0: head, 2: grip }, { 1: 1 }).length, plain.length); // no left controller
  const right = encodePoseUpload(1, 0, { 0: head, 2: grip }, { 2: 0.5 });
  assert.equal(right[1], 0b101 | 0x40);
  assert.equal(right.length, plain.length + 1);
  assert.equal(right[right.length - 1], 128);
  const both = encodePoseUpload(1, 0, { 0: head, 1: grip, 2: grip }, { 2: 2 });
  assert.deepEqual(Array.from(both.slice(-2)), [0, 255]); // left without a value sends 0; values are clamped
  assert.equal(both.length, uploadSize(0b111 | 0x40));
});

test('client session: welcome, roster, snapshots kept as baselines, junk counted not thrown', () => {
  const s = new ClientSession();
  s.receive(encode({ t: 'welcome', avatar: 3, roster: [{ id: 7, name: 'Ana' }], resume: 'r' }));
  assert.equal(s.avatarId, 3);
  assert.equal(s.roster.get(7).name, 'Ana');
  const { kind, value } = s.receive(headFrame());
  assert.equal(kind, 'snapshot');
  assert.equal(value.avatars.get(7).components.length, N_COMPONENTS);
  assert.equal(s.lastTick, 5);
  assert.ok(s.history.get(7).has(5));
  s.receive(encode({ t: 'left', avatar: 7 }));
  assert.equal(s.roster.has(7), false);
  assert.equal(s.history.has(7), false);
  assert.equal(s.receive(new Uint8Array([2, 1])).kind, 'decode_error');
  assert.equal(s.receive(new Uint8Array([0xc1])).kind, 'decode_error');
  assert.equal(s.decodeErrors, 2);
});
