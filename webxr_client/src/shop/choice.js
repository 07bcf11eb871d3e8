// Pure: which variant (SKU) a shopper's colour and size choice names, and its live stock. The catalog's
// variants are every combination of the options (`options.color`, `options.size`, ...); a variant's id is
// the SKU's second half (`<product id>/<variant id>`), the key the room's `stock` message uses.

/** The product's option axes: {colours: [name], sizes: [label]} (empty when it has none). */
export function optionAxes(raw) {
  const colours = Array.isArray(raw?.options?.color) ? raw.options.color.map((c) => String(c?.name ?? c)) : [];
  const sizes = Array.isArray(raw?.options?.size) ? raw.options.size.map(String) : [];
  return { colours, sizes };
}

function rawVariants(raw) {
  return Array.isArray(raw?.variants) ? raw.variants.filter((v) => v && typeof v === 'object' && v.id) : [];
}

/**
 * The variant a choice names, or null while it is incomplete (a size still to choose). `colour` may also
 * be a variant id (products whose choices are the variants themselves).
 */
export function pickVariant(raw, { colour = null, size = null } = {}) {
  const variants = rawVariants(raw);
  if (variants.length === 1) return variants[0];
  const { colours, sizes } = optionAxes(raw);
  const direct = variants.find((v) => v.id === colour);
  if (direct && !sizes.length) return direct;
  if ((colours.length && !colour) || (sizes.length && !size)) return null;
  return variants.find((v) => (!colours.length || v.options?.color === colour)
    && (!sizes.length || v.options?.size === size)) ?? null;
}

export const skuOf = (productId, variantId) => `${productId}/${variantId}`;

/** Live units of one variant: the room's latest level when it sent one, else the catalog's. */
export function variantStock(productId, variant, levels = {}) {
  if (!variant) return null;
  const live = levels[skuOf(productId, variant.id)];
  if (Number.isFinite(live)) return live;
  return Number.isFinite(variant.stock) ? variant.stock : null;
}

/** Units left of the variants matching a partial choice (a colour of every size, ...), null if unknown. */
export function choiceStock(raw, productId, { colour = null, size = null } = {}, levels = {}) {
  const matching = rawVariants(raw).filter((v) => (!colour || v.options?.color === colour || v.id === colour)
    && (!size || v.options?.size === size));
  const counts = matching.map((v) => variantStock(productId, v, levels)).filter(Number.isFinite);
  return counts.length ? counts.reduce((a, b) => a + b, 0) : null;
}

/**
 * The size to preselect: the try-on's recommendation when the product sells that size (the chart may
 * spell it "2XL" where the product says "XXL"), else null (the shopper chooses).
 */
export function preselectSize(sizes, recommended) {
  if (!recommended || !sizes.length) return null;
  const norm = (s) => String(s).toUpperCase().replace(/^2XL$/, 'XXL').replace(/^3XL$/, 'XXXL');
  return sizes.find((s) => norm(s) === norm(recommended)) ?? null;
}

/** Applies a room `stock` message to the levels map; returns the product ids whose stock changed. */
export function applyStockLevels(levels, message) {
  const changed = new Set();
  for (const [sku, n] of Object.entries(message ?? {})) {
    if (!Number.isFinite(n) || typeof sku !== 'string' || !sku.includes('/')) continue;
    if (levels[sku] !== n) changed.add(sku.slice(0, sku.indexOf('/')));
    levels[sku] = Math.max(0, n);
  }
  return changed;
}
