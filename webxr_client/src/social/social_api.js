// The co-shopping HTTP API (docs/SOCIAL.md) over the page's identity (shop/shop_api.js: X-Shopper-Key, an
// Idempotency-Key per action). The advisor page uses the same calls with its staff identity.
import { newActionKey } from '../shop/shop_api.js';

const enc = encodeURIComponent;

export class SocialApi {
  /** @param {import('../shop/shop_api.js').ShopApi} shop the page's identity and request plumbing */
  constructor(shop) {
    this.shop = shop;
  }

  call(method, path, body, actionKey = null) {
    return this.shop.call(method, path, body, method === 'GET' ? {} : { actionKey: actionKey ?? newActionKey() });
  }

  create(room) { return this.call('POST', '/api/groups', { room }); }
  mine() { return this.call('GET', '/api/groups/mine'); }
  group(id) { return this.call('GET', `/api/groups/${enc(id)}`); }
  newInvite(id, uses = 10, ttlS = 7200) { return this.call('POST', `/api/groups/${enc(id)}/invites`, { uses, ttl_s: ttlS }); }
  invite(code) { return this.call('GET', `/api/invites/${enc(code)}`); }
  qrUrl(code) { return `/api/invites/${enc(code)}/qr.svg`; }
  accept(code) { return this.call('POST', `/api/invites/${enc(code)}/accept`); }
  decline(code) { return this.call('POST', `/api/invites/${enc(code)}/decline`); }
  leave(id) { return this.call('POST', `/api/groups/${enc(id)}/leave`); }
  mute(id, member, muted) { return this.call('POST', `/api/groups/${enc(id)}/members/${enc(member)}/mute`, { muted }); }
  remove(id, member) { return this.call('POST', `/api/groups/${enc(id)}/members/${enc(member)}/remove`); }
  block(shopper) { return this.call('POST', `/api/blocks/${enc(shopper)}`); }
  unblock(shopper) { return this.call('DELETE', `/api/blocks/${enc(shopper)}`); }
  report(id, member, reason = 'abuse', text = '') {
    return this.call('POST', `/api/groups/${enc(id)}/reports`, { member, reason, text });
  }

  // The shared bag: answers are the bag (like GET /api/bag), every line with added_by / added_by_name.
  bag(id) { return this.call('GET', `/api/groups/${enc(id)}/bag`); }
  add(id, productId, variantId, quantity = 1, actionKey = null) {
    return this.call('POST', `/api/groups/${enc(id)}/bag/lines`, { product_id: productId, variant_id: variantId, quantity },
      actionKey);
  }
  setQuantity(id, lineId, quantity, actionKey = null) {
    return this.call('PATCH', `/api/groups/${enc(id)}/bag/lines/${enc(lineId)}`, { quantity }, actionKey);
  }
  removeLine(id, lineId, actionKey = null) {
    return this.call('DELETE', `/api/groups/${enc(id)}/bag/lines/${enc(lineId)}`, undefined, actionKey);
  }

  callAdvisor(id) { return this.call('POST', `/api/groups/${enc(id)}/advisor`); }
  cancelAdvisor(id) { return this.call('DELETE', `/api/groups/${enc(id)}/advisor`); }
  // Staff (the advisor page's identity is a staff account).
  calls() { return this.call('GET', '/api/advisor/calls'); }
  acceptCall(group) { return this.call('POST', `/api/advisor/calls/${enc(group)}/accept`); }
}
