// Desktop and touch controls for shoppers without a headset.
// Mouse: drag to look, click to pick a product or press a panel button, double-click the floor to
// teleport, wheel to zoom a product in hand. Keys: WASD/arrows walk, Q/E turn.
// Touch: dragging on the left half of the screen is a walk stick, on the right half it turns the view; a tap
// anywhere = click; two-finger pinch zooms a product in hand.
import { keyboardVector, TURN_SPEED } from './locomotion_core.js';

const DRAG_THRESHOLD = 6; // px before a press counts as a drag, not a click
const LOOK_SPEED = 0.005; // rad per px

export class DesktopControls {
  /**
   * @param {HTMLElement} element the canvas
   * @param {object} hooks {look(dYaw, dPitch), click(x, y, event), doubleClick(x, y), zoom(factor),
   *   dragObject(dx, dy) -> bool (true when a product in hand took the drag), hover(x, y) (mouse moved, no button),
   *   grab(x, y) -> bool (true when what is under the pointer takes the drag), dragTo(x, y), release()}
   */
  constructor(element, hooks) {
    this.element = element;
    this.hooks = hooks;
    this.keys = new Set();
    this.stick = [0, 0]; // touch walk stick, strafe/forward in -1..1
    this.pointers = new Map();
    this.enabled = true;
    this.pinchDistance = null;
    this.listen();
  }

  listen() {
    const el = this.element;
    window.addEventListener('keydown', (e) => {
      if (e.target instanceof HTMLInputElement) return;
      this.keys.add(e.code);
    });
    window.addEventListener('keyup', (e) => this.keys.delete(e.code));
    window.addEventListener('blur', () => this.keys.clear());
    el.addEventListener('pointerdown', (e) => this.down(e));
    el.addEventListener('pointermove', (e) => this.move(e));
    el.addEventListener('pointerup', (e) => this.up(e));
    el.addEventListener('pointercancel', (e) => this.up(e, true));
    el.addEventListener('dblclick', (e) => {
      // Mouse only: touch double taps are recognised in up(), where browsers agree on the events.
      if (this.enabled && e.pointerType !== 'touch' && !(e.sourceCapabilities?.firesTouchEvents)) {
        this.hooks.doubleClick?.(e.clientX, e.clientY);
      }
    });
    el.addEventListener('wheel', (e) => {
      if (!this.enabled) return;
      e.preventDefault();
      this.hooks.zoom?.(Math.exp(-e.deltaY * 0.001));
    }, { passive: false });
    // A tap is handled on pointerup; the browser's synthesized click would then land on whatever the tap
    // just opened under the finger (the product card's Close on a phone) and undo it.
    el.addEventListener('touchend', (e) => { if (e.cancelable) e.preventDefault(); }, { passive: false });
    el.style.touchAction = 'none';
  }

  down(e) {
    if (!this.enabled) return;
    this.element.setPointerCapture?.(e.pointerId);
    // Something under the pointer that takes a drag (furniture in the room-fit room) wins over looking
    // and over the walk stick.
    const grabbing = this.pointers.size === 0 && Boolean(this.hooks.grab?.(e.clientX, e.clientY));
    const stick = !grabbing && e.pointerType === 'touch' && e.clientX < this.element.clientWidth / 2;
    this.pointers.set(e.pointerId, { x: e.clientX, y: e.clientY, startX: e.clientX, startY: e.clientY, dragged: false,
      stick, grabbing });
    if (this.pointers.size === 2) this.pinchDistance = this.spread();
  }

  move(e) {
    const p = this.pointers.get(e.pointerId);
    if (!p) {
      if (this.enabled && e.pointerType === 'mouse') this.hooks.hover?.(e.clientX, e.clientY);
      return;
    }
    const dx = e.clientX - p.x;
    const dy = e.clientY - p.y;
    p.x = e.clientX;
    p.y = e.clientY;
    if (Math.hypot(p.x - p.startX, p.y - p.startY) > DRAG_THRESHOLD) p.dragged = true;
    if (p.grabbing) {
      this.hooks.dragTo?.(p.x, p.y);
      return;
    }
    if (this.pointers.size === 2 && this.pinchDistance) {
      const d = this.spread();
      this.hooks.zoom?.(d / this.pinchDistance);
      this.pinchDistance = d;
      return;
    }
    if (p.stick) {
      if (!p.dragged) return; // still a tap until it moves: taps on the left half select like anywhere else
      const r = 60; // px of travel for full speed
      this.stick = [clamp((p.x - p.startX) / r), clamp(-(p.y - p.startY) / r)];
      this.hooks.stickMoved?.(p.startX, p.startY, this.stick);
      return;
    }
    if (!p.dragged) return;
    if (this.hooks.dragObject?.(dx * LOOK_SPEED * 2, dy * LOOK_SPEED * 2)) return;
    this.hooks.look?.(-dx * LOOK_SPEED, -dy * LOOK_SPEED);
  }

  up(e, cancelled = false) {
    const p = this.pointers.get(e.pointerId);
    this.pointers.delete(e.pointerId);
    if (this.pointers.size < 2) this.pinchDistance = null;
    if (!p) return;
    if (p.grabbing) {
      this.hooks.release?.();
      if (p.dragged || cancelled) return; // a tap on it without moving is still a tap
    }
    if (p.stick && p.dragged) {
      this.stick = [0, 0];
      this.hooks.stickMoved?.(null);
    }
    if (cancelled || p.dragged || !this.enabled) return;
    this.hooks.click?.(e.clientX, e.clientY, e);
    // Touch has no reliable dblclick: a second tap within 350 ms and 30 px is a double tap.
    if (e.pointerType === 'touch') {
      const last = this.lastTap;
      if (last && e.timeStamp - last.t < 350 && Math.hypot(e.clientX - last.x, e.clientY - last.y) < 30) {
        this.lastTap = null;
        this.hooks.doubleClick?.(e.clientX, e.clientY);
      } else {
        this.lastTap = { t: e.timeStamp, x: e.clientX, y: e.clientY };
      }
    }
  }

  spread() {
    const [a, b] = [...this.pointers.values()];
    return Math.hypot(a.x - b.x, a.y - b.y) || 1;
  }

  /** [strafe, forward, turnRate] for this frame from keys and the touch stick. */
  input() {
    if (!this.enabled) return [0, 0, 0];
    const [ks, kf, kt] = keyboardVector(this.keys);
    return [clamp(ks + this.stick[0]), clamp(kf + this.stick[1]), -kt * TURN_SPEED];
  }
}

function clamp(v) {
  return Math.max(-1, Math.min(1, v));
}
