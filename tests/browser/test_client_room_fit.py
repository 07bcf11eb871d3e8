"""Furniture in your own room: from the sofa's card, a shopper picks a room (a preset or their own numbers), the
store steps aside for a to-scale copy of it, the sofa stands in it and can be moved and turned, and the page says
whether it fits the room and gets through the door (the server's room-fit API) and where it stands."""

from __future__ import annotations

import math

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
