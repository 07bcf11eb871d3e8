"""Store scenes: every scene loads and makes sense; bad scenes are rejected naming the file and the field."""

import copy
import json
from pathlib import Path

import numpy as np
import pygltflib
import pytest

from assets.build import OUT, ensure_built
from server.commerce.catalog import load_catalog
from server.scenes import AVATAR_RADIUS, SceneError, list_scenes, load_scene, load_scene_file, parse_scene

SCENES = Path(__file__).resolve().parents[1] / "scenes"


def test_there_are_at_least_three_scenes_and_the_default_is_boutique():
    ids = list_scenes()
    assert len(ids) >= 3 and {"boutique", "space-market", "fairy-beauty"} <= set(ids)


@pytest.mark.parametrize("scene_id", list_scenes())
def test_scene_is_consistent(scene_id):
    scene = load_scene(scene_id)
    lo, hi = np.array(scene.bounds_min), np.array(scene.bounds_max)
    assert (np.abs(lo[[0, 2]]) <= 30).all() and (np.abs(hi[[0, 2]]) <= 30).all()
    assert scene.spawn_points and all(scene.is_walkable(x, z) for x, _, z in scene.spawn_points)
    assert len(scene.waypoints) >= 2 and all(scene.is_walkable(x, z) for x, _, z in scene.waypoints)
    kinds = {z.kind for z in scene.zones}
    assert "checkout" in kinds and ("stage" in kinds or "fitting_room" in kinds)
    catalog = load_catalog()
    placed = [p for f in scene.fixtures for p in f.placements]
    assert len(placed) >= 10 and all(catalog.get(p.product_id) for p in placed)
    for f in scene.fixtures:  # products sit on their own fixture
        for p in f.placements:
            local = f.to_local(np.array([[p.position[0], p.position[2]]]))[0]
            assert abs(local[0]) <= f.size[0] / 2 + 1e-6 and abs(local[1]) <= f.size[2] / 2 + 1e-6
            assert 0 <= p.position[1] <= f.size[1] + 1e-6
    assert scene.lights


@pytest.mark.parametrize("scene_id", list_scenes())
def test_walkable_mask_matches_the_scalar_test_and_the_geometry(scene_id):
    scene = load_scene(scene_id)
    rng = np.random.default_rng(1)
    lo, hi = np.array(scene.bounds_min)[[0, 2]] - 1, np.array(scene.bounds_max)[[0, 2]] + 1
    pts = rng.uniform(lo, hi, size=(400, 2))
    mask = scene.walkable_mask(pts)
    assert mask.shape == (400,) and mask.dtype == bool
    assert [scene.is_walkable(x, z) for x, z in pts] == mask.tolist()
    assert 0.3 < mask.mean() < 0.9  # a store, not a wall or an empty field
    # Never walkable: outside the bounds, inside a fixture, hugging a wall, or not a number.
    f = scene.fixtures[0]
    assert not scene.walkable_mask(np.array([[hi[0] + 5, 0.0], [*f.center], [lo[0] + 1 + AVATAR_RADIUS / 2, 0.0],
                                             [np.nan, 0.0], [np.inf, 1.0]])).any()


def test_placements_follow_fixture_rotation():
    scene = load_scene("boutique")
    rack = next(f for f in scene.fixtures if f.rotation_deg == 90)
    xs = {round(p.position[0], 3) for p in rack.placements}
    assert xs == {round(rack.center[0], 3)}  # a rack turned 90° lines its products up along z


def _raw(scene_id="boutique"):
    return json.loads((SCENES / scene_id / "scene.json").read_text())


def _parse(data):
    catalog = load_catalog()
    return parse_scene(data, "scenes/boutique/scene.json", lambda pid: catalog.get(pid) is not None)


def _fixture(data, fid):
    return next(f for f in data["fixtures"] if f["id"] == fid)


