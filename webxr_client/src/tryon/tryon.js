// The try-on: a form panel (steppers, no keyboard needed in VR), a result panel with the size switcher,
// and a mannequin wearing the garment in front of the shopper like a mirror. Everything here is local
// to this page; the only place body data goes is the sizing API over HTTP.
import * as THREE from 'three';
import { Panel, rowItemWidth, textWidth } from '../ui/panel.js';
import { AVATAR_REGIONS, bodyFromRegions, garmentDeformation, garmentRegionsForSize, parseChart,
  regionFits } from './fit_map.js';
import { deformGarment, garmentFrame, regionColours } from './garment_deform.js';
import { buildMannequin, mannequinDims } from './mannequin.js';
import { clearValue, emptyForm, FIELDS, fieldLabel, fieldOf, formFromProfile, MORE_FIELDS, optionalCount,
  recommendRequest, stepsFor, stepValue, storedUsualSizes, USUAL, USUAL_CHART, usualLabel, usualRemark,
  validateForm } from './measurements.js';
import { feedbackNote, feedbackRegions, feedbackRequest, verdictsFor } from './feedback.js';
import { chooseMirrorSpot, PANEL_OFFSETS, yawFacing } from './mirror_spot.js';
import { profileStore, SizingApi } from './sizing_api.js';
import { buttonRows, conciseSentence, wrapToWidth } from './panel_text.js';
import { mirrorHint, pitchToTarget, ViewTurn, yawToTarget } from './view_turn.js';

const toLinear = (hex) => new THREE.Color(hex).toArray(); // three converts sRGB hex to linear working space
const NARROW_ASPECT = 0.8; // a screen narrower than this (a portrait phone) turns to one panel at a time
const PANEL_TOP = 0.2; // m above the eye: panels hang from here and grow downwards, so buttons stay put
const HINT_DISTANCE = 1.2; // m ahead of the eye for the headset's "Mirror on your left"
const LOOK_AT = 1.3; // m: the desktop turn centres the mannequin's chest, with its panels either side
const FORM_WIDTH = 0.62; // m
const BUTTON_PAD = 10; // px at scale 1 between a button's label and its edges
const RESULT_WIDTH = 0.62; // m: three large verdict buttons ("Too loose") side by side

export class TryOn {
  /**
   * `turnView(dYaw, dPitch)` turns the desktop view the way mouse-look does (main.js: the rig's yaw and the
   * camera's pitch), so mouse-look carries on from where the turn left it; without it the view never turns.
   */
  constructor({ scene, panels, camera, products, api = new SizingApi(), storage = safeStorage(), walkable = null,
    turnView = null }) {
    Object.assign(this, { scene, panels, camera, products, api, storage, turnView });
    this.walkable = walkable ?? products?.store?.walkable ?? null; // the store's floor, walls and fixtures
    this.spot = null; // where the mirror stands (tryon/mirror_spot.js)
    this.product = null;
    this.form = emptyForm();
    this.editing = 'stature';
    this.showMore = false; // the optional measurements, behind "More measurements"
    this.usualLabels = null; // the sizes of USUAL_CHART, from the API; without them there is no usual-size choice
    this.storedUsual = []; // the usual sizes the stored profile already holds as remarks, oldest first
    this.facing = null; // bringing the mirror into view: {pending} until the next frame, then {turn} or {hint}
    this.messages = [];
    this.result = null; // {rec, chart, body, estimate, selected}
    this.busy = false;
    this.root = new THREE.Group();
    this.root.name = 'tryon';
    this.garment = null; // {group, meshes: [{mesh, base: Float32Array}], frame, kind}
  }

  get profile() { return profileStore.get(this.storage); }

