"""Generated glTF models: Khronos validator, commerce budgets, scale and orientation, variants, determinism."""

import gzip
import io
import json
import subprocess
from pathlib import Path

import numpy as np
import pygltflib
import pytest
import trimesh

from assets.build import OUT, ensure_built, generate
from assets.product_models import build_product_glb
from server.commerce.catalog import CATALOG_DIR, load_catalog_from

ASSETS = Path(__file__).resolve().parents[1] / "assets"
MAX_BYTES, MAX_TRIANGLES = 5 * 1024 * 1024, 100_000


@pytest.fixture(scope="module")
def manifest():
    _, m = ensure_built()
    return m


@pytest.fixture(scope="module")
def catalog():
    return load_catalog_from(CATALOG_DIR, manifest_path=None)


def _all_files(manifest):
    files = []
    for e in manifest["models"].values():
        files += [OUT / "models" / e["file"]] + [OUT / "models" / lod["file"] for lod in e["lods"]]
    files += [OUT / "scenes" / e["file"] for e in manifest["scenes"].values()]
    return files


def test_every_generated_file_passes_the_khronos_validator(manifest):
    files = _all_files(manifest)
    assert (ASSETS / "node_modules" / "gltf-validator").is_dir(), "run `npm ci` in assets/ (make setup does it)"
    proc = subprocess.run(["node", "tools/validate.mjs", *map(str, files)], cwd=ASSETS, capture_output=True,
                          text=True, timeout=120)
    report = json.loads(proc.stdout)
    assert len(report["files"]) == len(files)
    failures = {f: r["messages"] for f, r in report["files"].items() if r["errors"] or r["warnings"]}
    assert failures == {}
    assert proc.returncode == 0


