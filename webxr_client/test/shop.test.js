import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyStockLevels, choiceStock, optionAxes, pickVariant, preselectSize, variantStock } from '../src/shop/choice.js';
import { ShopApi, newActionKey } from '../src/shop/shop_api.js';
import { countdownText, deliveryText, reasonText, secondsLeft, shopItems } from '../src/shop/shop_view.js';
import { cardContent, normalizeProduct } from '../src/products.js';

const TEE = {
  id: 'tee', name: 'Tee', price_minor: 2900, currency: 'EUR', kind: 'physical',
  options: { color: [{ name: 'Ink', hex: '#1f2a44' }, { name: 'Sage', hex: '#8ea58c' }], size: ['S', 'M', 'XXL'] },
  variants: ['Ink', 'Sage'].flatMap((c) => ['S', 'M', 'XXL'].map((s) => ({ id: `${c.toLowerCase()}-${s.toLowerCase()}`,
    key: `${c}/${s}`, options: { color: c, size: s }, stock: c === 'Sage' && s === 'XXL' ? 0 : 3 }))),
};

test('a colour and a size name one variant; an incomplete choice names none', () => {
  assert.deepEqual(optionAxes(TEE), { colours: ['Ink', 'Sage'], sizes: ['S', 'M', 'XXL'] });
  assert.equal(pickVariant(TEE, { colour: 'Sage', size: 'M' }).id, 'sage-m');
  assert.equal(pickVariant(TEE, { colour: 'Sage' }), null);
  const single = { variants: [{ id: 'only', options: { color: 'Gift' }, stock: 1 }], options: { color: [{ name: 'Gift' }] } };
  assert.equal(pickVariant(single, {}).id, 'only');
});

test('live levels from the room win over the catalog; sums over a partial choice', () => {
  const levels = {};
  const changed = applyStockLevels(levels, { 'tee/ink-m': 0, 'other/x': 2, bad: 3 });
  assert.deepEqual([...changed].sort(), ['other', 'tee']);
  assert.equal(variantStock('tee', pickVariant(TEE, { colour: 'Ink', size: 'M' }), levels), 0);
  assert.equal(variantStock('tee', pickVariant(TEE, { colour: 'Ink', size: 'S' }), levels), 3);
  assert.equal(choiceStock(TEE, 'tee', { colour: 'Ink' }, levels), 6);
  assert.equal(applyStockLevels(levels, { 'tee/ink-m': 0 }).size, 0); // unchanged: no redraw
});

test('the try-on size is preselected when the product sells it', () => {
  assert.equal(preselectSize(['S', 'M', 'XXL'], 'M'), 'M');
  assert.equal(preselectSize(['S', 'M', 'XXL'], '2XL'), 'XXL');
  assert.equal(preselectSize(['S', 'M'], '3XL'), null);
  assert.equal(preselectSize(['S', 'M'], null), null);
});

test('the card offers sizes, disables a sold-out one and "Add to bag" until a size is chosen', () => {
  const product = normalizeProduct(TEE);
  let c = cardContent(product, { canBuy: true });
  assert.deepEqual(c.actions[0], { id: 'addtobag', label: 'Choose a size', disabled: true });
  assert.equal(c.choices[0].selected, true); // the colour shown is the one bought
  c = cardContent(product, { canBuy: true, variant: 'Sage', size: 'M' });
  assert.equal(c.variantId, 'sage-m');
  assert.equal(c.actions[0].disabled, false);
  assert.equal(c.sizes.find((s) => s.id === 'size:XXL').disabled, true);
  c = cardContent(product, { canBuy: true, variant: 'Sage', size: 'M', levels: { 'tee/sage-m': 0 } });
  assert.deepEqual([c.actions[0].label, c.actions[0].disabled, c.stock], ['Sold out', true, 'out of stock']);
  // Without buying (no shop) the card is as before.
  assert.equal(cardContent(product, {}).actions[0].id, 'inspect');
});

