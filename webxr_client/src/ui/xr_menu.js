// The headset menu: summoned by the "Menu" button on the left wrist (point at it with the other hand, or
// poke it; with neither a left controller nor a tracked hand it floats low in the view) or the left
// controller's X / Y button. It opens in front of the eyes and offers: a name (a
// few suggestions to step through, since there is no keyboard in a headset), the height others see you
// at, the store map (ui/xr_map.js), "Shop with friends" (social/social_panel.js), another store, simplified mode (which leaves VR: the
// simple list is a screen thing) and exit VR.
import { Panel, placeBeforeEyes } from './panel.js';
import { suggestedName } from './names.js';

const MENU_WIDTH = 0.9; // m: four buttons to a row
const MENU_DISTANCE = 0.95; // m in front of the eyes
const WRIST_WIDTH = 0.08; // m
const WRIST_PX_PER_M = 1400; // finer than the big panels' 800: "Menu" whole on a button seen from 40 cm
const VIEW_BUTTON_DISTANCE_M = 0.75; // the floating button (no left controller or hand): in front ...
const VIEW_BUTTON_DROP_M = 0.3; // ... and this far below the eyes, out of the way of what one looks at

export class XRMenu {
  /**
   * @param {object} options {panels, camera, actions: {exitVR(), simplified(), switchStore(id), setName(name),
   *   setHeight(m)}, state: () => ({name, height, stores: [{id, name}], store})}
   */
  constructor({ panels, camera, actions, state }) {
    Object.assign(this, { panels, camera, actions, state });
    this.open = false;
    this.suggestion = Math.floor(Math.random() * 400);
    this.message = null;
    this.wrist = null; // the wrist button's panel, on the left grip while in VR
    this.buttonWasDown = false;
    this.presses = 0; // how often the menu was summoned (tests read it)
  }

  wristPanel() {
    if (!this.wrist) {
      this.wrist = new Panel({ id: 'wrist-menu', width: WRIST_WIDTH, pxPerM: WRIST_PX_PER_M,
        items: [{ id: 'menu', kind: 'button', label: 'Menu', height: 64 }], onPress: () => this.toggle() });
      this.panels.add(this.wrist);
    }
    return this.wrist;
  }

  /** In VR: the wrist button rides the left controller / hand grip. */
  attachWrist(grip) {
    grip.add(this.wristPanel().mesh);
    // On the back of the wrist, tilted towards the eyes when the palm faces down.
    this.wrist.mesh.position.set(0, 0.035, 0.11);
    this.wrist.mesh.rotation.set(-Math.PI / 3, 0, 0);
  }

  /**
   * Without a left controller or tracked left hand (gaze-and-pinch only, as on Vision Pro when hand
   * tracking is not granted) the button floats low in the view instead, tilted up to the eyes: look at it
   * and pinch.
   */
  attachToView(camera) {
    const mesh = this.wristPanel().mesh;
    camera.add(mesh);
    mesh.position.set(0, -VIEW_BUTTON_DROP_M, -VIEW_BUTTON_DISTANCE_M);
    mesh.rotation.set(-Math.atan2(VIEW_BUTTON_DROP_M, VIEW_BUTTON_DISTANCE_M), 0, 0); // its face up to the eyes
  }

  detachWrist() {
    if (this.wrist) this.panels.remove('wrist-menu');
    this.wrist = null;
    this.close();
  }

  /** Every XR frame: the left controller's X or Y button toggles the menu (on press, not while held). */
  update(gamepad) {
    const down = Boolean(gamepad?.buttons?.[4]?.pressed || gamepad?.buttons?.[5]?.pressed);
    if (down && !this.buttonWasDown) this.toggle();
    this.buttonWasDown = down;
  }

  toggle() {
    if (this.open) this.close(); else this.show();
  }

  show() {
    this.open = true;
    this.presses += 1;
    this.message = null;
    this.render();
    this.place();
  }

  close() {
    this.open = false;
    this.panels.remove('xr-menu');
  }