  /** Opens the try-on for a product with a size chart (the product panel's "Try on"). */
  async open(product) {
    if (!product?.sizeChart) return false;
    this.products?.deselect?.(); // the product card gives way to the try-on's panels (and their clicks)
    this.product = product;
    this.result = null;
    this.feedbackNote = null;
    this.messages = [];
    this.clearScene();
    this.placeInFront();
    this.scene.add(this.root);
    this.facing = { pending: true }; // decided on the next frame, which says whether a headset is on
    this.usualLabels ??= await this.api.chart(USUAL_CHART).then((doc) => parseChart(doc).labels).catch(() => null);
    const stored = this.profile;
    if (stored) {
      try {
        const exported = await this.api.exportProfile(stored.profile_id, stored.owner_key);
        this.form = formFromProfile(exported);
        this.storedUsual = storedUsualSizes(exported);
        this.messages = ['Your remembered measurements are filled in.'];
      } catch (err) {
        if (err.status === 401 || err.status === 404) profileStore.clear(this.storage); // gone on the server
      }
    }
    this.showMore = this.givenMore() > 0;
    this.render();
    return true;
  }

  /** How many of the "More measurements" entries the shopper gave (optional fields and the usual size). */
  givenMore() {
    return optionalCount(this.form.values) + (this.form.usual ? 1 : 0);
  }

  close() {
    this.panels.remove('tryon');
    this.panels.remove('tryon-result');
    this.panels.remove('tryon-hint');
    this.facing = null;
    this.clearScene();
    this.root.removeFromParent();
    this.product = null;
    this.result = null;
  }

  /** The mirror spot: ahead of the shopper on clear floor with nothing in between, facing them; panels beside. */
  placeInFront() {
    const eye = this.camera.getWorldPosition(new THREE.Vector3());
    const forward = this.camera.getWorldDirection(new THREE.Vector3());
    this.spot = chooseMirrorSpot({ eye: [eye.x, eye.z], forward: [forward.x, forward.z], walkable: this.walkable });
    this.root.position.set(this.spot.x, 0, this.spot.z);
    this.root.rotation.set(0, this.spot.yaw, 0); // +Z (the body's front) towards the shopper
    this.eyeHeight = Math.max(1.0, Math.min(1.8, eye.y));
  }

  // --- bringing the mirror into view ------------------------------------------------------------------
  /**
   * What a screen's view turns to: the mannequin's chest, or on a narrow (portrait phone) screen, where the
   * mirror and both panels cannot be in view at once, the panel the shopper works with (the form, then the
   * result); a drag to the side shows the mannequin.
   */
  viewTarget(immersive = false) {
    const panel = !immersive && this.camera.aspect < NARROW_ASPECT
      ? this.panels.get(this.result ? 'tryon-result' : 'tryon') ?? undefined : null;
    if (panel) return panel.mesh.getWorldPosition(new THREE.Vector3());
    if (panel === undefined) return null; // narrow, but the panel is not drawn yet: decide next frame
    return new THREE.Vector3(this.spot.x, LOOK_AT, this.spot.z);
  }

  /** The yaw from the view to the mannequin (or viewTarget) (radians, positive = to the left). */
  mirrorYaw(target = null) {
    const eye = this.camera.getWorldPosition(new THREE.Vector3());
    const forward = this.camera.getWorldDirection(new THREE.Vector3());
    const t = target ?? new THREE.Vector3(this.spot.x, LOOK_AT, this.spot.z);
    return yawToTarget([eye.x, eye.z], [forward.x, forward.z], [t.x, t.z]);
  }

  /** The pitch from the view to the mannequin's chest (or viewTarget) (radians, positive = up). */
  mirrorPitch(target = null) {
    const eye = this.camera.getWorldPosition(new THREE.Vector3());
    const forward = this.camera.getWorldDirection(new THREE.Vector3());
    const t = target ?? new THREE.Vector3(this.spot.x, LOOK_AT, this.spot.z);
    return pitchToTarget(forward.y, t.y - eye.y, Math.hypot(t.x - eye.x, t.z - eye.z));
  }

