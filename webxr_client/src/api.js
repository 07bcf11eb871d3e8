// Small HTTP helpers. Every failure becomes an ApiError with a message a shopper can read; callers
// decide whether a missing endpoint means "feature not there yet" (404) or a real problem.

export class ApiError extends Error {
  constructor(message, status = 0, problem = null) {
    super(message);
    this.status = status;
    this.problem = problem; // the RFC 9457 body, with per-field `errors` for a 422
  }
}

export async function fetchJson(url, { timeoutMs = 8000, method = 'GET', body, headers = {} } = {}) {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  let response;
  try {
    response = await fetch(url, {
      method,
      signal: controller.signal,
      headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (err) {
    throw new ApiError(err.name === 'AbortError' ? `The server did not answer ${url} in time.`
      : `Could not reach the server (${url}).`);
  } finally {
    clearTimeout(timer);
  }
  let data = null;
  try {
    data = await response.json();
  } catch {
    data = null;
  }
  if (!response.ok) {
    const detail = data && (data.detail?.message || data.message || data.detail || data.error);
    throw new ApiError(typeof detail === 'string' ? detail : `${url} answered ${response.status}.`, response.status, data);
  }
  return data;
}

/** Like fetchJson, but a 404 (endpoint or item not there) gives null instead of an error. */
export async function fetchOptional(url, options) {
  try {
    return await fetchJson(url, options);
  } catch (err) {
    if (err instanceof ApiError && (err.status === 404 || err.status === 405)) return null;
    throw err;
  }
}
