"""Furniture in your own room: from the sofa's card, a shopper picks a room (a preset or their own numbers), the
store steps aside for a to-scale copy of it, the sofa stands in it and can be moved and turned, and the page says
whether it fits the room and gets through the door (the server's room-fit API) and where it stands."""

from __future__ import annotations

import math

from tests.browser.conftest import wait_frames

READY = "window.plaza && (window.plaza.ready || window.plaza.errors.length > 0)"
SOFA = "sofa-3-seat"  # 220 x 95 cm, 82 cm high; stands in the space market


def _inside(box, width: int, height: int) -> bool:  # type: ignore[no-untyped-def]
    return bool(box) and box["x"] >= 0 and box["y"] >= 0 and box["x"] + box["width"] <= width \
        and box["y"] + box["height"] <= height


def _text(page) -> str:  # type: ignore[no-untyped-def]
    return page.inner_text("#room-fit")


def test_a_sofa_in_your_room_on_a_screen_and_in_a_headset(new_page, server_url, output_dir) -> None:
    page = new_page({"width": 960, "height": 540})
    page.goto(f"{server_url}/?scene=space-market&net=0&emulate=quest3")
    page.wait_for_function(READY, timeout=60000)
    assert page.evaluate("plaza.errors") == []
    page.click("#hint-ok")
    page.evaluate(f"plaza.goTo({{kind: 'product', id: '{SOFA}'}})")
    page.wait_for_selector("#product-card:not([hidden])")
    start = page.evaluate("plaza.rig.position.toArray()")
    page.click('#product-card button[data-id="roomfit"]')
    panel = page.locator("#room-fit")
    assert panel.is_visible() and _inside(panel.bounding_box(), 960, 540)
    assert page.locator("#product-card").is_hidden()

    # A living room preset (450 x 380 cm, door 90 x 210): it fits and goes through the door.
    page.click('#room-fit button[data-id="preset:living"]')
    page.wait_for_function("plaza.roomFit.result !== null", timeout=30000)
    assert page.evaluate("plaza.store.root.visible") is False
    room = page.evaluate("""(() => { const T = plaza.THREE; const g = plaza.scene.getObjectByName('room-fit');
        const p = g.getObjectByName('room-floor').geometry.parameters; const yaw = g.rotation.y;
        g.rotation.y = 0; g.updateMatrixWorld(true);  // measure the sofa in the room's own axes
        const item = new T.Box3().setFromObject(g.getObjectByName('room-item')).getSize(new T.Vector3());
        g.rotation.y = yaw; g.updateMatrixWorld(true);
        return {area: p.width * p.height, item: [item.x, item.y, item.z].sort((a, b) => b - a)}; })()""")
    assert math.isclose(room["area"], 4.5 * 3.8, rel_tol=0.01), room
    # The sofa at its real size: 2.20 m long (the model, or a box of its size).
    assert math.isclose(room["item"][0], 2.2, abs_tol=0.08), room
    text = _text(page)
    assert "Fits your room" in text and "gets through the door" in text, text
    assert "from the nearest wall" in text
    # The eye stands inside the room, near its door, looking in.
    eye_in_room = page.evaluate("""(() => { const g = plaza.scene.getObjectByName('room-fit');
        return g.worldToLocal(plaza.camera.getWorldPosition(new plaza.THREE.Vector3())).toArray(); })()""")
    assert abs(eye_in_room[0]) < 0.1 and 0.8 < eye_in_room[2] < 1.9, eye_in_room
    page.screenshot(path=str(output_dir / "room-fit-desktop.png"))

    # Pushed into the left wall: the page says so and the outline turns red; turned 90 degrees: it moves.
    for _ in range(14):
        page.click('#room-fit button[data-id="move:left"]')
    assert "goes through a wall" in _text(page)
    assert page.evaluate("plaza.roomFit.outline.material.color.getHex()") == 0xD64545
    page.click('#room-fit button[data-id="turn:90"]')
    assert math.isclose(page.evaluate("plaza.roomFit.at.yaw"), -math.pi / 2, abs_tol=1e-6)

    # The shopper's own numbers: a door only 60 cm wide.
    page.fill('#room-fit input[data-key="width"]', "500")
    page.fill('#room-fit input[data-key="doorWidth"]', "60")
    page.click('#room-fit button[data-id="build"]')
    page.wait_for_function("plaza.roomFit.result && plaza.roomFit.result.passes_door === false", timeout=30000)
    assert "does not get through the door" in _text(page)
    # A box room (200 x 210 cm): too big for it, either way round.
    page.click('#room-fit button[data-id="preset:tiny"]')
    page.wait_for_function("plaza.roomFit.result && plaza.roomFit.result.fits_room === false", timeout=30000)
    assert "Too big for your room" in _text(page)
    # A nonsense number is refused in words, nothing is built from it.
    page.fill('#room-fit input[data-key="depth"]', "5")
    page.click('#room-fit button[data-id="build"]')
    assert "room depth: between" in _text(page)

    # In the headset the same controls are a panel, every label whole.
    page.click('#room-fit button[data-id="preset:living"]')
    page.wait_for_function("plaza.roomFit.result && plaza.roomFit.result.fits_room === true", timeout=30000)
    assert page.evaluate("plaza.enterVR()") is True
    page.wait_for_function("plaza.panels.get('room-fit') !== null", timeout=30000)
    assert panel.is_hidden()
    cut = page.evaluate("""plaza.panels.get('room-fit').widgets.filter((w) => !w.drawn
        || w.drawn.lines.join(' ') !== String(w.label) || w.drawn.fontScale < 0.8).map((w) => w.label)""")
    assert cut == []
    page.evaluate("plaza.panels.get('room-fit').press('preset:bedroom')")
    page.wait_for_function("plaza.roomFit.form.width === 300 && plaza.roomFit.result !== null", timeout=30000)
    page.evaluate("plaza.panels.get('room-fit').press('turn:+15')")
    assert math.isclose(page.evaluate("plaza.roomFit.at.yaw"), -math.pi / 12, abs_tol=1e-6)
    page.screenshot(path=str(output_dir / "room-fit-headset.png"))
    page.evaluate("plaza.panels.get('room-fit').press('close')")
    assert page.evaluate("plaza.store.root.visible") is True
    assert page.evaluate("plaza.scene.getObjectByName('room-fit') ?? null") is None
    assert page.evaluate("plaza.rig.position.toArray()") == start
    assert page.errors == [] and page.evaluate("plaza.errors") == []


