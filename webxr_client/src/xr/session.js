// WebXR sessions and input: "Enter VR" / "Enter AR" buttons, controllers and hands with their models
// loaded from this server (never a CDN), and select/squeeze events from every input source, including
// Vision Pro's gaze-and-pinch "transient-pointer" sources, which have no controller at all.
import * as THREE from 'three';
import { XRControllerModelFactory } from 'three/addons/webxr/XRControllerModelFactory.js';
import { XRHandModelFactory } from 'three/addons/webxr/XRHandModelFactory.js';

const SESSION_OPTIONS = { optionalFeatures: ['local-floor', 'bounded-floor', 'hand-tracking'] };
// Transient pointers appear as extra input sources next to two hands: listen on a few slots.
const INPUT_SLOTS = 4;

/** Installs the Immersive Web Emulation Runtime (npm iwer) as navigator.xr: tests and headset-less dev. */
export async function installEmulator(kind) {
  const iwer = await import('iwer');
  const config = { quest2: iwer.metaQuest2, questpro: iwer.metaQuestPro }[kind] ?? iwer.metaQuest3;
  const device = new iwer.XRDevice(config);
  // Chromium always has its own navigator.xr; without forceInstall IWER would install nothing.
  device.installRuntime({ forceInstall: true });
  return device;
}

export class XRInput {
  /**
   * @param {THREE.WebGLRenderer} renderer
   * @param {THREE.Object3D} rig parent of camera, controllers and hands (moved by locomotion)
   * @param {string} profilesPath URL of @webxr-input-profiles/assets' dist/profiles/ on this server
   * @param {object} hooks {selectStart(source), selectEnd(source), squeezeStart(source), squeezeEnd(source)}
   *   where source = {index, inputSource, ray: THREE.Object3D (target ray space), grip, hand}
   */
  constructor(renderer, rig, profilesPath, hooks) {
    this.renderer = renderer;
    this.sources = [];
    const controllerModels = new XRControllerModelFactory();
    controllerModels.setPath(profilesPath.replace(/\/$/, ''));
    const handModels = new XRHandModelFactory();
    handModels.setPath(`${profilesPath}generic-hand/`);
    const rayGeometry = new THREE.BufferGeometry().setFromPoints([new THREE.Vector3(0, 0, 0), new THREE.Vector3(0, 0, -1)]);
    for (let i = 0; i < INPUT_SLOTS; i += 1) {
      const ray = renderer.xr.getController(i);
      const grip = renderer.xr.getControllerGrip(i);
      const hand = renderer.xr.getHand(i);
      const source = { index: i, ray, grip, hand, inputSource: null, pointer: null };
      if (i < 2) {
        // The factories build the model on the object's own 'connected' event (controllers with a
        // gamepad, resp. articulated hands) and skip other kinds of input.
        grip.add(controllerModels.createControllerModel(grip));
        hand.add(handModels.createHandModel(hand, 'mesh'));
      }
      const line = new THREE.Line(rayGeometry, new THREE.LineBasicMaterial({ color: 0xffffff, transparent: true, opacity: 0.6 }));
      line.scale.z = 3;
      line.visible = false;
      ray.add(line);
      source.pointer = line;
      ray.addEventListener('connected', (e) => {
        source.inputSource = e.data;
        // Transient pointers (gaze-and-pinch) and hands get no ray line: the eyes / fingers are the pointer.
        line.visible = e.data.targetRayMode === 'tracked-pointer' && !e.data.hand;
      });
      ray.addEventListener('disconnected', () => {
        source.inputSource = null;
        line.visible = false;
      });
      ray.addEventListener('selectstart', () => hooks.selectStart?.(source));
      ray.addEventListener('selectend', () => hooks.selectEnd?.(source));
      ray.addEventListener('squeezestart', () => hooks.squeezeStart?.(source));
      ray.addEventListener('squeezeend', () => hooks.squeezeEnd?.(source));
      rig.add(ray, grip, hand);
      this.sources.push(source);
    }
  }

  /** Sources that are connected now. */
  active() {
    return this.sources.filter((s) => s.inputSource);
  }

  /** Gamepad of the left/right controller ('left' | 'right'), or null. */
  gamepad(handedness) {
    const s = this.sources.find((x) => x.inputSource?.handedness === handedness && x.inputSource.gamepad);
    return s ? s.inputSource.gamepad : null;
  }

  /** World positions of index fingertips, for poking panels. */
  fingertips() {
    const tips = [];
    for (const s of this.active()) {
      const tip = s.inputSource.hand && s.hand.joints?.['index-finger-tip'];
      if (tip && tip.visible !== false) tips.push({ key: `${s.inputSource.handedness}-tip`, position: tip.getWorldPosition(new THREE.Vector3()) });
    }
    return tips;
  }
}

/** Shows "Enter VR" / "Enter AR" for the modes the browser offers; starts and ends sessions. */
export class XRSessions {
  constructor(renderer, { vrButton, arButton, onStart, onEnd, onError }) {
    this.renderer = renderer;
    this.session = null;
    this.mode = null;
    this.onStart = onStart;
    this.onEnd = onEnd;
    this.onError = onError;
    this.buttons = { 'immersive-vr': vrButton, 'immersive-ar': arButton };
    for (const [mode, button] of Object.entries(this.buttons)) {
      button?.addEventListener('click', () => (this.session ? this.end() : this.start(mode)));
    }
  }

  async detect() {
    const supported = {};
    for (const mode of Object.keys(this.buttons)) {
      supported[mode] = Boolean(await navigator.xr?.isSessionSupported(mode).catch(() => false));
      if (this.buttons[mode]) this.buttons[mode].hidden = !supported[mode];
    }
    return supported;
  }

  async start(mode) {
    if (this.session) return this.session;
    if (!navigator.xr) throw new Error('This browser has no WebXR.');
    let session;
    try {
      session = await navigator.xr.requestSession(mode, SESSION_OPTIONS);
    } catch (err) {
      this.onError?.(`Could not start ${mode === 'immersive-ar' ? 'AR' : 'VR'}: ${err.message}`);
      throw err;
    }
    this.renderer.xr.setReferenceSpaceType('local-floor');
    await this.renderer.xr.setSession(session);
    this.session = session;
    this.mode = mode;
    session.addEventListener('end', () => {
      this.session = null;
      this.mode = null;
      this.label();
      this.onEnd?.();
    });
    this.label();
    this.onStart?.(mode, session);
    return session;
  }

  async end() {
    await this.session?.end();
  }

  label() {
    for (const [mode, button] of Object.entries(this.buttons)) {
      if (!button) continue;
      const name = mode === 'immersive-ar' ? 'AR' : 'VR';
      button.textContent = this.mode === mode ? `Exit ${name}` : `Enter ${name}`;
    }
  }
}
