// The JS codec against vectors made by the server's own code:
// - docs/protocol_vectors.json, published with docs/PROTOCOL.md (tools/make_protocol_vectors.py);
// - a randomised stream from tests/test_client_protocol.py (pytest passes it in PLAZA_PROTOCOL_VECTORS).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { handJointsFromCodes } from '../src/net/hand_pose.js';
import { decodeFrame, dequantizeAvatar, dequantizeQuat, encodePoseUpload, PART_NAMES, unpackQuat } from '../src/net/codec.js';

const hex = (bytes) => Buffer.from(bytes).toString('hex');
const fromHex = (h) => new Uint8Array(Buffer.from(h, 'hex'));
const near = (a, b, eps, what) => a.forEach((v, i) => assert.ok(Math.abs(v - b[i]) <= eps, `${what}[${i}]: ${v} vs ${b[i]}`));

/** Decodes frames in order with a baseline history, calling check(frameIndex, snapshot). */
function decodeStream(frames, check) {
  const history = new Map();
  frames.forEach((f, i) => {
    const snap = decodeFrame(fromHex(f.hex), (id, tick) => history.get(`${id}@${tick}`) ?? null);
    check(i, snap, f);
    for (const [id, state] of snap.avatars) history.set(`${id}@${snap.tick}`, state);
  });
}

const published = new URL('../../docs/protocol_vectors.json', import.meta.url);
const doc = existsSync(published) ? JSON.parse(readFileSync(published, 'utf8')) : null;
const noDoc = doc ? false : 'docs/protocol_vectors.json is not in this checkout';

test('published: pose uploads encode byte for byte', { skip: noDoc }, () => {
  for (const u of doc.uploads) {
    const parts = Object.fromEntries(Object.entries(u.input.parts).map(([name, v]) => [PART_NAMES.indexOf(name), v]));
    const triggers = u.input.triggers
      ? Object.fromEntries(Object.entries(u.input.triggers).map(([name, v]) => [PART_NAMES.indexOf(name), v]))
      : null;
    assert.equal(hex(encodePoseUpload(u.input.seq, u.input.ack, parts, triggers)), u.hex, u.name);
  }
});

test('published: rotations unpack and dequantize', { skip: noDoc }, () => {
  for (const r of doc.quantization.rotations) {
    assert.deepEqual(unpackQuat(r.packed), r.components);
    near(dequantizeQuat(r.components), r.dequantized, 1e-8, `rotation ${r.xyzw}`);
  }
});

test('published: snapshot sequences decode to the documented states and poses', { skip: noDoc }, () => {
  for (const sequence of doc.snapshot_sequences) {
    decodeStream(sequence.frames, (i, snap, f) => {
      const what = `${sequence.name} frame ${i}`;
      assert.equal(snap.tick, f.tick, what);
      assert.equal(snap.serverTimeMs, f.server_time_ms, what);
      assert.deepEqual([...snap.avatars.keys()].sort(), f.avatars.map((a) => a.id).sort(), what);
      for (const want of f.avatars) {
        const got = snap.avatars.get(want.id);
        assert.equal(got.presence, want.presence, `${what} avatar ${want.id}`);
        assert.deepEqual(Array.from(got.components), want.components, `${what} avatar ${want.id}`);
        const pose = dequantizeAvatar(got);
        for (const [part, p] of Object.entries(want.pose ?? {})) {
          const position = p.position ?? p.wrist_position ?? p.hips_position;
          const rotation = p.rotation ?? p.wrist_rotation;
          if (position) near(pose[part].p, position, 1e-8, `${what} ${part} position`);
          if (rotation) near(pose[part].q, rotation, 1e-8, `${what} ${part} rotation`);
          (p.rotations ?? []).forEach((r, j) => near(pose[part].rotations[j], r, 1e-8, `${what} ${part} joint ${j}`));
        }
      }
    });
  }
});

const generated = process.env.PLAZA_PROTOCOL_VECTORS;
const noGenerated = generated ? false : 'run through pytest tests/test_client_protocol.py, which makes them with the server codec';

test('generated: random frame stream decodes to the server states', { skip: noGenerated }, () => {
  const vectors = JSON.parse(readFileSync(generated, 'utf8'));
  decodeStream(vectors.frames, (i, snap, f) => {
    assert.equal(snap.tick, f.expected.tick, `frame ${i} tick`);
    assert.equal(snap.serverTimeMs, f.expected.server_time_ms, `frame ${i} time`);
    assert.deepEqual([...snap.avatars.keys()].map(String).sort(), Object.keys(f.expected.avatars).sort());
    for (const [id, state] of snap.avatars) {
      const want = f.expected.avatars[String(id)];
      assert.equal(state.presence, want.presence, `frame ${i} avatar ${id} presence`);
      assert.deepEqual(Array.from(state.components), want.components, `frame ${i} avatar ${id}`);
    }
  });
  for (const u of vectors.uploads) {
    const parts = Object.fromEntries(Object.entries(u.parts).map(([p, v]) => [Number(p), v]));
    assert.equal(hex(encodePoseUpload(u.seq, u.ack, parts, u.triggers ?? null)), u.hex);
  }
});

test('generated: hands rebuilt from wrist + codes match the server hand model', { skip: noGenerated }, () => {
  const vectors = JSON.parse(readFileSync(generated, 'utf8'));
  assert.ok(vectors.hands.length > 0);
  for (const [i, h] of vectors.hands.entries()) {
    const joints = handJointsFromCodes(h.wrist_pos, h.wrist_rot, h.codes, h.left);
    for (let j = 0; j < 25; j += 1) {
      near(Array.from(joints.subarray(j * 7, j * 7 + 3)), h.positions[j], 1e-9, `hand ${i} joint ${j} position`);
      const q = Array.from(joints.subarray(j * 7 + 3, j * 7 + 7));
      const sign = Math.sign(q.reduce((acc, v, k) => acc + v * h.rotations[j][k], 0)) || 1; // q and -q agree
      near(q.map((v) => v * sign), h.rotations[j], 1e-9, `hand ${i} joint ${j} rotation`);
    }
  }
});