SOFA_ON_SCREEN = """(() => { const T = plaza.THREE; const item = plaza.scene.getObjectByName('room-item');
    const c = new T.Box3().setFromObject(item).getCenter(new T.Vector3()).project(plaza.camera);
    const r = plaza.renderer.domElement.getBoundingClientRect();
    return [r.left + (c.x + 1) / 2 * r.width, r.top + (1 - c.y) / 2 * r.height]; })()"""


def _aim_right_controller_at(page, world_point_js: str) -> None:  # type: ignore[no-untyped-def]
    aim = page.evaluate(f"""(() => {{ const T = plaza.THREE; const target = plaza.rig.worldToLocal({world_point_js});
        const from = new T.Vector3(0.2, 1.3, -0.1);
        const look = new T.Matrix4().lookAt(from, target, new T.Vector3(0, 1, 0));
        const q = new T.Quaternion().setFromRotationMatrix(look);
        return {{position: {{x: from.x, y: from.y, z: from.z}},
                 orientation: {{x: q.x, y: q.y, z: q.z, w: q.w}}}}; }})()""")
    page.evaluate("(a) => plaza.device.remote.dispatch('set_transform', {device: 'controller-right', ...a})", aim)


def test_the_sofa_slides_over_the_floor_under_a_mouse_and_a_controller(new_page, server_url) -> None:
    page = new_page({"width": 960, "height": 540})
    page.goto(f"{server_url}/?scene=space-market&net=0&emulate=quest3")
    page.wait_for_function(READY, timeout=60000)
    page.click("#hint-ok")
    page.evaluate(f"plaza.goTo({{kind: 'product', id: '{SOFA}'}})")
    page.wait_for_selector("#product-card:not([hidden])")
    page.click('#product-card button[data-id="roomfit"]')
    page.click('#room-fit button[data-id="preset:studio"]')  # 600 x 400 cm: room to slide it about
    page.wait_for_function("plaza.roomFit.result !== null", timeout=30000)
    wait_frames(page, 2)  # drawn with the look-down of the first room, so the sofa is where the camera says
    before = page.evaluate("({...plaza.roomFit.at})")
    x, y = page.evaluate(SOFA_ON_SCREEN)
    # Pressed on the sofa and dragged: the sofa moves, the view does not turn.
    yaw = page.evaluate("plaza.rig.rotation.y")
    page.mouse.move(x, y)
    page.mouse.down()
    for k in range(1, 11):
        page.mouse.move(x + 12 * k, y + 6 * k)
    page.mouse.up()
    after = page.evaluate("({...plaza.roomFit.at})")
    moved = math.hypot(after["x"] - before["x"], after["z"] - before["z"])
    assert moved > 20, (before, after)
    assert page.evaluate("plaza.rig.rotation.y") == yaw
    assert page.evaluate("plaza.roomFit.dragging") is None
    assert "from the nearest wall" in _text(page) or "goes through a wall" in _text(page)
    # Dragged far past a wall: held back a little beyond it, shown red, said in words.
    x, y = page.evaluate(SOFA_ON_SCREEN)
    page.mouse.move(x, y)
    page.mouse.down()
    for k in range(1, 21):
        page.mouse.move(x - 30 * k, y)
    page.mouse.up()
    at = page.evaluate("({...plaza.roomFit.at})")
    assert -300 - 60 - 1 <= at["x"] < -150, at
    assert "goes through a wall" in _text(page)
    assert page.evaluate("plaza.roomFit.outline.material.color.getHex()") == 0xD64545

    # In the headset: point the controller at the sofa, hold the trigger, sweep: it follows; let go.
    page.click('#room-fit button[data-id="preset:studio"]')
    page.wait_for_function("plaza.roomFit.result !== null && plaza.roomFit.at.x === 0", timeout=30000)
    assert page.evaluate("plaza.enterVR()") is True
    page.wait_for_function("plaza.xrInput.active().length >= 2", timeout=30000)
    wait_frames(page, 3, "xrFrames")
    centre = "new T.Box3().setFromObject(plaza.scene.getObjectByName('room-item')).getCenter(new T.Vector3())"
    _aim_right_controller_at(page, centre)
    wait_frames(page, 3, "xrFrames")
    start = page.evaluate("({...plaza.roomFit.at})")
    page.evaluate("plaza.device.remote.dispatch('set_select_value', {device: 'controller-right', value: 1})")
    page.wait_for_function("plaza.lastSelect === 'room-drag'", timeout=30000)
    # Aim 1 m to the room's right of where the sofa stood.
    _aim_right_controller_at(page, f"""(() => {{ const g = plaza.scene.getObjectByName('room-fit');
        const p = g.worldToLocal({centre}); p.x += 1.0; return g.localToWorld(p); }})()""")
    page.wait_for_function(f"plaza.roomFit.at.x > {start['x']} + 60", timeout=30000)
    page.evaluate("plaza.device.remote.dispatch('set_select_value', {device: 'controller-right', value: 0})")
    page.wait_for_function("plaza.roomFit.dragging === null", timeout=30000)
    end = page.evaluate("({...plaza.roomFit.at})")
    assert abs(end["z"] - start["z"]) < 30 and end["yaw"] == start["yaw"], (start, end)
    assert page.errors == [] and page.evaluate("plaza.errors") == []