  /**
   * Per frame (main.js). A mirror to the side: on desktop and touch the view turns to it over TURN_SECONDS;
   * in a headset the page never turns the view (that makes people sick), a hint says where to look instead.
   * @param {number} dt seconds since the last frame
   * @param {boolean} immersive true in an XR session
   */
  update(dt, immersive) {
    this.immersive = immersive;
    const facing = this.facing;
    if (!facing || !this.product || !this.spot) return;
    if (facing.pending) {
      const target = this.viewTarget(immersive);
      if (!target) return;
      const yaw = this.mirrorYaw(target);
      const pitch = this.mirrorPitch(target);
      if (immersive) this.facing = { hint: null };
      else if (this.turnView && Math.hypot(yaw, pitch) > 0.02) this.facing = { turn: new ViewTurn(yaw, pitch) };
      else this.facing = null;
      return;
    }
    if (facing.turn) {
      if (immersive) { this.facing = { hint: null }; return; } // entered VR mid-turn: stop turning
      this.turnView(...facing.turn.step(dt));
      if (facing.turn.done) this.facing = null;
      return;
    }
    if (!immersive) { // left the headset: the hint has nothing to say on a screen
      this.panels.remove('tryon-hint');
      this.facing = null;
      return;
    }
    const text = mirrorHint(this.mirrorYaw());
    if (text === facing.hint) return;
    facing.hint = text;
    if (text) this.showHint(text);
    else { // found it: the hint has done its job
      this.panels.remove('tryon-hint');
      this.facing = null;
    }
  }

  /** A small panel where the shopper is looking, facing them, a little below the eye. */
  showHint(text) {
    const panel = this.upsertPanel('tryon-hint', 0.5, [{ id: 'hint', kind: 'text', label: text }], () => {});
    const eye = this.camera.getWorldPosition(new THREE.Vector3());
    const forward = this.camera.getWorldDirection(new THREE.Vector3()).setY(0);
    if (forward.lengthSq() < 1e-6) forward.set(0, 0, -1);
    forward.normalize();
    panel.mesh.position.set(eye.x + forward.x * HINT_DISTANCE, eye.y - 0.15, eye.z + forward.z * HINT_DISTANCE);
    panel.mesh.rotation.set(0, yawFacing(forward.x, forward.z), 0);
  }

  clearScene() {
    this.root.clear();
    this.garment = null;
    this.mannequin = null;
  }

  // --- panels --------------------------------------------------------------------------------------
  formItems() {
    const f = this.form;
    const field = (name) => ({ id: `field:${name}`, kind: 'button', label: fieldLabel(name, f.values[name]),
      selected: this.editing === name });
    const pairs = (fields, row) => fields.map((x, i) => ({ ...field(x.name), row: `${row}${Math.floor(i / 2)}` }));
    const given = this.givenMore();
    // The usual size leads the optional part: one tap, and the strongest evidence after a measured chest.
    const usual = this.usualLabels ? [{ id: `field:${USUAL.name}`, kind: 'button', label: usualLabel(f.usual),
      selected: this.editing === USUAL.name }] : [];
    const { text, title, buttons } = this.fitter(FORM_WIDTH);
    const items = [
      ...title('title', `Try on: ${this.product.name}`),
      { id: 'hint', kind: 'text', label: 'Pick a measurement, then step it.', muted: true, height: 40 },
      ...pairs(FIELDS.filter((x) => x.required), 'req'),
      { id: 'more', kind: 'button', selected: this.showMore,
        label: this.showMore ? 'Fewer measurements ▴' : `More measurements${given ? ` (${given} given)` : ''} ▾` },
      ...(this.showMore ? [...usual, ...pairs(MORE_FIELDS, 'more')] : []),
      ...this.editorItems(),
      ...buttons('sex', [
        { id: 'sex:female', label: 'Female', selected: f.sex === 'female' },
        { id: 'sex:male', label: 'Male', selected: f.sex === 'male' },
        { id: 'sex:none', label: 'Not given', selected: f.sex === null },
      ]),
      ...buttons('privacy', [
        { id: 'consent', label: `${f.consent ? '☑' : '☐'} Remember my measurements`, selected: f.consent },
        { id: 'forget', label: 'Forget me', disabled: !this.profile },
      ]),
      ...buttons('actions', [
        { id: 'submit', label: this.busy ? 'Working…' : 'See my size', disabled: this.busy },
        { id: 'close', label: 'Close' },
      ]),
    ];
    items.push(...this.messages.flatMap((m, k) => text(`msg${k}:`, m)).slice(0, 6));
    return items;
  }

