import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bagCouponItems, couponText, discountItems, huntItems, problemText, referralItems, teamItems, teamLine,
  timeLeftText } from '../src/promotions/promo_view.js';
import { refFromUrl, teamFromUrl, PromoApi } from '../src/promotions/promo_api.js';
import { ShopApi, ShopError } from '../src/shop/shop_api.js';
import { shopItems } from '../src/shop/shop_view.js';

const OFFER = { product: 'jacket', size: 2, price_minor: 990, window_s: 86400 };
const NOW = 1_000_000_000_000; // ms
const team = (extra = {}) => ({ id: 'tm_1', product_id: 'jacket', size: 2, joined: 1, places_left: 1, team_price_minor: 990,
  regular_price_minor: 1500, currency: 'EUR', deadline: NOW / 1000 + 3725, state: 'open', members: ['Ana'], ...extra });
const labels = (items) => items.map((i) => i.label);
const ids = (items) => items.map((i) => i.id);

test('time left reads as hours, minutes and seconds, and never goes below zero', () => {
  assert.equal(timeLeftText(NOW / 1000 + 3725, NOW), '1:02:05 left');
  assert.equal(timeLeftText(NOW / 1000 + 65, NOW), '1:05 left');
  assert.equal(timeLeftText(NOW / 1000 - 5, NOW), 'time is up');
  assert.equal(teamLine(team(), NOW), 'Ana’s team · 1 of 2 joined · 1 place left · 1:02:05 left');
});

test('no offer, no team section; an offer shows the team price and Start a team', () => {
  assert.deepEqual(teamItems({ offer: null }), []);
  const items = teamItems({ offer: OFFER, regular: { minor: 1500, currency: 'EUR' }, nowMs: NOW });
  assert.match(items[0].label, /^Team price .*9\.90 for 2 buyers$/);
  assert.match(items[1].label, /instead of .*15\.00, once 2 people join within 24 hours/);
  assert.deepEqual(ids(items).slice(-1), ['team-start']);
});

test('open teams of others can be joined; our own open team offers the link and Leave, not Join or Start', () => {
  let items = teamItems({ offer: OFFER, teams: [team()], nowMs: NOW });
  assert.ok(ids(items).includes('team-join:tm_1'));
  assert.ok(ids(items).includes('team-start'));
  const ours = { tm_1: team({ you: { status: 'in' } }) };
  items = teamItems({ offer: OFFER, teams: [team()], mine: ours, nowMs: NOW });
  assert.ok(ids(items).includes('team-copy:tm_1') && ids(items).includes('team-leave:tm_1'));
  assert.ok(!ids(items).includes('team-join:tm_1') && !ids(items).includes('team-start'));
  assert.ok(labels(items).some((l) => l.startsWith('You are in: Ana’s team · 1 of 2 joined')));
});

test('a completed team says what we paid and offers the orders; a declined one says nothing was charged', () => {
  const done = { tm_1: team({ state: 'completed', joined: 2, places_left: 0, you: { status: 'charged', order_id: 't_x' } }) };
  let items = teamItems({ offer: OFFER, mine: done, paid: { tm_1: 990 }, nowMs: NOW });
  assert.ok(labels(items).some((l) => /^Team complete, you paid .*9\.90$/.test(l)));
  assert.ok(ids(items).includes('team-orders'));
  const declined = { tm_1: team({ state: 'completed', you: { status: 'declined' } }) };
  items = teamItems({ offer: OFFER, mine: declined, nowMs: NOW });
  assert.ok(labels(items).some((l) => l.includes('you were not charged')));
  const expired = { tm_1: team({ state: 'expired', you: { status: 'in' } }) };
  assert.ok(labels(teamItems({ offer: OFFER, mine: expired, nowMs: NOW })).some((l) => l.includes('nobody was charged')));
});

test('refusals in words: team codes ours, coupon codes the server’s detail', () => {
  assert.equal(problemText(new ShopError('this team is full', 409, 'team_full')), 'That team just filled up; start a new one or join another.');
  assert.equal(problemText(new ShopError('this coupon has been used', 409, 'coupon_used')), 'Coupon: this coupon has been used');
  assert.equal(problemText(new ShopError('something else', 500, 'x')), 'something else');
});

test('coupons: in words, one-tap apply in the bag, the discount in the checkout totals', () => {
  const c = { code: 'ABC', amount_minor: 500, percent: 0, currency: 'EUR', min_spend_minor: 3000, expires_at: 1_900_000_000,
    products: null, usable: true };
  assert.match(couponText(c), /^ABC: .*5\.00 off · orders from .*30\.00 · until 2030-/);
  assert.match(couponText({ ...c, amount_minor: 0, percent: 10, min_spend_minor: 0, products: ['p'] }, { p: 'Tee' }),
    /^ABC: 10% off on Tee · until/);
  assert.deepEqual(bagCouponItems([{ ...c, usable: false }]), []);
  let items = bagCouponItems([c]);
  assert.ok(ids(items).includes('coupon-apply:ABC'));
  items = bagCouponItems([c], 'ABC');
  assert.ok(ids(items).includes('coupon-clear') && !ids(items).includes('coupon-apply:ABC'));
  assert.deepEqual(discountItems({ discount_minor: 0 }), []);
  assert.match(discountItems({ discount_minor: 500, currency: 'EUR', coupon: 'ABC' })[0].label, /^Coupon ABC: −.*5\.00$/);
});

