import { test } from 'node:test';
import assert from 'node:assert/strict';
import { feedbackNote, feedbackRegions, feedbackRequest, verdictsFor } from '../src/tryon/feedback.js';
import { SizingApi } from '../src/tryon/sizing_api.js';

const shirtFits = [{ region: 'neck' }, { region: 'chest' }, { region: 'waist' }, { region: 'sleeve' }];

test('a top offers its girths as tight / fits / loose and its sleeve as the length', () => {
  const regions = feedbackRegions('top', shirtFits);
  assert.deepEqual(regions.map((r) => [r.region, r.length]),
    [['neck', false], ['chest', false], ['waist', false], ['sleeve', true]]);
  assert.deepEqual(verdictsFor('top', 'chest').map(([v]) => v), ['too_tight', 'fits', 'too_loose']);
  assert.deepEqual(verdictsFor('top', 'sleeve').map(([, label]) => label), ['Too short', 'Fits', 'Too long']);
  // A dress's own length is the stature; a sleeve on a dress chart is not offered (the API would read it as
  // the dress length). Shoes: the foot length is tight / loose.
  assert.deepEqual(feedbackRegions('dress', [{ region: 'sleeve' }, { region: 'stature' }]).map((r) => r.region), ['stature']);
  assert.deepEqual(verdictsFor('shoe', 'foot_length').map(([v]) => v), ['too_tight', 'fits', 'too_loose']);
});

test('the request says which size, fit style and region; lengths go as "length"', () => {
  assert.deepEqual(feedbackRequest({ chartId: 'men-shirts', kind: 'top', size: 'M', fit: 'fitted', region: 'chest',
    verdict: 'too_tight' }), { chart_id: 'men-shirts', size: 'M', fit: 'fitted', verdict: 'too_tight', region: 'chest' });
  assert.deepEqual(feedbackRequest({ chartId: 'men-trousers', kind: 'bottom', size: '32', fit: undefined,
    region: 'inseam', verdict: 'too_long' }), { chart_id: 'men-trousers', size: '32', fit: 'regular', verdict: 'too_long',
    region: 'length' });
});

test('verdicts that do not fit the region, or a missing region or size, are refused in words', () => {
  const base = { chartId: 'c', kind: 'top', size: 'M', fit: 'regular' };
  assert.throws(() => feedbackRequest({ ...base, region: 'chest', verdict: 'too_long' }),
    /For the chest, say too tight, fits, too loose/);
  assert.throws(() => feedbackRequest({ ...base, region: 'sleeve', verdict: 'too_tight' }), /too short, fits, too long/);
  assert.throws(() => feedbackRequest({ ...base, region: null, verdict: 'fits' }), /Pick where/);
  assert.throws(() => feedbackRequest({ ...base, size: '', region: 'chest', verdict: 'fits' }), /Pick a size/);
});

test('feedback is posted to the profile with the owner key as a header only', async () => {
  const calls = [];
  const api = new SizingApi({ fetchImpl: async (url, init) => {
    calls.push({ url, init });
    return { ok: true, json: async () => ({ changed: {} }) };
  } });
  const req = feedbackRequest({ chartId: 'men-shirts', kind: 'top', size: 'M', fit: 'regular', region: 'chest',
    verdict: 'fits' });
  assert.deepEqual(await api.feedback('p/1', 'secret', req), { changed: {} });
  assert.equal(calls[0].url, '/api/sizing/profiles/p%2F1/feedback');
  assert.equal(calls[0].init.method, 'POST');
  assert.equal(calls[0].init.headers['x-owner-key'], 'secret');
  assert.deepEqual(JSON.parse(calls[0].init.body), req);
  assert.ok(!calls[0].init.body.includes('secret'));
});

test('after a remark the panel leads with the API message, then says whether the size changed', () => {
  const message = 'You measured your chest (96 cm) yourself, so we keep it. From now on, near the edge of a size we '
    + 'will choose the roomier one.';
  const same = feedbackNote({ message, verdict: 'too_tight', region: 'chest', size: 'M', before: { size: 'M' },
    after: { size: 'M', confidence: 0.614 } });
  assert.equal(same, `${message} We still recommend M (61% sure).`);
  const moved = feedbackNote({ message: ' We now think your waist is about 91 cm (was 88). ', verdict: 'too_tight',
    region: 'waist', size: 'M', before: { size: 'M' }, after: { size: 'L', confidence: 0.5 } });
  assert.equal(moved, 'We now think your waist is about 91 cm (was 88). We now recommend L instead of M.');
  // An older server without `message`: the remark is at least acknowledged in words.
  const bare = feedbackNote({ verdict: 'too_long', region: 'sleeve', size: 'L', before: { size: 'L' },
    after: { size: 'L', confidence: 0.8 } });
  assert.equal(bare, 'Thanks: "too long" at the sleeve in L noted. We still recommend L (80% sure).');
  assert.equal(feedbackNote({ message: '  ', verdict: 'fits', region: 'chest', size: 'S', before: { size: 'S' },
    after: { size: 'S', confidence: 1 } }), 'Thanks: "fits" at the chest in S noted. We still recommend S (100% sure).');
});

test("a product's size request carries the shopper key (the store's try-on count), other calls do not", async () => {
  const calls = [];
  let key = null;
  const api = new SizingApi({ shopperKey: () => key, fetchImpl: async (url, init) => {
    calls.push({ url, init });
    return { ok: true, json: async () => ({}) };
  } });
  await api.recommend({ product_id: 'oxford-shirt', body: {} });
  key = 'sh_1.secret';
  await api.recommend({ product_id: 'oxford-shirt', body: {} });
  await api.feedback('p1', 'owner', {});
  assert.equal(calls[0].init.headers['x-shopper-key'], undefined); // no shopper yet: nothing sent
  assert.equal(calls[1].init.headers['x-shopper-key'], 'sh_1.secret');
  assert.equal(calls[2].init.headers['x-shopper-key'], undefined);
  assert.ok(!calls[1].init.body.includes('sh_1'));
});
