"""Two browser pages in one room: moving one page's emulated headset, controller and tracked hand moves its
avatar in the other page, checked from the other page's scene state."""

from __future__ import annotations

import math

import httpx

from tests.browser.conftest import wait_frames


def _open_in_room(new_page, server_url: str, room: str, name: str):  # type: ignore[no-untyped-def]
    page = new_page()
    page.goto(f"{server_url}/?emulate=quest3&room={room}&name={name}")
    page.wait_for_function("window.plaza && (window.plaza.ready || window.plaza.errors.length > 0)", timeout=60000)
    assert page.evaluate("window.plaza.errors") == []
    page.wait_for_function("window.plaza.room && window.plaza.room.connected", timeout=30000)
    return page


def _avatar_head(page, avatar_id: int) -> list[float] | None:  # type: ignore[no-untyped-def]
    return page.evaluate(f"(plaza.avatars.heads()[{avatar_id}] ?? null)")


def test_moving_one_headset_moves_its_avatar_in_the_other_page(new_page, server_url, output_dir) -> None:
    room = httpx.post(f"{server_url}/api/rooms", json={"name": "sync test"}).json()["id"]
    alice = _open_in_room(new_page, server_url, room, "Alice")
    bob = _open_in_room(new_page, server_url, room, "Bob")
    alice_id = alice.evaluate("plaza.room.session.avatarId")
    assert bob.evaluate("plaza.room.session.avatarId") != alice_id

    assert alice.evaluate("plaza.enterVR()") is True
    wait_frames(alice, 3, "xrFrames")
    # Bob sees Alice somewhere once her poses flow.
    bob.wait_for_function(f"plaza.avatars.heads()[{alice_id}] !== undefined", timeout=30000)

    # Alice steps 0.5 m right and 0.4 m forward in her play space.
    start = alice.evaluate("plaza.device.remote.dispatch('get_transform', {device: 'headset'})")["position"]
    target = {"x": start["x"] + 0.5, "y": start["y"], "z": start["z"] - 0.4}
    alice.evaluate("(p) => plaza.device.remote.dispatch('set_transform', {device: 'headset', position: p})", target)
    wait_frames(alice, 3, "xrFrames")
    alice_head = alice.evaluate("plaza.cameraWorldPosition()")
    # Her avatar in Bob's page converges to where her camera is (1 mm quantization, eye offset aside).
    bob.wait_for_function(
        f"""(() => {{ const h = plaza.avatars.heads()[{alice_id}]; const t = {alice_head};
            return h && Math.hypot(h[0] - t[0], h[1] - t[1], h[2] - t[2]) < 0.01; }})()""",
        timeout=30000,
    )
    seen = _avatar_head(bob, alice_id)
    assert seen is not None
    assert all(math.isclose(a, b, abs_tol=0.01) for a, b in zip(seen, alice_head, strict=True))

    # Her right controller moves: Bob sees the hand move by the same amount.
    before = bob.evaluate(f"plaza.avatars.avatars.get({alice_id}).hands[1].position.toArray()")
    alice.evaluate(
        "plaza.device.remote.dispatch('set_transform', {device: 'controller-right',"
        " position: {x: 0.45, y: 1.1, z: -0.5}})"
    )
    wait_frames(alice, 3, "xrFrames")
    bob.wait_for_function(
        f"""(() => {{ const h = plaza.avatars.avatars.get({alice_id}).hands[1].position.toArray();
            const b = {before}; return Math.hypot(h[0] - b[0], h[1] - b[1], h[2] - b[2]) > 0.05; }})()""",
        timeout=30000,
    )
    # Alice puts the controllers down and uses her hands: Bob sees her hand joints, the wrist where hers is.
    alice.evaluate("plaza.device.remote.dispatch('set_input_mode', {mode: 'hand'})")
    alice.wait_for_function(
        "plaza.xrInput.active().some((s) => s.inputSource.hand && s.inputSource.handedness === 'right')", timeout=30000
    )
    wait_frames(alice, 3, "xrFrames")
    bob.wait_for_function(f"plaza.avatars.avatars.get({alice_id}).jointsActive[1] === true", timeout=30000)
    wait_frames(bob, 5)
    wrist = alice.evaluate("""() => {
        const s = plaza.xrInput.active().find((x) => x.inputSource.hand && x.inputSource.handedness === 'right');
        return s.hand.joints['wrist'].getWorldPosition(new plaza.THREE.Vector3()).toArray();
    }""")
    seen_wrist = bob.evaluate(f"""() => {{
        const m = new plaza.THREE.Matrix4();
        plaza.avatars.avatars.get({alice_id}).jointMeshes[1].getMatrixAt(0, m);
        return new plaza.THREE.Vector3().setFromMatrixPosition(m).toArray();
    }}""")
    assert math.dist(wrist, seen_wrist) < 0.01, (wrist, seen_wrist)
    alice.screenshot(path=str(output_dir / "sync-alice.png"))
    bob.screenshot(path=str(output_dir / "sync-bob.png"))
    assert alice.errors == [] and bob.errors == []
