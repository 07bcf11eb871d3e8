import assert from 'node:assert/strict';
import { test } from 'node:test';
import { addedBy, chatLines, checkChat, followStep, formatCode, GroupState, inviteLink, joinCodeFrom, makesOffer,
  memberItems, memberLine, normalizeCode, partLines, socialErrorText, StrokeRecorder, strokeOpacity,
  yawTowards } from '../src/social/social_state.js';
import { shopItems } from '../src/shop/shop_view.js';
import { SocialApi } from '../src/social/social_api.js';
import { ShopApi } from '../src/shop/shop_api.js';

const VIEW = {
  id: 'g1', store: 'boutique', room: 'store-boutique', code: 'K7M4PX', link: '/?join=K7M4PX', you: 'shp_b',
  members: [
    { member: 'shp_a', name: 'Ana', role: 'owner', presence: 'here', muted: false, avatars: [3], room: 'store-boutique' },
    { member: 'shp_b', name: 'Ben', role: 'member', presence: 'here', muted: false, avatars: [5], room: 'store-boutique' },
  ],
  invites: [{ code: 'K7M4PX', link: '/?join=K7M4PX', uses_left: 9, expires_at: 0 }],
  advisor_call: null,
  chat: [{ member: 'shp_a', name: 'Ana', avatar: 3, text: 'hi', at: 1 }],
};

test('invite codes: the alphabet without look-alikes, any case, spaces and dashes ignored', () => {
  assert.equal(normalizeCode('k7m 4px'), 'K7M4PX');
  assert.equal(normalizeCode('K7M-4PX'), 'K7M4PX');
  assert.equal(normalizeCode('K7M4P0'), null); // 0 is not in the alphabet
  assert.equal(normalizeCode('K7M4PI'), null); // nor I
  assert.equal(normalizeCode('K7M4P'), null);
  assert.equal(formatCode('K7M4PX'), 'K7M 4PX');
  assert.equal(joinCodeFrom('?join=k7m4px&scene=boutique'), 'K7M4PX');
  assert.equal(joinCodeFrom('?scene=boutique'), null);
  assert.equal(inviteLink('/?join=K7M4PX', 'K7M4PX', 'http://127.0.0.1:8000'), 'http://127.0.0.1:8000/?join=K7M4PX');
  assert.equal(inviteLink(null, 'K7M4PX', 'http://h'), 'http://h/?join=K7M4PX');
});

test('chat: trimmed, not empty, at most the limit in characters (not bytes)', () => {
  assert.deepEqual(checkChat('  this   suits you '), { text: 'this suits you' });
  assert.ok(checkChat('   ').error);
  assert.deepEqual(checkChat('🔥'.repeat(10), 10), { text: '🔥'.repeat(10) });
  assert.match(checkChat('x'.repeat(11), 10).error, /11 characters; 10 at most/);
});

test('the group: view, member changes, chat kept across views, who sits where', () => {
  const g = new GroupState();
  assert.equal(g.active, false);
  g.applyView(VIEW);
  assert.equal(g.id, 'g1');
  assert.equal(g.isOwner, false);
  assert.equal(g.memberByAvatar(3).name, 'Ana');
  assert.equal(g.chat.length, 1);
  g.addChat({ member: 'shp_b', name: 'Ben', avatar: 5, text: 'hello', at: 2 });
  g.applyView(VIEW); // a later view with the old history does not duplicate lines
  assert.deepEqual(g.chat.map((l) => l.text), ['hi', 'hello']);
  assert.deepEqual(chatLines(g).map((l) => l.label), ['Ana: hi', 'You: hello']);
  let change = g.applyMember({ t: 'group_member', member: 'shp_c', name: 'Cy', role: 'member', presence: 'here', avatars: [7] });
  assert.equal(change.joined, true);
  g.applyMember({ member: 'shp_c', presence: 'away' });
  g.applyMember({ member: 'shp_a', voice: true });
  assert.equal(g.members.get('shp_c').name, 'Cy');
  assert.equal(g.members.get('shp_c').presence, 'away');
  assert.equal(memberLine(g.members.get('shp_a'), g.you), 'Ana · owner · here · voice on');
  g.following = 'shp_c';
  change = g.applyMember({ member: 'shp_c', left: 'removed' });
  assert.equal(change.left, 'removed');
  assert.equal(g.members.has('shp_c'), false);
  assert.equal(g.following, null);
  g.applyView({ ...VIEW, id: 'g2', chat: [] }); // another group: nothing of the old one stays
  assert.equal(g.chat.length, 0);
});

