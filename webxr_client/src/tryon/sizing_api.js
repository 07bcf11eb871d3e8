// The sizing API over HTTP (docs/SIZING.md). Body data goes only here: never over the room websocket,
// never into pose traffic. Errors carry the API's own words for the shopper.

export class SizingError extends Error {
  constructor(message, status = 0, problems = []) {
    super(message);
    this.status = status;
    this.problems = problems;
  }
}

export class SizingApi {
  /** `shopperKey()`: the page's shopper key, sent with a product's size request so the store's (aggregated,
   * pseudonymous) funnel counts a try-on; measurements are never linked to it. */
  constructor({ base = '/api/sizing', fetchImpl = (...a) => fetch(...a), timeoutMs = 15000, shopperKey = () => null } = {}) {
    this.base = base;
    this.shopperKey = shopperKey;
    this.fetch = fetchImpl;
    this.timeoutMs = timeoutMs;
    this.charts = new Map();
  }

  async request(method, path, { body, ownerKey, shopperKey } = {}) {
    const headers = {};
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (ownerKey) headers['x-owner-key'] = ownerKey;
    if (shopperKey) headers['x-shopper-key'] = shopperKey;
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), this.timeoutMs);
    let response;
    try {
      response = await this.fetch(`${this.base}${path}`, { method, headers, signal: controller.signal,
        body: body === undefined ? undefined : JSON.stringify(body) });
    } catch (err) {
      throw new SizingError(err?.name === 'AbortError' ? 'The size service did not answer in time; please try again.'
        : 'Could not reach the size service; check your connection.');
    } finally {
      clearTimeout(timer);
    }
    let data = null;
    try {
      data = await response.json();
    } catch {
      data = null;
    }
    if (!response.ok) throw errorFrom(response.status, data);
    return data;
  }

  recommend(req, ownerKey) { return this.request('POST', '/recommend', { body: req, ownerKey, shopperKey: this.shopperKey() }); }

  estimate(body) { return this.request('POST', '/estimate', { body }); }

  async chart(id) {
    if (!this.charts.has(id)) this.charts.set(id, await this.request('GET', `/charts/${encodeURIComponent(id)}`));
    return this.charts.get(id);
  }

  exportProfile(id, ownerKey) { return this.request('GET', `/profiles/${encodeURIComponent(id)}`, { ownerKey }); }

  updateProfile(id, ownerKey, body) {
    return this.request('PUT', `/profiles/${encodeURIComponent(id)}`, { body, ownerKey });
  }

  /** A fit remark (tryon/feedback.js feedbackRequest) → {changed: {name: estimate}, message, lean}. */
  feedback(id, ownerKey, req) {
    return this.request('POST', `/profiles/${encodeURIComponent(id)}/feedback`, { body: req, ownerKey });
  }

  deleteProfile(id, ownerKey) { return this.request('DELETE', `/profiles/${encodeURIComponent(id)}`, { ownerKey }); }
}

/** The API's `{error, problems}` (or FastAPI's own `{detail}` for malformed requests) as a SizingError. */
export function errorFrom(status, data) {
  if (data && typeof data.error === 'string') return new SizingError(data.error, status, data.problems ?? []);
  if (Array.isArray(data?.detail)) {
    const fields = data.detail.map((d) => (Array.isArray(d.loc) ? d.loc[d.loc.length - 1] : '')).filter(Boolean);
    return new SizingError(`Some values could not be read${fields.length ? ` (${fields.join(', ')})` : ''}.`, status);
  }
  return new SizingError(`The size service answered ${status}; please try again.`, status);
}

const PROFILE_KEY = 'plaza.sizing.profile';

/** The shopper's stored profile id + owner key (only ever written after they consented). */
export const profileStore = {
  get(storage) {
    try {
      const v = JSON.parse(storage?.getItem(PROFILE_KEY) ?? 'null');
      return v && typeof v.profile_id === 'string' && typeof v.owner_key === 'string' ? v : null;
    } catch {
      return null;
    }
  },
  set(storage, profileId, ownerKey) {
    storage?.setItem(PROFILE_KEY, JSON.stringify({ profile_id: profileId, owner_key: ownerKey }));
  },
  clear(storage) {
    storage?.removeItem(PROFILE_KEY);
  },
};