  /** What is being edited, how to measure it, and its controls: steppers, or for the usual size a choice. */
  editorItems() {
    const f = this.form;
    if (this.editing === USUAL.name && this.usualLabels) {
      const { buttons } = this.fitter(FORM_WIDTH);
      return [
        { id: 'editing', kind: 'text', label: usualLabel(f.usual), height: 44 },
        { id: 'howto', kind: 'text', label: USUAL.hint, muted: true, height: 34 },
        ...buttons('usual', this.usualLabels.map((size) => ({ id: `usual:${size}`, label: size,
          selected: f.usual === size }))),
        { id: 'usual:none', kind: 'button', label: "Don't know", selected: !f.usual },
      ];
    }
    const editing = fieldOf(this.editing) ?? fieldOf('stature');
    return [
      { id: 'editing', kind: 'text', label: `${editing.long} (${editing.unit}): ${f.values[editing.name] ?? 'not set'}`,
        height: 44 },
      { id: 'howto', kind: 'text', label: editing.hint, muted: true, height: 34 },
      ...stepsFor(editing.name).map((d) => ({ id: `step:${d}`, kind: 'button', label: d > 0 ? `+${d}` : `−${-d}`,
        row: 'step' })),
      { id: 'clear', kind: 'button', label: 'Clear', row: 'step', disabled: editing.required },
    ];
  }

  /**
   * Text and buttons fitted to a panel `width` m wide in the panels' font at their current scale: `text` wraps
   * a string into lines (one text widget each), `buttons` splits a set into rows where every label fits.
   */
  fitter(width) {
    const scale = this.panels.scale ?? 1;
    const measure = (t) => textWidth(t, 'text', scale);
    const lineWidth = rowItemWidth(width, 1, scale);
    return {
      text: (id, label, { height = 36, muted = false } = {}) => wrapToWidth(label, lineWidth, measure)
        .map((line, i) => ({ id: `${id}${i}`, kind: 'text', label: line, height, muted })),
      // A long product name takes two title lines; the first keeps the plain id.
      title: (id, label) => wrapToWidth(label, lineWidth, (t) => textWidth(t, 'title', scale))
        .map((line, i) => ({ id: i ? `${id}${i}` : id, kind: 'title', label: line })),
      buttons: (row, buttons) => {
        const rows = buttonRows(buttons.map((b) => b.label), (n) => rowItemWidth(width, n, scale), measure,
          BUTTON_PAD * scale);
        return buttons.map((b, i) => ({ kind: 'button', ...b, row: `${row}${rows[i]}` }));
      },
    };
  }

  resultItems() {
    const r = this.result;
    const size = r.selected;
    const fits = regionFits(r.chart, size, r.rec.fit, r.body);
    const { text, buttons } = this.fitter(RESULT_WIDTH);
    return [
      // The title names the size on the mannequin; the pick stays said below when another one is shown.
      { id: 'size', kind: 'title', label: `Size ${size}` },
      ...text('runner', `Runner-up: ${r.rec.runner_up ?? 'none'}. ${Math.round(r.rec.confidence * 100)}% sure of `
        + `${r.rec.size}.`),
      ...(size !== r.rec.size ? text('showing', `We recommend ${r.rec.size}; the mannequin wears ${size}.`) : []),
      ...(conciseSentence(r.rec.sentence) ? text('sentence', conciseSentence(r.rec.sentence)) : []),
      // Per region: the body figure the size rests on (it moves with a usual size or a remark), then the ease.
      ...fits.flatMap((x) => text(`fit:${x.region}:`, `${x.region.replace('_', ' ')}: you ${Math.round(r.body[x.region]
        * 10) / 10} cm, ${x.ease_cm >= 0 ? '+' : ''}${x.ease_cm.toFixed(1)} cm ${x.label}`, { height: 34, muted: true })),
      ...buttons('sizes', r.chart.labels.map((label) => ({ id: `size:${label}`, label, selected: label === size }))),
      // Buying the size on the mannequin (the recommended one unless the shopper picked another).
      ...(this.onAddToBag ? buttons('buy', [{ id: 'addtobag', label: this.adding ? 'Adding…' : `Add size ${size} to bag`,
        disabled: this.adding }]) : []),
      ...(this.bagNote ? text('bagnote', this.bagNote) : []),
      ...this.feedbackItems(fits),
    ];
  }

