// Simplified mode: a plain 2D product list with large buttons beside (or instead of) the 3D view, for
// shoppers who find 3D hard. The same actions as in 3D: see price, stock and origin, choose a colour,
// and "Show me" walks the avatar to the product.
import { formatPrice, formatStock } from './format.js';
import { provenanceLines } from './products.js';

/** Pure: the products matching every word of `query` (name, category, description) and the category. */
export function filterProducts(products, query = '', category = '') {
  const words = String(query).toLowerCase().split(/\s+/).filter(Boolean);
  return products.filter((p) => {
    if (category && p.category !== category) return false;
    const text = `${p.name} ${p.category} ${p.description ?? ''}`.toLowerCase();
    return words.every((w) => text.includes(w));
  });
}

export class SimplifiedView {
  constructor({ section, list, toggle, back = null, onShow, onVariant, onToggle, onTryOn }) {
    this.section = section;
    this.back = back; // "Back to the list": shown while the list has stepped aside for the 3D view
    this.list = list;
    this.toggle = toggle;
    this.onShow = onShow;
    this.onVariant = onVariant;
    this.onToggle = onToggle;
    this.onTryOn = onTryOn;
    this.enabled = false;
    this.products = [];
    // Search and category filter (optional elements: the page has them, tests may not).
    this.search = document.getElementById('product-search');
    this.category = document.getElementById('product-category');
    this.count = document.getElementById('product-count');
    this.search?.addEventListener('input', () => this.render());
    this.category?.addEventListener('change', () => this.render());
    toggle.addEventListener('click', () => this.set(!this.enabled));
    back?.addEventListener('click', () => this.unpeek());
    window.addEventListener('resize', () => this.fit());
  }

  /** The list starts below the top bar, whose buttons wrap to three or four rows on a phone in large text: a
   *  fixed offset hid Friends, Bag and "Full 3D mode" under the list. */
  fit() {
    if (this.section.hidden) return;
    const bar = document.getElementById('buttons')?.getBoundingClientRect();
    this.section.style.top = `${Math.round((bar?.bottom ?? 50) + 8)}px`;
  }

  /** The list steps aside so "Show me" and "Try on" happen in view; "Back to the list" brings it back. */
  peek() {
    if (!this.enabled) return;
    this.section.hidden = true;
    if (this.back) this.back.hidden = false;
  }

  unpeek() {
    if (this.back) this.back.hidden = true;
    if (this.enabled) this.section.hidden = false;
    this.fit();
  }

  set(enabled) {
    this.enabled = enabled;
    this.section.hidden = !enabled;
    if (this.back) this.back.hidden = true;
    this.toggle.setAttribute('aria-pressed', String(enabled));
    this.toggle.textContent = enabled ? 'Full 3D mode' : 'Simplified mode';
    document.body.classList.toggle('simplified', enabled);
    if (enabled) {
      this.render();
      this.fit();
      requestAnimationFrame(() => this.fit()); // once the larger simplified font has laid the bar out
    }
    this.onToggle?.(enabled);
  }

  setProducts(products) {
    this.products = products;
    if (this.category) {
      const categories = [...new Set(products.map((p) => p.category).filter(Boolean))].sort();
      this.category.replaceChildren(new Option('All categories', ''),
        ...categories.map((c) => new Option(c[0].toUpperCase() + c.slice(1), c)));
    }
    if (this.enabled) this.render();
  }

  render() {
    this.list.replaceChildren();
    if (this.products.length === 0) {
      const li = document.createElement('li');
      li.textContent = 'No products to show: the catalog is not available right now.';
      this.list.append(li);
      return;
    }
    const shown = filterProducts(this.products, this.search?.value ?? '', this.category?.value ?? '');
    if (this.count) {
      this.count.textContent = shown.length === this.products.length ? `${shown.length} products`
        : `${shown.length} of ${this.products.length} products`;
    }
    for (const p of shown) {
      const li = document.createElement('li');
      li.dataset.productId = p.id;
      li.append(
        el('div', 'name', p.name),
        el('div', 'price', p.priceMinor === null ? 'price unavailable' : formatPrice(p.priceMinor, p.currency)),
        el('div', 'stock', formatStock(p.stock)),
        ...provenanceLines(p.provenance, 2).map((line) => el('div', 'prov', line)),
      );
      const actions = el('div', 'actions');
      const show = el('button', '', 'Show me');
      show.addEventListener('click', () => this.onShow?.(p.id));
      actions.append(show);
      if (p.sizeChart && this.onTryOn) {
        const tryOn = el('button', '', 'Try on');
        tryOn.addEventListener('click', () => this.onTryOn(p.id));
        actions.append(tryOn);
      }
      for (const v of p.choices.slice(0, 4)) {
        const b = el('button', '', v.name);
        b.addEventListener('click', () => this.onVariant?.(p.id, v.id));
        actions.append(b);
      }
      li.append(actions);
      this.list.append(li);
    }
  }
}

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}
