// Our own pose for the upload: head, controllers and hand joints in world space, as the flat float
// arrays the protocol wants (position xyz + rotation xyzw per part; hands 25 joints in WebXR order).
import * as THREE from 'three';
import { handJointsFromCodes } from './hand_pose.js';

export const HAND_JOINT_NAMES = [
  'wrist',
  'thumb-metacarpal', 'thumb-phalanx-proximal', 'thumb-phalanx-distal', 'thumb-tip',
  'index-finger-metacarpal', 'index-finger-phalanx-proximal', 'index-finger-phalanx-intermediate',
  'index-finger-phalanx-distal', 'index-finger-tip',
  'middle-finger-metacarpal', 'middle-finger-phalanx-proximal', 'middle-finger-phalanx-intermediate',
  'middle-finger-phalanx-distal', 'middle-finger-tip',
  'ring-finger-metacarpal', 'ring-finger-phalanx-proximal', 'ring-finger-phalanx-intermediate',
  'ring-finger-phalanx-distal', 'ring-finger-tip',
  'pinky-finger-metacarpal', 'pinky-finger-phalanx-proximal', 'pinky-finger-phalanx-intermediate',
  'pinky-finger-phalanx-distal', 'pinky-finger-tip',
];

const _p = new THREE.Vector3();
const _q = new THREE.Quaternion();

function objectPose(object, out = [], at = 0) {
  object.getWorldPosition(_p);
  object.getWorldQuaternion(_q);
  out[at] = _p.x; out[at + 1] = _p.y; out[at + 2] = _p.z;
  out[at + 3] = _q.x; out[at + 4] = _q.y; out[at + 5] = _q.z; out[at + 6] = _q.w;
  return out;
}

/**
 * {0: head, 1/2: controllers, 3/4: hands} for encodePoseUpload, from the camera and XR input. A controller's
 * trigger value (gamepad button 0, 0..1) goes in `parts.triggers[1 or 2]`: it rides with the pose (upload presence
 * bit 6) so that the server can recognise a trigger-hold at checkout.
 */
export function ownPoseParts(camera, xrInput, inXR) {
  const parts = { 0: objectPose(camera) };
  if (!inXR || !xrInput) return parts;
  for (const source of xrInput.active()) {
    const input = source.inputSource;
    const side = input.handedness === 'left' ? 0 : input.handedness === 'right' ? 1 : -1;
    if (side < 0) continue;
    if (input.hand) {
      const joints = source.hand.joints;
      if (!joints || HAND_JOINT_NAMES.some((n) => !joints[n] || joints[n].visible === false)) continue;
      const values = new Array(25 * 7);
      HAND_JOINT_NAMES.forEach((n, j) => objectPose(joints[n], values, j * 7));
      parts[3 + side] = values;
    } else if (input.targetRayMode === 'tracked-pointer') {
      parts[1 + side] = objectPose(source.grip);
      const trigger = input.gamepad?.buttons?.[0]?.value;
      if (Number.isFinite(trigger)) {
        parts.triggers ??= {};
        parts.triggers[1 + side] = trigger;
      }
    }
  }
  return parts;
}

/** A remote avatar's decoded pose -> the flat 21-number layout the avatar renderer buffers. */
export function avatarPoseArray(pose) {
  const out = new Array(21).fill(0);
  out.splice(0, 7, ...pose.head.p, ...pose.head.q);
  const left = pose.left_controller ?? pose.left_hand;
  const right = pose.right_controller ?? pose.right_hand;
  // An absent hand is sent as zero position + identity rotation: the renderer hides it.
  out.splice(7, 7, ...(left ? [...left.p, ...left.q] : [0, 0, 0, 0, 0, 0, 1]));
  out.splice(14, 7, ...(right ? [...right.p, ...right.q] : [0, 0, 0, 0, 0, 0, 1]));
  return out;
}

/** Remote tracked hands as 25 joints each (null for a hand that is absent or held as a controller). */
export function avatarHandJoints(pose) {
  const joints = (hand, isLeft) => (hand?.codes ? handJointsFromCodes(hand.p, hand.q, hand.codes, isLeft) : null);
  return { leftJoints: joints(pose.left_hand, true), rightJoints: joints(pose.right_hand, false) };
}