function fakeFetch(answers) {
  const calls = [];
  const fn = async (url, init) => {
    calls.push({ url, ...init });
    const next = answers.shift();
    if (next instanceof Error) throw next;
    return new Response(JSON.stringify(next.body), { status: next.status ?? 200 });
  };
  return { fn, calls };
}

function memoryStorage() {
  const m = new Map();
  return { getItem: (k) => m.get(k) ?? null, setItem: (k, v) => m.set(k, v), removeItem: (k) => m.delete(k) };
}

test('the shopper is made once and its key goes on every call; writes carry an Idempotency-Key', async () => {
  const { fn, calls } = fakeFetch([{ status: 201, body: { shopper_id: 's_1', shopper_key: 's_1.sec', name: 'Ana' } },
    { body: { lines: [] } }, { body: { lines: [{}] } }]);
  const api = new ShopApi({ fetchFn: fn, storage: memoryStorage(), keyFn: () => 'k1', sleep: async () => {} });
  api.name = 'Ana';
  await api.bag();
  await api.add('tee', 'ink-m');
  assert.equal(calls[0].url, '/api/shoppers');
  assert.equal(JSON.parse(calls[0].body).name, 'Ana');
  assert.equal(calls[0].headers['X-Shopper-Key'], undefined);
  assert.equal(calls[1].headers['X-Shopper-Key'], 's_1.sec');
  assert.equal(calls[1].headers['Idempotency-Key'], undefined); // a GET changes nothing
  assert.equal(calls[2].headers['Idempotency-Key'], 'k1');
  assert.equal(api.key, 's_1.sec');
});

test('a retried action after a network failure reuses its Idempotency-Key', async () => {
  const { fn, calls } = fakeFetch([new TypeError('network'), { body: { state: 'placed' } }]);
  const storage = memoryStorage();
  storage.setItem('plaza.shopper', JSON.stringify({ shopper_key: 's_1.x' }));
  let n = 0;
  const api = new ShopApi({ fetchFn: fn, storage, keyFn: () => `key${(n += 1)}`, sleep: async () => {} });
  await api.hold('c_1', 'end', 'hold-end-key');
  assert.equal(calls.length, 2);
  assert.deepEqual(calls.map((c) => c.headers['Idempotency-Key']), ['hold-end-key', 'hold-end-key']);
});

test('a problem answer becomes an error with its code (hold_too_short)', async () => {
  const { fn } = fakeFetch([{ status: 409, body: { code: 'hold_too_short', detail: 'hold for 1 s to confirm' } }]);
  const storage = memoryStorage();
  storage.setItem('plaza.shopper', JSON.stringify({ shopper_key: 's_1.x' }));
  const api = new ShopApi({ fetchFn: fn, storage, sleep: async () => {} });
  await assert.rejects(api.hold('c_1', 'end'), (err) => err.code === 'hold_too_short' && err.status === 409);
  assert.match(newActionKey(), /^[0-9a-f-]{32,36}$/);
  assert.match(newActionKey({ getRandomValues: (b) => b.fill(171) }), /^(ab){16}$/);
});

