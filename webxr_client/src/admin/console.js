// The store owner's console (/admin, docs/OPERATIONS.md): live rooms and the server's tick timing, the store's
// visitor figures with the dwell heatmap and the funnel, reports from shopping groups (refreshed every few
// seconds), and the store's stock with edit, its orders with refunds and its staff accounts (loaded on opening,
// on a store change and after each action, so a number being typed is never redrawn away). Every owner call
// carries the operator token as a Bearer header; it is kept for this tab only (sessionStorage), never in a URL.
const KEY = 'plaza.ownerKey';
const REFRESH_MS = 5000;

const $ = (id) => document.getElementById(id);
const state = { key: sessionStorage.getItem(KEY), store: null, timer: null, pictures: [], stockNotes: {} };
window.plazaConsole = state; // for tests

function say(text, error = false) {
  $('message').textContent = text;
  $('message').classList.toggle('error', error);
}

class OwnerError extends Error {}

async function call(path, { asBlob = false, method = 'GET', body = undefined } = {}) {
  const headers = state.key ? { Authorization: `Bearer ${state.key}` } : {};
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (method !== 'GET') headers['Idempotency-Key'] = crypto.randomUUID?.() ?? `${Date.now()}-${Math.random()}`;
  const response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  if (response.status === 401) throw new OwnerError('That is not the owner key of this server.');
  if (!response.ok) {
    const problem = await response.json().catch(() => ({}));
    const field = problem.errors?.[0]?.message;
    throw new Error(field ?? problem.detail ?? `${path} answered ${response.status}`);
  }
  if (response.status === 204) return null;
  return asBlob ? response.blob() : response.json();
}

const el = (tag, props = {}, ...children) => {
  const node = Object.assign(document.createElement(tag), props);
  node.append(...children);
  return node;
};
const storeQuery = () => `store=${encodeURIComponent(state.store)}`;

function money(minor, currency) {
  try {
    return new Intl.NumberFormat(undefined, { style: 'currency', currency }).format(minor / 100);
  } catch {
    return `${(minor / 100).toFixed(2)} ${currency}`;
  }
}

function cell(text) {
  return Object.assign(document.createElement('td'), { textContent: String(text) });
}

function seconds(s) {
  if (s === null || s === undefined) return '–';
  return s < 90 ? `${Math.round(s)} s` : `${Math.round(s / 60)} min`;
}

async function showRooms() {
  const [rooms, stats] = await Promise.all([call('/api/rooms'), call('/api/stats')]);
  const body = $('rooms').querySelector('tbody');
  const mine = rooms.filter((r) => r.scene === state.store);
  body.replaceChildren(...(mine.length ? mine : [null]).map((r) => {
    const row = document.createElement('tr');
    if (!r) row.append(Object.assign(cell('No open rooms in this store right now.'), { colSpan: 4 }));
    else row.append(cell(r.name || r.id), cell(r.scene), cell(r.occupants), cell(r.capacity));
    return row;
  }));
  const work = stats.tick_work_ms ?? {};
  const ms = (v) => (typeof v === 'number' ? `${v.toFixed(2)} ms` : '–');
  $('server-line').textContent = `${stats.clients} connected on this server · tick work p50 ${ms(work.p50)}, `
    + `p99 ${ms(work.p99)} · ${stats.late_ticks} late ticks · ${(stats.bytes_out / 1e6).toFixed(1)} MB sent`;
}

async function showAnalytics() {
  const since = $('since').value;
  const query = `store=${encodeURIComponent(state.store)}${since ? `&since=${since}` : ''}`;
  const figures = await call(`/api/admin/analytics?${query}`);
  const days = figures.days;
  const total = figures.total;
  const medians = days.map((d) => d.time_in_store.median_s).filter((v) => v !== null);
  const items = [
    ['Visitor days', total.visitor_days || (days.length ? 'fewer than 3' : 'none yet')],
    ['Days', days.length],
    ['Median time in store', seconds(medians.length ? medians[medians.length - 1] : null)],
    ['Shopping together', total.together_share === null ? '–' : `${Math.round(total.together_share * 100)} %`],
  ];
  $('figures').replaceChildren(...items.map(([label, value]) => {
    const li = document.createElement('li');
    li.append(Object.assign(document.createElement('b'), { textContent: String(value) }), label);
    return li;
  }));
  // The pictures need the Bearer header, which an <img src> cannot send: fetch them and show the blobs.
  const [heat, funnel] = await Promise.all([call(`/api/admin/analytics/heatmap.svg?${query}`, { asBlob: true }),
    call(`/api/admin/analytics/funnel.svg?${query}`, { asBlob: true })]);
  for (const url of state.pictures) URL.revokeObjectURL(url);
  state.pictures = [URL.createObjectURL(heat), URL.createObjectURL(funnel)];
  [$('heatmap').src, $('funnel').src] = state.pictures;
}