def test_validator_script_reports_errors_on_a_broken_file(tmp_path):
    bad = tmp_path / "broken.glb"
    bad.write_bytes(b"glTF" + b"\x02\x00\x00\x00" + b"\x00" * 12)
    proc = subprocess.run(["node", "tools/validate.mjs", str(bad)], cwd=ASSETS, capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 1
    assert json.loads(proc.stdout)["files"][str(bad)]["errors"] >= 1


def test_every_product_has_a_model_within_commerce_budgets(manifest, catalog):
    assert set(manifest["models"]) == set(catalog.products)
    for pid, e in manifest["models"].items():
        assert e["bytes"] < MAX_BYTES and e["triangles"] <= MAX_TRIANGLES, pid
        data = (OUT / "models" / e["file"]).read_bytes()
        glb = pygltflib.GLTF2.load_from_bytes(data)
        for image in glb.images:
            view = glb.bufferViews[image.bufferView]
            png = glb.binary_blob()[view.byteOffset : view.byteOffset + view.byteLength]
            w, h = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
            assert w & (w - 1) == 0 and h & (h - 1) == 0, f"{pid}: texture {w}x{h} is not a power of two"


def _bounds(path: Path) -> np.ndarray:
    return trimesh.load(io.BytesIO(path.read_bytes()), file_type="glb").bounds


def test_models_stand_on_the_origin_at_real_world_scale(manifest, catalog):
    for pid, e in manifest["models"].items():
        lo, hi = _bounds(OUT / "models" / e["file"])
        size = hi - lo
        assert abs(lo[1]) < 0.002, f"{pid}: bottom at y={lo[1]:.3f}, expected 0"
        assert abs((lo[0] + hi[0]) / 2) < 0.05, f"{pid}: not centred on x"
        assert 0.01 < size.max() < 2.5, f"{pid}: {size} m is not a plausible product size"
        dims = catalog.get(pid).dimensions_cm
        # Furniture models match the dimensions a shopper reads (a laptop is shown open, so not it).
        if (dims and catalog.get(pid).category == "furniture") or pid in ("fridge-retro", "tv-55"):
            expected = np.array([dims["width"], dims["height"], dims["depth"]]) / 100
            assert np.allclose(size, expected, rtol=0.12, atol=0.03), f"{pid}: {size} vs {expected}"


def test_colour_options_are_material_variants_named_like_the_catalog(manifest, catalog):
    for pid, e in manifest["models"].items():
        product = catalog.get(pid)
        glb = pygltflib.GLTF2.load_from_bytes((OUT / "models" / e["file"]).read_bytes())
        expected = {v.gltf_variant for v in product.variants if v.gltf_variant}
        names = {v["name"] for v in (glb.extensions or {}).get("KHR_materials_variants", {}).get("variants", [])}
        assert names == expected, pid
        if expected:
            mapped = [p for m in glb.meshes for p in m.primitives if "KHR_materials_variants" in (p.extensions or {})]
            assert mapped, f"{pid}: variants declared but no primitive switches material"
        for m in glb.materials:
            assert m.pbrMetallicRoughness is not None  # metallic-roughness PBR throughout


def test_fridge_door_and_laptop_lid_are_separate_hinged_nodes(manifest):
    fridge = pygltflib.GLTF2.load_from_bytes((OUT / "models" / manifest["models"]["fridge-retro"]["file"]).read_bytes())
    door = next(n for n in fridge.nodes if n.name == "door")
    assert door.mesh is not None and door.extras["hinge_axis"] == [0, 1, 0]
    # The hinge sits on the right front edge: the door's geometry extends to its left (-x).
    positions = fridge.accessors[fridge.meshes[door.mesh].primitives[0].attributes.POSITION]
    assert door.translation[0] > 0.25 and positions.max[0] <= 0.001 and positions.min[0] < -0.5
    laptop = pygltflib.GLTF2.load_from_bytes((OUT / "models" / manifest["models"]["laptop-14"]["file"]).read_bytes())
    assert any(n.name == "lid" for n in laptop.nodes)


def test_big_items_have_a_lighter_lod(manifest, catalog):
    for pid, e in manifest["models"].items():
        if catalog.get(pid).category == "furniture" or pid in ("fridge-retro", "tv-55"):
            assert e["lods"], pid
            assert all(lod["triangles"] <= e["triangles"] for lod in e["lods"])
    assert manifest["models"]["sofa-3-seat"]["lods"][0]["triangles"] < manifest["models"]["sofa-3-seat"]["triangles"]


def test_gzip_variants_decompress_to_the_same_bytes(manifest):
    packed = [e for e in manifest["models"].values() if "gzip_bytes" in e]
    assert packed
    for e in packed:
        path = OUT / "models" / e["file"]
        assert gzip.decompress((path.parent / (path.name + ".gz")).read_bytes()) == path.read_bytes()
        assert e["gzip_bytes"] <= 0.9 * e["bytes"]


def test_generation_is_deterministic(tmp_path, manifest, catalog):
    again = generate(tmp_path / "gen")
    assert {k: v["sha256"] for k, v in again["models"].items()} == {
        k: v["sha256"] for k, v in manifest["models"].items()
    }
    assert build_product_glb(catalog.get("sofa-3-seat")) == build_product_glb(catalog.get("sofa-3-seat"))


def test_build_is_skipped_when_up_to_date_and_redone_when_an_output_is_missing(tmp_path):
    out = tmp_path / "gen"
    rebuilt, first = ensure_built(out)
    assert rebuilt
    assert ensure_built(out) == (False, first)
    (out / "models" / first["models"]["apple-gala"]["file"]).unlink()
    rebuilt, second = ensure_built(out)
    assert rebuilt and (out / "models" / second["models"]["apple-gala"]["file"]).is_file()


def test_unknown_model_type_is_a_clear_error(catalog):
    from dataclasses import replace

    product = replace(catalog.get("apple-gala"), model={"type": "spaceship"})
    with pytest.raises(ValueError, match=r"'apple-gala'\.model\.type: unknown model type 'spaceship'"):
        build_product_glb(product)


# Product GLBs with their PBR texture sets (assets/textures.py): before textures the mean was 29.5 KiB.
MEAN_PRODUCT_KIB, MAX_PRODUCT_KIB = 80, 160
REPEAT, MIPMAP_FILTERS = 10497, (9984, 9985, 9986, 9987)


def test_product_models_with_textures_stay_small(manifest):
    sizes = [e["bytes"] for e in manifest["models"].values()]
    assert sum(sizes) / len(sizes) < MEAN_PRODUCT_KIB * 1024
    for pid, e in manifest["models"].items():
        for entry in [e, *e["lods"]]:
            assert entry["bytes"] < MAX_PRODUCT_KIB * 1024, f"{pid}: {entry['bytes'] / 1024:.0f} KiB"


def _load(path: Path) -> pygltflib.GLTF2:
    return pygltflib.GLTF2.load_from_bytes(path.read_bytes())


def test_every_material_texture_references_an_existing_png_once(manifest):
    for path in _all_files(manifest):
        glb = _load(path)
        blob = glb.binary_blob()
        pngs = []
        for image in glb.images:
            view = glb.bufferViews[image.bufferView]
            data = blob[view.byteOffset : view.byteOffset + view.byteLength]
            assert image.mimeType == "image/png" and data[:8] == b"\x89PNG\r\n\x1a\n", path.name
            pngs.append(data)
        assert len(set(pngs)) == len(pngs), f"{path.name}: the same image stored twice"
        for sampler in glb.samplers:
            assert sampler.wrapS == sampler.wrapT == REPEAT and sampler.minFilter in MIPMAP_FILTERS
        used = set()
        for m in glb.materials:
            pbr = m.pbrMetallicRoughness
            for info in (m.normalTexture, pbr.baseColorTexture, pbr.metallicRoughnessTexture):
                if info is not None:
                    texture = glb.textures[info.index]
                    assert 0 <= texture.source < len(glb.images) and texture.sampler < len(glb.samplers)
                    used.add(texture.source)
            if m.normalTexture is not None:
                assert pbr.metallicRoughnessTexture is not None, f"{path.name}: {m.name}"
        assert used == set(range(len(glb.images))), f"{path.name}: an image no material uses"
        # A primitive whose material (default or any variant) is normal-mapped carries TANGENT.
        for mesh_ in glb.meshes:
            for prim in mesh_.primitives:
                mats = [prim.material] + [mp["material"] for mp in (prim.extensions or {}).get(
                    "KHR_materials_variants", {}).get("mappings", [])]
                if any(glb.materials[i].normalTexture is not None for i in mats):
                    assert prim.attributes.TANGENT is not None, f"{path.name}: {mesh_.name}"


def _normal_images(glb: pygltflib.GLTF2) -> set[str]:
    return {glb.images[glb.textures[m.normalTexture.index].source].name for m in glb.materials if m.normalTexture}


def test_surfaces_get_the_texture_kind_they_are_made_of(manifest, catalog):
    def kinds(pid: str) -> set[str]:
        return {n.split()[0] for n in _normal_images(_load(OUT / "models" / manifest["models"][pid]["file"]))}

    assert kinds("sofa-3-seat") == {"boucle", "leather", "wood"}  # upholstery variants + oak legs
    assert kinds("bookshelf-oak") == {"wood"} and kinds("coffee-table-oak") == {"wood"}
    assert kinds("fridge-retro") == {"metal", "glass"} and kinds("laptop-14") == {"metal", "glass"}
    assert kinds("chelsea-boot-men") == {"leather"} and kinds("runner-sneaker-men") == {"knit", "leather"}
    assert kinds("tee-organic-crew") == {"knit"} and kinds("chino-men") == {"weave", "knit"}  # ribbed waistband
    assert kinds("olive-oil-bottle") == {"glass", "metal"}
    for pid, product in catalog.products.items():
        if product.kind == "virtual" and product.model["type"] != "wings":
            assert not any(k in kinds(pid) for k in ("weave", "knit", "leather")), pid
    assert kinds("digital-fairy-wings") == set()
    scene = _load(OUT / "scenes" / next(iter(manifest["scenes"].values()))["file"])
    assert {"planks", "wood", "metal", "glass"} <= {n.split()[0] for n in _normal_images(scene)}


def test_scene_generation_is_deterministic(tmp_path, manifest):
    again = generate(tmp_path / "gen")
    assert {k: v["sha256"] for k, v in again["scenes"].items()} == {
        k: v["sha256"] for k, v in manifest["scenes"].items()
    }
