"""Client and server agree on where a shopper may stand.

For every store scene, the client's WalkableArea (webxr_client/src/walkable.js), built from the scene JSON
the client downloads (GET /api/scenes/{id}), is checked against the server's own rule
(`Scene.walkable_mask`) on a 10 cm grid over the whole store. If they disagreed, the server would keep
correcting the client's position near shelves and walls.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import numpy as np
from fastapi.testclient import TestClient

from server.net.app import create_app
from server.scenes import list_scenes, load_scene
from tests.support import require_tool

CLIENT_DIR = Path(__file__).resolve().parents[1] / "webxr_client"


def make_cases(step: float = 0.1) -> list[dict]:
    client = TestClient(create_app())
    cases = []
    for scene_id in list_scenes():
        scene = load_scene(scene_id)
        data = client.get(f"/api/scenes/{scene_id}").json()
        lo, hi = scene.bounds_min, scene.bounds_max
        xs = np.arange(lo[0] - 0.5, hi[0] + 0.5, step)
        zs = np.arange(lo[2] - 0.5, hi[2] + 0.5, step)
        grid = np.stack(np.meshgrid(xs, zs), axis=-1).reshape(-1, 2).round(4)
        cases.append({
            "scene": data,
            "points": grid.tolist(),
            "walkable": scene.walkable_mask(grid).astype(int).tolist(),
        })
    return cases


def test_client_and_server_walkable_areas_agree(tmp_path: Path) -> None:
    node = require_tool("node", "the client's walkability check runs in Node.js")
    cases = make_cases()
    assert cases, "no scenes to check"
    assert all(0 < sum(c["walkable"]) < len(c["walkable"]) for c in cases), "degenerate grid"
    path = tmp_path / "walkable.json"
    path.write_text(json.dumps(cases))
    result = subprocess.run(
        [node, "--test", "--test-reporter=dot", "test/walkable_server.test.js"],
        cwd=CLIENT_DIR, capture_output=True, text=True, timeout=120, check=False,
        env={**os.environ, "PLAZA_WALKABLE_CASES": str(path)},
    )
    assert result.returncode == 0, f"client and server disagree on walkability:\n{result.stdout}\n{result.stderr}"
