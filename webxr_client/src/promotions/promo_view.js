// Pure: what the promotions (docs/PROMOTIONS.md) say on the product card, at checkout, in the Hunt and the
// "Invite & earn" panels, as items of the same shape the shop panels use ({id, kind: title | text | button,
// label, row, muted, strong, tone, disabled}) so the HTML overlays (screens) and in-scene panels (headset)
// draw the same thing. Money is integer minor units + currency.
import { formatPrice } from '../format.js';

const money = (minor, currency) => formatPrice(minor, currency || 'EUR');
const text = (id, label, extra = {}) => ({ id, kind: 'text', label, ...extra });
const button = (id, label, row, extra = {}) => ({ id, kind: 'button', label, row, ...extra });

/** "23:59:10 left", "4:05 left", "Time is up". */
export function timeLeftText(deadline, nowMs) {
  const s = Math.max(0, Math.floor(deadline - nowMs / 1000));
  if (s <= 0) return 'time is up';
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = String(s % 60).padStart(2, '0');
  return h ? `${h}:${String(m).padStart(2, '0')}:${sec} left` : `${m}:${sec} left`;
}

const places = (n) => `${n} ${n === 1 ? 'place' : 'places'} left`;

/** One team in a line: "Ana's team · 1 of 2 joined · 1 place left · 23:59:10 left". */
export function teamLine(team, nowMs) {
  const who = team.members?.[0] ? `${team.members[0]}’s team` : 'A team';
  return `${who} · ${team.joined} of ${team.size} joined · ${places(team.places_left)} · ${timeLeftText(team.deadline, nowMs)}`;
}

/** Words for the promotions' refusals (problem `code`); the server's `detail` when it has none of ours. */
const TEAM_WORDS = {
  team_full: 'That team just filled up; start a new one or join another.',
  team_closed: 'That team is no longer open.',
  team_expired: 'That team’s time ran out.',
  already_in_team: 'You are already in that team.',
  not_in_team: 'You are not in that team.',
  out_of_stock: 'Sold out: no unit left to reserve for a team.',
};
export function problemText(err) {
  if (!err) return '';
  if (String(err.code ?? '').startsWith('coupon_')) return `Coupon: ${err.message}`;
  return TEAM_WORDS[err.code] ?? err.message ?? String(err);
}

/**
 * The product card's team section. `offer` {size, price_minor, window_s} or null (no section); `teams`: open
 * team views of this product; `mine`: {team id: team view with `you`} of teams we are in; `paid`: {team id:
 * minor units we paid}; `regular` {minor, currency}; `note`: the last action's words.
 */
export function teamItems({ offer, teams = [], mine = {}, paid = {}, regular = null, nowMs = Date.now(), note = '',
  busy = false, canStart = true } = {}) {
  if (!offer) return [];
  const currency = regular?.currency ?? teams[0]?.currency ?? 'EUR';
  const items = [text('team-offer', `Team price ${money(offer.price_minor, currency)} for ${offer.size} buyers`, { strong: true })];
  const regularWords = regular?.minor ? `, instead of ${money(regular.minor, currency)}` : '';
  const hours = Math.round((offer.window_s ?? 0) / 3600);
  const windowWords = hours >= 1 ? `${hours} hours` : `${Math.round((offer.window_s ?? 0) / 60)} minutes`;
  items.push(text('team-how', `Each pays the team price${regularWords}, once ${offer.size} people join within ${windowWords}. `
    + 'Nobody is charged if the team does not fill.', { muted: true }));
  const ours = Object.values(mine).filter((t) => t.product_id === teams[0]?.product_id || t.product_id === offer.product);
  const done = ours.filter((t) => t.state === 'completed' || t.state === 'completing');
  for (const t of done) {
    const status = t.you?.status;
    if (t.state === 'completing' || status === 'in') items.push(text(`team-done:${t.id}`, 'Team full: charging everyone the team price…'));
    else if (status === 'charged') {
      items.push(text(`team-done:${t.id}`, `Team complete, you paid ${money(paid[t.id] ?? t.team_price_minor, t.currency)}`,
        { strong: true, tone: 'ok' }), button('team-orders', 'My orders', 'team-done'));
    } else if (status === 'declined') {
      items.push(text(`team-done:${t.id}`, 'The team filled but your card was declined: you were not charged.', { tone: 'error' }));
    }
  }
  for (const t of ours.filter((x) => x.state === 'expired')) {
    items.push(text(`team-expired:${t.id}`, 'Your team did not fill in time: nobody was charged.', { muted: true }));
  }
  const inOpen = ours.find((t) => t.state === 'open');
  if (inOpen) {
    items.push(text(`team-line:${inOpen.id}`, `You are in: ${teamLine(inOpen, nowMs)}`),
      button(`team-copy:${inOpen.id}`, 'Copy team link', 'team-mine', { disabled: busy }),
      button(`team-leave:${inOpen.id}`, 'Leave', 'team-mine', { disabled: busy }));
  }
  const others = teams.filter((t) => t.state === 'open' && t.id !== inOpen?.id && !mine[t.id]).slice(0, 3);
  if (others.length) items.push(text('team-open', 'Open teams:', { muted: true }));
  for (const t of others) {
    items.push(text(`team-line:${t.id}`, teamLine(t, nowMs), { row: `team-${t.id}` }),
      button(`team-join:${t.id}`, 'Join', `team-${t.id}`, { disabled: busy || Boolean(inOpen) || t.places_left <= 0 }));
  }
  if (!inOpen) {
    items.push(button('team-start', busy ? 'Working…' : 'Start a team', 'team-start', { disabled: busy || !canStart }));
  }
  if (note) items.push(text('team-note', note, { tone: note.startsWith('Coupon') || /not|no longer|ran out|full|declined|could/i.test(note) ? 'error' : 'info' }));
  return items;
}

