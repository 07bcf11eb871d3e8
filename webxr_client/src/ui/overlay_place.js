// Where the HTML overlays and their in-headset panels go, shared by the promotion panels and the assistant.
import * as THREE from 'three';

/** An HTML panel below the top bar (two or three lines on a phone), above the help line; it scrolls inside. */
export function fitBelowTopBar(root) {
  if (root.hidden) return;
  const hud = document.getElementById('buttons')?.getBoundingClientRect();
  const help = document.getElementById('help')?.getBoundingClientRect();
  const top = Math.round((hud?.bottom ?? 50) + 8);
  const bottom = help && help.height ? window.innerHeight - help.top + 8 : 10;
  Object.assign(root.style, { top: `${top}px`, maxHeight: `${Math.max(160, window.innerHeight - top - bottom)}px` });
}

/** An in-scene panel 0.85 m in front of the eye, `sideM` to the right (negative: left), a little low, facing it. */
export function placeInFront(panel, camera, sideM) {
  const eye = camera.getWorldPosition(new THREE.Vector3());
  const forward = camera.getWorldDirection(new THREE.Vector3()).setY(0);
  if (forward.lengthSq() < 1e-6) forward.set(0, 0, -1);
  forward.normalize();
  const right = new THREE.Vector3(-forward.z, 0, forward.x);
  panel.mesh.position.copy(eye).addScaledVector(forward, 0.85).addScaledVector(right, sideM);
  panel.mesh.position.y = eye.y - 0.1;
  panel.mesh.lookAt(eye.x, panel.mesh.position.y, eye.z);
}