  /** "Add size M to bag" on the result: the shop picks the variant of that size in the colour on show. */
  async addToBag() {
    if (!this.result || !this.product || this.adding) return;
    this.adding = true;
    this.bagNote = '';
    this.render();
    try {
      this.bagNote = await this.onAddToBag(this.product, this.result.selected);
    } catch (err) {
      this.bagNote = err.message ?? String(err);
    } finally {
      this.adding = false;
      this.render();
    }
  }

  /** "How does it fit?" for a shopper with a stored profile: pick a region, then a large verdict button. */
  feedbackItems(fits) {
    if (!this.profile || !this.result) return [];
    const { chart, selected } = this.result;
    const regions = feedbackRegions(chart.kind, fits);
    if (!regions.length) return [];
    if (!regions.some((x) => x.region === this.feedbackRegion)) this.feedbackRegion = regions[0].region;
    const { text, buttons } = this.fitter(RESULT_WIDTH);
    return [
      ...text('fb:title', `Worn size ${selected}? Tell us how it fits:`, { height: 38 }),
      ...buttons('fbregion', regions.map((x) => ({ id: `fbregion:${x.region}`, label: x.label,
        selected: x.region === this.feedbackRegion }))),
      ...buttons('fbverdict', verdictsFor(chart.kind, this.feedbackRegion).map(([verdict, label]) => ({
        id: `fb:${verdict}`, label, height: 80, disabled: this.busy }))),
      // The API's message can run to a few sentences: it is what tells the shopper the remark counted.
      ...(this.feedbackNote ? text('fbnote', this.feedbackNote, { height: 34 }) : []),
    ];
  }

  render() {
    if (!this.product) return;
    const form = this.upsertPanel('tryon', FORM_WIDTH, this.formItems(), (id) => this.press(id));
    this.placePanel(form, PANEL_OFFSETS[0]);
    if (this.result) {
      const result = this.upsertPanel('tryon-result', RESULT_WIDTH, this.resultItems(), (id) => this.press(id));
      this.placePanel(result, PANEL_OFFSETS[1]);
    }
    else this.panels.remove('tryon-result');
  }

  upsertPanel(id, width, items, onPress) {
    const panel = this.panels.get(id);
    if (!panel) return this.panels.add(new Panel({ id, width, items, onPress }));
    panel.setItems(items); // a panel that changes size re-allocates its texture itself (ui/panel.js)
    return panel;
  }

  placePanel(panel, [side, towards]) {
    // Beside the mirror (where chooseMirrorSpot checked the floor and the view), turned a little towards the shopper.
    const local = new THREE.Vector3(side, this.eyeHeight + PANEL_TOP - panel.mesh.scale.y / 2, towards);
    panel.mesh.position.copy(this.root.localToWorld(local));
    panel.mesh.quaternion.copy(this.root.quaternion).multiply(
      new THREE.Quaternion().setFromAxisAngle(new THREE.Vector3(0, 1, 0), -Math.sign(side) * 0.35));
    this.fitNarrow(panel);
  }

  /**
   * A portrait phone cannot show the mirror and both panels: the panel in use (the form, then the result) comes
   * towards the shopper, in the same direction, to the distance where all of it fits the view at eye height,
   * drawn over the store; the other one waits hidden. A drag to the side shows the mannequin.
   */
  fitNarrow(panel) {
    const material = panel.mesh.material;
    const narrow = this.camera.aspect < NARROW_ASPECT && !this.immersive;
    const active = panel.id === (this.result ? 'tryon-result' : 'tryon');
    panel.mesh.visible = !narrow || active;
    material.depthTest = !narrow;
    panel.mesh.renderOrder = narrow ? 10 : 0;
    if (!narrow || !active) return;
    const eye = this.camera.getWorldPosition(new THREE.Vector3());
    const dir = panel.mesh.position.clone().sub(eye).setY(0).normalize();
    const halfV = THREE.MathUtils.degToRad(this.camera.fov / 2);
    const halfH = Math.atan(Math.tan(halfV) * this.camera.aspect);
    // The middle 75% of the height: the page's bars (status, buttons, "Back to the list") cover the rest.
    const d = Math.max(1.1 * panel.mesh.scale.x / 2 / Math.tan(halfH), panel.mesh.scale.y / 2 / (0.75 * Math.tan(halfV)),
      0.6);
    panel.mesh.position.copy(eye).addScaledVector(dir, d);
    panel.mesh.lookAt(eye.x, panel.mesh.position.y, eye.z);
  }

