import { test } from 'node:test';
import assert from 'node:assert/strict';
import { clearValue, emptyForm, FIELDS, fieldLabel, formFromProfile, MORE_FIELDS, optionalCount, recommendRequest,
  stepsFor, stepValue, storedUsualSizes, USUAL, usualLabel, usualRemark, validateForm } from '../src/tryon/measurements.js';
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
  assert.equal(fieldLabel('chest', null), 'Chest: ? cm');
  assert.equal(fieldLabel('stature', null), 'Height: ? cm'); // a placeholder, not "Height: set"
});

test('a valid form becomes the API body; out-of-range and non-numbers are refused in words', () => {
  const form = emptyForm();
  form.values.stature = 180;
  form.values.weight = 80;
  form.values.chest = 101;
  form.sex = 'male';
  assert.deepEqual(validateForm(form),
    { ok: true, body: { stature: 180, weight: 80, chest: 101, sex: 'male' }, usualSizes: [], problems: [] });
  form.values.stature = 300;
  form.values.weight = Number('x');
  form.sex = 'robot';
  const bad = validateForm(form);
  assert.equal(bad.ok, false);
  assert.deepEqual(bad.problems.map((p) => p.field), ['stature', 'weight', 'sex']);
  assert.match(bad.problems[0].message, /between 120 and 230 cm \(you gave 300\)/);
});

test('a stored profile fills the form back in with consent on', () => {
  const form = formFromProfile({ sex: 'female',
    measurements: { stature: 168.4, weight: 61, hips: 99.6, neck: 33, foot_length: 24.3, foot_breadth: 9.1 } });
  assert.deepEqual(form.values, { stature: 168, weight: 61, chest: null, waist: null, hips: 100, inseam: null,
    age: null, shoulder: null, neck: 33, sleeve: null, thigh: null, foot_length: 24.5 }); // foot: to the half cm
  assert.equal(optionalCount(form.values), 3);
  assert.equal(form.sex, 'female');
  assert.equal(form.consent, true);
  assert.equal(formFromProfile(null).sex, null);
});

test('the optional measurements include age, shoulders, neck and foot length, each with a one-line how-to', () => {
  // Limits mirror server/sizing/measurements.py PLAUSIBLE; the Body field names are the API's.
  const limits = Object.fromEntries(FIELDS.map((f) => [f.name, [f.min, f.max]]));
  assert.deepEqual(limits.age, [13, 100]);
  assert.deepEqual(limits.shoulder, [25, 60]);
  assert.deepEqual(limits.neck, [25, 65]);
  assert.deepEqual(limits.foot_length, [18, 35]);
  assert.deepEqual(FIELDS.filter((f) => f.required).map((f) => f.name), ['stature', 'weight']);
  assert.ok(['chest', 'age', 'shoulder', 'neck', 'foot_length'].every((n) => MORE_FIELDS.some((f) => f.name === n)));
  for (const f of FIELDS) {
    assert.ok(f.hint.length > 10 && f.hint.length <= 35, `${f.name}: the hint must fit one panel line`);
    assert.ok(f.start >= f.min && f.start <= f.max, `${f.name}: the first press must land inside the limits`);
  }
  assert.equal(fieldLabel('age', 41), 'Age 41 years');
  assert.equal(fieldLabel('shoulder', null), 'Shoulders: ? cm');
  assert.equal(fieldLabel('foot_length', 26.5), 'Foot 26.5 cm');
});

test('new fields step like the old ones; the foot moves by half centimetres', () => {
  assert.deepEqual(stepsFor('neck'), [-5, -1, 1, 5]);
  assert.deepEqual(stepsFor('foot_length'), [-1, -0.5, 0.5, 1]);
  let v = emptyForm().values;
  v = stepValue(v, 'foot_length', 0.5);
  assert.equal(v.foot_length, 25.5);
  v = stepValue(v, 'foot_length', 0.5);
  assert.equal(v.foot_length, 26);
  v = stepValue(v, 'foot_length', -0.3); // off-grid moves land on the half centimetre
  assert.equal(v.foot_length, 25.5);
  for (let i = 0; i < 40; i += 1) v = stepValue(v, 'foot_length', 1);
  assert.equal(v.foot_length, 35);
  v = stepValue(v, 'age', 1);
  for (let i = 0; i < 10; i += 1) v = stepValue(v, 'age', -5);
  assert.equal(v.age, 13);
  v = stepValue(v, 'shoulder', 5);
  assert.equal(v.shoulder, 39);
});

