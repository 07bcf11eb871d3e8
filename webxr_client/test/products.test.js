import { test } from 'node:test';
import assert from 'node:assert/strict';
import { normalizeProduct, provenanceLines } from '../src/products.js';
import { formatPrice, formatStock } from '../src/format.js';

// Shaped like GET /api/products/{id} (server/commerce/catalog_api.py).
const tee = {
  id: 'tee', name: 'Crew Tee', category: 'apparel', price_minor: 2900, currency: 'EUR',
  model_url: '/assets/models/tee.abc.glb',
  options: { color: [{ name: 'Ink', hex: '#1f2a44' }, { name: 'Sage', hex: '#8ea58c' }], size: ['S', 'M'] },
  variants: [
    { id: 'ink-s', name: 'Ink/S', options: { color: 'Ink', size: 'S' }, color_hex: '#1f2a44', stock: 3, material_variant: 'Ink' },
    { id: 'ink-m', name: 'Ink/M', options: { color: 'Ink', size: 'M' }, color_hex: '#1f2a44', stock: 4, material_variant: 'Ink' },
    { id: 'sage-s', name: 'Sage/S', options: { color: 'Sage', size: 'S' }, color_hex: '#8ea58c', stock: 0, material_variant: 'Sage' },
  ],
  transparency: {
    materials: [{ name: 'organic cotton', percent: 100 }], origin: 'Portugal', certifications: ['GOTS'],
    supply_chain: [{ step: 'fibre', where: 'India' }, { step: 'sewing', where: 'Portugal' }],
  },
};

test('a catalog product becomes one colour choice per colour with its summed stock', () => {
  const p = normalizeProduct(tee);
  assert.equal(p.priceMinor, 2900);
  assert.equal(p.stock, 7);
  assert.deepEqual(p.choices.map((c) => [c.name, c.stock, c.color]), [['Ink', 7, '#1f2a44'], ['Sage', 0, '#8ea58c']]);
  assert.equal(p.modelUrl, '/assets/models/tee.abc.glb');
  assert.equal(normalizeProduct({ name: 'no id' }), null);
  assert.equal(normalizeProduct(null), null);
});

test('provenance reads as short lines', () => {
  assert.deepEqual(provenanceLines(tee.transparency), [
    'Made in: Portugal', 'Materials: organic cotton 100%', 'Certified: GOTS', 'Chain: fibre (India), sewing (Portugal)',
  ]);
  assert.deepEqual(provenanceLines(null), []);
});

test('prices in minor units and stock in words', () => {
  assert.equal(formatPrice(2900, 'EUR', 'en-US'), '€29.00');
  assert.equal(formatPrice(1500, 'JPY', 'en-US'), '¥1,500');
  assert.equal(formatPrice(29.5, 'EUR'), 'price unavailable');
  assert.equal(formatStock(0), 'out of stock');
  assert.equal(formatStock(3), 'only 3 left');
  assert.equal(formatStock(undefined), 'stock unknown');
});

test('the simplified list filters by every search word and by category', async () => {
  const { filterProducts } = await import('../src/simplified.js');
  const items = [
    { name: 'Crew Tee', category: 'apparel', description: 'Organic cotton' },
    { name: 'Eau Fleurie', category: 'beauty', description: 'Floral eau de parfum' },
    { name: 'Linen Shirt', category: 'apparel', description: 'Breathable linen' },
  ];
  assert.deepEqual(filterProducts(items, 'shirt').map((p) => p.name), ['Linen Shirt']);
  assert.deepEqual(filterProducts(items, 'ORGANIC tee').map((p) => p.name), ['Crew Tee']);
  assert.deepEqual(filterProducts(items, '', 'apparel').map((p) => p.name), ['Crew Tee', 'Linen Shirt']);
  assert.deepEqual(filterProducts(items, 'floral', 'apparel'), []);
  assert.equal(filterProducts(items).length, 3);
});