  /** Panel presses (ray, poke, click all arrive here). */
  async press(id) {
    const f = this.form;
    if (id.startsWith('field:')) this.editing = id.slice(6);
    else if (id === 'more') this.toggleMore();
    else if (id.startsWith('step:')) this.form = { ...f, values: stepValue(f.values, this.editing, Number(id.slice(5))) };
    else if (id === 'clear') this.form = { ...f, values: clearValue(f.values, this.editing) };
    else if (id.startsWith('sex:')) this.form = { ...f, sex: id === 'sex:none' ? null : id.slice(4) };
    else if (id.startsWith('usual:')) this.form = { ...f, usual: id === 'usual:none' ? null : id.slice(6) };
    else if (id === 'consent') this.form = { ...f, consent: !f.consent };
    else if (id === 'forget') return this.forget();
    else if (id === 'submit') return this.submit();
    else if (id === 'close') return this.close();
    else if (id.startsWith('size:')) {
      this.bagNote = '';
      return this.selectSize(id.slice(5));
    } else if (id === 'addtobag') return this.addToBag();
    else if (id.startsWith('fbregion:')) this.feedbackRegion = id.slice(9);
    else if (id.startsWith('fb:')) return this.sendFeedback(id.slice(3));
    this.render();
    return undefined;
  }

  /** Shows or hides the optional measurements; a hidden field is no longer the one the steppers move. */
  toggleMore(show = !this.showMore) {
    this.showMore = show;
    if (!show && !fieldOf(this.editing)?.required) this.editing = 'stature';
  }

  /** Sets a value directly (tests, and a future numeric keypad); same limits as the steppers. */
  setValue(name, value) {
    const field = fieldOf(name);
    if (!field) return;
    this.form = { ...this.form, values: { ...this.form.values, [name]: value } };
    this.editing = name;
    this.render();
  }

  // --- the API ------------------------------------------------------------------------------------------
  async submit() {
    const checked = validateForm(this.form);
    if (!checked.ok) {
      this.messages = checked.problems.map((p) => p.message);
      if (checked.problems.some((p) => fieldOf(p.field)?.required === false || p.field === USUAL.name)) {
        this.showMore = true; // show it
      }
      this.render();
      return false;
    }
    this.busy = true;
    this.messages = [];
    this.render();
    try {
      const product = this.product;
      const stored = this.form.consent ? this.profile : null;
      let rec;
      if (stored) {
        // Keep the remembered profile current, then recommend from it (it also carries fit feedback). A usual
        // size it does not hold yet becomes a remark, as the server does when it creates a profile.
        await this.api.updateProfile(stored.profile_id, stored.owner_key, checked.body);
        const remark = usualRemark(this.form.usual, this.storedUsual);
        if (remark) {
          await this.api.feedback(stored.profile_id, stored.owner_key, remark);
          this.storedUsual = [...this.storedUsual, remark.size];
        }
        rec = await this.api.recommend(recommendRequest({ productId: product.id, profileId: stored.profile_id }),
          stored.owner_key);
      } else {
        rec = await this.api.recommend(recommendRequest({ checked, productId: product.id, consent: this.form.consent }));
        if (rec.stored && rec.profile_id && rec.owner_key) {
          profileStore.set(this.storage, rec.profile_id, rec.owner_key);
          this.storedUsual = checked.usualSizes.map((u) => u.size);
          this.messages.push('Your measurements are remembered. "Forget me" erases them.');
        }
      }
      // The mannequin's body: a stored profile's estimate carries its remarks; otherwise usual sizes count too.
      const bodyEstimate = stored
        ? this.api.exportProfile(stored.profile_id, stored.owner_key).then((doc) => ({ estimates: doc.estimate }))
        : this.api.estimate(checked.usualSizes.length ? { ...checked.body, usual_sizes: checked.usualSizes }
          : checked.body);
      const [chartDoc, estimate] = await Promise.all([this.api.chart(rec.chart_id), bodyEstimate]);
      if (this.product !== product) return false; // closed meanwhile
      const chart = parseChart(chartDoc);
      const measured = Object.fromEntries(Object.entries(estimate.estimates ?? {}).map(([k, v]) => [k, v.mean]));
      this.feedbackNote = null;
      this.result = { rec, chart, body: { ...measured, ...bodyFromRegions(rec.regions) }, estimate: measured,
        selected: rec.size };
      await this.showOnMannequin();
      return true;
    } catch (err) {
      this.messages = [err.message ?? String(err)];
      return false;
    } finally {
      this.busy = false;
      this.render();
      // A portrait phone shows one panel at a time: the view moves on to the answer.
      if (this.result && this.camera.aspect < NARROW_ASPECT && !this.facing) this.facing = { pending: true };
    }
  }

