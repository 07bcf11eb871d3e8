// The product card on a screen (desktop, phone): an HTML overlay next to the product, so its words are
// crisp, wrap instead of being cut, can be selected and read by screen readers, and no shelf or product
// can hide it. In a headset the same content is drawn on an in-scene panel instead (products.js).
import { cardPlacement, NARROW_PX } from './card_layout.js';
import { itemNodes, updateTexts } from '../promotions/promo_html.js';

export class ProductCard {
  /** @param {HTMLElement} root the card element; onPress(id) gets the button ids of cardContent(). */
  constructor(root, onPress) {
    this.root = root;
    this.onPress = onPress;
    this.placement = null;
    root.addEventListener('click', (event) => {
      const button = event.target.closest('button[data-id]');
      if (button && !button.disabled) this.onPress(button.dataset.id);
    });
    // Pointer and wheel events stay on the card: the 3D view behind must not turn or zoom.
    for (const type of ['pointerdown', 'wheel', 'dblclick']) root.addEventListener(type, (e) => e.stopPropagation());
    // New content changes the card's height, and a bottom sheet's top with it: place it again at once, not
    // at the next frame (a slow phone draws a frame every few hundred ms; the card would sit off its place
    // and a tap meant for one button would land on another).
    this.resizes = typeof ResizeObserver === 'function' ? new ResizeObserver(() => this.replace()) : null;
    this.resizes?.observe(root);
  }

  replace() {
    if (this.lastPlace && !this.root.hidden) this.place(...this.lastPlace);
  }

  get visible() {
    return !this.root.hidden;
  }

  /** @param {ReturnType<import('../products.js').cardContent>} content */
  show(content) {
    this.content = content;
    const node = (tag, className, text) => {
      const el = document.createElement(tag);
      if (className) el.className = className;
      if (text !== undefined) el.textContent = text;
      return el;
    };
    const buttons = (className, list) => {
      const row = node('div', className);
      for (const b of list) {
        const button = node('button', b.selected ? 'selected' : '', b.label);
        button.dataset.id = b.id;
        button.type = 'button';
        if (b.selected) button.setAttribute('aria-pressed', 'true');
        if (b.disabled) button.disabled = true;
        row.append(button);
      }
      return row;
    };
    const facts = node('ul', 'facts');
    for (const line of content.facts) facts.append(node('li', '', line));
    const head = node('div', 'head');
    head.append(node('h2', 'title', content.title), node('div', 'price', content.price));
    this.root.replaceChildren(
      head,
      node('div', 'stock', content.stock),
      ...(content.promo?.length ? [this.promoSection(content.promo)] : []),
      ...(content.description ? [node('p', 'description', content.description)] : []),
      ...(content.facts.length ? [facts] : []),
      ...(content.choices.length ? [buttons('choices', content.choices)] : []),
      ...(content.sizes?.length ? [buttons('choices sizes', content.sizes)] : []),
      ...(content.note ? [node('div', 'note', content.note)] : []),
      buttons('actions', content.actions),
    );
    this.root.setAttribute('aria-label', content.title);
    this.root.hidden = false;
  }

  /** Promotions (team price, open teams): a section of its own, so a countdown second redraws only its words. */
  promoSection(items) {
    const section = Object.assign(document.createElement('section'), { className: 'promo' });
    section.setAttribute('aria-label', 'Team buy');
    section.replaceChildren(...itemNodes(items));
    return section;
  }

  updatePromo(items) {
    const section = this.root.querySelector('section.promo');
    if (!section || !items.length) {
      if ((section || items.length) && this.content) this.show(this.content);
      return;
    }
    if (!updateTexts(section, items)) section.replaceChildren(...itemNodes(items));
  }

  hide() {
    this.root.hidden = true;
    this.placement = null;
    this.lastPlace = null;
  }

  /** Moves the card next to `anchor` (the product's screen rectangle, or null when it is out of view). */
  place(anchor, view) {
    if (this.root.hidden) return;
    this.lastPlace = [anchor, view];
    // Width and mode (its max-height) first, so the size measured is the size placed.
    const narrow = view.w < NARROW_PX;
    this.root.style.width = narrow ? `${view.w - 16}px` : '';
    this.root.dataset.mode = narrow ? 'sheet' : 'beside';
    // No taller than the band between the top bar and the help line (the top bar wraps to two rows on a
    // laptop-sized window); what does not fit scrolls inside, the buttons staying in reach.
    const band = Math.max(160, view.h - view.top - view.bottom - 16);
    this.root.style.maxHeight = `${Math.round(narrow ? Math.min(band, view.h * 0.45) : band)}px`;
    const rect = this.root.getBoundingClientRect();
    const p = cardPlacement(anchor, { w: rect.width, h: rect.height }, view, this.placement?.mode ?? null);
    this.placement = p;
    Object.assign(this.root.style, { left: `${Math.round(p.left)}px`, top: `${Math.round(p.top)}px` });
  }
}
