// Price tags: a small label over each product on its shelf (like a shelf-edge tag, but where the eye already
// is), facing the shopper from any side. Drawn once per product on a canvas; not clickable (the product is).
import * as THREE from 'three';
import { formatPrice } from './format.js';

const TAG_PX = [192, 64];
const TAG_M = [0.15, 0.05];

export class PriceTags {
  constructor(parent) {
    this.group = new THREE.Group();
    this.group.name = 'price-tags';
    parent.add(this.group);
    this.tags = new Map(); // product id -> sprite
  }

  /** Puts (or moves) the tag of `item` just above its product as it stands on the shelf. */
  place(item) {
    const { product, object } = item;
    if (product.priceMinor === null) return;
    let tag = this.tags.get(product.id);
    if (!tag) {
      tag = makeTag(formatPrice(product.priceMinor, product.currency));
      tag.name = `price:${product.id}`;
      this.tags.set(product.id, tag);
      this.group.add(tag);
    }
    const box = new THREE.Box3().setFromObject(object);
    if (box.isEmpty()) return;
    const centre = box.getCenter(new THREE.Vector3());
    tag.position.set(centre.x, box.max.y + TAG_M[1] / 2 + 0.03, centre.z);
  }

  /** The tag stays on the shelf while its product is in someone's hand. */
  setVisible(id, visible) {
    const tag = this.tags.get(id);
    if (tag) tag.visible = visible;
  }
}

function makeTag(text) {
  const canvas = document.createElement('canvas');
  [canvas.width, canvas.height] = TAG_PX;
  const ctx = canvas.getContext('2d');
  ctx.fillStyle = '#fffdf7';
  ctx.beginPath();
  ctx.roundRect(2, 2, TAG_PX[0] - 4, TAG_PX[1] - 4, 10);
  ctx.fill();
  ctx.strokeStyle = '#b5523b';
  ctx.lineWidth = 4;
  ctx.stroke();
  ctx.fillStyle = '#1b1f27';
  ctx.textAlign = 'center';
  ctx.textBaseline = 'middle';
  let size = 40;
  do { ctx.font = `bold ${size}px system-ui, sans-serif`; size -= 2; } while (ctx.measureText(text).width > TAG_PX[0] - 20 && size > 16);
  ctx.fillText(text, TAG_PX[0] / 2, TAG_PX[1] / 2 + 1);
  const texture = new THREE.CanvasTexture(canvas);
  texture.colorSpace = THREE.SRGBColorSpace;
  texture.anisotropy = 4;
  const sprite = new THREE.Sprite(new THREE.SpriteMaterial({ map: texture }));
  sprite.scale.set(TAG_M[0], TAG_M[1], 1);
  sprite.raycast = () => {}; // a label: rays go to the product, the panel or the floor
  return sprite;
}