  /**
   * Sends a fit remark about the shown size to the stored profile, then asks for the recommendation again (it
   * replays the remarks) and shows it: new size, regions and garment fit.
   */
  async sendFeedback(verdict) {
    const stored = this.profile;
    if (!stored || !this.result || this.busy) return false;
    const { rec, chart, selected } = this.result;
    let req;
    try {
      req = feedbackRequest({ chartId: rec.chart_id, kind: chart.kind, size: selected, fit: rec.fit,
        region: this.feedbackRegion, verdict });
    } catch (err) {
      this.feedbackNote = err.message;
      this.render();
      return false;
    }
    this.busy = true;
    this.render();
    try {
      const product = this.product;
      const answer = await this.api.feedback(stored.profile_id, stored.owner_key, req);
      const next = await this.api.recommend({ profile_id: stored.profile_id, product_id: product.id }, stored.owner_key);
      if (this.product !== product || !this.result) return false; // closed meanwhile
      this.feedbackNote = feedbackNote({ message: answer?.message, verdict, region: this.feedbackRegion,
        size: selected, before: rec, after: next });
      this.result = { ...this.result, rec: next, body: { ...this.result.estimate, ...bodyFromRegions(next.regions) },
        selected: next.size };
      this.applyFit();
      return true;
    } catch (err) {
      if (err.status === 401 || err.status === 404) profileStore.clear(this.storage); // erased elsewhere
      this.feedbackNote = err.message ?? String(err);
      return false;
    } finally {
      this.busy = false;
      this.render();
    }
  }

  async forget() {
    const stored = this.profile;
    if (!stored) return false;
    try {
      await this.api.deleteProfile(stored.profile_id, stored.owner_key);
      this.messages = ['Your stored measurements are erased.'];
      this.onForget?.(); // and the in-store trail, if the shopper let one be kept (main.js)
    } catch (err) {
      if (err.status !== 401 && err.status !== 404) {
        this.messages = [err.message];
        this.render();
        return false;
      }
      this.messages = ['There was nothing stored any more.'];
    }
    profileStore.clear(this.storage);
    this.storedUsual = [];
    this.form = { ...this.form, consent: false };
    this.render();
    return true;
  }

  /** Size switcher: re-fit the garment (scale and colours) for another size of the chart. */
  selectSize(label) {
    if (!this.result || !this.result.chart.labels.includes(label)) return false;
    this.result.selected = label;
    this.applyFit();
    this.render();
    return true;
  }

  /** The avatar fit of the shown size: the API's own for the recommended size, else computed from the chart. */
  avatarFit() {
    const { rec, chart, body, selected } = this.result;
    const garment = selected === rec.size ? rec.avatar.garment : garmentRegionsForSize(chart, selected, rec.fit, body);
    return garmentDeformation(chart.kind, rec.avatar.body_scale, garment);
  }