test('panels: the bag total in the currency, delivery only for physical goods, countdown, receipt', () => {
  const bag = { currency: 'EUR', total_minor: 5800, lines: [{ line_id: 'l1', product_id: 'tee', variant_id: 'ink-m',
    name: 'Tee', option: 'Ink/M', kind: 'physical', quantity: 2, unit_minor: 2900, total_minor: 5800, available: 2 }] };
  const items = shopItems({ view: 'bag', bag });
  const labels = items.map((i) => i.label);
  assert.ok(labels.includes('Total: €58.00'), labels);
  assert.equal(items.find((i) => i.id === 'qty+:l1').disabled, true); // no more than there is
  const setup = shopItems({ view: 'setup', bag, delivery: { type: 'pickup', store: 'boutique', address: {} }, method: 'test_approve' });
  assert.equal(setup.find((i) => i.id === 'store:boutique').selected, true);
  const virtual = { ...bag, lines: [{ ...bag.lines[0], kind: 'virtual' }] };
  assert.equal(shopItems({ view: 'setup', bag: virtual, delivery: { type: 'pickup', address: {} } })
    .some((i) => i.id.startsWith('delivery:')), false);
  const address = shopItems({ view: 'setup', bag, delivery: { type: 'address', address: { city: 'Lyon' } } });
  assert.equal(address.find((i) => i.id === 'field:city').value, 'Lyon');
  const checkout = { id: 'c_1', lines: [{ product_id: 'tee', variant_id: 'ink-m', name: 'Tee', quantity: 2, total_minor: 5800 }],
    currency: 'EUR', shipping_minor: 0, total_minor: 5800, deadline: 1000 + 125, delivery: { type: 'pickup', store: 'boutique' },
    payment_method: 'test_approve' };
  const pay = shopItems({ view: 'checkout', checkout, options: { 'tee/ink-m': 'Ink/M' } }, 1000 * 1000);
  assert.equal(pay.find((i) => i.id === 'timer').label, 'Time to confirm: 2:05');
  assert.equal(pay.find((i) => i.id === 'line0').label, '2 × Tee (Ink/M): €58.00');
  assert.equal(pay.find((i) => i.id === 'hold').kind, 'hold');
  assert.equal(shopItems({ view: 'checkout', checkout }, 2000 * 1000).find((i) => i.id === 'hold').disabled, true);
  const receipt = shopItems({ view: 'receipt', order: { ...checkout, id: 'c_1' } });
  assert.ok(receipt.some((i) => i.label === 'Order c_1'));
  assert.equal(secondsLeft(10, 20000), 0);
  assert.equal(countdownText(0), 'Time is up: this checkout has expired.');
  assert.equal(reasonText('card_declined'), 'Your card was declined.');
  assert.equal(reasonText('out_of_stock:tee/ink-m'), 'Something in your bag sold out before checkout.');
  assert.equal(deliveryText({ type: 'pickup', store: 'space-market' }), 'Pick up at Space Market');
  assert.equal(deliveryText({ type: 'address', address: { name: 'Ana', line1: 'Rua 5', line2: '', city: 'Porto',
    postal_code: '4000', country: 'PT' } }), 'Deliver to Ana, Rua 5, 4000 Porto, PT');
});

test('"For you" under the bag: named by its basis, nothing already in the bag, a Show me per product', async () => {
  const { forYouItems } = await import('../src/shop/shop_view.js');
  const forYou = { basis: 'your choices', products: [
    { id: 'a', name: 'Loafers', price_minor: 8900, currency: 'EUR' },
    { id: 'b', name: 'Block heels', price_minor: 12000, currency: 'EUR' }] };
  const items = forYouItems(forYou, { lines: [{ product_id: 'b' }] });
  assert.deepEqual(items.map((i) => i.id), ['for-you', 'fy:a', 'see:a']);
  assert.equal(items[0].label, 'For you');
  assert.match(items[1].label, /^Loafers · /);
  assert.equal(forYouItems({ ...forYou, basis: 'popular here' }, null)[0].label, 'Popular here');
  assert.deepEqual(forYouItems(null, null), []);
  // The shopper's choice about their in-store trail: asked when not given, "Stop and erase" once given.
  const asked = forYouItems(forYou, null, { consent: false });
  assert.deepEqual(asked.slice(-2).map((i) => i.id), ['trail', 'trail:on']);
  assert.match(asked.at(-2).label, /30 days/);
  const given = forYouItems(forYou, null, { consent: true, kept_days: 30 });
  assert.equal(given.at(-1).id, 'trail:off');
  assert.equal(given.at(-1).label, 'Stop and erase');
});
