// The promotions API over HTTP (docs/PROMOTIONS.md), on the shop's identity and request plumbing
// (shop/shop_api.js: X-Shopper-Key, an Idempotency-Key on every POST, problem details as ShopError).
import { newActionKey } from '../shop/shop_api.js';

const q = encodeURIComponent;

export class PromoApi {
  /** @param {import('../shop/shop_api.js').ShopApi} shopApi */
  constructor(shopApi) {
    this.shop = shopApi;
  }

  offers() { return this.shop.send('GET', '/api/teams/offers', undefined, { auth: false }); }
  teams(productId) { return this.shop.send('GET', `/api/teams?product=${q(productId)}`, undefined, { auth: false }); }
  team(id) { return this.shop.call('GET', `/api/teams/${q(id)}`); }
  mine() { return this.shop.call('GET', '/api/teams/mine'); }
  start(productId, variantId, paymentMethod, delivery, actionKey = newActionKey()) {
    return this.shop.call('POST', '/api/teams', { product_id: productId, variant_id: variantId, payment_method: paymentMethod,
      ...(delivery ? { delivery } : {}) }, { actionKey });
  }
  join(id, paymentMethod, delivery, actionKey = newActionKey()) {
    return this.shop.call('POST', `/api/teams/${q(id)}/join`, { payment_method: paymentMethod, ...(delivery ? { delivery } : {}) },
      { actionKey });
  }
  leave(id, actionKey = newActionKey()) { return this.shop.call('POST', `/api/teams/${q(id)}/leave`, undefined, { actionKey }); }
  coupons() { return this.shop.call('GET', '/api/coupons'); }
  hunts(store) { return this.shop.call('GET', `/api/hunts?store=${q(store)}`); }
  referrals() { return this.shop.call('GET', '/api/referrals/me'); }
}

/** The `?ref=CODE` of an invite link (given when this browser makes its shopper), or null. */
export function refFromUrl(search = globalThis.location?.search ?? '') {
  const code = new URLSearchParams(search).get('ref');
  return code && /^[A-Za-z0-9-]{1,16}$/.test(code) ? code : null;
}

/** The `?team=ID` of a team link, or null. */
export function teamFromUrl(search = globalThis.location?.search ?? '') {
  const id = new URLSearchParams(search).get('team');
  return id && /^[A-Za-z0-9_-]{1,64}$/.test(id) ? id : null;
}