  // --- the scene ----------------------------------------------------------------------------------------
  async showOnMannequin() {
    this.clearScene();
    this.mannequin = buildMannequin(this.result.estimate);
    this.root.add(this.mannequin);
    const source = await this.garmentSource(this.product.id);
    if (source) this.garment = this.prepareGarment(source, this.result.chart.kind);
    if (this.garment) this.root.add(this.garment.group);
    else this.messages.push('This product has no 3D model to try on; the fit is listed beside the mirror.');
    this.applyFit();
  }

  async garmentSource(productId) {
    const item = this.products?.items.get(productId);
    if (!item) return null;
    for (let i = 0; i < 100 && !item.gltf && item.product.modelUrl; i += 1) await new Promise((r) => setTimeout(r, 50));
    return item.gltf?.scene ?? null;
  }

  /** A copy of the product model with every mesh baked into the garment's own frame, for per-vertex fitting. */
  prepareGarment(source, kind) {
    source.updateWorldMatrix(true, true);
    const toGarment = source.matrixWorld.clone().invert();
    const group = new THREE.Group();
    group.name = 'tryon:garment';
    const meshes = [];
    const material = new THREE.MeshStandardMaterial({ vertexColors: true, roughness: 0.8, side: THREE.DoubleSide });
    source.traverse((o) => {
      if (!o.isMesh || !o.geometry?.attributes?.position) return;
      const geometry = o.geometry.clone().applyMatrix4(toGarment.clone().multiply(o.matrixWorld));
      const mesh = new THREE.Mesh(geometry, material);
      meshes.push({ mesh, base: Float32Array.from(geometry.attributes.position.array) });
      group.add(mesh);
    });
    if (!meshes.length) return null;
    return { group, meshes, kind, frame: garmentFrame(meshes.map((m) => m.base)) };
  }

  applyFit() {
    if (!this.garment || !this.result) return;
    const deformation = this.avatarFit();
    const { group, meshes, kind, frame } = this.garment;
    for (const { mesh, base } of meshes) {
      const { positions, regions } = deformGarment(base, kind, deformation, frame);
      mesh.geometry.setAttribute('position', new THREE.BufferAttribute(positions, 3));
      mesh.geometry.setAttribute('color', new THREE.BufferAttribute(regionColours(regions, deformation.regions, toLinear), 3));
      mesh.geometry.computeVertexNormals();
      mesh.geometry.computeBoundingBox();
      mesh.geometry.computeBoundingSphere();
    }
    // Tops and dresses hang from the neck base; trousers and shoes stand on the floor.
    const dims = mannequinDims(this.result.estimate);
    const top = (kind === 'dress' ? deformation.regions.length.scale : deformation.stature) * frame.height;
    group.position.y = kind === 'top' || kind === 'dress' ? dims.neckBase + 0.03 - top : 0;
    group.userData.fit = deformation;
  }

  /** Scene state for tests and debugging: what the mirror shows. */
  state() {
    const g = this.garment?.group;
    const fit = g?.userData.fit;
    return {
      open: Boolean(this.product),
      size: this.result?.rec.size ?? null,
      selected: this.result?.selected ?? null,
      messages: [...this.messages],
      mannequin: Boolean(this.mannequin?.parent),
      spot: this.spot ? { x: this.spot.x, z: this.spot.z, angleDeg: this.spot.angleDeg, fallback: this.spot.fallback,
        panels: this.spot.panels } : null,
      garment: g ? {
        box: new THREE.Box3().setFromObject(g).getSize(new THREE.Vector3()).toArray(),
        scales: Object.fromEntries(AVATAR_REGIONS.map((r) => [r, fit.regions[r].scale])),
        colours: Object.fromEntries(AVATAR_REGIONS.map((r) => [r, fit.regions[r].colour])),
      } : null,
      stored: Boolean(this.profile),
      feedbackNote: this.feedbackNote ?? null,
      turning: Boolean(this.facing?.pending || this.facing?.turn),
      hint: this.facing?.hint ?? null,
    };
  }
}

function safeStorage() {
  try {
    return window.localStorage;
  } catch {
    return null; // storage blocked: consent still works for the session's server profile, nothing kept here
  }
}