test('the bag lists the coupons and the checkout setup has the coupon field; the checkout shows the discount', () => {
  const bag = { lines: [{ line_id: 'l1', name: 'Tee', unit_minor: 1500, quantity: 1, available: 3, kind: 'virtual',
    total_minor: 1500 }], currency: 'EUR', total_minor: 1500 };
  const coupon = { code: 'ABC', amount_minor: 500, percent: 0, currency: 'EUR', min_spend_minor: 0, usable: true };
  assert.ok(ids(shopItems({ view: 'bag', bag, coupons: [coupon] })).includes('coupon-apply:ABC'));
  const setup = shopItems({ view: 'setup', bag, coupon: 'ABC', delivery: { type: 'pickup', address: {} } });
  assert.equal(setup.find((i) => i.id === 'field:coupon').value, 'ABC');
  const checkout = shopItems({ view: 'checkout', checkout: { lines: bag.lines, currency: 'EUR', total_minor: 1000,
    discount_minor: 500, coupon: 'ABC', deadline: NOW / 1000 + 300, payment_method: 'test_approve' } }, NOW);
  assert.ok(labels(checkout).some((l) => /^Coupon ABC: −/.test(l)));
});

test('the hunt panel: hints, progress, found ones ticked, the coupon once complete', () => {
  const hunts = [{ id: 'h', name: 'Three golden buttons', total: 3, found: 1,
    reward: { amount_minor: 500, min_spend_minor: 3000, currency: 'EUR' },
    items: [{ id: 'a', hint: 'Where clothes are tried on.', found: true, name: 'A golden button' },
      { id: 'b', hint: 'Under the lounge.', found: false }, { id: 'c', hint: 'In the window.', found: false }],
    coupon: null }];
  const items = huntItems(hunts);
  assert.ok(labels(items).includes('1 of 3 found'));
  assert.ok(labels(items).includes('✓ Where clothes are tried on. (found: A golden button)'));
  assert.ok(labels(items).includes('2. Under the lounge.'));
  hunts[0].coupon = { code: 'H-XYZ', amount_minor: 500, currency: 'EUR', min_spend_minor: 3000, usable: true };
  assert.ok(labels(huntItems(hunts)).some((l) => l.startsWith('Your coupon: H-XYZ')));
  assert.ok(labels(huntItems([], { storeName: 'Boutique' })).includes('No treasure hunt in Boutique right now.'));
});

test('invite & earn: the link, the terms in full, invitees, rewards and the balance', () => {
  const summary = { code: 'RABC', link: '/?ref=RABC', terms: 'Share your link. That is all.', invited: 2, balance_minor: 300,
    rewards: [{ kind: 'referral_direct', amount_minor: 500, coupon: 'F-1' }, { kind: 'clawback', amount_minor: -200, how: 'coupon revoked' }] };
  const l = labels(referralItems(summary, { origin: 'https://plaza.test' }));
  assert.ok(l.includes('Your link: https://plaza.test/?ref=RABC'));
  assert.ok(l.includes('Share your link. That is all.'));
  assert.ok(l.includes('Friends who came with your link: 2'));
  assert.ok(l.some((x) => x.includes('a friend you invited bought · coupon F-1')));
  assert.ok(l.some((x) => x.includes('taken back')));
  assert.ok(l.some((x) => /^Balance: .*3\.00$/.test(x)));
});

test('links: ?ref= and ?team= are read, anything else is ignored', () => {
  assert.equal(refFromUrl('?ref=RAB23CD'), 'RAB23CD');
  assert.equal(refFromUrl('?ref=<script>'), null);
  assert.equal(teamFromUrl('?team=tm_aB-9'), 'tm_aB-9');
  assert.equal(teamFromUrl('?scene=x'), null);
});

test('a new shopper from an invite link sends its ref; team joins carry an Idempotency-Key and the delivery', async () => {
  const calls = [];
  const answers = [{ shopper_id: 's1', shopper_key: 's_k', name: 'A' }, { id: 'tm_1' }];
  const fetchFn = async (url, init) => {
    calls.push({ url, ...init });
    return new Response(JSON.stringify(answers.shift()), { status: 200, headers: { 'content-type': 'application/json' } });
  };
  const store = new Map();
  const storage = { getItem: (k) => store.get(k) ?? null, setItem: (k, v) => store.set(k, v), removeItem: (k) => store.delete(k) };
  const shop = new ShopApi({ fetchFn, storage, keyFn: () => 'key-1' });
  shop.ref = 'RABC';
  await new PromoApi(shop).join('tm_1', 'test_approve', { type: 'pickup', store: 'boutique' }, 'join-key');
  assert.deepEqual(JSON.parse(calls[0].body), { name: 'Shopper', ref: 'RABC' });
  assert.equal(calls[1].url, '/api/teams/tm_1/join');
  assert.equal(calls[1].headers['Idempotency-Key'], 'join-key');
  assert.equal(calls[1].headers['X-Shopper-Key'], 's_k');
  assert.deepEqual(JSON.parse(calls[1].body), { payment_method: 'test_approve', delivery: { type: 'pickup', store: 'boutique' } });
});
