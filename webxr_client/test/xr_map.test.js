import { test } from 'node:test';
import assert from 'node:assert/strict';
import { xrMapItems } from '../src/ui/xr_map.js';

test('the headset map lists departments then zones, two to a row, with how far each is', () => {
  const places = [{ id: 'zone:tryon', label: 'Fitting rooms', kind: 'zone', x: 0, z: -3 },
    { id: 'shoes', label: 'Shoes', kind: 'category', x: 30, z: 40 },
    { id: 'beauty', label: 'Beauty', kind: 'category', x: 3, z: 4 }];
  const items = xrMapItems(places, { x: 0, z: 0 }, 'Boutique');
  assert.equal(items[0].label, 'Map of Boutique');
  const buttons = items.filter((i) => i.id.startsWith('go:'));
  assert.deepEqual(buttons.map((b) => b.label), ['Beauty · 5 m', 'Shoes · 50 m', 'Fitting rooms · 3 m']);
  assert.deepEqual(buttons.map((b) => b.row), ['places-0', 'places-0', 'places-1']);
  assert.equal(items.at(-1).id, 'close');
});