/** A coupon in words: "5.00 off" / "10% off", with its minimum spend and the products it is for. */
export function couponText(c, names = {}) {
  const off = c.percent ? `${c.percent}% off` : `${money(c.amount_minor, c.currency)} off`;
  const min = c.min_spend_minor ? ` orders from ${money(c.min_spend_minor, c.currency)}` : '';
  const products = c.products?.length ? ` on ${c.products.map((p) => names[p] ?? p).join(', ')}` : '';
  const days = Number.isFinite(c.expires_at) ? ` · until ${new Date(c.expires_at * 1000).toISOString().slice(0, 10)}` : '';
  return `${c.code}: ${off}${products}${min ? ` ·${min}` : ''}${days}`;
}

/** "Your coupons" in the bag: each usable one with a one-tap Apply (or "Applied" and Remove). */
export function bagCouponItems(coupons = [], applied = null, names = {}) {
  const usable = coupons.filter((c) => c.usable);
  if (!usable.length && !applied) return [];
  const items = [text('coupons-title', 'Your coupons', { muted: true })];
  for (const c of usable.slice(0, 5)) {
    const on = applied === c.code;
    items.push(text(`coupon:${c.code}`, couponText(c, names), { row: `coupon-${c.code}` }),
      button(on ? 'coupon-clear' : `coupon-apply:${c.code}`, on ? 'Applied ✓ (remove)' : 'Apply', `coupon-${c.code}`,
        { selected: on }));
  }
  if (applied && !usable.some((c) => c.code === applied)) {
    items.push(text('coupon-applied', `Coupon ${applied} will be used at checkout.`),
      button('coupon-clear', 'Remove coupon', 'coupon-applied'));
  }
  return items;
}

/** The checkout's totals: goods, the coupon's discount, delivery (all from the server's checkout view). */
export function discountItems(view) {
  if (!view?.discount_minor) return [];
  return [text('discount', `Coupon ${view.coupon ?? ''}: −${money(view.discount_minor, view.currency)}`.replace('  ', ' '),
    { tone: 'ok' })];
}

/** The Hunt panel: each hunt's name, "2 of 3 found", the hints (found ones ticked), the coupon once complete. */
export function huntItems(hunts, { message = '', storeName = '' } = {}) {
  const items = [{ id: 'title', kind: 'title', label: 'Treasure hunt' }];
  if (!hunts) return [...items, text('loading', 'Loading the hunt…', { muted: true }), button('close', 'Close', 'actions')];
  if (!hunts.length) {
    items.push(text('none', `No treasure hunt in ${storeName || 'this store'} right now.`, { muted: true }));
  }
  for (const h of hunts) {
    const reward = h.reward ? `${money(h.reward.amount_minor, h.reward.currency)} coupon` : 'a coupon';
    const min = h.reward?.min_spend_minor ? ` (orders from ${money(h.reward.min_spend_minor, h.reward.currency)})` : '';
    items.push(text(`hunt:${h.id}`, h.name, { strong: true }),
      text(`progress:${h.id}`, `${h.found} of ${h.total} found`),
      text(`reward:${h.id}`, h.found >= h.total ? 'All found!' : `Find them all to win a ${reward}${min}. Walk up to each hidden thing.`,
        { muted: true }));
    h.items.forEach((it, i) => {
      items.push(text(`hint:${h.id}:${it.id}`, `${it.found ? '✓' : `${i + 1}.`} ${it.hint}${it.found && it.name ? ` (found: ${it.name})` : ''}`,
        { muted: it.found }));
    });
    if (h.coupon?.code) {
      items.push(text(`code:${h.id}`, `Your coupon: ${h.coupon.code} (${couponText(h.coupon).split(': ')[1]})`,
        { strong: true, tone: 'ok' }));
    }
  }
  if (message) items.push(text('message', message));
  items.push(button('close', 'Close', 'actions'));
  return items;
}

/** "Invite & earn": the link, the terms in full, how many came, the rewards and the balance. */
export function referralItems(summary, { origin = '', message = '' } = {}) {
  const items = [{ id: 'title', kind: 'title', label: 'Invite & earn' }];
  if (!summary) return [...items, text('loading', 'Loading…', { muted: true }), button('close', 'Close', 'actions')];
  const link = `${origin}${summary.link}`;
  const currency = summary.rewards?.[0]?.currency ?? 'EUR';
  items.push(text('link', `Your link: ${link}`),
    button('copy-link', 'Copy link', 'link'),
    text('terms-title', 'The terms', { muted: true }),
    text('terms', summary.terms),
    text('invited', `Friends who came with your link: ${summary.invited}`));
  const rewards = summary.rewards ?? [];
  if (!rewards.length) items.push(text('rewards', 'No rewards yet.', { muted: true }));
  rewards.slice(-6).forEach((r, i) => {
    const what = { referral_direct: 'a friend you invited bought', referral_second: 'a friend of a friend bought',
      clawback: `taken back: that first order was refunded (${r.how ?? 'coupon revoked'})` }[r.kind] ?? (r.kind ?? 'reward');
    items.push(text(`reward${i}`, `${money(r.amount_minor, r.currency ?? currency)} · ${what}${r.coupon && r.kind !== 'clawback' ? ` · coupon ${r.coupon}` : ''}`));
  });
  items.push(text('balance', `Balance: ${money(summary.balance_minor ?? 0, currency)}`, { strong: true }));
  if (message) items.push(text('message', message));
  items.push(button('close', 'Close', 'actions'));
  return items;
}
