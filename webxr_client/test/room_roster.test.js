import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RoomClient } from '../src/net/room_client.js';

globalThis.WebSocket ??= { OPEN: 1 }; // only its OPEN constant is read here (no socket is opened)

// A head-only avatar state as decodeFrame yields it (presence bit 0, millimetres and a quaternion code).
const HEAD_ONLY = { presence: 1, components: new Int32Array(64) };

function client() {
  const left = [];
  const posed = new Set();
  const room = new RoomClient({
    room: 'r', now: () => 0, onPose: (id) => posed.add(id), onLeave: (id) => left.push(id),
  });
  return { room, left, posed };
}

function welcome(room, roster, self = 9) {
  const message = { t: 'welcome', avatar: self, room: 'r', tick: 1, roster };
  room.session.control(message); // as receive() does before onControl
  room.onControl(message);
}

test('a welcome after a reconnect removes the avatars its roster no longer has (a missed left)', () => {
  const { room, left, posed } = client();
  welcome(room, [{ id: 1, name: 'Ana' }, { id: 2, name: 'Ben' }, { id: 9, name: 'Me' }]);
  room.onSnapshot({ tick: 2, serverTimeMs: 0, avatars: [[1, HEAD_ONLY], [2, HEAD_ONLY], [9, HEAD_ONLY]] });
  assert.deepEqual([...posed].sort(), [1, 2]);
  // Ana left while our connection was down: the resumed welcome's roster lacks her.
  welcome(room, [{ id: 2, name: 'Ben' }, { id: 9, name: 'Me' }]);
  assert.deepEqual(left, [1]);
  // Nothing is removed twice, and Ben (still in the roster) stays.
  welcome(room, [{ id: 2, name: 'Ben' }, { id: 9, name: 'Me' }]);
  assert.deepEqual(left, [1]);
});

test('a left message removes the avatar once; a later welcome does not remove it again', () => {
  const { room, left } = client();
  welcome(room, [{ id: 1, name: 'Ana' }]);
  room.onSnapshot({ tick: 2, serverTimeMs: 0, avatars: [[1, HEAD_ONLY]] });
  const message = { t: 'left', avatar: 1 };
  room.session.control(message);
  room.onControl(message);
  welcome(room, []);
  assert.deepEqual(left, [1]);
});
