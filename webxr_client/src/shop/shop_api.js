// The buying API over HTTP (docs/COMMERCE.md): a shopper identity kept in localStorage and sent as
// X-Shopper-Key, and an Idempotency-Key on every state-changing request: one per shopper action, reused
// when that same action is retried (a lost answer never buys twice).

const STORE_KEY = 'plaza.shopper';
const RETRIES = 2; // extra tries of one action after a network failure, with the same key

export class ShopError extends Error {
  constructor(message, status = 0, code = '') {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/** A fresh Idempotency-Key (crypto.randomUUID where the page is a secure context, else random bytes). */
export function newActionKey(cryptoObj = globalThis.crypto) {
  if (typeof cryptoObj?.randomUUID === 'function') return cryptoObj.randomUUID();
  const bytes = new Uint8Array(16);
  cryptoObj.getRandomValues(bytes);
  return [...bytes].map((b) => b.toString(16).padStart(2, '0')).join('');
}

function safeStorage() {
  try {
    return window.localStorage;
  } catch {
    return null;
  }
}

export class ShopApi {
  /**
   * `storeKey`: where the identity is kept (`plaza.shopper`; the advisor page keeps its staff key under
   * `plaza.staff`); `canCreate`: false where an identity must be given, never made (staff).
   */
  constructor({ fetchFn = (...a) => fetch(...a), storage = safeStorage(), keyFn = newActionKey, sleep = null,
    storeKey = STORE_KEY, canCreate = true } = {}) {
    this.storeKey = storeKey;
    this.canCreate = canCreate;
    this.fetchFn = fetchFn;
    this.storage = storage;
    this.keyFn = keyFn;
    this.sleep = sleep ?? ((ms) => new Promise((r) => { setTimeout(r, ms); }));
    this.creating = null;
  }

  /** {shopper_id, shopper_key, name} kept by this browser, or null. */
  get shopper() {
    try {
      const saved = JSON.parse(this.storage?.getItem(this.storeKey) ?? 'null');
      return saved?.shopper_key ? saved : null;
    } catch {
      return null;
    }
  }

  get key() { return this.shopper?.shopper_key ?? null; }

  /** The shopper of this browser; created (POST /api/shoppers) on the first visit. */
  async ensureShopper(name = 'Shopper') {
    if (this.shopper) return this.shopper;
    if (!this.canCreate) throw new ShopError('No key yet: enter your staff key first.', 401, 'no_key');
    // An invite link's ?ref= goes with the new shopper (promotions: the inviter is rewarded on a first order).
    this.creating ??= this.send('POST', '/api/shoppers', { name: name || 'Shopper', ...(this.ref ? { ref: this.ref } : {}) },
      { auth: false })
      .then((made) => {
        this.storage?.setItem(this.storeKey, JSON.stringify(made));
        return made;
      })
      .finally(() => { this.creating = null; });
    return this.creating;
  }

  /** Forgets a key the server does not know (another server's data, erased): the next call makes a new one. */
  forget() { if (this.canCreate) this.storage?.removeItem(this.storeKey); }

  /** Keeps an identity given to this page ({shopper_id, shopper_key, name}: a staff account). */
  remember(identity) { this.storage?.setItem(this.storeKey, JSON.stringify(identity)); }

  /**
   * One request. State-changing methods carry `actionKey` (a fresh one when not given) as Idempotency-Key;
   * a network failure is retried with the same key. Problem details become a ShopError (status, code, detail).
   */
  async send(method, path, body, { auth = true, actionKey = null } = {}) {
    const headers = { accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (auth && this.key) headers['X-Shopper-Key'] = this.key;
    if (method !== 'GET') headers['Idempotency-Key'] = actionKey ?? this.keyFn();
    let response = null;
    for (let attempt = 0; ; attempt += 1) {
      try {
        response = await this.fetchFn(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body),
          cache: 'no-store' });
        // The first request with this key is still running: ask again for its answer.
        if (response.status === 409 && attempt < RETRIES + 3) {
          const peek = await response.clone().json().catch(() => null);
          if (peek?.code === 'request_in_progress') {
            await this.sleep(200);
            continue;
          }
        }
        break;
      } catch (err) {
        if (attempt >= RETRIES) throw new ShopError('Could not reach the store; check your connection and try again.');
        await this.sleep(300 * (attempt + 1));
      }
    }
    const data = await response.json().catch(() => null);
    if (!response.ok) {
      throw new ShopError(data?.detail ?? `${path} answered ${response.status}`, response.status, data?.code ?? '');
    }
    return data;
  }

  /** Runs a shopper call, first making the shopper if this browser has none yet (or its key is unknown). */
  async call(method, path, body, options = {}) {
    if (!this.key) await this.ensureShopper(this.name);
    try {
      return await this.send(method, path, body, options);
    } catch (err) {
      if (err.status !== 401 || !this.canCreate) throw err;
      this.forget();
      await this.ensureShopper(this.name);
      return this.send(method, path, body, options);
    }
  }

  bag() { return this.call('GET', '/api/bag'); }
  add(productId, variantId, quantity = 1, actionKey = null) {
    return this.call('POST', '/api/bag/lines', { product_id: productId, variant_id: variantId, quantity }, { actionKey });
  }
  setQuantity(lineId, quantity, actionKey = null) {
    return this.call('PATCH', `/api/bag/lines/${encodeURIComponent(lineId)}`, { quantity }, { actionKey });
  }
  remove(lineId, actionKey = null) {
    return this.call('DELETE', `/api/bag/lines/${encodeURIComponent(lineId)}`, undefined, { actionKey });
  }
  /** `shared`: {group, part: "all" | "mine"} checks out the group's shared bag (docs/SOCIAL.md). */
  openCheckout(paymentMethod, delivery, actionKey = null, shared = null, coupon = null) {
    return this.call('POST', '/api/checkouts', { payment_method: paymentMethod, ...(delivery ? { delivery } : {}),
      ...(shared ? { group: shared.group, part: shared.part } : {}), ...(coupon ? { coupon } : {}) }, { actionKey });
  }
  checkout(id) { return this.call('GET', `/api/checkouts/${encodeURIComponent(id)}`); }
  hold(id, action, actionKey = null) {
    return this.call('POST', `/api/checkouts/${encodeURIComponent(id)}/hold`, { action }, { actionKey });
  }
  cancel(id, actionKey = null) {
    return this.call('POST', `/api/checkouts/${encodeURIComponent(id)}/cancel`, undefined, { actionKey });
  }
  orders() { return this.call('GET', '/api/orders'); }
  order(id) { return this.call('GET', `/api/orders/${encodeURIComponent(id)}`); }
  wardrobe() { return this.call('GET', '/api/wardrobe'); }
}
