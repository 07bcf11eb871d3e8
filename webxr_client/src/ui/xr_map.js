// The store map in a headset: the screen map's canvas and search box need a mouse and a keyboard, so in VR the
// map is a directory panel, summoned from the wrist menu: every department and zone with how far it is, two to
// a row; choosing one goes there (the same trip as the screen map's, in jumps the server allows).
import { Panel, placeBeforeEyes } from './panel.js';

const MAP_WIDTH = 0.9; // m
const MAP_DISTANCE = 0.95; // m in front of the eyes

/** Pure: the panel's items for `places` ([{id, label, kind, x, z}]) seen from `here` ({x, z}). */
export function xrMapItems(places, here, storeName = 'the store') {
  const items = [{ id: 'title', kind: 'title', label: `Map of ${storeName}` },
    { id: 'hint', kind: 'text', label: 'Choose a place to go there.', muted: true, height: 34 }];
  const sorted = [...places].sort((a, b) => (a.kind === b.kind ? a.label.localeCompare(b.label)
    : (a.kind === 'zone' ? 1 : -1)));
  sorted.forEach((p, i) => {
    const metres = here ? Math.round(Math.hypot(p.x - here.x, p.z - here.z)) : null;
    items.push({ id: `go:${p.id}`, kind: 'button', label: metres === null ? p.label : `${p.label} · ${metres} m`,
      row: `places-${Math.floor(i / 2)}` });
  });
  items.push({ id: 'close', kind: 'button', label: 'Close', row: 'end' });
  return items;
}

export class XRMap {
  /** @param {object} o {panels, camera, places: () => [{id, label, kind, x, z}], go(place), where: () => {x, z},
   *   storeName} */
  constructor({ panels, camera, places, go, where, storeName }) {
    Object.assign(this, { panels, camera, places, go, where, storeName });
    this.open = false;
  }

  show() {
    this.open = true;
    let panel = this.panels.get('xr-map');
    if (!panel) {
      panel = new Panel({ id: 'xr-map', width: MAP_WIDTH, items: [], onTop: true, onPress: (id) => this.press(id) });
      this.panels.add(panel);
    }
    panel.setItems(xrMapItems(this.places(), this.where(), this.storeName));
    placeBeforeEyes(panel.mesh, this.camera, MAP_DISTANCE);
  }

  close() {
    this.open = false;
    this.panels.remove('xr-map');
  }

  press(id) {
    if (id === 'close') return this.close();
    if (!id.startsWith('go:')) return undefined;
    const place = this.places().find((p) => `go:${p.id}` === id);
    this.close();
    return place ? this.go(place) : undefined;
  }
}
