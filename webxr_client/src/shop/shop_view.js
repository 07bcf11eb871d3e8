// Pure: what the bag, checkout, receipt, orders and wardrobe panels say and offer, as a list of items
// ({id, kind: title | text | button | hold | field, label, row, selected, disabled}) that the HTML overlay
// (screens) and the in-scene panel (headset) both draw. Money is integer minor units + currency.
import { formatPrice } from '../format.js';
import { addedBy, partLines } from '../social/social_state.js';
import { bagCouponItems, discountItems } from '../promotions/promo_view.js';

export const PAYMENT_METHODS = [
  ['test_approve', 'Test card: approve'],
  ['test_decline', 'Test card: decline'],
  ['test_insufficient_funds', 'Test card: no funds'],
  ['test_approve_after_retry', 'Test card: approve on retry'],
  ['test_timeout', 'Test card: never answers'],
];
export const PICKUP_STORES = [['boutique', 'Boutique'], ['space-market', 'Space Market'], ['fairy-beauty', 'Fairy Beauty']];
export const ADDRESS_FIELDS = [['name', 'Name'], ['line1', 'Street and number'], ['line2', 'Address line 2 (optional)'],
  ['city', 'City'], ['postal_code', 'Postal code'], ['country', 'Country (2 letters, e.g. DE)']];

const REASONS = {
  card_declined: 'Your card was declined.',
  insufficient_funds: 'The card has insufficient funds.',
  payment_timeout: 'The payment did not go through in time; nothing was charged.',
  authentication_failed: 'The payment could not be confirmed.',
  confirmation_timeout: 'The time to confirm ran out; the items are back on the shelf.',
};

export function reasonText(reason) {
  if (!reason) return 'The payment did not go through.';
  if (reason.startsWith('out_of_stock')) return 'Something in your bag sold out before checkout.';
  return REASONS[reason] ?? `The payment did not go through (${reason.replaceAll('_', ' ')}).`;
}

export const money = (minor, currency) => formatPrice(minor, currency || 'EUR');

/** Whole seconds left until `deadline` (epoch seconds), never negative. */
export function secondsLeft(deadline, nowMs) {
  return Math.max(0, Math.floor(deadline - nowMs / 1000));
}

export function countdownText(seconds) {
  const m = Math.floor(seconds / 60);
  const s = String(seconds % 60).padStart(2, '0');
  return seconds > 0 ? `Time to confirm: ${m}:${s}` : 'Time is up: this checkout has expired.';
}

/** Where the goods go, in words. */
export function deliveryText(d) {
  if (d?.type === 'pickup') return `Pick up at ${PICKUP_STORES.find(([id]) => id === d.store)?.[1] ?? d.store}`;
  const a = d?.address ?? {};
  return `Deliver to ${[a.name, a.line1, a.line2, `${a.postal_code ?? ''} ${a.city ?? ''}`.trim(), a.country]
    .filter(Boolean).join(', ')}`;
}

const needsDelivery = (lines) => lines.some((li) => li.kind === 'physical' || li.kind === 'bundle');

const text = (id, label, extra = {}) => ({ id, kind: 'text', label, ...extra });
const button = (id, label, row, extra = {}) => ({ id, kind: 'button', label, row, ...extra });

function lineText(li, currency, options = {}) {
  const opt = li.option ?? options[`${li.product_id}/${li.variant_id}`];
  const option = opt ? ` (${opt})` : '';
  return `${li.quantity} × ${li.name}${option}: ${money(li.total_minor, currency)}`;
}

