"""Full-body (mocap) avatars in the browser: a mocap source bound to room `main` plays a tiny BVH on the
server, and the page draws the avatar's 22 body joints, which move. Also: the committed body FK fixture
(the JS port's reference) still equals what the server's FK produces."""

from __future__ import annotations

import math
import os
import subprocess
import sys
from collections.abc import Iterator

import httpx
import pytest

from tests.browser.conftest import REPO, running_server, wait_frames

sys.path.insert(0, str(REPO / "tools"))

# A T-pose rig (centimetres, Mixamo-style names) whose left arm and left leg swing over one second.
RIG = [
    ("Hips", -1, (0, 95, 0)), ("Spine", 0, (0, 10, 0)), ("Spine1", 1, (0, 12, 0)), ("Spine2", 2, (0, 12, 0)),
    ("Neck", 3, (0, 14, 0)), ("Head", 4, (0, 10, 0)),
    ("LeftShoulder", 3, (3, 10, 0)), ("LeftArm", 6, (12, 0, 0)), ("LeftForeArm", 7, (27, 0, 0)),
    ("LeftHand", 8, (25, 0, 0)),
    ("RightShoulder", 3, (-3, 10, 0)), ("RightArm", 10, (-12, 0, 0)), ("RightForeArm", 11, (-27, 0, 0)),
    ("RightHand", 12, (-25, 0, 0)),
    ("LeftUpLeg", 0, (9, -5, 0)), ("LeftLeg", 14, (0, -42, 0)), ("LeftFoot", 15, (0, -40, 0)),
    ("LeftToeBase", 16, (0, -5, 13)),
    ("RightUpLeg", 0, (-9, -5, 0)), ("RightLeg", 18, (0, -42, 0)), ("RightFoot", 19, (0, -40, 0)),
    ("RightToeBase", 20, (0, -5, 13)),
]


def _tiny_bvh(frames: int = 30) -> str:
    lines = ["HIERARCHY"]
    kids = {i: [j for j, t in enumerate(RIG) if t[1] == i] for i in range(len(RIG))}

    def emit(i: int, ind: str) -> None:
        name, parent, off = RIG[i]
        lines.append(f"{ind}{'ROOT' if parent < 0 else 'JOINT'} {name}\n{ind}{{")
        lines.append(f"{ind}  OFFSET {off[0]} {off[1]} {off[2]}")
        lines.append(f"{ind}  CHANNELS " + ("6 Xposition Yposition Zposition " if parent < 0 else "3 ")
                     + "Zrotation Xrotation Yrotation")
        for k in kids[i]:
            emit(k, ind + "  ")
        if not kids[i]:
            e = (0, 0, 5) if "Toe" in name else tuple(v / 2 for v in off)
            lines.append(f"{ind}  End Site\n{ind}  {{\n{ind}    OFFSET {e[0]} {e[1]} {e[2]}\n{ind}  }}")
        lines.append(f"{ind}}}")

    emit(0, "")
    lines += ["MOTION", f"Frames: {frames}", f"Frame Time: {1 / frames:.6f}"]
    for f in range(frames):
        swing = 60.0 * math.sin(2 * math.pi * f / frames)
        values = [0.0] * (6 + 3 * (len(RIG) - 1))
        values[6 + 3 * 6] = -abs(swing)  # LeftArm (joint 7): Zrotation lowers the arm from the T-pose
        values[6 + 3 * 13 + 1] = swing  # LeftUpLeg (joint 14): Xrotation swings the leg
        lines.append(" ".join(f"{v:.3f}" for v in values))
    return "\n".join(lines) + "\n"


OPERATOR_TOKEN = "browser-test-operator"
OPERATOR = {"Authorization": f"Bearer {OPERATOR_TOKEN}"}