async function showReports() {
  const reports = await call(`/api/reports?store=${encodeURIComponent(state.store)}`);
  $('reports').replaceChildren(...(reports.length ? reports : [null]).map((r) => {
    const li = document.createElement('li');
    if (!r) li.textContent = 'No reports.';
    else {
      const when = new Date(r.at * 1000).toLocaleString();
      li.textContent = `${when}: ${r.member_name || 'a member'} reported for ${r.reason}${r.text ? ` (“${r.text}”)` : ''}`;
    }
    return li;
  }));
}

// --- stock, orders, staff: drawn on opening, on a store change and after each action ---------------------
async function showStock() {
  const { products } = await call(`/api/admin/stock?${storeQuery()}`);
  const open = new Set([...$('stock').querySelectorAll('details[open]')].map((d) => d.dataset.product));
  // One line per product (its total, what is sold out); opened, each variant's count to edit. A store has a few
  // dozen products of up to forty variants (colour × size): all of them at once would be a wall of inputs.
  $('stock').replaceChildren(...products.map((p) => {
    const note = state.stockNotes[p.id];
    const status = el('p', { className: `status${note?.ok ? ' saved' : ''}`, textContent: note?.text ?? '' });
    const total = p.variants.reduce((n, v) => n + Math.max(v.available, 0), 0);
    const out = p.variants.filter((v) => v.available <= 0).length;
    const summary = el('summary', {}, el('b', { textContent: p.name }),
      el('span', { textContent: ` ${total} available${out ? ` · ${out} of ${p.variants.length} sold out` : ''}`,
        className: out ? 'low' : '' }));
    const variants = p.variants.map((v) => {
      const input = el('input', { type: 'number', min: 0, max: 1000000, step: 1, value: String(Math.max(v.available, 0)),
        required: true });
      input.setAttribute('aria-label', `Available: ${p.name} ${v.label}`);
      input.dataset.sku = v.sku;
      const form = el('form', { className: 'variant' }, el('span', { textContent: v.label }), input,
        el('button', { type: 'submit', textContent: 'Save' }));
      form.addEventListener('submit', (e) => {
        e.preventDefault();
        saveStock(p, v, input);
      });
      return form;
    });
    const details = el('details', { open: open.has(p.id) }, summary, el('div', { className: 'variants' }, ...variants),
      status);
    details.dataset.product = p.id;
    return details;
  }));
}

async function saveStock(product, variant, input) {
  const available = Number(input.value);
  if (!Number.isInteger(available) || available < 0) {
    state.stockNotes[product.id] = { text: 'A whole number, 0 or more.' };
  } else {
    try {
      const done = await call(`/api/admin/stock/${variant.sku.split('/').map(encodeURIComponent).join('/')}`,
        { method: 'PUT', body: { available } });
      state.stockNotes[product.id] = { text: `Saved: ${variant.label} ${done.available}`, ok: true };
    } catch (err) {
      state.stockNotes[product.id] = { text: err.message };
    }
  }
  await showStock(); // the product's total and sold-out count follow
}

async function showOrders() {
  const { orders } = await call(`/api/admin/orders?${storeQuery()}&limit=50`);
  const body = $('orders').querySelector('tbody');
  body.replaceChildren(...(orders.length ? orders : [null]).map((o) => {
    if (!o) return el('tr', {}, el('td', { colSpan: 6, textContent: 'No orders in this store yet.' }));
    const items = o.lines.map((l) => `${l.quantity} × ${l.name}${l.option ? ` (${l.option})` : ''}`).join(', ');
    const action = el('td');
    if (o.state === 'paid') {
      const button = el('button', { type: 'button', className: 'danger', textContent: 'Refund' });
      button.dataset.order = o.id;
      button.addEventListener('click', () => refund(o, button));
      action.append(button);
    }
    return el('tr', {}, el('td', { textContent: new Date(o.placed_at * 1000).toLocaleString() }),
      el('td', { textContent: o.shopper_name || '–' }), el('td', { textContent: items }),
      el('td', { textContent: money(o.total_minor, o.currency) }),
      el('td', { textContent: o.state, className: `state-${o.state}` }), action);
  }));
}

