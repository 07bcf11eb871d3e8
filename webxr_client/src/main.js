// Plaza client entry point: builds the store, wires desktop/touch/XR input, locomotion, panels,
// products, remote avatars and (when the server has it) the room connection.
import * as THREE from 'three';
import { GLTFLoader } from 'three/addons/loaders/GLTFLoader.js';
import { RemoteAvatars } from './avatars.js';
import { eyeHeightFor, validHeight } from './avatar_body.js';
import { readConfig } from './config.js';
import { DesktopControls } from './controls.js';
import { deadzone, SnapTurn, teleportHops, turnAboutHead, walkStep } from './locomotion_core.js';
import { fetchCatalog, placeholderModel, ProductManager } from './products.js';
import { fetchOptional } from './api.js';
import { SimplifiedView } from './simplified.js';
import { avatarHandJoints, avatarPoseArray, ownPoseParts } from './net/own_pose.js';
import { RoomClient } from './net/room_client.js';
import { storeRoomId } from './net/store_room.js';
import { StoreLighting } from './lighting.js';
import { PriceTags } from './price_tags.js';
import { ShopApi } from './shop/shop_api.js';
import { ShopPanel } from './shop/shop_panel.js';
import { loadStore } from './store_scene.js';
import { TryOn } from './tryon/tryon.js';
import { SizingApi } from './tryon/sizing_api.js';
import { PanelSystem } from './ui/panel.js';
import { ProductCard } from './ui/product_card.js';
import { checkName } from './ui/names.js';
import { ProfileForm } from './ui/profile_form.js';
import { XRMenu } from './ui/xr_menu.js';
import { departments, FirstVisitHint, Signage, StoreMap } from './wayfinding.js';
import { XRMap } from './ui/xr_map.js';
import { RoomFit } from './room_fit.js';
import { Social } from './social/social.js';
import { Promotions } from './promotions/promotions.js';
import { StoreAssistant } from './assistant/assistant.js';
import { optionAxes, pickVariant, preselectSize } from './shop/choice.js';
import { refFromUrl } from './promotions/promo_api.js';
import { installEmulator, XRInput, XRSessions } from './xr/session.js';
import { pulseControllers } from './xr/haptics.js';

const HEIGHT_KEY = 'plaza.height';
const NAME_KEY = 'plaza.name';
const TOUCH_HELP = 'Drag left side to walk · right side to look · tap a product · double-tap the floor to go there';
const statusEl = document.getElementById('status');
const setStatus = (text) => { statusEl.textContent = text; };

// Test and debugging hooks (the browser tests read these; nothing in the app depends on them).
const plaza = { frames: 0, xrFrames: 0, ready: false, errors: [], hops: 0 }; // hops: jumps of far trips
window.plaza = plaza;