test('new fields are validated and sent like the old ones; impossible combinations are refused in words', () => {
  const form = emptyForm();
  Object.assign(form.values, { stature: 180, weight: 80, age: 41, shoulder: 44, neck: 40, foot_length: 27.5 });
  assert.deepEqual(validateForm(form),
    { ok: true, body: { stature: 180, weight: 80, age: 41, shoulder: 44, neck: 40, foot_length: 27.5 }, usualSizes: [],
      problems: [] });
  Object.assign(form.values, { age: 9, neck: 70, foot_length: 40, shoulder: 24 });
  const bad = validateForm(form);
  assert.deepEqual(bad.problems.map((p) => p.field), ['age', 'shoulder', 'neck', 'foot_length']);
  assert.match(bad.problems[0].message, /Age must be between 13 and 100 years \(you gave 9\)/);
  assert.match(bad.problems[3].message, /^Foot length must be between 18 and 35 cm/);
  // In range one by one but not for one person (as the server's consistency rules): neck and shoulders vs chest.
  Object.assign(form.values, { age: 41, neck: 40, foot_length: 27.5, shoulder: 58, chest: 56 });
  const mixed = validateForm(form);
  assert.equal(mixed.ok, false);
  assert.deepEqual(mixed.problems.map((p) => p.field), ['shoulder']);
  assert.match(mixed.problems[0].message, /shoulder width \(58 cm\) cannot be as large as your chest \(56 cm\)/);
  form.values.chest = 100;
  assert.equal(validateForm(form).ok, true);
});

test('a usual size in tops goes as usual_sizes on tops-unisex, only when the shopper gave one', () => {
  const form = emptyForm();
  assert.equal(form.usual, null); // "don't know" by default
  Object.assign(form.values, { stature: 165, weight: 62 });
  form.sex = 'female';
  const plain = recommendRequest({ checked: validateForm(form), productId: 'shirt' });
  assert.deepEqual(plain, { body: { stature: 165, weight: 62, sex: 'female' }, product_id: 'shirt', consent: false });
  form.usual = 'M';
  const checked = validateForm(form);
  assert.deepEqual(checked.usualSizes, [{ chart_id: 'tops-unisex', size: 'M' }]);
  assert.deepEqual(checked.body, { stature: 165, weight: 62, sex: 'female' }); // not part of the Body
  assert.deepEqual(recommendRequest({ checked, productId: 'shirt' }), { body: checked.body, product_id: 'shirt',
    consent: false, usual_sizes: [{ chart_id: 'tops-unisex', size: 'M' }] });
  // With consent the same request creates the profile; the server keeps the usual size as a "fits" remark.
  assert.deepEqual(recommendRequest({ checked, productId: 'shirt', consent: true }).usual_sizes,
    [{ chart_id: 'tops-unisex', size: 'M' }]);
  // From a stored profile the usual size is one of its remarks already: not sent again (it would count twice).
  assert.deepEqual(recommendRequest({ checked, productId: 'shirt', profileId: 'p1' }),
    { profile_id: 'p1', product_id: 'shirt' });
  form.usual = 7;
  assert.deepEqual(validateForm(form).problems.map((p) => p.field), ['usual']);
  assert.equal(usualLabel(null), "Usual size in tops: don't know");
  assert.equal(usualLabel('XL'), 'Usual size in tops: XL');
  assert.ok(USUAL.hint.length <= 35, 'the how-to must fit one panel line');
});

test('a stored profile gives its usual size back to the form; a new one becomes a remark once', () => {
  const exported = { sex: 'female', measurements: { stature: 165, weight: 62 }, feedback: [
    { chart_id: 'tops-unisex', size: 'M', fit: 'regular', verdict: 'fits', region: null },
    { chart_id: 'tops-unisex', size: 'M', fit: 'regular', verdict: 'too_tight', region: 'chest' }, // a fit remark
    { chart_id: 'tops-women', size: '38', fit: 'regular', verdict: 'fits', region: null }, // another chart
    { chart_id: 'tops-unisex', size: 'L', fit: 'regular', verdict: 'fits', region: null },
  ] };
  assert.deepEqual(storedUsualSizes(exported), ['M', 'L']);
  assert.equal(formFromProfile(exported).usual, 'L'); // the latest one the shopper gave
  assert.equal(formFromProfile({ measurements: {} }).usual, null);
  assert.deepEqual(storedUsualSizes(null), []);
  assert.equal(usualRemark('L', ['M', 'L']), null); // already the profile's latest
  assert.equal(usualRemark(null, ['M']), null); // "don't know" adds nothing
  assert.deepEqual(usualRemark('M', ['M', 'L']), { chart_id: 'tops-unisex', size: 'M', fit: 'regular', verdict: 'fits' });
  assert.deepEqual(usualRemark('S', []), { chart_id: 'tops-unisex', size: 'S', fit: 'regular', verdict: 'fits' });
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
