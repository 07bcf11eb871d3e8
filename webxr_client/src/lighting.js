// Light that makes the store read as a real room: image-based lighting from three's RoomEnvironment
// (prefiltered once by PMREMGenerator: PBR materials get soft reflections and ambient from every side), and
// one sun with soft (PCF) shadows. The store stands still, so the shadow map is drawn only when something
// changed (a model arrived, a product moved), not every frame: on a phone or a CPU renderer that matters.
import * as THREE from 'three';
import { RoomEnvironment } from 'three/addons/environments/RoomEnvironment.js';

const SHADOW_MAP_PX = 1024;

export class StoreLighting {
  constructor(renderer, scene) {
    this.renderer = renderer;
    this.scene = scene;
    const pmrem = new THREE.PMREMGenerator(renderer);
    const room = new RoomEnvironment();
    this.environment = pmrem.fromScene(room, 0.04).texture;
    room.dispose();
    pmrem.dispose();
    scene.environment = this.environment;
    scene.environmentIntensity = 0.5;
    renderer.shadowMap.enabled = true;
    renderer.shadowMap.type = THREE.PCFShadowMap; // filtered (soft-edged) with shadow.radius; r187 has no PCFSoft
    renderer.shadowMap.autoUpdate = false;
    this.sun = null;
  }

  /** Shadows from the store's sun over its whole floor; fixtures and products cast, floors receive. */
  light(store) {
    const [minX, minZ, maxX, maxZ] = store.walkable.extent();
    const sun = new THREE.DirectionalLight(0xfff4e6, 0.9);
    const [cx, cz] = [(minX + maxX) / 2, (minZ + maxZ) / 2];
    // Just under the ceiling, so the ceiling and roof are behind the shadow camera and cast nothing; steep, so
    // walls throw only short shadows and are not lit flat-on.
    sun.position.set(cx + 0.8, store.ceilingHeight - 0.15, cz + 1.2);
    sun.target.position.set(cx, 0, cz);
    sun.castShadow = true;
    const half = Math.max(maxX - minX, maxZ - minZ) / 2 + 1;
    Object.assign(sun.shadow.camera, { left: -half, right: half, top: half, bottom: -half, near: 0.05, far: 8 });
    sun.shadow.mapSize.set(SHADOW_MAP_PX, SHADOW_MAP_PX);
    sun.shadow.radius = 4;
    sun.shadow.bias = -0.0005;
    sun.shadow.normalBias = 0.02;
    store.root.add(sun, sun.target);
    this.sun = sun;
    this.shade(store.root);
  }

  /** Marks meshes under `root` to cast and receive shadows, and redraws the shadow map on the next frame. */
  shade(root) {
    root.traverse((o) => {
      if (!o.isMesh || o.material?.transparent) return;
      const name = `${o.name} ${o.material?.name ?? ''}`;
      o.castShadow = !/floor|ceiling/i.test(name);
      o.receiveShadow = true;
    });
    this.refresh();
  }

  refresh() {
    this.renderer.shadowMap.needsUpdate = true;
  }
}