/** The panel's items for the shop state (see ShopPanel in shop_panel.js). */
export function shopItems(state, nowMs = Date.now()) {
  const msg = state.message ? [text('message', state.message, { tone: state.tone ?? 'info' })] : [];
  const bag = state.bag ?? { lines: [], currency: null, total_minor: 0 };
  switch (state.view) {
    case 'setup': {
      const ours = state.which === 'ours';
      const part = state.part ?? 'all';
      const taken = ours ? partLines(bag, part, state.you) : { lines: bag.lines, total: bag.total_minor };
      const items = [{ id: 'title', kind: 'title', label: ours ? 'Checkout of our bag' : 'Checkout' }];
      if (ours) {
        items.push(text('part-label', 'Who pays?'),
          button('part:all', 'Pay for everything', 'part', { selected: part === 'all' }),
          button('part:mine', 'Pay my part', 'part', { selected: part === 'mine' }),
          text('part-note', part === 'all' ? 'You pay for every item in the bag; it goes in your orders.'
            : `Only what you added: ${taken.lines.length} ${taken.lines.length === 1 ? 'item' : 'items'}.`, { muted: true }));
      }
      items.push(text('total', `Goods: ${money(taken.total, bag.currency)}`));
      if (needsDelivery(taken.lines)) {
        const d = state.delivery;
        items.push(text('delivery-label', 'Delivery'),
          button('delivery:pickup', 'Pick up in a store', 'delivery', { selected: d.type === 'pickup' }),
          button('delivery:address', 'Deliver to an address', 'delivery', { selected: d.type === 'address' }));
        if (d.type === 'pickup') {
          items.push(...PICKUP_STORES.map(([id, name]) => button(`store:${id}`, name, 'stores', { selected: d.store === id })));
        } else {
          items.push(text('shipping-note', 'Free delivery from 50.00; 4.90 below.', { muted: true }),
            ...ADDRESS_FIELDS.map(([id, label]) => ({ id: `field:${id}`, kind: 'field', label, value: d.address[id] ?? '' })));
        }
      }
      items.push({ id: 'field:coupon', kind: 'field', label: 'Coupon code (optional)', value: state.coupon ?? '' });
      items.push(text('method-label', 'Payment'),
        ...PAYMENT_METHODS.map(([id, label]) => button(`method:${id}`, label, 'methods', { selected: state.method === id })),
        ...msg,
        button('open-checkout', state.busy ? 'Working…' : 'Continue to pay', 'actions',
          { disabled: state.busy || !taken.lines.length }),
        button('back', 'Back to the bag', 'actions'));
      return items;
    }
    case 'checkout': {
      const c = state.checkout;
      const left = secondsLeft(c.deadline, nowMs);
      const delivery = c.delivery ? deliveryText(c.delivery) : 'Digital delivery';
      return [{ id: 'title', kind: 'title', label: 'Confirm and pay' },
        ...c.lines.map((li, i) => text(`line${i}`, lineText(li, c.currency, state.options))),
        ...(c.shipping_minor ? [text('shipping', `Delivery: ${money(c.shipping_minor, c.currency)}`)] : []),
        ...discountItems(c),
        text('total', `Total: ${money(c.total_minor, c.currency)}`, { strong: true }),
        text('delivery', delivery, { muted: true }),
        text('method', PAYMENT_METHODS.find(([id]) => id === c.payment_method)?.[1] ?? c.payment_method, { muted: true }),
        text('timer', countdownText(left)),
        ...msg,
        { id: 'hold', kind: 'hold', label: state.paying ? 'Paying…' : 'Hold to pay',
          disabled: left <= 0 || Boolean(state.paying), progress: state.progress ?? 0, row: 'actions' },
        button('cancel-checkout', 'Cancel', 'actions', { disabled: Boolean(state.paying) })];
    }
    case 'receipt': {
      const o = state.order;
      const items = [{ id: 'title', kind: 'title', label: 'Thank you! Order placed' },
        text('order-id', `Order ${o.id}`),
        ...o.lines.map((li, i) => text(`line${i}`, lineText(li, o.currency, state.options))),
        ...(o.shipping_minor ? [text('shipping', `Delivery: ${money(o.shipping_minor, o.currency)}`)] : []),
        ...discountItems(o),
        text('total', `Paid: ${money(o.total_minor, o.currency)}`, { strong: true })];
      if (o.delivery) items.push(text('delivery', deliveryText(o.delivery), { muted: true }));
      if (o.lines.some((li) => li.kind !== 'physical')) items.push(text('wardrobe-note', 'Digital items are in your wardrobe now.', { muted: true }));
      items.push(button('orders', 'My orders', 'actions'), button('back', 'Back to the bag', 'actions'),
        button('close', 'Close', 'actions'));
      return items;
    }
    case 'failed':
      return [{ id: 'title', kind: 'title', label: 'Not paid' }, text('reason', reasonText(state.reason), { tone: 'error' }),
        text('reason-note', 'Nothing was charged; the items are back in stock.', { muted: true }),
        button('back', 'Back to the bag', 'actions'), button('close', 'Close', 'actions')];
    case 'orders': {
      const orders = state.orders ?? [];
      const none = state.orders === null ? 'Loading your orders' : 'No orders yet.';
      return [{ id: 'title', kind: 'title', label: 'My orders' },
        ...(orders.length ? [] : [text('none', none, { muted: state.orders === null })]),
        ...orders.slice(-8).reverse().map((o, i) => text(`order${i}`,
          `${o.id}: ${o.lines.map((li) => `${li.quantity} × ${li.name}`).join(', ')}, ${money(o.total_minor, o.currency)}${o.team ? ' (team buy)' : ''}${o.state === 'refunded' ? ' (refunded)' : ''}`)),
        button('back', 'Back to the bag', 'actions'), button('close', 'Close', 'actions')];
    }
    case 'wardrobe': {
      const items = state.wardrobe ?? [];
      const none = state.wardrobe === null ? 'Loading your wardrobe' : 'No digital items yet. Digital clothes you buy appear here.';
      return [{ id: 'title', kind: 'title', label: 'My wardrobe' },
        ...(items.length ? [] : [text('none', none, { muted: state.wardrobe === null })]),
        ...items.map((it, i) => text(`item${i}`, `${state.names?.[it.product_id] ?? it.product_id} (${it.variant_id})`)),
        button('back', 'Back to the bag', 'actions'), button('close', 'Close', 'actions')];
    }
    default: { // the bag
      const ours = state.which === 'ours';
      const items = [{ id: 'title', kind: 'title', label: ours ? 'Our bag' : 'Your bag' }];
      if (state.sharedAvailable) {
        items.push(button('which:mine', 'My bag', 'which', { selected: !ours }),
          button('which:ours', 'Our bag', 'which', { selected: ours }));
      }
      if (!bag.lines.length) items.push(text('empty', ours ? 'Our bag is empty: add things from a product card.' : 'Your bag is empty.'));
      bag.lines.forEach((li) => {
        const short = li.available < li.quantity ? ` · only ${li.available} left` : '';
        const who = ours ? ` · ${addedBy(li, state.you)}` : '';
        items.push(text(`line:${li.line_id}`, `${li.name}${li.option ? ` · ${li.option}` : ''} · ${money(li.unit_minor, bag.currency)}${short}${who}`),
          button(`qty-:${li.line_id}`, '−', `line-${li.line_id}`, { label2: 'fewer', disabled: state.busy }),
          text(`qty:${li.line_id}`, String(li.quantity), { row: `line-${li.line_id}`, center: true }),
          button(`qty+:${li.line_id}`, '+', `line-${li.line_id}`, { disabled: state.busy || li.quantity >= li.available }),
          button(`remove:${li.line_id}`, 'Remove', `line-${li.line_id}`, { disabled: state.busy }));
      });
      if (bag.lines.length) items.push(text('total', `Total: ${money(bag.total_minor, bag.currency)}`, { strong: true }));
      if (!ours) items.push(...bagCouponItems(state.coupons, state.coupon, state.names), ...forYouItems(state.forYou, bag, state.trail));
      items.push(...msg,
        button('checkout', 'Checkout', 'actions', { disabled: !bag.lines.length || state.busy }),
        button('orders', 'My orders', 'more'), button('wardrobe', 'Wardrobe', 'more'), button('close', 'Close', 'more'));
      return items;
    }
  }
}

