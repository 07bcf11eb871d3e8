import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as THREE from 'three';
import { variantNames, materialIndexFor, resolveVariant, applyVariant } from '../src/variants.js';

// The shape GLTFLoader gives: names on the root's userData, mappings on each mesh's userData.
function model() {
  const gltf = { userData: { gltfExtensions: { KHR_materials_variants: { variants: [{ name: 'Red' }, { name: 'Navy' }, { name: 'Sand' }] } } } };
  const body = new THREE.Mesh(new THREE.BoxGeometry(), new THREE.MeshStandardMaterial({ name: 'default-body' }));
  body.userData.gltfExtensions = { KHR_materials_variants: { mappings: [{ material: 1, variants: [0] }, { material: 2, variants: [1, 2] }] } };
  const zip = new THREE.Mesh(new THREE.BoxGeometry(), new THREE.MeshStandardMaterial({ name: 'default-zip' }));
  zip.userData.gltfExtensions = { KHR_materials_variants: { mappings: [{ material: 3, variants: [2] }] } };
  const label = new THREE.Mesh(new THREE.BoxGeometry(), new THREE.MeshStandardMaterial({ name: 'label' }));
  const root = new THREE.Group();
  root.add(body, zip, label);
  const materials = [0, 1, 2, 3].map((i) => new THREE.MeshStandardMaterial({ name: `m${i}` }));
  return { gltf, root, body, zip, label, load: async (i) => materials[i] };
}

test('reads variant names and mappings', () => {
  const { gltf, body } = model();
  assert.deepEqual(variantNames(gltf), ['Red', 'Navy', 'Sand']);
  assert.deepEqual(variantNames({}), []);
  const mappings = body.userData.gltfExtensions.KHR_materials_variants.mappings;
  assert.equal(materialIndexFor(mappings, 0), 1);
  assert.equal(materialIndexFor(mappings, 2), 2);
  assert.equal(materialIndexFor(mappings, 7), null);
  assert.equal(materialIndexFor('junk', 0), null);
  assert.equal(resolveVariant(['Red', 'Navy'], 'navy'), 1);
  assert.equal(resolveVariant(['Red', 'Navy'], 5), -1);
});

test('switching variants swaps mapped materials and restores defaults', async () => {
  const { gltf, root, body, zip, label, load } = model();
  const names = variantNames(gltf);
  assert.equal(await applyVariant(root, names, 'Sand', load), 2);
  assert.deepEqual([body.material.name, zip.material.name, label.material.name], ['m2', 'm3', 'label']);
  await applyVariant(root, names, 'Red', load);
  // The zip has no Red mapping: it goes back to its default material.
  assert.deepEqual([body.material.name, zip.material.name], ['m1', 'default-zip']);
  await applyVariant(root, names, null, load);
  assert.deepEqual([body.material.name, zip.material.name], ['default-body', 'default-zip']);
});

test('an unknown variant is a readable error and changes nothing', async () => {
  const { gltf, root, body, load } = model();
  await assert.rejects(applyVariant(root, variantNames(gltf), 'Purple', load), /no variant "Purple".*Red, Navy, Sand/);
  assert.equal(body.material.name, 'default-body');
});