async function refund(order, button) {
  if (!window.confirm(`Refund ${money(order.total_minor, order.currency)} to ${order.shopper_name || 'the shopper'}? `
    + 'The money, the stock and any virtual goods go back.')) return;
  button.disabled = true;
  try {
    await call(`/api/orders/${encodeURIComponent(order.id)}/refund`, { method: 'POST' });
    say(`Order refunded: ${money(order.total_minor, order.currency)} back to ${order.shopper_name || 'the shopper'}.`);
    await Promise.all([showOrders(), showStock()]);
  } catch (err) {
    button.disabled = false;
    say(err.message, true);
  }
}

async function showStaff() {
  const { staff } = await call(`/api/admin/staff?${storeQuery()}`);
  $('staff').replaceChildren(...(staff.length ? staff : [null]).map((person) => {
    if (!person) return el('li', { textContent: 'No staff advisors yet.' });
    const end = el('button', { type: 'button', className: 'danger', textContent: 'End account' });
    end.dataset.staff = person.id;
    end.addEventListener('click', async () => {
      if (!window.confirm(`End ${person.name}'s staff account? Their key stops taking calls at once.`)) return;
      try {
        await call(`/api/admin/staff/${encodeURIComponent(person.id)}`, { method: 'DELETE' });
        say(`${person.name} is no longer a staff advisor.`);
        await showStaff();
      } catch (err) {
        say(err.message, true);
      }
    });
    return el('li', {}, el('span', { textContent: person.name }), end);
  }));
}

async function makeStaff(name) {
  const made = await call('/api/staff', { method: 'POST', body: { name, store: state.store } });
  const key = $('staff-key');
  key.replaceChildren(`${made.name}'s staff key (shown only now; give it to them): `,
    el('code', { textContent: made.shopper_key }));
  key.hidden = false;
  await showStaff();
}

async function showStore() {
  try {
    await Promise.all([showStock(), showOrders(), showStaff()]);
  } catch (err) {
    say(err.message, true);
  }
}

async function refresh() {
  try {
    await Promise.all([showRooms(), showAnalytics(), showReports()]);
    say(`Updated ${new Date().toLocaleTimeString()}.`);
    $('console').hidden = false;
    $('store-label').hidden = false;
    state.ready = true;
  } catch (err) {
    if (err instanceof OwnerError) {
      sessionStorage.removeItem(KEY);
      state.key = null;
      $('console').hidden = true;
      clearInterval(state.timer);
    }
    say(err.message, true);
  }
}

async function open() {
  const { scenes } = await call('/api/scenes');
  const select = $('store');
  select.replaceChildren(...scenes.filter((s) => !s.error).map((s) => Object.assign(document.createElement('option'),
    { value: s.id, textContent: s.name })));
  state.store = new URLSearchParams(location.search).get('store') ?? select.value;
  select.value = state.store;
  await refresh();
  if (state.ready) await showStore();
  clearInterval(state.timer);
  if (state.key) state.timer = setInterval(refresh, REFRESH_MS);
}

$('key-form').addEventListener('submit', (e) => {
  e.preventDefault();
  state.key = $('owner-key').value.trim();
  sessionStorage.setItem(KEY, state.key);
  $('owner-key').value = '';
  open().catch((err) => say(err.message, true));
});
$('store').addEventListener('change', () => {
  state.store = $('store').value;
  $('staff-key').hidden = true;
  state.stockNotes = {};
  refresh().then(showStore);
});
$('reload-orders').addEventListener('click', () => showOrders().catch((err) => say(err.message, true)));
$('staff-form').addEventListener('submit', (e) => {
  e.preventDefault();
  const name = $('staff-name').value.trim();
  if (!name) return;
  makeStaff(name).then(() => { $('staff-name').value = ''; }).catch((err) => say(err.message, true));
});
$('since').addEventListener('change', () => refresh());
if (state.key) open().catch((err) => say(err.message, true));