async function main() {
  const config = readConfig();
  plaza.config = config;
  if (config.emulate) plaza.device = await installEmulator(config.emulate);

  const renderer = new THREE.WebGLRenderer({ antialias: !config.emulate, powerPreference: 'high-performance' });
  renderer.setPixelRatio(Math.min(window.devicePixelRatio, 2));
  renderer.setSize(window.innerWidth, window.innerHeight);
  renderer.xr.enabled = true;
  document.body.prepend(renderer.domElement);

  const scene = new THREE.Scene();
  scene.background = new THREE.Color(0xcfd8e3);
  const camera = new THREE.PerspectiveCamera(70, window.innerWidth / window.innerHeight, 0.05, 100);
  // The shopper's height (m): from ?height=, the last one given here, or the try-on; others draw our body
  // at it, and on a screen our eyes are where a standing person of that height has them.
  let ownHeight = validHeight(config.height) ?? validHeight(storageGet(HEIGHT_KEY));
  camera.position.y = eyeHeightFor(ownHeight);
  // The rig is the shopper's feet on the floor: locomotion moves it; the headset moves the camera in it.
  const rig = new THREE.Group();
  rig.name = 'rig';
  rig.add(camera);
  scene.add(rig);
  window.addEventListener('resize', () => {
    camera.aspect = window.innerWidth / window.innerHeight;
    camera.updateProjectionMatrix();
    renderer.setSize(window.innerWidth, window.innerHeight);
  });

  const gltfLoader = new GLTFLoader();
  setStatus('Loading the store…');
  const store = await loadStore(config.sceneId, { gltfLoader, onStatus: setStatus });
  scene.add(store.root);
  rig.position.set(store.spawn[0], 0, store.spawn[2]);
  const lighting = new StoreLighting(renderer, scene);
  lighting.light(store);

  const panels = new PanelSystem(scene);
  // Try-on talks to the sizing API over HTTP only; nothing of it goes to the room connection.
  let tryon = null;
  // On a screen the product card is HTML beside the product; in a headset an in-scene panel.
  let hint = null; // the first visit's hint (made once the store is known, below)
  const card = new ProductCard(document.getElementById('product-card'), () => {});
  // Buying (shop/): a shopper identity kept in localStorage, the bag and checkout panels (HTML on a screen,
  // an in-scene panel in a headset); the product card adds to the bag through it.
  // The advisor page (?advisor=1) acts as a staff account: its key is kept apart from the shopper's, never made.
  const shopApi = config.advisor ? new ShopApi({ storeKey: 'plaza.staff', canCreate: false }) : new ShopApi();
  // The name over our avatar: ?name=, else the one chosen here last time, else "Shopper".
  let myName = checkName(config.name ?? storageGet(NAME_KEY) ?? '').name ?? 'Shopper';
  shopApi.name = myName;
  shopApi.ref = refFromUrl(); // an invite link's ?ref= goes with the new shopper (promotions)
  const shopRoot = Object.assign(document.createElement('aside'), { id: 'shop-panel', hidden: true });
  shopRoot.setAttribute('role', 'dialog');
  shopRoot.setAttribute('aria-label', 'Your bag');
  document.body.append(shopRoot);
  const bagButton = Object.assign(document.createElement('button'), { id: 'open-bag', textContent: 'Bag', type: 'button' });
  document.getElementById('buttons').prepend(bagButton);
  bagButton.addEventListener('click', () => products.deselect()); // the bag takes the card's place
  const shop = new ShopPanel({ api: shopApi, root: shopRoot, toggle: bagButton, store: config.sceneId, panels, camera,
    immersive: () => renderer.xr.isPresenting });
  window.addEventListener('resize', () => { if (!shopRoot.hidden) shop.fitToScreen(); });
  const recommended = new Map(); // product id -> the try-on's recommended size, preselected on the card
  let social = null; // shopping together (social/): created once the room plumbing exists
  let promo = null; // promotions (promotions/): created with the social panel
  let assistant = null; // the store assistant (assistant/): created with the promotions
  const products = new ProductManager({ store, panels, camera, gltfLoader, card,
    onShow: (id) => social?.showProduct(id) ?? '', canShow: () => Boolean(social?.group.active),
    shop: { add: (product, variantId) => shop.add(product, variantId), openBag: () => shop.show('bag'),
      recommendedSize: (id) => recommended.get(id) ?? null },
    // A product that arrives, moves or changes colour gets its shadow redrawn.
    onChange: (kind, item) => {
      if (kind === 'select') hint?.dismiss(); // the shopper found out how; the card gets the whole screen
      if (!item) return lighting.refresh();
      lighting.shade(item.object);
      if (kind === 'model') priceTags.place(item); // the tag sits over the real model, not the placeholder
      if (kind === 'grab' || kind === 'release') priceTags.setVisible(item.product.id, kind === 'release');
      // Others see what we hold.
      if (kind === 'grab') room?.setHolding(item.product.id);
      if (kind === 'release') room?.setHolding(null);
      return undefined;
    },
    immersive: () => renderer.xr.isPresenting, onTryOn: (p) => { products.deselect(); tryon?.open(p); } });
  tryon = new TryOn({ scene, panels, camera, products, api: new SizingApi({ shopperKey: () => shopApi.key }), turnView: (dYaw, dPitch) => controls.hooks.look(dYaw, dPitch) });
  const catalog = await fetchCatalog(config.sceneId).catch(() => []);
  const inStore = products.place(catalog);
  for (const p of catalog) shop.names[p.id] = p.name;
  const priceTags = new PriceTags(store.root);
  for (const item of products.items.values()) priceTags.place(item);
  // A product another shopper holds is drawn from our copy of its model (its stand-in box until that loads).
  // Furniture in your own room: a to-scale copy of it, the piece standing in it (room_fit.js).
  const roomFit = new RoomFit({ scene, store, rig, camera, panels, immersive: () => renderer.xr.isPresenting,
    onStatus: setStatus, look: (dYaw, dPitch) => controls.hooks.look(dYaw, dPitch),
    itemModel(product) {
      const item = products.items.get(product.id);
      return item?.gltf ? item.gltf.scene.clone(true) : null;
    } });
  products.onRoomFit = (product) => { tryon?.close?.(); roomFit.open(product); };
  const avatars = new RemoteAvatars(scene, {
    productModel(id) {
      const item = products.items.get(id);
      if (!item) return null;
      return item.gltf ? { object: item.gltf.scene.clone(true), placeholder: false }
        : { object: placeholderModel(item.product), placeholder: true };
    },
  });

  avatars.warmUp(renderer, camera); // before anyone can appear: compiling the body shader later stalls the page
  let room = null;

  /** Our height in metres: remembered, the desktop eye height follows, the room is told. */
  function setOwnHeight(height) {
    const h = validHeight(height);
    if (h === null) return false;
    ownHeight = h;
    storageSet(HEIGHT_KEY, String(h));
    if (!renderer.xr.isPresenting) camera.position.y = eyeHeightFor(h);
    room?.setProfile(h);
    return true;
  }

  // --- locomotion helpers --------------------------------------------------------------------
  const head = new THREE.Vector3();
  const headXZ = () => camera.getWorldPosition(head) && [head.x, head.z];
  let pitch = 0;
  function moveBy(dx, dz) {
    const [fx, fz] = headXZ();
    const [tx, tz] = store.walkable.constrainMove([fx, fz], [fx + dx, fz + dz]);
    rig.position.x += tx - fx;
    rig.position.z += tz - fz;
  }
  function turnBy(dYaw) {
    const [hx, hz] = headXZ();
    const [rx, rz] = turnAboutHead(rig.position.x, rig.position.z, hx, hz, dYaw);
    rig.position.x = rx;
    rig.position.z = rz;
    rig.rotation.y += dYaw;
  }
  function teleportTo(x, z) {
    if (!store.walkable.canTeleportTo(x, z)) {
      setStatus('You can’t stand there.');
      return false;
    }
    // The server allows one jump of at most 12 m: a far trip (the store map) goes as a few jumps.
    const hops = teleportHops(headXZ(), [x, z], (px, pz) => store.walkable.canTeleportTo(px, pz));
    if (!hops) {
      setStatus('That spot can’t be reached from here.');
      return false;
    }
    jumpThrough(hops);
    return true;
  }
  let jumps = Promise.resolve();
  function jumpThrough(hops) {
    const jump = ([x, z]) => {
      const [hx, hz] = headXZ();
      rig.position.x += x - hx;
      rig.position.z += z - hz;
      return room?.teleport(x, 0, z); // the server only lets a teleport through by this message
    };
    if (hops.length === 1) return jump(hops[0]);
    // Each jump waits for the server's answer and a few pose uploads from the new spot: the next one is
    // measured from there. Trips queue behind each other.
    jumps = jumps.then(async () => {
      for (const hop of hops) {
        await jump(hop);
        await new Promise((r) => { setTimeout(r, 80); });
      }
      plaza.hops += hops.length;
    });
    return jumps;
  }
  function facing() {
    const dir = camera.getWorldDirection(new THREE.Vector3());
    return Math.atan2(-dir.x, -dir.z);
  }

  // --- picking ---------------------------------------------------------------------------------
  const raycaster = new THREE.Raycaster();
  function floorHit(origin, direction) {
    raycaster.set(origin, direction);
    return raycaster.intersectObjects(store.floors, false)[0] ?? null;
  }
  /** What a select along a ray does: press a panel, pick a product, or teleport onto the floor. */
  function selectAlong(origin, direction, { teleport = true, holder = null, source = null } = {}) {
    if (panels.selectAlong(origin, direction)) return 'panel';
    raycaster.set(origin, direction);
    const product = products.pick(raycaster);
    // Point mode (shopping together): a select on a product shows it to the friends instead of opening it.
    if (product && social?.interceptSelect(product.item.product.id, source)) return 'point';
    if (product) {
      products.select(product.item.product.id);
      if (holder) products.inspect(product.item.product.id, holder);
      return 'product';
    }
    const floor = teleport && floorHit(origin, direction);
    if (floor && teleportTo(floor.point.x, floor.point.z)) return 'teleport';
    return null;
  }

  // --- desktop and touch ---------------------------------------------------------------------
  const ndc = new THREE.Vector2();
  const screenRay = (x, y) => {
    const rect = renderer.domElement.getBoundingClientRect();
    ndc.set(((x - rect.left) / rect.width) * 2 - 1, -((y - rect.top) / rect.height) * 2 + 1);
    raycaster.setFromCamera(ndc, camera);
    return [raycaster.ray.origin.clone(), raycaster.ray.direction.clone()];
  };
  const stickEl = document.getElementById('touch-stick');
  // A touch screen gets touch words in the help line (also when a laptop's screen is first touched).
  const showTouchHelp = () => { document.getElementById('help').textContent = TOUCH_HELP; };
  if (navigator.maxTouchPoints > 0 || window.matchMedia?.('(pointer: coarse)').matches) showTouchHelp();
  window.addEventListener('pointerdown', (e) => { if (e.pointerType === 'touch') showTouchHelp(); });
  const controls = new DesktopControls(renderer.domElement, {
    look(dYaw, dPitch) {
      turnBy(dYaw);
      pitch = Math.max(-1.3, Math.min(1.3, pitch + dPitch));
      camera.rotation.x = pitch;
    },
    click(x, y) {
      const [o, d] = screenRay(x, y);
      const result = selectAlong(o, d, { teleport: false });
      if (!result && products.selected && !products.inspecting) products.deselect();
      plaza.lastClick = result;
    },
    doubleClick(x, y) {
      const [o, d] = screenRay(x, y);
      const hit = floorHit(o, d);
      if (hit) teleportTo(hit.point.x, hit.point.z);
    },
    zoom: (f) => products.zoomInspected(f),
    hover(x, y) {
      const [o, d] = screenRay(x, y);
      raycaster.set(o, d);
      const hit = products.pick(raycaster);
      products.hover(hit?.item.product.id ?? null);
      social?.hoverWhilePointing(hit?.item.product.id ?? null);
      renderer.domElement.style.cursor = hit ? 'pointer' : '';
    },
    // Furniture in the room-fit room: press on it and slide it over the floor.
    grab(x, y) {
      if (!roomFit.room) return false;
      const [o, d] = screenRay(x, y);
      return !panels.pick(o, d, { hover: false }) && roomFit.grab(o, d);
    },
    dragTo(x, y) { roomFit.dragTo(...screenRay(x, y)); },
    release() { roomFit.release(); },
    dragObject(dx, dy) {
      if (!products.inspecting?.desktop) return false;
      products.rotateInspected(dx, dy);
      return true;
    },
    stickMoved(x, y) {
      stickEl.style.display = x === null ? 'none' : 'block';
      if (x !== null) Object.assign(stickEl.style, { left: `${x}px`, top: `${y}px` });
    },
  });

  // --- XR --------------------------------------------------------------------------------------
  const grabs = new Map(); // input slot -> product id held by it
  let roomDrag = null; // the input source sliding the room-fit furniture, while it holds select
  const xrInput = new XRInput(renderer, rig, config.inputProfilesPath, {
    // Every input kind (controller trigger, hand pinch, Vision Pro gaze-and-pinch) arrives as select.
    selectStart(source) {
      if (social?.drawArmed && social.group.active) { // drawing marks: the trigger or pinch held draws
        social.startStroke(source);
        plaza.lastSelect = 'draw';
        return;
      }
      const ray = source.ray;
      const origin = ray.getWorldPosition(new THREE.Vector3());
      const direction = new THREE.Vector3(0, 0, -1).applyQuaternion(ray.getWorldQuaternion(new THREE.Quaternion()));
      // Furniture in the room-fit room: point, hold the trigger (or pinch) and slide it over the floor.
      if (roomFit.room && !panels.pick(origin, direction, { hover: false }) && roomFit.grab(origin, direction)) {
        roomDrag = source;
        plaza.lastSelect = 'room-drag';
        return;
      }
      const result = selectAlong(origin, direction, { holder: ray, source });
      if (result === 'product') grabs.set(source.index, products.inspecting?.id);
      plaza.lastSelect = result;
    },
    selectEnd(source) {
      if (roomDrag === source) {
        roomDrag = null;
        roomFit.release();
      }
      if (social?.drawing?.source === source) social.endStroke();
      shop.selectEnded(); // releases "Hold to pay" pressed with this select
      if (grabs.has(source.index)) {
        grabs.delete(source.index);
        products.putBack();
      }
    },
  });
  // The pay ring's quarters and its filling, felt on the controllers (tracked hands have no actuators).
  shop.haptic = (cue) => { if (renderer.xr.isPresenting) pulseControllers(xrInput.active(), cue); };
  const snapTurn = new SnapTurn();
  const sessions = new XRSessions(renderer, {
    vrButton: document.getElementById('enter-vr'),
    arButton: document.getElementById('enter-ar'),
    onStart(mode) {
      camera.rotation.x = 0;
      products.refresh();
      shop.render(); // the open bag moves to an in-scene panel
      roomFit.render();
      social?.panel.render();
      promo?.rerender();
      if (mode === 'immersive-ar') scene.background = null;
      setStatus(mode === 'immersive-ar' ? 'In AR' : 'In VR');
    },
    onEnd() {
      xrMenu.detachWrist();
      xrMap.close();
      scene.background = new THREE.Color(0xcfd8e3);
      camera.position.set(0, eyeHeightFor(ownHeight), 0);
      camera.quaternion.identity();
      pitch = 0;
      products.refresh();
      shop.render();
      roomFit.render();
      social?.panel.render();
      promo?.rerender();
      setStatus(`${store.info.name ?? config.sceneId}${room ? ` · you are ${myName}` : ''}`);
    },
    onError: setStatus,
  });
  sessions.detect();

  function xrLocomotion(dt) {
    const left = xrInput.gamepad('left');
    const right = xrInput.gamepad('right');
    if (left && left.axes.length >= 4) {
      const [sx, sy] = [deadzone(left.axes[2]), deadzone(left.axes[3])];
      const [dx, dz] = walkStep(sx, -sy, facing(), dt);
      if (dx || dz) moveBy(dx, dz);
    }
    if (right && right.axes.length >= 4) {
      if (products.inspecting && !products.inspecting.desktop) {
        const zoom = deadzone(right.axes[3]);
        if (zoom) products.zoomInspected(Math.exp(-zoom * dt * 1.5));
      } else {
        const dYaw = snapTurn.update(right.axes[2]);
        if (dYaw) turnBy(dYaw);
      }
    }
    // The wrist menu button rides the left grip (not a transient gaze-and-pinch pointer's, which comes and
    // goes with each pinch); with no left controller or hand it floats in the view. X / Y summon it too.
    const leftSource = xrInput.active().find((src) => src.inputSource.handedness === 'left'
      && src.inputSource.targetRayMode !== 'transient-pointer');
    if (leftSource) {
      if (xrMenu.wrist?.mesh.parent !== leftSource.grip) xrMenu.attachWrist(leftSource.grip);
    } else if (!xrMenu.wrist || xrMenu.wrist.mesh.parent !== camera) {
      xrMenu.attachToView(camera);
    }
    xrMenu.update(left);
    panels.pokeWith(xrInput.fingertips());
    if (roomDrag) {
      if (!roomDrag.inputSource || !roomFit.room) roomDrag = null;
      else {
        const origin = roomDrag.ray.getWorldPosition(new THREE.Vector3());
        roomFit.dragTo(origin, new THREE.Vector3(0, 0, -1).applyQuaternion(roomDrag.ray.getWorldQuaternion(new THREE.Quaternion())));
      }
    }
    xrHover();
  }

  /** Highlights what the pointing rays are on: a panel button, else a product. */
  function xrHover() {
    let panelHit = null;
    let productId = null;
    for (const source of xrInput.active()) {
      if (!source.ray) continue;
      const origin = source.ray.getWorldPosition(new THREE.Vector3());
      const direction = new THREE.Vector3(0, 0, -1).applyQuaternion(source.ray.getWorldQuaternion(new THREE.Quaternion()));
      const hit = panels.pick(origin, direction, { hover: false });
      if (hit) {
        if (hit.widget || !panelHit) panelHit = hit;
        continue;
      }
      if (productId || products.inspecting) continue;
      raycaster.set(origin, direction);
      productId = products.pick(raycaster)?.item.product.id ?? null;
    }
    panels.setHover(panelHit);
    products.hover(productId);
  }

  /** The part of the screen the card may use: below the top bar, above the help line. */
  const hudEl = document.getElementById('hud');
  const helpEl = document.getElementById('help');
  const backEl = document.getElementById('back-to-list');
  function screenView() {
    // Bands at the bottom: the help line and, in simplified mode, "Back to the list" (0 when not shown).
    const bottom = Math.max(0, ...[helpEl, backEl, document.getElementById('first-hint')].filter(Boolean).map((el) => {
      const r = el.getBoundingClientRect();
      return r.height > 0 ? window.innerHeight - r.top : 0;
    }));
    return { w: window.innerWidth, h: window.innerHeight, top: hudEl.getBoundingClientRect().bottom, bottom };
  }

  // --- going places: a product, a department, a spot on the map ----------------------------------
  /** Stands where `target` (x, z) can be seen and turns to it; false if no floor near it can be reached. */
  function goNear(tx, tz) {
    const stand = store.walkable.standPointNear(tx, tz, headXZ());
    if (!stand || !teleportTo(stand[0], stand[1])) return false;
    // Face the target from where the trip ends (a far trip's jumps are still under way).
    turnBy(Math.atan2(-(tx - stand[0]), -(tz - stand[1])) - facing());
    return true;
  }
  function goToProduct(id) {
    const item = products.items.get(id);
    if (!item) return;
    const target = item.object.getWorldPosition(new THREE.Vector3());
    if (!goNear(target.x, target.z)) setStatus('That product can’t be reached on foot; showing its details.');
    products.select(id);
  }
  shop.onShowProduct = (id) => goTo({ kind: 'product', id }); // "For you" under the bag
  tryon.onForget = () => shopApi.call('DELETE', '/api/me/trail').catch(() => {}); // "Forget me" erases it too
  // "Add size M to bag" on the try-on result: that size in the colour the product shows (else the first one).
  tryon.onAddToBag = (product, chartSize) => {
    const raw = product.raw;
    const { colours, sizes } = optionAxes(raw);
    const size = preselectSize(sizes, chartSize);
    if (sizes.length && !size) return Promise.resolve(`${product.name} is not sold in size ${chartSize}.`);
    const shown = products.items.get(product.id)?.variant;
    const colour = colours.includes(shown) ? shown : (product.choices?.[0]?.id ?? colours[0] ?? null);
    const variant = pickVariant(raw, { colour, size });
    if (!variant) return Promise.resolve('That size is not sold in this colour.');
    return shop.add(product, variant.id);
  };
  function goTo(place) {
    hint.dismiss();
    if (place.kind === 'product') return goToProduct(place.id);
    if (place.kind === 'spot') return teleportTo(place.x, place.z);
    products.deselect();
    if (!goNear(place.x, place.z)) return setStatus(`${place.label} can’t be reached on foot from here.`);
    return setStatus(`${place.label} · ${store.info.name ?? config.sceneId}`);
  }
  // Departments: where each category's products stand, and the scene's zones; signs hang over them.
  const productSpots = [...products.items.values()].map((item) => {
    const p = item.object.getWorldPosition(new THREE.Vector3());
    return { id: item.product.id, name: item.product.name, category: item.product.category, x: p.x, z: p.z };
  });
  const depts = departments(productSpots, store.info.zones ?? []);
  const signage = new Signage(store.root, { ceiling: store.ceilingHeight, facing: [store.spawn[0], store.spawn[2]] });
  signage.set(depts);
  const mapButton = Object.assign(document.createElement('button'), { id: 'open-map', textContent: 'Map', type: 'button' });
  document.getElementById('buttons').prepend(mapButton);
  const storeMap = new StoreMap({ toggle: mapButton, store, go: goTo, products: productSpots,
    where: () => { const [x, z] = headXZ(); return { x, z, yaw: facing() }; } });
  storeMap.setDepartments(depts);
  const xrMap = new XRMap({ panels, camera, places: () => storeMap.places, go: goTo, storeName: store.info.name,
    where: () => { const [x, z] = headXZ(); return { x, z }; } });
  mapButton.addEventListener('click', () => { hint.dismiss(); products.deselect(); });
  const touchScreen = navigator.maxTouchPoints > 0 || Boolean(window.matchMedia?.('(pointer: coarse)').matches);
  hint = new FirstVisitHint({ storeName: store.info.name ?? config.sceneId, touch: touchScreen });

  // --- simplified mode -------------------------------------------------------------------------
  const simplified = new SimplifiedView({
    section: document.getElementById('simple-view'),
    list: document.getElementById('product-list'),
    toggle: document.getElementById('toggle-simple'),
    back: document.getElementById('back-to-list'),
    onShow(id) {
      if (!products.items.has(id)) return;
      simplified.peek(); // the list steps aside so the shopper sees where they went
      goToProduct(id);
    },
    onVariant: (id, variant) => products.setVariant(id, variant),
    onTryOn(id) {
      const item = products.items.get(id);
      if (!item) return;
      simplified.peek();
      products.deselect();
      tryon.open(item.product);
    },
    onToggle: (on) => panels.setScale(on ? 1.5 : 1),
  });
  simplified.setProducts(inStore);
  if (config.simplified) simplified.set(true);

  // --- frame loop ------------------------------------------------------------------------------
  let last = performance.now();
  const timing = { intervals: [], work: [] }; // ms, last 600 frames (benchmarks read these)
  plaza.timing = timing;
  renderer.setAnimationLoop((time, frame) => {
    const started = performance.now();
    if (plaza.frames > 0) pushCapped(timing.intervals, time - last);
    const dt = Math.min((time - last) / 1000, 0.1);
    last = time;
    plaza.frames += 1;
    if (frame) {
      plaza.xrFrames += 1;
      xrLocomotion(dt);
    } else {
      const [strafe, forward, turnRate] = controls.input();
      if (turnRate) turnBy(turnRate * dt);
      const [dx, dz] = walkStep(strafe, forward, facing(), dt);
      if (dx || dz) moveBy(dx, dz);
      products.updateCard(screenView());
    }
    if (tryon.result && tryon.product) recommended.set(tryon.product.id, tryon.result.rec.size);
    // The try-on's height (a result, or a remembered profile) is the height others see us at.
    const stature = (tryon.result || tryon.profile) ? tryon.form?.values?.stature : null;
    if (Number.isFinite(stature) && validHeight(stature / 100) !== ownHeight) setOwnHeight(stature / 100);
    tryon.update(dt, Boolean(frame)); // desktop: turns the view to a mirror at the side; headset: a hint
    social?.update(dt);
    assistant?.update();
    if (room) room.sendPose(ownPoseParts(camera, xrInput, Boolean(frame)), performance.now());
    avatars.render(performance.now(), camera);
    renderer.render(scene, camera);
    pushCapped(timing.work, performance.now() - started);
    plaza.onFrame?.(frame);
  });

  // --- the room: other shoppers ----------------------------------------------------------------
  // The shopper identity first (created on the first visit), so the room seat is linked to it.
  const shopperReady = shopApi.ensureShopper(myName)
    .then(() => shop.refreshBag()).catch((err) => console.warn(`No shopper yet (${err.message}); buying will retry.`));
  const roomReady = config.networking ? joinRoom(myName).catch((err) => {
    room = null;
    setStatus(`Shopping alone: could not join the room (${err.message}).`);
  }) : Promise.resolve();
  let pageHooks = false;
  /** Joins the store's room as `name`; `keepPlace`: a rejoin (a new name) keeps us where we stand. */
  async function joinRoom(name, { keepPlace = false } = {}) {
    const client = new RoomClient({
      room: config.roomId ?? await storeRoomId(config.sceneId),
      name,
      now: () => performance.now(),
      onPose: (id, serverMs, localMs, pose, avatarName) => avatars.push(id, serverMs, localMs, avatarPoseArray(pose),
        { name: avatarName, ...avatarHandJoints(pose), body: pose.body }),
      onLeave: (id) => avatars.remove(id),
      onStatus: setStatus,
      onWelcome: (welcome) => { avatars.resetClocks(); social?.onWelcome(welcome); },
      onControl: (message) => { social?.onMessage(message); promo?.onMessage(message); assistant?.onMessage(message); },
      shopperKey: () => shopApi.key,
      onStock: (levels) => products.applyStock(levels),
      onProfile: (id, height) => avatars.setHeight(id, height),
      onHeld: (id, productId) => avatars.setHeld(id, productId),
      onShop: (message) => shop.onRoomMessage(message),
    });
    room = client;
    await shopperReady;
    if (ownHeight) client.profile = { height: ownHeight }; // sent once the welcome is in
    if (products.inspecting) client.holding = products.inspecting.id;
    plaza.room = client;
    if (!pageHooks) {
      pageHooks = true;
      // A page that goes away says so: others see the avatar leave at once, not after the drop grace period.
      window.addEventListener('pagehide', () => room?.close());
      // Back from the back-forward cache: that seat is gone, so start afresh.
      window.addEventListener('pageshow', (event) => { if (event.persisted) window.location.reload(); });
    }
    // The spawn comes from the welcome: the server spreads shoppers over the store's spawn points.
    const welcome = await client.join();
    const [x, , z] = welcome.spawn ?? [];
    const [hx, hz] = headXZ();
    // A rejoin asks to stay put (a teleport from the new spawn); too far for that, it starts at the spawn.
    const stayed = keepPlace && (await client.teleport(hx, 0, hz))?.t === 'ok';
    if (!stayed && !welcome.resumed && Number.isFinite(x) && Number.isFinite(z) && store.walkable.isWalkable(x, z)) {
      rig.position.x += x - hx;
      rig.position.z += z - hz;
    }
    plaza.spawn = [x, z];
    myName = welcome.name ?? name;
    setStatus(`${store.info.name ?? config.sceneId} · room ${room.room} · you are ${myName}`);
    return welcome;
  }

  /** A new name: checked here, then the room is rejoined with it (the server checks it again). Error text or null. */
  async function rename(wanted) {
    const checked = checkName(wanted);
    if (checked.error) return checked.error;
    const previous = myName;
    myName = checked.name;
    storageSet(NAME_KEY, checked.name);
    shopApi.name = checked.name;
    if (!config.networking) return null;
    // In place when the server knows `rename`: same seat, nobody sees us leave and come back.
    const answer = room?.connected ? await room.rename(checked.name) : null;
    if (answer?.t === 'ok') {
      myName = answer.name ?? checked.name;
      storageSet(NAME_KEY, myName);
      shopApi.name = myName;
      setStatus(`Others now see you as ${myName}.`);
      return null;
    }
    if (answer?.t === 'error') {
      myName = previous;
      storageSet(NAME_KEY, previous);
      shopApi.name = previous;
      return answer.msg ?? 'The server did not take that name.';
    }
    room?.close(); // an older server (or no answer): join again under the new name
    try {
      await joinRoom(checked.name, { keepPlace: true });
      return null;
    } catch (err) {
      const field = err.problem?.errors?.find((e) => String(e.field).endsWith('name'));
      myName = previous;
      storageSet(NAME_KEY, previous);
      joinRoom(previous, { keepPlace: true }).catch((again) => setStatus(`Shopping alone: ${again.message}`));
      return field?.message ?? err.message ?? 'The server did not take that name.';
    }
  }

  // --- "You" (name and height) on a screen, and the headset menu --------------------------------
  const youButton = Object.assign(document.createElement('button'), { id: 'open-profile', textContent: 'You', type: 'button' });
  document.getElementById('buttons').prepend(youButton);
  const profileForm = new ProfileForm({ toggle: youButton, getName: () => myName, getHeight: () => ownHeight,
    setName: rename, setHeight: setOwnHeight });
  let storeList = [];
  fetchOptional('/api/scenes').then((data) => {
    storeList = (data?.scenes ?? []).filter((s) => s?.id && !s.error).map((s) => ({ id: s.id, name: s.name ?? s.id }));
    xrMenu.render();
  }).catch(() => {});
  function switchStore(id) {
    const url = new URL(window.location.href);
    url.searchParams.set('scene', id);
    url.searchParams.delete('room'); // every store has its own room
    window.location.assign(url.toString());
  }
  /** Another room of this store (a group's): leave this one, join that one. */
  async function switchRoom(id) {
    config.roomId = id;
    room?.close();
    await joinRoom(myName);
  }
  social = new Social({ shopApi, room: () => room, scene, camera, rig, products, avatars, shop, panels, config, setStatus,
    immersive: () => renderer.xr.isPresenting, rejoin: switchRoom, buttons: document.getElementById('buttons'),
    advisor: config.advisor, nav: { moveBy, turnBy, headXZ, facing, teleportTo } });
  social.attachDrawing(renderer.domElement, screenRay, (o, d) => {
    raycaster.set(o, d);
    return raycaster.intersectObjects([...products.items.values()].map((i) => i.object).concat(store.floors), true);
  });
  // The staff key typed on the advisor page: the room seat is rejoined under it (advisor calls arrive there).
  social.onStaffKey = () => (config.networking ? switchRoom(room?.room ?? config.roomId) : null);
  Promise.all([shopperReady, roomReady]).then(() => social.start()).catch((err) => console.warn(`social: ${err.message}`));
  // Promotions (promotions/): team buys on the card, the treasure hunt, "Invite & earn".
  promo = new Promotions({ shopApi, shop, products, panels, camera, scene, store: config.sceneId,
    storeName: store.info.name ?? config.sceneId, immersive: () => renderer.xr.isPresenting,
    buttons: document.getElementById('buttons'), goToProduct: (id) => goTo({ kind: 'product', id }), setStatus });
  shopperReady.then(() => promo.start()).catch((err) => console.warn(`promotions: ${err.message}`));
  // The store assistant (assistant/): answers from the catalog, and walks us to a product along its route.
  assistant = new StoreAssistant({ store: config.sceneId, shopApi, scene, camera, panels, products, social,
    immersive: () => renderer.xr.isPresenting, buttons: document.getElementById('buttons'), setStatus,
    walkable: store.walkable, onLead: () => simplified.peek(),
    nav: { headXZ, facing, turnBy, teleportTo, placeHead: (x, z) => {
      const [hx, hz] = headXZ();
      rig.position.x += x - hx;
      rig.position.z += z - hz;
    } } });
  const xrMenu = new XRMenu({ panels, camera,
    state: () => ({ name: myName, height: ownHeight, stores: storeList, store: config.sceneId }),
    actions: {
      exitVR: () => sessions.end(),
      simplified: () => sessions.end().then(() => simplified.set(true)),
      switchStore,
      setName: rename,
      setHeight: (h) => setOwnHeight(h),
      friends: () => social.panel.show(),
      hunt: () => promo.toggle(promo.huntPanel, () => promo.loadHunts()),
      invite: () => promo.toggle(promo.invitePanel, () => promo.loadReferrals()),
      ask: () => assistant.toggle(),
      map: () => xrMap.show(),
    } });

  Object.assign(plaza, {
    THREE, renderer, scene, camera, rig, store, panels, products, avatars, sessions, xrInput, controls,
    simplified, tryon, lighting, priceTags, teleportTo, moveBy, turnBy, shop, shopApi, shopperReady, setOwnHeight,
    ownHeight: () => ownHeight, xrMenu, xrMap, profileForm, rename, myName: () => myName, storeMap, signage, hint,
    departments: depts, goTo, roomFit, social, promo, assistant,
    cameraWorldPosition: () => camera.getWorldPosition(new THREE.Vector3()).toArray(),
    productWorldPosition: (id) => products.items.get(id)?.object.getWorldPosition(new THREE.Vector3()).toArray() ?? null,
    /** Screen pixel of a panel widget's centre (tests click it like a shopper would). */
    panelWidgetScreen(panelId, widgetId) {
      const panel = panels.get(panelId);
      const widget = panel?.widgets.find((w) => w.id === widgetId);
      if (!widget) return null;
      const [x, y, w, h] = widget.rect;
      const local = new THREE.Vector3((x + w / 2) / panel.widthPx - 0.5, 0.5 - (y + h / 2) / panel.heightPx, 0);
      const ndcPoint = panel.mesh.localToWorld(local).project(camera);
      const rect = renderer.domElement.getBoundingClientRect();
      return [rect.left + ((ndcPoint.x + 1) / 2) * rect.width, rect.top + ((1 - ndcPoint.y) / 2) * rect.height];
    },
    /** Product nearest to the camera that is in front of it (for tests and the "nearest product" hint). */
    nearestProductInView() {
      const eye = camera.getWorldPosition(new THREE.Vector3());
      const forward = camera.getWorldDirection(new THREE.Vector3());
      let best = null;
      for (const [id, item] of products.items) {
        const p = item.object.getWorldPosition(new THREE.Vector3());
        const to = p.clone().sub(eye);
        if (to.dot(forward) <= 0.3) continue;
        const d = to.length();
        if (!best || d < best.d) best = { id, d };
      }
      return best?.id ?? null;
    },
    enterVR: () => sessions.start('immersive-vr').then(() => true),
  });
  if (!config.networking) setStatus(`${store.info.name ?? config.sceneId}${inStore.length ? ` · ${inStore.length} products` : ''}`);
  plaza.ready = true;
}

function storageGet(key) {
  try { return window.localStorage.getItem(key); } catch { return null; }
}

function storageSet(key, value) {
  try { window.localStorage.setItem(key, value); } catch { /* private mode: not remembered */ }
}

function pushCapped(list, value, cap = 600) {
  list.push(value);
  if (list.length > cap) list.shift();
}

main().catch((err) => {
  console.error(err);
  plaza.errors.push(String(err?.message ?? err));
  setStatus(`The store could not start: ${err?.message ?? err}`);
});
