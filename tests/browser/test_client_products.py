"""Products in the browser: the panel (price, stock, provenance), clicking its buttons on desktop,
switching a colour variant on the model, and grabbing a product with an emulated controller."""

from __future__ import annotations

import math

from tests.browser.conftest import wait_frames


def _open(new_page, server_url: str, query: str):  # type: ignore[no-untyped-def]
    page = new_page({"width": 480, "height": 360})
    page.goto(f"{server_url}/?{query}")
    page.wait_for_function("window.plaza && (window.plaza.ready || window.plaza.errors.length > 0)", timeout=60000)
    assert page.evaluate("window.plaza.errors") == []
    wait_frames(page, 2)
    return page


def test_product_panel_shows_catalog_facts_and_its_buttons_work_by_click(new_page, server_url, output_dir) -> None:
    page = _open(new_page, server_url, "net=0")
    product_id = page.evaluate("plaza.nearestProductInView()")
    assert product_id, "no product in view from the spawn point"
    detail = page.evaluate(f"fetch('/api/products/{product_id}').then((r) => r.json())")
    page.evaluate(f"plaza.products.select('{product_id}')")
    wait_frames(page, 2)
    card = page.locator("#product-card")
    assert card.locator(".title").inner_text() == detail["name"]
    assert "€" in card.locator(".price").inner_text() or detail["currency"] in card.locator(".price").inner_text()
    assert "stock" in card.locator(".stock").inner_text() or "left" in card.locator(".stock").inner_text()
    if detail.get("transparency", {}).get("origin"):
        assert any(line.startswith("Made in") for line in card.locator(".facts li").all_inner_texts())

    # Click "Pick up" on the panel with the mouse: the product leaves its shelf for the shopper's hands.
    home = page.evaluate(f"plaza.productWorldPosition('{product_id}')")
    page.click("#product-card button[data-id='inspect']")
    page.wait_for_function("plaza.products.inspecting !== null", timeout=20000)
    wait_frames(page, 2)
    held = page.evaluate(f"plaza.productWorldPosition('{product_id}')")
    assert math.dist(home, held) > 0.05
    # Zoom and turn it in hand, then put it back exactly where it was.
    page.evaluate("plaza.products.zoomInspected(2)")
    page.evaluate("plaza.products.rotateInspected(0.5, 0.2)")
    assert page.evaluate(f"plaza.products.items.get('{product_id}').object.scale.x") == 2
    page.screenshot(path=str(output_dir / "product-in-hand.png"))
    page.click("#product-card button[data-id='inspect']")
    page.wait_for_function("plaza.products.inspecting === null", timeout=20000)
    back = page.evaluate(f"plaza.productWorldPosition('{product_id}')")
    assert math.dist(home, back) < 1e-6
    assert page.errors == []


def test_colour_variant_switches_materials_on_the_model(new_page, server_url) -> None:
    page = _open(new_page, server_url, "net=0")
    # A product whose model has KHR_materials_variants and at least two colours.
    found = page.evaluate("""async () => {
        for (const [id, item] of plaza.products.items) {
            if (item.product.choices.length < 2) continue;
            for (let i = 0; i < 200 && !item.gltf; i += 1) await new Promise((r) => setTimeout(r, 50));
            const names = item.gltf?.userData?.gltfExtensions?.KHR_materials_variants?.variants ?? [];
            if (names.length >= 2) return id;
        }
        return null;
    }""")
    assert found, "no product with material variants in the default store"
    materials = """(id) => { const out = []; plaza.products.items.get(id).object.traverse((o) => {
        if (o.isMesh) out.push(o.material.uuid); }); return out.join(','); }"""
    before = page.evaluate(materials, found)
    choices = page.evaluate(f"plaza.products.items.get('{found}').product.choices.map((c) => c.id)")
    page.evaluate(f"plaza.products.setVariant('{found}', {choices[1]!r})")
    after = page.evaluate(materials, found)
    assert after != before
    page.evaluate(f"plaza.products.setVariant('{found}', {choices[0]!r})")
    assert page.evaluate(materials, found) != after
    assert page.errors == []


