"""Writes tests/fixtures/body_fk.json: body poses and their forward kinematics by the server's own code
(server.mocap.fk.body_fk), so the client's JS port (webxr_client/src/net/body_pose.js) is checked against it.

Run from the repository root: `.venv/bin/python tools/make_body_fk_fixture.py` (`--check` only compares).
tests/browser/test_client_bodies.py regenerates the cases and compares them with the committed file.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from server.mocap.fk import body_fk, quat_normalize  # noqa: E402
from server.realtime.skeleton import BODY_JOINTS, REST_HEIGHT_M  # noqa: E402

FIXTURE = REPO / "tests" / "fixtures" / "body_fk.json"
DIGITS = 12  # well below what the JS test tolerates, and stable text across runs


def _case(name: str, hips: np.ndarray, rots: np.ndarray, height: float) -> dict:
    pos, rot = body_fk(hips, rots, height)
    r = lambda a: [round(float(v), DIGITS) for v in np.asarray(a).reshape(-1)]  # noqa: E731
    return {"name": name, "height_m": height, "hips": r(hips), "rotations": r(rots),
            "positions_out": r(pos), "rotations_out": r(rot)}


def build_cases() -> dict:
    rng = np.random.default_rng(20261106)
    identity = np.tile([0.0, 0.0, 0.0, 1.0], (len(BODY_JOINTS), 1))
    cases = [
        _case("t-pose", np.array([0.0, 0.95, 0.0]), identity, REST_HEIGHT_M),
        _case("t-pose, 1.50 m avatar, moved", np.array([1.5, 0.84, -2.0]), identity, 1.5),
    ]
    for i in range(6):
        # Moderate local rotations (what a body does) and fully random ones (what the maths must survive).
        spread = 0.4 if i < 3 else 3.0
        rots = np.concatenate((rng.normal(scale=spread, size=(len(BODY_JOINTS), 3)),
                               np.ones((len(BODY_JOINTS), 1))), axis=1)
        hips = rng.uniform([-3, 0.6, -3], [3, 1.1, 3])
        height = float(np.round(rng.uniform(1.4, 2.0), 3))
        cases.append(_case(f"random {i} (spread {spread})", hips, quat_normalize(rots), height))
    return {"about": "server.mocap.fk.body_fk outputs; regenerate with tools/make_body_fk_fixture.py",
            "joints": list(BODY_JOINTS), "cases": cases}


def main(argv: list[str]) -> int:
    text = json.dumps(build_cases(), indent=1) + "\n"
    if "--check" in argv:
        same = FIXTURE.is_file() and FIXTURE.read_text() == text
        print("fixture up to date" if same else f"{FIXTURE.relative_to(REPO)} differs from the server's FK: regenerate")
        return 0 if same else 1
    FIXTURE.write_text(text)
    print(f"wrote {FIXTURE.relative_to(REPO)} ({len(text)} bytes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