  items() {
    const { name, height, stores = [], store } = this.state();
    const candidate = suggestedName(this.suggestion);
    const items = [
      { id: 'title', kind: 'title', label: `Menu · you are ${name ?? 'a shopper'}${height ? `, ${height.toFixed(2)} m` : ''}` },
      { id: 'name:prev', kind: 'button', label: '◀', row: 'name' },
      { id: 'name:use', kind: 'button', label: `Be ${candidate}`, row: 'name' },
      { id: 'name:next', kind: 'button', label: '▶', row: 'name' },
      { id: 'height-title', kind: 'text', label: 'Your height (others see you this tall)', muted: true, height: 34 },
      { id: 'height:-5', kind: 'button', label: '−5 cm', row: 'height' },
      { id: 'height:-1', kind: 'button', label: '−1 cm', row: 'height' },
      { id: 'height:+1', kind: 'button', label: '+1 cm', row: 'height' },
      { id: 'height:+5', kind: 'button', label: '+5 cm', row: 'height' },
    ];
    if (stores.length > 1) {
      items.push({ id: 'stores-title', kind: 'text', label: 'Go to another store', muted: true, height: 34 });
      for (const s of stores) {
        items.push({ id: `store:${s.id}`, kind: 'button', label: s.name ?? s.id, row: 'stores', selected: s.id === store,
          disabled: s.id === store });
      }
    }
    if (this.actions.map) items.push({ id: 'map', kind: 'button', label: 'Store map', row: 'ask' });
    if (this.actions.ask) items.push({ id: 'ask', kind: 'button', label: 'Ask the store', row: 'ask' });
    if (this.actions.friends) items.push({ id: 'friends', kind: 'button', label: 'Shop with friends', row: 'social' });
    if (this.actions.hunt) items.push({ id: 'hunt', kind: 'button', label: 'Treasure hunt', row: 'social' });
    if (this.actions.invite) items.push({ id: 'invite', kind: 'button', label: 'Invite & earn', row: 'social' });
    items.push(
      { id: 'simple', kind: 'button', label: 'Simplified mode (leaves VR)', row: 'end' },
      { id: 'exit', kind: 'button', label: 'Exit VR', row: 'end' },
      { id: 'close', kind: 'button', label: 'Close', row: 'end' },
    );
    if (this.message) items.push({ id: 'message', kind: 'text', label: this.message, height: 36 });
    return items;
  }

  render() {
    if (!this.open) return;
    let panel = this.panels.get('xr-menu');
    if (!panel) {
      panel = new Panel({ id: 'xr-menu', width: MENU_WIDTH, items: [], onTop: true, onPress: (id) => this.press(id) });
      this.panels.add(panel);
    }
    panel.setItems(this.items());
  }

  /** In front of the eyes, a little below them, facing them. */
  place() {
    const panel = this.panels.get('xr-menu');
    if (!panel) return;
    placeBeforeEyes(panel.mesh, this.camera, MENU_DISTANCE);
  }

  async press(id) {
    const { height } = this.state();
    if (id === 'close') return this.close();
    if (id === 'exit') { this.close(); return this.actions.exitVR(); }
    if (id === 'simple') { this.close(); return this.actions.simplified(); }
    if (id === 'friends') { this.close(); return this.actions.friends(); }
    if (id === 'hunt' || id === 'invite' || id === 'ask' || id === 'map') { this.close(); return this.actions[id](); }
    if (id === 'name:prev' || id === 'name:next') {
      this.suggestion += id === 'name:next' ? 1 : -1;
      return this.render();
    }
    if (id === 'name:use') {
      const wanted = suggestedName(this.suggestion);
      this.message = `Changing your name to ${wanted}…`;
      this.render();
      const error = await this.actions.setName(wanted);
      this.message = error ?? `Others now see you as ${wanted}.`;
      return this.render();
    }
    if (id.startsWith('height:')) {
      const cm = Math.round((height ?? 1.7) * 100) + Number(id.slice(7));
      this.actions.setHeight(Math.min(230, Math.max(100, cm)) / 100);
      return this.render();
    }
    if (id.startsWith('store:')) return this.actions.switchStore(id.slice(6));
    return undefined;
  }
}