def test_controller_grab_moves_the_product_and_release_puts_it_back(new_page, server_url, output_dir) -> None:
    page = _open(new_page, server_url, "emulate=quest3&net=0")
    product_id = page.evaluate("plaza.nearestProductInView()")
    assert page.evaluate("plaza.enterVR()") is True
    wait_frames(page, 3, "xrFrames")
    home = page.evaluate(f"plaza.productWorldPosition('{product_id}')")
    # Aim the right controller at the product (poses are in the play space, i.e. the rig's local frame).
    aim = page.evaluate(f"""() => {{
        const T = plaza.THREE;
        const target = plaza.rig.worldToLocal(new T.Vector3(...plaza.productWorldPosition('{product_id}')));
        const eye = new T.Vector3(0.2, 1.3, -0.2);
        const m = new T.Matrix4().lookAt(eye, target, new T.Vector3(0, 1, 0));
        const q = new T.Quaternion().setFromRotationMatrix(m);
        return {{position: {{x: eye.x, y: eye.y, z: eye.z}}, orientation: {{x: q.x, y: q.y, z: q.z, w: q.w}}}};
    }}""")
    page.evaluate("(a) => plaza.device.remote.dispatch('set_transform', {device: 'controller-right', ...a})", aim)
    wait_frames(page, 2, "xrFrames")
    page.evaluate("plaza.device.remote.dispatch('set_select_value', {device: 'controller-right', value: 1})")
    page.wait_for_function("plaza.products.inspecting !== null", timeout=20000)
    assert page.evaluate("plaza.products.inspecting.id") == product_id
    # Move the hand: the product follows it.
    moved = {**aim, "position": {"x": -0.3, "y": 1.5, "z": -0.1}}
    page.evaluate("(a) => plaza.device.remote.dispatch('set_transform', {device: 'controller-right', ...a})", moved)
    wait_frames(page, 3, "xrFrames")
    held = page.evaluate(f"plaza.productWorldPosition('{product_id}')")
    assert math.dist(home, held) > 0.3, (home, held)
    page.screenshot(path=str(output_dir / "vr-grab.png"))
    page.evaluate("plaza.device.remote.dispatch('set_select_value', {device: 'controller-right', value: 0})")
    page.wait_for_function("plaza.products.inspecting === null", timeout=20000)
    assert math.dist(home, page.evaluate(f"plaza.productWorldPosition('{product_id}')")) < 1e-6
    assert page.errors == []


def test_simplified_mode_lists_products_with_large_controls_and_walks_to_one(new_page, server_url, output_dir) -> None:
    page = _open(new_page, server_url, "net=0")
    page.click("#toggle-simple")
    page.wait_for_selector("#simple-view:not([hidden]) #product-list li")
    placed = page.evaluate("plaza.products.items.size")
    items = page.locator("#product-list li")
    assert items.count() == placed
    first = items.first
    assert "€" in first.locator(".price").inner_text() or "$" in first.locator(".price").inner_text()
    # Large controls: buttons at least 48 px tall (a comfortable touch target), 3D panels scaled up.
    height = first.locator("button").first.evaluate("(b) => b.getBoundingClientRect().height")
    assert height >= 48
    assert page.evaluate("plaza.panels.scale") > 1
    # "Show me" walks the shopper to the product and opens its panel.
    product_id = first.get_attribute("data-product-id")
    before = page.evaluate("plaza.cameraWorldPosition()")
    first.get_by_role("button", name="Show me").click()
    page.wait_for_function(f"plaza.products.selected === '{product_id}'", timeout=20000)
    after = page.evaluate("plaza.cameraWorldPosition()")
    target = page.evaluate(f"plaza.productWorldPosition('{product_id}')")
    assert math.dist(after[::2], target[::2]) < math.dist(before[::2], target[::2])
    assert page.evaluate("(([x, , z]) => plaza.store.walkable.isWalkable(x, z))(plaza.cameraWorldPosition())")
    page.screenshot(path=str(output_dir / "simplified.png"))
    assert page.errors == []


