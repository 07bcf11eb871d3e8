"""Wayfinding: department signs hang in the store, the store map takes the shopper to a department, a product
or a spot on the floor, and a first visit gets a hint (once) that never takes a click meant for the store."""

from __future__ import annotations

import math

READY = "window.plaza && (window.plaza.ready || window.plaza.errors.length > 0)"


def _open(new_page, url: str, viewport=None):  # type: ignore[no-untyped-def]
    page = new_page(viewport)
    page.goto(url)
    page.wait_for_function(READY, timeout=60000)
    assert page.evaluate("window.plaza.errors") == []
    return page


def _inside(box, width: int, height: int) -> bool:  # type: ignore[no-untyped-def]
    return bool(box) and box["x"] >= 0 and box["y"] >= 0 and box["x"] + box["width"] <= width \
        and box["y"] + box["height"] <= height


def _near_and_facing(page, x: float, z: float) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    """Horizontal distance from the eye to (x, z) and how straight the view looks at it (1 = straight)."""
    return tuple(page.evaluate(f"""(() => {{ const e = plaza.cameraWorldPosition();
        const d = plaza.camera.getWorldDirection(new plaza.THREE.Vector3()); const dx = {x} - e[0], dz = {z} - e[2];
        const n = Math.hypot(dx, dz) || 1; const m = Math.hypot(d.x, d.z) || 1;
        return [Math.hypot(dx, dz), (dx * d.x + dz * d.z) / n / m]; }})()"""))


def test_signs_map_and_first_visit_hint_on_desktop(new_page, server_url, output_dir) -> None:
    page = _open(new_page, f"{server_url}/?net=0", {"width": 960, "height": 540})
    # First visit: the hint, in words for a keyboard and mouse, fully on screen.
    hint = page.locator("#first-hint")
    assert hint.is_visible()
    assert "Welcome to" in hint.inner_text() and "WASD" in hint.inner_text()
    assert _inside(hint.bounding_box(), 960, 540)
    # Signs over the departments: readable (nothing squeezed), high up, one per department but the door.
    signs = page.evaluate("""plaza.signage.signs.map((s) => ({label: s.department.label, kind: s.department.kind,
        y: s.mesh.position.y, text: s.mesh.userData.text, width: s.mesh.userData.widthM}))""")
    labels = {s["label"] for s in signs}
    assert {"Clothing", "Fitting rooms", "Checkout"} <= labels, labels
    for s in signs:
        assert s["text"] == s["label"] and 2.2 <= s["y"] <= 3.0 and 0.4 < s["width"] < 4, s
    # No two signs hang on top of each other (the screenshot showed "Bundl Shoes" before).
    spots = page.evaluate("plaza.signage.signs.map((s) => [s.mesh.position.x, s.mesh.position.z])")
    assert all(math.dist(a, b) >= 2.4 for i, a in enumerate(spots) for b in spots[i + 1:]), spots
    page.screenshot(path=str(output_dir / "wayfinding-hint.png"))
    # The hint lets a click through to the store: a click on a product under it still selects.
    page.click("#hint-ok")
    assert page.locator("#first-hint").count() == 0
    assert page.evaluate("localStorage.getItem('plaza.hinted')") == "1"

    # The map: on screen, with the departments; choosing one takes you there, facing it.
    page.click("#open-map")
    panel = page.locator("#store-map")
    assert panel.is_visible() and _inside(panel.bounding_box(), 960, 540)
    buttons = page.locator("#map-places button")
    # One button per department name (a category in two corners is listed once), none repeated.
    names = [buttons.nth(i).inner_text() for i in range(buttons.count())]
    assert len(names) == len(set(names)) == len({d["label"] for d in page.evaluate("plaza.departments")}), names
    page.screenshot(path=str(output_dir / "wayfinding-map.png"))
    dept = page.evaluate("plaza.departments.find((d) => d.label === 'Fitting rooms')")
    page.click(f"#map-places button[data-go='{dept['id']}']")
    assert not panel.is_visible()
    distance, facing = _near_and_facing(page, dept["x"], dept["z"])
    assert distance < 3.5 and facing > 0.9, (distance, facing)
    assert "Fitting rooms" in page.text_content("#status")

    # A product by name: there, facing it, its card open.
    page.click("#open-map")
    page.fill("#map-search", "oxford")
    page.click("#map-products button[data-go='product:oxford-shirt-men']")
    page.wait_for_selector("#product-card:not([hidden])")
    assert page.evaluate("plaza.products.selected") == "oxford-shirt-men"
    x, _, z = page.evaluate("plaza.productWorldPosition('oxford-shirt-men')")
    distance, facing = _near_and_facing(page, x, z)
    assert distance < 2.5 and facing > 0.9, (distance, facing)

    # A click on the map's floor: you stand there. (Reopened after a search, the map shows from its top.)
    page.click("#open-map")
    assert page.evaluate("document.getElementById('store-map').scrollTop") == 0
    spot = page.evaluate("""(() => { const m = plaza.storeMap;
        const d = plaza.departments.find((x) => x.kind === 'category');
        const s = plaza.store.walkable.standPointNear(d.x, d.z, [d.x + 2, d.z + 2]);
        const [px, py] = m.frame().toPx(s[0], s[1]); const r = m.canvas.getBoundingClientRect();
        return {x: s[0], z: s[1], cx: r.left + px * r.width / m.canvas.width,
                cy: r.top + py * r.height / m.canvas.height}; })()""")
    page.mouse.click(spot["cx"], spot["cy"])
    eye = page.evaluate("plaza.cameraWorldPosition()")
    assert math.hypot(eye[0] - spot["x"], eye[2] - spot["z"]) < 0.3, (eye, spot)
    # Next visit: no hint.
    page.reload()
    page.wait_for_function(READY, timeout=60000)
    assert page.locator("#first-hint").count() == 0
    assert page.errors == []


def test_the_map_and_hint_fit_a_phone(browser, server_url, output_dir) -> None:  # type: ignore[no-untyped-def]
    context = browser.new_context(viewport={"width": 390, "height": 844}, has_touch=True, is_mobile=True,
                                  device_scale_factor=1)
    try:
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(f"{server_url}/?net=0")
        page.wait_for_function(READY, timeout=60000)
        hint = page.locator("#first-hint")
        assert "Drag on the left" in hint.inner_text() and _inside(hint.bounding_box(), 390, 844)
        # The top bar's buttons all fit the width.
        for selector in ("#open-map", "#open-profile", "#open-bag", "#toggle-simple"):
            assert _inside(page.locator(selector).bounding_box(), 390, 844), selector
        # A tap on the store dismisses the hint (and is not eaten by it).
        page.touchscreen.tap(300, 500)
        page.wait_for_selector("#first-hint", state="detached", timeout=5000)
        page.tap("#open-map")
        panel = page.locator("#store-map")
        assert panel.is_visible() and _inside(panel.bounding_box(), 390, 844)
        # Below the top bar's buttons (two rows on a phone), never over them.
        bar_bottom = page.evaluate("document.getElementById('hud').getBoundingClientRect().bottom")
        assert panel.bounding_box()["y"] >= bar_bottom
        canvas = page.locator("#map-canvas").bounding_box()
        assert canvas and canvas["width"] > 250 and _inside(canvas, 390, 844)
        page.screenshot(path=str(output_dir / "wayfinding-map-phone.png"))
        first = page.locator("#map-places button").first
        first.tap()
        assert not panel.is_visible()
        assert errors == []
    finally:
        context.close()
