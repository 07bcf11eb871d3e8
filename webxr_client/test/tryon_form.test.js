import { test } from 'node:test';
import assert from 'node:assert/strict';
import { clearValue, emptyForm, fieldLabel, formFromProfile, stepValue, validateForm, wrapText }
  from '../src/tryon/measurements.js';
import { errorFrom, profileStore, SizingApi } from '../src/tryon/sizing_api.js';

test('an empty form needs height and weight, and sends nothing else', () => {
  const form = emptyForm();
  assert.equal(form.consent, false); // nothing stored unless the shopper turns it on
  const checked = validateForm(form);
  assert.equal(checked.ok, false);
  assert.deepEqual(checked.problems.map((p) => p.field), ['stature', 'weight']);
  assert.match(checked.problems[0].message, /height/);
});

test('steppers start from a typical value, move, and stay inside human limits', () => {
  let v = emptyForm().values;
  v = stepValue(v, 'stature', 5);
  assert.equal(v.stature, 170); // first press fills in a start value
  v = stepValue(v, 'stature', 5);
  assert.equal(v.stature, 175);
  for (let i = 0; i < 20; i += 1) v = stepValue(v, 'stature', 5);
  assert.equal(v.stature, 230);
  v = stepValue(v, 'weight', -1);
  for (let i = 0; i < 30; i += 1) v = stepValue(v, 'weight', -5);
  assert.equal(v.weight, 30);
  assert.equal(stepValue(v, 'nonsense', 1), v);
  assert.equal(stepValue(v, 'weight', NaN), v);
  assert.equal(clearValue(stepValue(v, 'chest', 1), 'chest').chest, null);
  assert.equal(fieldLabel('stature', 180), 'Height 180 cm');
  assert.equal(fieldLabel('chest', null), 'Chest: optional');
});

test('a valid form becomes the API body; out-of-range and non-numbers are refused in words', () => {
  const form = emptyForm();
  form.values.stature = 180;
  form.values.weight = 80;
  form.values.chest = 101;
  form.sex = 'male';
  assert.deepEqual(validateForm(form), { ok: true, body: { stature: 180, weight: 80, chest: 101, sex: 'male' }, problems: [] });
  form.values.stature = 300;
  form.values.weight = Number('x');
  form.sex = 'robot';
  const bad = validateForm(form);
  assert.equal(bad.ok, false);
  assert.deepEqual(bad.problems.map((p) => p.field), ['stature', 'weight', 'sex']);
  assert.match(bad.problems[0].message, /between 120 and 230 cm \(you gave 300\)/);
});

test('a stored profile fills the form back in with consent on', () => {
  const form = formFromProfile({ sex: 'female', measurements: { stature: 168.4, weight: 61, hips: 99.6, neck: 33 } });
  assert.deepEqual(form.values, { stature: 168, weight: 61, chest: null, waist: null, hips: 100, inseam: null });
  assert.equal(form.sex, 'female');
  assert.equal(form.consent, true);
  assert.equal(formFromProfile(null).sex, null);
});

test('long sentences wrap for the panel', () => {
  const lines = wrapText('M; between M and L: M if you like it fitted, L if you like it relaxed.', 24);
  assert.ok(lines.every((l) => l.length <= 24));
  assert.equal(lines.join(' '), 'M; between M and L: M if you like it fitted, L if you like it relaxed.');
  assert.deepEqual(wrapText(''), []);
});

test('API errors keep the API words; malformed-request errors are readable', () => {
  const e = errorFrom(422, { error: 'A height of 300 cm is not possible for a person; we expect 120 to 230 cm.',
    problems: [{ field: 'stature', message: '...' }] });
  assert.equal(e.message, 'A height of 300 cm is not possible for a person; we expect 120 to 230 cm.');
  assert.equal(e.status, 422);
  assert.equal(e.problems.length, 1);
  assert.equal(errorFrom(422, { detail: [{ loc: ['body', 'body', 'stature'], msg: 'x' }] }).message,
    'Some values could not be read (stature).');
  assert.match(errorFrom(500, null).message, /answered 500/);
});

test('the client sends the owner key only as a header and remembers a profile only when given one', async () => {
  const calls = [];
  const api = new SizingApi({ fetchImpl: async (url, init) => {
    calls.push({ url, init });
    return { ok: true, json: async () => ({ deleted: true }) };
  } });
  await api.deleteProfile('abc', 'secret');
  assert.equal(calls[0].url, '/api/sizing/profiles/abc');
  assert.equal(calls[0].init.method, 'DELETE');
  assert.equal(calls[0].init.headers['x-owner-key'], 'secret');
  assert.ok(!calls[0].url.includes('secret'));

  const failing = new SizingApi({ fetchImpl: async () => ({ ok: false, status: 422,
    json: async () => ({ error: 'Your weight must be more than 0 kg.', problems: [] }) }) });
  await assert.rejects(failing.recommend({ body: { stature: 170, weight: -1 } }), /more than 0 kg/);
  const offline = new SizingApi({ fetchImpl: async () => { throw new TypeError('fetch failed'); } });
  await assert.rejects(offline.estimate({}), /Could not reach the size service/);

  const mem = new Map();
  const storage = { getItem: (k) => mem.get(k) ?? null, setItem: (k, v) => mem.set(k, v), removeItem: (k) => mem.delete(k) };
  assert.equal(profileStore.get(storage), null);
  profileStore.set(storage, 'p1', 'k1');
  assert.deepEqual(profileStore.get(storage), { profile_id: 'p1', owner_key: 'k1' });
  mem.set('plaza.sizing.profile', '{broken');
  assert.equal(profileStore.get(storage), null); // a damaged entry is ignored, never thrown
  profileStore.clear(storage);
  assert.equal(mem.size, 0);
  assert.equal(profileStore.get(null), null);
});