test('the members panel: follow and jump for everyone, mute and remove for the owner only', () => {
  const g = new GroupState();
  g.applyView(VIEW);
  const ids = memberItems(g).map((i) => i.id);
  assert.deepEqual(ids, ['member:shp_b', 'member:shp_a', 'follow:shp_a', 'jump:shp_a', 'block:shp_a', 'report:shp_a']);
  const owner = new GroupState();
  owner.applyView({ ...VIEW, you: 'shp_a' });
  const items = memberItems(owner, { blocked: new Set(['shp_b']) });
  assert.ok(items.some((i) => i.id === 'mute:shp_b' && i.label === 'Mute'));
  assert.ok(items.some((i) => i.id === 'remove:shp_b'));
  assert.ok(items.some((i) => i.id === 'block:shp_b' && i.label === 'Unblock'));
  owner.following = 'shp_b';
  assert.ok(memberItems(owner).some((i) => i.id === 'unfollow:shp_b' && i.selected));
});

test('following walks to 1.2 m behind the leader, never past, and stops there', () => {
  const [dx, dz] = followStep([0, 0], [0, -5], 0.1, { speed: 1.6 });
  assert.ok(Math.abs(dx) < 1e-9);
  assert.ok(Math.abs(dz + 0.16) < 1e-9);
  const [, last] = followStep([0, -3.5], [0, -5], 1);
  assert.ok(Math.abs(-3.5 + last - -3.8) < 1e-9); // lands 1.2 m short of the leader
  assert.deepEqual(followStep([0, -3.8], [0, -5], 1), [0, 0]);
  assert.ok(Math.abs(yawTowards([0, 0], [0, -1])) < 1e-9);
  assert.ok(Math.abs(yawTowards([0, 0], [1, 0]) + Math.PI / 2) < 1e-9);
});

test('voice: the member with the smaller id offers, exactly one of two', () => {
  assert.equal(makesOffer('shp_a', 'shp_b'), true);
  assert.equal(makesOffer('shp_b', 'shp_a'), false);
});

test('strokes: spaced points, chunks of at most the limit that join up, fading in the last 30 % of the ttl', () => {
  const rec = new StrokeRecorder({ maxPoints: 4, spacing: 0.01, intervalMs: 100 });
  rec.start();
  assert.equal(rec.add([0, 1, 0]), true);
  assert.equal(rec.add([0.001, 1, 0]), false); // closer than 1 cm
  for (let i = 1; i <= 5; i += 1) rec.add([i * 0.02, 1, 0]);
  const first = rec.take(0);
  assert.equal(first.length, 4);
  const second = rec.end(10); // the end sends what is left, starting where the first ended
  assert.deepEqual(second[0], first[3]);
  assert.equal(second.length, 3);
  assert.equal(rec.take(500), null);
  assert.equal(strokeOpacity(0, 8), 1);
  assert.equal(strokeOpacity(5.6, 8), 1);
  assert.ok(Math.abs(strokeOpacity(6.8, 8) - 0.5) < 1e-9);
  assert.equal(strokeOpacity(8, 8), 0);
});

