"""End-to-end: the store page in headless Chromium, with IWER standing in for a Quest 3."""

from __future__ import annotations

import math

from tests.browser.conftest import wait_frames


def open_store(new_page, server_url: str, query: str = "emulate=quest3"):  # type: ignore[no-untyped-def]
    page = new_page()
    page.goto(f"{server_url}/?{query}")
    page.wait_for_function("window.plaza && (window.plaza.ready || window.plaza.errors.length > 0)", timeout=60000)
    assert page.evaluate("window.plaza.errors") == []
    wait_frames(page, 3)
    return page


def test_page_loads_and_renders_the_store(new_page, server_url, output_dir) -> None:
    page = open_store(new_page, server_url)
    assert page.errors == []
    # The store is in the scene graph: a floor to stand on and at least one fixture.
    counts = page.evaluate("({floors: plaza.store.floors.length, fixtures: plaza.store.fixtures.length})")
    assert counts["floors"] >= 1 and counts["fixtures"] >= 1
    # The emulated headset offers immersive-vr, so the button is shown.
    page.wait_for_function("!document.getElementById('enter-vr').hidden", timeout=30000)
    page.screenshot(path=str(output_dir / "desktop.png"))


def test_enter_vr_and_moving_the_headset_moves_the_camera(new_page, server_url, output_dir) -> None:
    page = open_store(new_page, server_url)
    # The welcome moves the rig to the seat's spawn point: wait for it, or on a slow machine it lands between
    # the two readings and the camera seems to move by the jump too.
    page.wait_for_function("window.plaza.spawn !== undefined", timeout=90000)
    assert page.evaluate("plaza.enterVR()") is True
    wait_frames(page, 3, "xrFrames")
    before = page.evaluate("plaza.cameraWorldPosition()")
    headset = page.evaluate("plaza.device.remote.dispatch('get_transform', {device: 'headset'})")
    start = headset["position"]
    target = {"x": start["x"] + 0.8, "y": start["y"] - 0.1, "z": start["z"] - 0.6}
    page.evaluate("(p) => plaza.device.remote.dispatch('set_transform', {device: 'headset', position: p})", target)
    wait_frames(page, 3, "xrFrames")
    after = page.evaluate("plaza.cameraWorldPosition()")
    # The XR camera follows the headset by exactly the headset's motion (the rig stays put).
    delta = [a - b for a, b in zip(after, before, strict=True)]
    assert all(math.isclose(d, e, abs_tol=1e-3) for d, e in zip(delta, [0.8, -0.1, -0.6], strict=True)), delta
    page.screenshot(path=str(output_dir / "vr.png"))
    assert page.errors == []


def test_keyboard_walks_forward_and_walls_stop_the_shopper(new_page, server_url) -> None:
    page = open_store(new_page, server_url, "net=0")
    start = page.evaluate("plaza.cameraWorldPosition()")
    page.keyboard.down("KeyW")
    wait_frames(page, 5)
    page.keyboard.up("KeyW")
    moved = page.evaluate("plaza.cameraWorldPosition()")
    assert moved[2] < start[2] - 0.01, (start, moved)  # forward is -z at spawn
    assert math.isclose(moved[0], start[0], abs_tol=1e-6)
    # Walking far into a wall: the shopper ends up on walkable floor, not outside the store.
    final = page.evaluate("""() => {
        for (let i = 0; i < 400; i += 1) plaza.moveBy(0, -0.1);
        const [x, , z] = plaza.cameraWorldPosition();
        return {x, z, walkable: plaza.store.walkable.isWalkable(x, z)};
    }""")
    assert final["walkable"] is True
    # Teleport onto a non-walkable spot is refused.
    assert page.evaluate("plaza.teleportTo(500, 500)") is False