/** "For you" (or "Popular here"): a few products with "Show me"; nothing already in the bag. `trail` (GET
 *  /api/me/trail, or null while unknown) adds the shopper's choice to let their in-store trail count. */
export function forYouItems(forYou, bag, trail = null) {
  const inBag = new Set((bag?.lines ?? []).map((li) => li.product_id));
  const products = (forYou?.products ?? []).filter((p) => !inBag.has(p.id));
  if (!products.length) return [];
  const title = forYou.basis === 'your choices' ? 'For you' : 'Popular here';
  const consent = !trail ? [] : (trail.consent
    ? [text('trail', `Picked with what you looked at and picked up here (kept ${trail.kept_days ?? 30} days).`,
      { muted: true, row: 'trail' }), button('trail:off', 'Stop and erase', 'trail')]
    : [text('trail', 'Better picks from what you look at and pick up in this store? Kept 30 days, erased when you stop.',
      { muted: true, row: 'trail' }), button('trail:on', 'Yes, use it', 'trail')]);
  return [text('for-you', title, { strong: true }), ...products.flatMap((p) => [
    text(`fy:${p.id}`, `${p.name} · ${money(p.price_minor, p.currency)}`, { row: `fy-${p.id}` }),
    button(`see:${p.id}`, 'Show me', `fy-${p.id}`)]), ...consent];
}