@pytest.mark.parametrize(
    ("change", "pattern"),
    [
        (lambda d: _fixture(d, "beauty-table")["products"].append("unicorn-horn"),
         r"scenes/boutique/scene.json: fixtures\[7\] \('beauty-table'\).products\[6\]: unknown product 'unicorn-horn'"),
        (lambda d: _fixture(d, "beauty-table").update(at=[-5.2, 1.6]),
         r"fixtures\[7\] \('beauty-table'\).at: fixture overlaps fixture 'rack-tops'"),
        (lambda d: d["spawn_points"].append([0, 0, 2.0]),
         r"spawn_points\[4\]: \[0.0, 0.0, 2.0\] is outside the walkable area"),
        (lambda d: _fixture(d, "counter").update(at=[7.5, -4.6]),
         r"fixtures\[9\] \('counter'\).at: .* out of bounds"),
        (lambda d: d["floor"].__setitem__(1, [31, -6]), r"floor\[1\]\[0\]: must be between -30.0 and 30.0"),
        (lambda d: _fixture(d, "counter").update(type="trampoline"), r"\('counter'\).type: unknown fixture type"),
        (lambda d: d["zones"][0].update(kind="ball-pit"), r"zones\[0\].kind: unknown zone kind 'ball-pit'"),
        (lambda d: d.pop("spawn_points"), r"spawn_points: is missing"),
        (lambda d: d["lights"][0].update(color="white"), r"lights\[0\].color"),
    ],
)
def test_bad_scene_is_rejected_with_file_and_field(change, pattern):
    data = copy.deepcopy(_raw())
    change(data)
    with pytest.raises(SceneError, match=pattern):
        _parse(data)


def test_scene_files_with_broken_json_or_wrong_folder_are_rejected(tmp_path):
    folder = tmp_path / "scenes" / "broken"
    folder.mkdir(parents=True)
    (folder / "scene.json").write_text("{oops")
    with pytest.raises(SceneError, match=r"scenes/broken/scene\.json: not valid JSON"):
        load_scene_file(folder / "scene.json")
    (folder / "scene.json").write_text(json.dumps(_raw()))
    with pytest.raises(SceneError, match="must match its folder name 'broken'"):
        load_scene_file(folder / "scene.json")
    with pytest.raises(SceneError, match="no scene 'nowhere'"):
        load_scene("nowhere")
    with pytest.raises(SceneError, match="not valid"):
        load_scene("../etc")


def test_scene_gltf_has_architecture_fixtures_and_lights():
    _, manifest = ensure_built()
    for scene_id in list_scenes():
        glb = pygltflib.GLTF2.load_from_bytes((OUT / "scenes" / manifest["scenes"][scene_id]["file"]).read_bytes())
        names = {n.name for n in glb.nodes}
        scene = load_scene(scene_id)
        assert "architecture" in names and {f.id for f in scene.fixtures} <= names
        lights = glb.extensions["KHR_lights_punctual"]["lights"]
        assert len(lights) == len(scene.lights)
        colours = {tuple(np.round(m.pbrMetallicRoughness.baseColorFactor[:3], 2)) for m in glb.materials}
        assert len(colours) >= 8  # coloured and lit, not a grey box


def _walkable_reference(scene, pts: np.ndarray) -> np.ndarray:
    """The walkable rule written plainly, point by point (the scene's batched arrays must agree)."""
    def dist(p, a, b):
        a, b = np.asarray(a, float), np.asarray(b, float)
        t = np.clip(np.dot(p - a, b - a) / max(np.dot(b - a, b - a), 1e-12), 0, 1)
        return float(np.linalg.norm(p - (a + t * (b - a))))

    out = []
    floor = scene.floor
    for p in pts:
        if not np.isfinite(p).all():
            out.append(False)
            continue
        inside = False
        for (x1, z1), (x2, z2) in zip(floor, np.roll(floor, -1, axis=0), strict=True):
            if (z1 > p[1]) != (z2 > p[1]) and p[0] < x1 + (p[1] - z1) * (x2 - x1) / (z2 - z1):
                inside = not inside
        ok = inside and all(dist(p, a, b) >= AVATAR_RADIUS for a, b in zip(floor, np.roll(floor, -1, axis=0),
                                                                               strict=True))
        ok = ok and all(dist(p, w.start, w.end) >= w.thickness / 2 + AVATAR_RADIUS for w in scene.walls)
        for f in scene.fixtures:
            lx, lz = f.to_local(p[None, :])[0]
            if abs(lx) < f.size[0] / 2 + AVATAR_RADIUS and abs(lz) < f.size[2] / 2 + AVATAR_RADIUS:
                ok = False
        out.append(ok)
    return np.array(out)


def test_the_batched_walkable_area_agrees_with_the_plain_rule_in_every_store():
    rng = np.random.default_rng(3)
    for scene_id in list_scenes():
        scene = load_scene(scene_id)
        lo, hi = np.array(scene.bounds_min)[[0, 2]], np.array(scene.bounds_max)[[0, 2]]
        pts = rng.uniform(lo - 1, hi + 1, (1500, 2))
        pts[:3] = np.nan
        assert (scene.walkable_mask(pts) == _walkable_reference(scene, pts)).all(), scene_id
