// The store assistant as a figure in the store: a body like the shoppers' (the same mannequin, solved from a
// head that walks the route, so its feet step), a friendly face instead of a headset visor, a name label, and
// the route drawn on the floor as a row of arrows. One Guide per walk: the shopper's own, or a friend's.
import * as THREE from 'three';
import { BodySolver, eyeHeightFor } from '../avatar_body.js';
import { Mannequin, makeLabel } from '../avatars.js';
import { REST_HEIGHT_M } from '../net/body_pose.js';

const GUIDE_HEIGHT_M = 1.72;
const GUIDE_COLOR = 0x2bb3a3;
const ARROW_EVERY_M = 0.6;
const FLOOR_LIFT_M = 0.012; // above the floor, under a product table's feet: never z-fights the floor

const arrowShape = new THREE.Shape([new THREE.Vector2(0, -0.13), new THREE.Vector2(0.09, 0.05),
  new THREE.Vector2(0, 0.0), new THREE.Vector2(-0.09, 0.05)]);
const arrowGeometry = new THREE.ShapeGeometry(arrowShape).rotateX(-Math.PI / 2); // flat on the floor, tip to -Z

export class Guide {
  /** @param {object} o {scene, label: text over the head, color (hex), floorY} */
  constructor({ scene, label = 'Assistant', color = GUIDE_COLOR, floorY = 0 }) {
    this.scene = scene;
    this.floorY = floorY;
    this.root = new THREE.Group();
    this.root.name = 'assistant-guide';
    const skin = new THREE.MeshStandardMaterial({ color: 0xf1c9a5, roughness: 0.7 });
    this.head = new THREE.Mesh(new THREE.SphereGeometry(0.11, 20, 14), skin);
    this.head.name = 'assistant-head';
    const eyes = new THREE.MeshBasicMaterial({ color: 0x1d2330 });
    for (const side of [-1, 1]) {
      const eye = new THREE.Mesh(new THREE.SphereGeometry(0.014, 8, 6), eyes);
      eye.position.set(0.037 * side, 0.02, -0.1);
      this.head.add(eye);
    }
    const cap = new THREE.Mesh(new THREE.SphereGeometry(0.115, 20, 10, 0, Math.PI * 2, 0, Math.PI / 2.2),
      new THREE.MeshStandardMaterial({ color, roughness: 0.5 }));
    cap.position.y = 0.01;
    this.head.add(cap);
    this.figure = new Mannequin(color);
    this.solver = new BodySolver();
    this.label = makeLabel(label);
    this.root.add(this.head, this.figure.group, this.label);
    this.path = new THREE.Group();
    this.path.name = 'assistant-route';
    this.arrowMaterial = new THREE.MeshBasicMaterial({ color, transparent: true, opacity: 0.85, depthWrite: false });
    scene.add(this.root, this.path);
    this.where = null; // {x, z, heading}: where it stands, for tests and for the view that follows
  }

  /** The route on the floor: arrows every ARROW_EVERY_M pointing the way. */
  showRoute(walk) {
    this.path.clear();
    for (let d = 0.4; d < walk.length; d += ARROW_EVERY_M) {
      const at = walk.at(d);
      const arrow = new THREE.Mesh(arrowGeometry, this.arrowMaterial);
      arrow.position.set(at.x, this.floorY + FLOOR_LIFT_M, at.z);
      arrow.rotation.y = at.heading;
      arrow.renderOrder = 1;
      arrow.userData.d = d;
      this.path.add(arrow);
    }
  }

  /** Stands (or walks: called every frame) at floor point x, z facing `heading`. */
  place(nowMs, x, z, heading, camera = null) {
    this.where = { x, z, heading };
    const eyeY = this.floorY + eyeHeightFor(GUIDE_HEIGHT_M);
    const q = new THREE.Quaternion().setFromAxisAngle(new THREE.Vector3(0, 1, 0), heading);
    const fk = this.solver.update(nowMs, { head: [x, eyeY, z, q.x, q.y, q.z, q.w], height: GUIDE_HEIGHT_M,
      floorY: this.floorY });
    this.figure.update(fk, GUIDE_HEIGHT_M / REST_HEIGHT_M, 1);
    this.head.position.set(x, eyeY, z);
    this.head.quaternion.copy(q);
    this.label.position.set(x, eyeY + 0.3, z);
    if (camera) this.label.quaternion.copy(camera.getWorldQuaternion(new THREE.Quaternion()));
  }

  /** The arrows behind `walked` metres go: the route left to walk is what stays on the floor. */
  trim(walked) {
    for (const arrow of this.path.children) {
      arrow.visible = arrow.userData.d > walked;
    }
  }

  dispose() {
    this.scene.remove(this.root, this.path);
    this.path.clear();
  }
}
