// KHR_materials_variants: switch a product model's colour/material variant on the model itself.
// three's GLTFLoader keeps the extension data on userData.gltfExtensions (variant names on the glTF
// root, per-primitive mappings on each mesh) but does not switch; these few functions do.

const EXT = 'KHR_materials_variants';

/** Variant names in glTF order, [] when the model has none. */
export function variantNames(gltf) {
  const variants = gltf?.userData?.gltfExtensions?.[EXT]?.variants;
  return Array.isArray(variants) ? variants.map((v, i) => String(v?.name ?? `variant ${i + 1}`)) : [];
}

/** Material index a primitive uses for variant `variantIndex`, or null for "its default material". */
export function materialIndexFor(mappings, variantIndex) {
  if (!Array.isArray(mappings)) return null;
  for (const mapping of mappings) {
    if (Array.isArray(mapping?.variants) && mapping.variants.includes(variantIndex) && Number.isInteger(mapping.material)) {
      return mapping.material;
    }
  }
  return null;
}

/** Index of a variant given by name (case-insensitive) or index; -1 when unknown. */
export function resolveVariant(names, variant) {
  if (Number.isInteger(variant)) return variant >= 0 && variant < names.length ? variant : -1;
  const wanted = String(variant ?? '').toLowerCase();
  return names.findIndex((n) => n.toLowerCase() === wanted);
}

/**
 * Shows `variant` (name or index; null = the model's defaults) on every mesh under `root`.
 * loadMaterial(index) returns a Promise of the material (gltf.parser.getDependency('material', i)).
 * Returns the number of meshes changed. Throws a readable Error for an unknown variant.
 */
export async function applyVariant(root, names, variant, loadMaterial) {
  const index = variant === null ? null : resolveVariant(names, variant);
  if (index === -1) throw new Error(`This product has no variant "${variant}". It has: ${names.join(', ') || 'none'}.`);
  const jobs = [];
  root.traverse((object) => {
    if (!object.isMesh) return;
    const mappings = object.userData?.gltfExtensions?.[EXT]?.mappings;
    if (!mappings) return;
    if (!object.userData.defaultMaterial) object.userData.defaultMaterial = object.material;
    const materialIndex = index === null ? null : materialIndexFor(mappings, index);
    jobs.push((async () => {
      const material = materialIndex === null ? object.userData.defaultMaterial : await loadMaterial(materialIndex);
      if (object.material === material) return 0;
      object.material = material;
      return 1;
    })());
  });
  const changed = await Promise.all(jobs);
  return changed.reduce((a, b) => a + b, 0);
}
