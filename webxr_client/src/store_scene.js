// Builds the store the shopper walks in. The scene comes from GET /api/scenes/{id}: when it names a
// glTF model of the store, that model is loaded; otherwise (or if loading fails) a lit room is built
// from the scene data itself (walkable floor, walls, fixtures). With no scene API at all, a small
// built-in demo room keeps the page usable and says so.
import * as THREE from 'three';
import { fetchOptional } from './api.js';
import { WalkableArea } from './walkable.js';

export const DEMO_SCENE = {
  id: 'demo',
  name: 'Demo room (store data unavailable)',
  bounds_min: [-6, 0, -5],
  bounds_max: [6, 3.2, 5],
  spawn_points: [[0, 0, 3]],
  fixtures: [
    { id: 'shelf-a', kind: 'shelf', position: [-4, 0, -2], size: [0.6, 1.8, 3], yaw: 0 },
    { id: 'table-b', kind: 'table', position: [0, 0, -1], size: [2, 0.8, 1], yaw: 0 },
    { id: 'shelf-c', kind: 'shelf', position: [4, 0, -2], size: [0.6, 1.8, 3], yaw: 0 },
  ],
  demo: true,
};

/** First of several spellings a field may have in scene/product JSON. */
export function pick(obj, ...keys) {
  for (const k of keys) if (obj && obj[k] !== undefined && obj[k] !== null) return obj[k];
  return undefined;
}

function vec3(value, fallback = [0, 0, 0]) {
  if (Array.isArray(value) && value.length >= 3 && value.slice(0, 3).every(Number.isFinite)) return value.slice(0, 3);
  if (value && typeof value === 'object' && ['x', 'y', 'z'].every((k) => Number.isFinite(value[k]))) {
    return [value.x, value.y, value.z];
  }
  return fallback;
}

export async function fetchScene(sceneId) {
  const data = await fetchOptional(`/api/scenes/${encodeURIComponent(sceneId)}`);
  if (!data) return null;
  return data.scene && typeof data.scene === 'object' ? { ...data, ...data.scene } : data;
}

export class Store {
  constructor(info) {
    this.info = info;
    this.root = new THREE.Group();
    this.root.name = 'store';
    this.walkable = WalkableArea.fromScene(info);
    this.floors = []; // meshes a teleport ray may land on
    this.fixtures = []; // {id, object, def}
    const spawn = pick(info, 'spawn_points', 'spawns');
    this.spawn = Array.isArray(spawn) && spawn.length ? vec3(spawn[0], [0, 0, 0]) : [0, 0, 0];
    this.usedModel = false;
    const top = vec3(pick(info, 'bounds_max'), [0, 0, 0])[1];
    this.ceilingHeight = Number(pick(info, 'ceiling_height')) || (top > 1 ? top : 3.2);
  }
}

/** Loads the scene and builds it. onStatus(text) reports progress in words. */
export async function loadStore(sceneId, { gltfLoader, onStatus = () => {} }) {
  let info = null;
  try {
    info = await fetchScene(sceneId);
  } catch (err) {
    onStatus(`Store data unavailable: ${err.message}`);
  }
  if (!info) info = { ...DEMO_SCENE, requested: sceneId };
  const store = new Store(info);
  addLights(store);
  const modelUrl = pick(info, 'model_url', 'gltf_url', 'glb_url', 'model');
  if (typeof modelUrl === 'string' && gltfLoader) {
    try {
      onStatus(`Loading ${info.name ?? sceneId}…`);
      const gltf = await gltfLoader.loadAsync(modelUrl);
      gltf.scene.name = 'store-model';
      store.root.add(gltf.scene);
      store.usedModel = true;
      gltf.scene.traverse((o) => {
        if (o.isMesh && /floor|ground/i.test(`${o.name} ${o.parent?.name ?? ''}`)) store.floors.push(o);
      });
    } catch (err) {
      onStatus(`Store model failed to load (${err.message ?? err}); showing a simple room.`);
    }
  }
  if (!store.usedModel) buildRoom(store);
  // The teleport floor is always the walkable polygon (invisible when the model brings its own floor).
  addWalkableFloor(store, store.usedModel);
  buildFixtures(store);
  return store;
}

function addLights(store) {
  // Sky and floor bounce; the image-based light and the shadow-casting sun come from lighting.js.
  const hemi = new THREE.HemisphereLight(0xfff6e8, 0x3b3f47, 0.9);
  store.root.add(hemi);
}