def test_poking_a_panel_button_with_a_fingertip_presses_it(new_page, server_url) -> None:
    page = _open(new_page, server_url, "emulate=quest3&net=0")
    product_id = page.evaluate("plaza.nearestProductInView()")
    assert page.evaluate("plaza.enterVR()") is True
    page.evaluate("plaza.device.remote.dispatch('set_input_mode', {mode: 'hand'})")
    page.wait_for_function(
        "plaza.xrInput.active().some((s) => s.inputSource.hand && s.inputSource.handedness === 'right')", timeout=30000
    )
    wait_frames(page, 3, "xrFrames")
    page.evaluate(f"plaza.products.select('{product_id}')")
    wait_frames(page, 2, "xrFrames")

    # Where the "Close" button is, which way the panel faces, and where the fingertip sits relative to the
    # hand's tracked transform (the emulator moves the hand; the tip follows at a fixed offset).
    geometry = page.evaluate("""async () => {
        const T = plaza.THREE;
        const panel = plaza.panels.get('product');
        const w = panel.widgets.find((x) => x.id === 'close');
        const [x, y, ww, wh] = w.rect;
        const button = panel.mesh.localToWorld(new T.Vector3((x + ww / 2) / panel.widthPx - 0.5,
                                                             0.5 - (y + wh / 2) / panel.heightPx, 0));
        const normal = new T.Vector3(0, 0, 1).applyQuaternion(panel.mesh.getWorldQuaternion(new T.Quaternion()));
        const hand = await plaza.device.remote.dispatch('get_transform', {device: 'hand-right'});
        const s = plaza.xrInput.active().find((x) => x.inputSource.hand && x.inputSource.handedness === 'right');
        const tip = plaza.rig.worldToLocal(s.hand.joints['index-finger-tip'].getWorldPosition(new T.Vector3()));
        const p = hand.position;
        return {button: plaza.rig.worldToLocal(button).toArray(), normal: normal.toArray(),
                offset: [tip.x - p.x, tip.y - p.y, tip.z - p.z]};
    }""")

    def put_tip(depth: float) -> None:
        target = [b + n * depth - o for b, n, o in
                  zip(geometry["button"], geometry["normal"], geometry["offset"], strict=True)]
        page.evaluate(
            "(p) => plaza.device.remote.dispatch('set_transform', {device: 'hand-right', position: p})",
            {"x": target[0], "y": target[1], "z": target[2]},
        )
        wait_frames(page, 2, "xrFrames")

    put_tip(0.08)  # in front of the button: nothing yet
    assert page.evaluate("plaza.panels.get('product') !== null")
    put_tip(-0.01)  # through the surface: "Close" is pressed, the panel goes away
    page.wait_for_function("plaza.panels.get('product') === null", timeout=20000)
    assert page.evaluate("plaza.products.selected") is None
    assert page.errors == []


def test_simplified_mode_search_and_category_filter_the_list(new_page, server_url) -> None:
    page = _open(new_page, server_url, "net=0&simple=1")
    page.wait_for_selector("#simple-view:not([hidden]) #product-list li")
    everything = page.locator("#product-list li").count()
    page.fill("#product-search", "shirt")
    names = page.locator("#product-list li .name").all_inner_texts()
    assert names and len(names) < everything and all("shirt" in n.lower() for n in names), names
    assert page.locator("#product-count").inner_text() == f"{len(names)} of {everything} products"
    page.fill("#product-search", "")
    page.select_option("#product-category", "beauty")
    ids = page.locator("#product-list li").evaluate_all("(lis) => lis.map((li) => li.dataset.productId)")
    categories = page.evaluate("(ids) => ids.map((id) => plaza.products.items.get(id).product.category)", ids)
    assert ids and set(categories) == {"beauty"}, categories
    assert page.errors == []