test('the shared bag: who added each line, the toggle, and what each part pays', () => {
  const bag = { currency: 'EUR', total_minor: 7000, lines: [
    { line_id: 'l1', product_id: 'tee', variant_id: 'ink-m', name: 'Tee', option: 'Ink/M', quantity: 1, unit_minor: 2900,
      total_minor: 2900, kind: 'physical', added_by: 'shp_a', added_by_name: 'Ana', available: 3 },
    { line_id: 'l2', product_id: 'cap', variant_id: 'red', name: 'Cap', quantity: 1, unit_minor: 4100, total_minor: 4100,
      kind: 'physical', added_by: 'shp_b', added_by_name: 'Ben', available: 3 }] };
  assert.equal(addedBy(bag.lines[0], 'shp_b'), 'added by Ana');
  assert.equal(addedBy(bag.lines[1], 'shp_b'), 'added by you');
  assert.equal(partLines(bag, 'mine', 'shp_b').total, 4100);
  assert.equal(partLines(bag, 'all', 'shp_b').total, 7000);
  const items = shopItems({ view: 'bag', bag, which: 'ours', sharedAvailable: true, you: 'shp_b' });
  assert.equal(items[0].label, 'Our bag');
  assert.ok(items.find((i) => i.id === 'which:ours').selected);
  assert.match(items.find((i) => i.id === 'line:l1').label, /added by Ana/);
  const setup = shopItems({ view: 'setup', bag, which: 'ours', part: 'mine', you: 'shp_b', delivery: { type: 'pickup', store: 'boutique', address: {} },
    method: 'test_approve' });
  assert.ok(setup.find((i) => i.id === 'part:mine').selected);
  assert.match(setup.find((i) => i.id === 'total').label, /41\.00/);
  // Without a group the bag is as before: no toggle.
  assert.equal(shopItems({ view: 'bag', bag: { ...bag, lines: [] } }).some((i) => i.id === 'which:ours'), false);
});

test('the social API sends the shopper key and one idempotency key per action', async () => {
  const calls = [];
  const storage = new Map([['plaza.shopper', JSON.stringify({ shopper_id: 's', shopper_key: 'KEY', name: 'Ben' })]]);
  const shop = new ShopApi({ storage: { getItem: (k) => storage.get(k) ?? null, setItem: (k, v) => storage.set(k, v),
    removeItem: (k) => storage.delete(k) }, keyFn: () => `idem${calls.length}`,
    fetchFn: async (url, init) => { calls.push({ url, init }); return new Response(JSON.stringify({ id: 'g1' }), { status: 201 }); } });
  const api = new SocialApi(shop);
  await api.create('store-boutique');
  await api.accept('K7M4PX');
  await api.invite('K7M4PX');
  assert.equal(calls[0].url, '/api/groups');
  assert.deepEqual(JSON.parse(calls[0].init.body), { room: 'store-boutique' });
  assert.equal(calls[0].init.headers['X-Shopper-Key'], 'KEY');
  assert.ok(calls[0].init.headers['Idempotency-Key']);
  assert.equal(calls[1].url, '/api/invites/K7M4PX/accept');
  assert.equal(calls[2].init.headers['Idempotency-Key'], undefined); // a GET has none
  assert.equal(api.qrUrl('K7M4PX'), '/api/invites/K7M4PX/qr.svg');
});

test('a staff identity is kept apart and never made up', async () => {
  const storage = new Map();
  const staff = new ShopApi({ storeKey: 'plaza.staff', canCreate: false, storage: { getItem: (k) => storage.get(k) ?? null,
    setItem: (k, v) => storage.set(k, v), removeItem: (k) => storage.delete(k) }, fetchFn: async () => { throw new Error('no'); } });
  await assert.rejects(staff.ensureShopper('x'), /staff key/);
  staff.remember({ shopper_key: 'STAFF', shopper_id: 'st1', name: 'Ada' });
  assert.equal(staff.key, 'STAFF');
  assert.equal(storage.has('plaza.shopper'), false);
});

test('refusals in words', () => {
  assert.match(socialErrorText('invite_expired'), /expired/);
  assert.match(socialErrorText('weird_code'), /weird code/);
});
