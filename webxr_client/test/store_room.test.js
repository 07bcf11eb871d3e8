import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FALLBACK_ROOM, storeRoomId } from '../src/net/store_room.js';

test('a store page joins the room its store API names', async () => {
  const asked = [];
  const id = await storeRoomId('space-market', async (url) => { asked.push(url); return { id: 'store-space-market' }; });
  assert.equal(id, 'store-space-market');
  assert.deepEqual(asked, ['/api/stores/space-market/room']);
});

test('a server without the store room route (404 -> null) gives the default room', async () => {
  assert.equal(await storeRoomId('boutique', async () => null), FALLBACK_ROOM);
  assert.equal(await storeRoomId('boutique', async () => ({ name: 'no id' })), FALLBACK_ROOM);
});

test('other failures are not hidden behind the fallback', async () => {
  await assert.rejects(storeRoomId('boutique', async () => { throw new Error('server down'); }), /server down/);
});
