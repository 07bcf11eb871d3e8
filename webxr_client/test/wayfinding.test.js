import { test } from 'node:test';
import assert from 'node:assert/strict';
import { departments, prettyId } from '../src/wayfinding.js';

test('products of a category standing together make one department; apart, two', () => {
  const products = [
    { id: 'a', category: 'apparel', x: -5, z: -2 }, { id: 'b', category: 'apparel', x: -4, z: -1 },
    { id: 'c', category: 'apparel', x: 6, z: 3 }, { id: 'd', category: 'shoes', x: 0, z: 0 },
    { id: 'e', category: 'furniture', x: Number.NaN, z: 0 },
  ];
  const zones = [{ id: 'fitting-rooms', kind: 'fitting_room', min: [-8, -6], max: [-4, -3.6] },
    { id: 'window', kind: 'window', min: [-8, 4], max: [8, 6] }, { id: 'main-stage', kind: 'stage', min: [0, 0], max: [2, 2] }];
  const list = departments(products, zones);
  const clothing = list.filter((d) => d.label === 'Clothing');
  assert.equal(clothing.length, 2);
  assert.deepEqual(clothing.map((d) => d.productIds.length).sort(), [1, 2]);
  const pair = clothing.find((d) => d.productIds.length === 2);
  assert.deepEqual([pair.x, pair.z], [-4.5, -1.5]);
  assert.ok(list.some((d) => d.label === 'Shoes' && d.productIds[0] === 'd'));
  assert.ok(!list.some((d) => d.label === 'Furniture'), 'no position, no department');
  assert.deepEqual(list.filter((d) => d.kind === 'zone').map((d) => d.label), ['Fitting rooms', 'Main stage']);
  assert.equal(new Set(list.map((d) => d.id)).size, list.length);
  assert.equal(prettyId('treasure-hunt'), 'Treasure hunt');
});