function addWalkableFloor(store, invisible) {
  const material = new THREE.MeshStandardMaterial({ color: 0xd9cbb6, roughness: 0.85 });
  for (const polygon of store.walkable.polygons) {
    // Shape in (x, -z) so that rotating -90 degrees about x lays it on the floor at the right z.
    const shape = new THREE.Shape(polygon.map(([x, z]) => new THREE.Vector2(x, -z)));
    const mesh = new THREE.Mesh(new THREE.ShapeGeometry(shape), material);
    mesh.rotation.x = -Math.PI / 2;
    mesh.name = 'walkable-floor';
    mesh.visible = !invisible;
    store.root.add(mesh);
    store.floors.push(mesh);
  }
}

function buildRoom(store) {
  const [minX, minZ, maxX, maxZ] = store.walkable.extent();
  const height = vec3(pick(store.info, 'bounds_max'), [0, 3.2, 0])[1] || 3.2;
  const wallMat = new THREE.MeshStandardMaterial({ color: 0xf2ede4, roughness: 0.9 });
  const trimMat = new THREE.MeshStandardMaterial({ color: 0x2f5d62, roughness: 0.6 });
  const w = maxX - minX;
  const d = maxZ - minZ;
  const cx = (minX + maxX) / 2;
  const cz = (minZ + maxZ) / 2;
  const walls = [
    [w, cx, minZ, 0], [w, cx, maxZ, Math.PI], [d, minX, cz, Math.PI / 2], [d, maxX, cz, -Math.PI / 2],
  ];
  for (const [len, x, z, yaw] of walls) {
    const wall = new THREE.Mesh(new THREE.PlaneGeometry(len, height), wallMat);
    wall.position.set(x, height / 2, z);
    wall.rotation.y = yaw;
    const trim = new THREE.Mesh(new THREE.BoxGeometry(len, 0.12, 0.03), trimMat);
    trim.position.set(x, 0.06, z);
    trim.rotation.y = yaw;
    store.root.add(wall, trim);
  }
  const ceiling = new THREE.Mesh(new THREE.PlaneGeometry(w, d), new THREE.MeshStandardMaterial({ color: 0xf4f1ea, roughness: 0.95 }));
  ceiling.name = 'ceiling';
  ceiling.rotation.x = Math.PI / 2; // facing down
  ceiling.position.set(cx, height, cz);
  store.root.add(ceiling);
  // Warm ceiling lamps: visible objects so the room reads as lit, one cheap light to back them.
  const lampMat = new THREE.MeshBasicMaterial({ color: 0xfff2cc });
  for (let x = minX + 2; x < maxX - 1; x += 3) {
    for (let z = minZ + 2; z < maxZ - 1; z += 3) {
      const lamp = new THREE.Mesh(new THREE.CylinderGeometry(0.25, 0.25, 0.04, 16), lampMat);
      lamp.position.set(x, height - 0.05, z);
      store.root.add(lamp);
    }
  }
  const fill = new THREE.PointLight(0xffe7c4, 12, 0, 1.6);
  fill.position.set(cx, height - 0.3, cz);
  store.root.add(fill);
}

const FIXTURE_COLORS = { shelf: 0x8c6a4f, table: 0xa7825f, rack: 0x555555, counter: 0x3d5a80, mannequin: 0xdddddd };

function buildFixtures(store) {
  const fixtures = pick(store.info, 'fixtures') ?? [];
  if (!Array.isArray(fixtures)) return;
  for (const def of fixtures) {
    // Scene data gives either a 3D position or a floor centre [x, z] (server/scenes), and a yaw.
    const center = pick(def, 'center');
    const position = vec3(pick(def, 'position', 'pos'), null)
      ?? (Array.isArray(center) && center.length === 2 && center.every(Number.isFinite) ? [center[0], 0, center[1]] : null);
    if (!position) continue;
    const kind = String(pick(def, 'kind', 'type') ?? 'shelf');
    const size = vec3(pick(def, 'size', 'dimensions'), [1, 1, 0.5]);
    const degrees = Number(pick(def, 'rotation_deg'));
    const yaw = Number.isFinite(degrees) ? (degrees * Math.PI) / 180 : Number(pick(def, 'yaw', 'rotation_y')) || 0;
    const group = new THREE.Group();
    group.name = `fixture:${def.id ?? kind}`;
    group.position.set(...position);
    group.rotation.y = yaw;
    if (!store.usedModel) {
      const material = new THREE.MeshStandardMaterial({ color: FIXTURE_COLORS[kind] ?? 0x8c6a4f, roughness: 0.7 });
      const body = new THREE.Mesh(new THREE.BoxGeometry(size[0], size[1], size[2]), material);
      body.position.y = size[1] / 2;
      group.add(body);
    }
    group.userData.top = size[1];
    store.root.add(group);
    store.fixtures.push({ id: def.id ?? kind, object: group, def, size });
  }
}