@pytest.fixture(scope="module")
def mocap_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A Plaza server of our own: mocap on a free UDP port, BVH folder holding the tiny clip."""
    data_dir = tmp_path_factory.mktemp("plaza-mocap")
    (data_dir / "mocap").mkdir()
    (data_dir / "mocap" / "swing.bvh").write_text(_tiny_bvh())
    env = {**os.environ, "PLAZA_MOCAP_UDP_PORT": "0", "PLAZA_MOCAP_BVH_DIR": str(data_dir / "mocap")}
    env["PLAZA_OPERATOR_TOKEN"] = OPERATOR_TOKEN  # the mocap API denies everyone without it
    with running_server(data_dir, env) as url:
        yield url



@pytest.mark.parametrize("drive", ["vmc_sender", "server_playback"])
def test_a_mocap_avatar_is_drawn_as_a_moving_body(new_page, mocap_server, output_dir, tmp_path, drive) -> None:
    """Driven either by `python -m sim mocap` streaming VMC over UDP, or by the server playing the file."""
    page = new_page()
    page.goto(f"{mocap_server}/?name=Viewer&room=main")  # the room the mocap source is bound to
    page.wait_for_function("window.plaza && (window.plaza.ready || window.plaza.errors.length > 0)", timeout=60000)
    assert page.evaluate("window.plaza.errors") == []
    page.wait_for_function("window.plaza.room && window.plaza.room.connected", timeout=30000)
    # Stand the performer 2.5 m in front of the viewer, facing them.
    eye = page.evaluate("plaza.cameraWorldPosition()")
    fwd = page.evaluate("plaza.camera.getWorldDirection(new plaza.THREE.Vector3()).toArray()")
    norm = math.hypot(fwd[0], fwd[2]) or 1.0
    fx, fz = fwd[0] / norm, fwd[2] / norm
    origin = [eye[0] + 2.5 * fx, 0.0, eye[2] + 2.5 * fz]
    yaw = math.degrees(math.atan2(-fx, -fz))

    src = httpx.post(f"{mocap_server}/api/mocap/sources", json={"name": "host"}, headers=OPERATOR).json()
    bound = httpx.post(f"{mocap_server}/api/mocap/sources/{src['source_id']}/bind", headers=OPERATOR,
                       json={"room_id": "main", "avatar_name": "Host", "origin": origin, "yaw_deg": yaw})
    assert bound.status_code == 200, bound.text
    avatar_id = bound.json()["avatar_id"]
    sender = None
    if drive == "vmc_sender":
        clip = tmp_path / "swing.bvh"
        clip.write_text(_tiny_bvh())
        sender = subprocess.Popen([sys.executable, "-m", "sim", "mocap", "--bvh", str(clip), "--to",
                                   f"127.0.0.1:{src['udp_port']}", f"--key={src['key']}", "--loop", "--seconds", "60"],
                                  cwd=REPO)
    else:
        played = httpx.post(f"{mocap_server}/api/mocap/sources/{src['source_id']}/playback", headers=OPERATOR,
                            json={"file": "swing.bvh", "loop": True})
        assert played.status_code == 200, played.text
    try:
        _check_body_is_drawn_and_moves(page, avatar_id, origin, output_dir / f"mocap-body-{drive}.png")
    finally:
        if sender is not None:
            sender.terminate()
            sender.wait(10)


def _check_body_is_drawn_and_moves(page, avatar_id: int, origin: list[float], screenshot) -> None:  # type: ignore[no-untyped-def]

    page.wait_for_function(f"plaza.avatars.bodyJoints({avatar_id}) !== null", timeout=30000)
    wait_frames(page, 3)
    first = page.evaluate(f"plaza.avatars.bodyJoints({avatar_id})")
    assert len(first) == 22 and all(len(j) == 3 for j in first)
    # Standing on the floor where the operator put it: feet low, head joint above the hips.
    assert first[5][1] > first[0][1] + 0.4 and min(first[16][1], first[20][1]) < 0.3
    assert math.hypot(first[0][0] - origin[0], first[0][2] - origin[2]) < 0.2
    # The swing moves the left hand and the left foot by more than 5 cm while the page draws it.
    page.wait_for_function(
        f"""(() => {{ const j = plaza.avatars.bodyJoints({avatar_id}); const f = {first};
            const d = (k) => Math.hypot(j[k][0] - f[k][0], j[k][1] - f[k][1], j[k][2] - f[k][2]);
            return d(9) > 0.05 && d(16) > 0.05; }})()""",
        timeout=30000,
    )
    # The head is drawn at the body's head joint (the eyes 7 cm above, 8 cm in front), the name over it.
    state = page.evaluate(f"""(() => {{ const a = plaza.avatars.avatars.get({avatar_id});
        return {{head: a.head.position.toArray(), label: a.label.position.toArray(), weight: a.bodyWeight,
                 joints: a.bodyJoints(), bodyVisible: a.mannequin.group.visible, hands: a.hands.map((h) => h.visible)}};
    }})()""")
    assert state["weight"] == 1 and state["bodyVisible"] and state["hands"] == [False, False]
    head_joint = state["joints"][5]
    assert 0.05 < math.dist(state["head"], head_joint) < 0.12
    assert state["label"][1] > state["head"][1]
    page.screenshot(path=str(screenshot))
    assert page.evaluate("window.plaza.errors") == [] and page.errors == []
