// Draws promotion items ({id, kind: title | text | button | field, label, row, ...}; promo_view.js) as HTML:
// titles, lines of text and buttons, items sharing a `row` side by side. Words wrap; nothing is cut.

const el = (tag, className, textContent) => {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (textContent !== undefined) node.textContent = textContent;
  return node;
};

function itemNode(item) {
  if (item.kind === 'title') return el('h2', 'title', item.label);
  if (item.kind === 'button') {
    const b = el('button', item.selected ? 'selected' : '', item.label);
    b.type = 'button';
    b.dataset.id = item.id;
    b.disabled = Boolean(item.disabled);
    if (item.selected) b.setAttribute('aria-pressed', 'true');
    return b;
  }
  const classes = ['text', item.muted && 'muted', item.strong && 'strong', item.tone].filter(Boolean).join(' ');
  const node = el('div', classes, item.label);
  node.dataset.id = item.id;
  return node;
}

/** The nodes for `items`, rows grouped in `div.row` (their `data-row` is the row name). */
export function itemNodes(items) {
  const out = [];
  let row = null;
  for (const item of items) {
    const node = itemNode(item);
    if (item.row !== undefined && item.kind !== 'title') {
      if (!row || row.dataset.row !== item.row) {
        row = el('div', `row row-${item.row.replace(/[:].*$/, '')}`);
        row.dataset.row = item.row;
        out.push(row);
      }
      row.append(node);
    } else {
      row = null;
      out.push(node);
    }
  }
  return out;
}

/** The same items with new words only (a countdown second): true when done in place, false when it needs a redraw. */
export function updateTexts(root, items) {
  const shown = [...root.querySelectorAll('[data-id]')].map((n) => n.dataset.id);
  if (shown.length !== items.length || shown.some((id, i) => id !== items[i].id)) return false;
  const nodes = root.querySelectorAll('[data-id]');
  items.forEach((item, i) => {
    const node = nodes[i];
    if (node.textContent !== item.label) node.textContent = item.label;
    if (node.tagName === 'BUTTON') node.disabled = Boolean(item.disabled);
  });
  return true;
}
