"""Product cards a shopper can read: on a screen an HTML card beside its product, every word shown (no "…",
nothing overflowing, nothing off-screen), the product under the mouse highlighted; in a headset a panel
between the eye and the product that faces the eye, stays large in view and is drawn over everything."""

from __future__ import annotations

import math

from tests.browser.conftest import wait_frames

DESKTOP = {"width": 960, "height": 540}

# Every text element and button of the card: its text is whole (no ellipsis), it does not overflow its box,
# the font is at least 14 px, and the card is inside the viewport.
CARD_PROBLEMS = """() => {
    const card = document.getElementById('product-card');
    const problems = [];
    if (card.hidden) return ['card hidden'];
    const r = card.getBoundingClientRect();
    if (r.left < 0 || r.top < 0 || r.right > innerWidth || r.bottom > innerHeight) {
        problems.push(`card off-screen ${JSON.stringify(r)}`);
    }
    for (const id of ['help', 'status', 'buttons', 'back-to-list']) {  // nor over the page's own bars
        const o = document.getElementById(id).getBoundingClientRect();
        if (o.height && !(o.right <= r.left || o.left >= r.right || o.bottom <= r.top || o.top >= r.bottom)) {
            problems.push(`card over #${id}`);
        }
    }
    for (const el of card.querySelectorAll('h2, div, p, li, button')) {
        if (el.children.length && el.tagName !== 'BUTTON') continue;
        const text = el.textContent;
        if (text.includes('…')) problems.push(`cut: ${text}`);
        if (el.scrollWidth > el.clientWidth + 1) problems.push(`overflows: ${text}`);
        const size = parseFloat(getComputedStyle(el).fontSize);
        if (size < 14) problems.push(`${size}px: ${text}`);
        const b = el.getBoundingClientRect();
        if (b.right > r.right + 1 || b.left < r.left - 1) problems.push(`outside the card: ${text}`);
    }
    return problems;
}"""


def _open(new_page, server_url: str, query: str, viewport=None):  # type: ignore[no-untyped-def]
    page = new_page(viewport or DESKTOP)
    page.goto(f"{server_url}/?{query}")
    page.wait_for_function("window.plaza && (window.plaza.ready || window.plaza.errors.length > 0)", timeout=60000)
    assert page.evaluate("window.plaza.errors") == []
    wait_frames(page, 2)
    return page


def test_every_product_card_is_whole_and_on_screen(new_page, server_url, output_dir) -> None:
    page = _open(new_page, server_url, "net=0")
    ids = page.evaluate("[...plaza.products.items.keys()]")
    assert len(ids) >= 10
    for product_id in ids:
        page.evaluate(f"plaza.products.select('{product_id}')")
        wait_frames(page, 1)
        assert page.evaluate(CARD_PROBLEMS) == [], product_id
        # The catalog's words are all there: name, description, every provenance line.
        detail = page.evaluate(f"fetch('/api/products/{product_id}').then((r) => r.json())")
        card_text = page.locator("#product-card").inner_text()
        assert detail["name"] in card_text
        if detail.get("description"):
            assert detail["description"] in card_text
    # On a screen there is no in-scene product panel to sink into a table or hide behind a product.
    assert page.evaluate("plaza.panels.get('product')") is None
    assert page.errors == []


def test_the_card_stands_beside_its_product_and_hover_highlights(new_page, server_url, output_dir) -> None:
    page = _open(new_page, server_url, "net=0")
    product_id = page.evaluate("plaza.nearestProductInView()")
    rect = page.evaluate(f"plaza.products.screenRect('{product_id}', innerWidth, innerHeight)")
    assert rect, "the nearest product is not on screen"
    # The mouse over the product highlights it (a box around it); elsewhere nothing is highlighted.
    cx, cy = rect["x"] + rect["w"] / 2, rect["y"] + rect["h"] / 2
    hit = page.evaluate(f"""(() => {{ const T = plaza.THREE; const r = new T.Raycaster();
        r.setFromCamera(new T.Vector2({cx} / innerWidth * 2 - 1, -({cy} / innerHeight) * 2 + 1), plaza.camera);
        return plaza.products.pick(r)?.item.product.id ?? null; }})()""")
    assert hit == product_id, (hit, product_id)
    page.mouse.move(cx, cy)
    page.wait_for_function(f"plaza.products.hovered === '{product_id}' && plaza.products.hoverBox.visible")
    page.mouse.move(5, DESKTOP["height"] - 5)
    page.wait_for_function("plaza.products.hovered === null && !plaza.products.hoverBox.visible")
    page.mouse.click(cx, cy)
    page.wait_for_function(f"plaza.products.selected === '{product_id}'")
    wait_frames(page, 2)
    card = page.locator("#product-card").bounding_box()
    # Beside the product: not over it, and within 40 px of its box horizontally, overlapping it vertically.
    gap = max(card["x"] - (rect["x"] + rect["w"]), rect["x"] - (card["x"] + card["width"]))
    assert 0 <= gap <= 40, (card, rect)
    assert card["y"] < rect["y"] + rect["h"] and card["y"] + card["height"] > rect["y"], (card, rect)
    assert page.evaluate(CARD_PROBLEMS) == []
    page.screenshot(path=str(output_dir / "card-desktop.png"))
    # Walking on keeps it beside the product (it follows the view).
    page.evaluate("plaza.turnBy(0.15)")
    wait_frames(page, 2)
    moved = page.evaluate(f"plaza.products.screenRect('{product_id}', innerWidth, innerHeight)")
    card2 = page.locator("#product-card").bounding_box()
    assert moved and abs((card2["x"] - card["x"]) - (moved["x"] - rect["x"])) < 40
    assert page.errors == []


def test_in_a_headset_the_card_faces_the_eye_large_and_unhidden(new_page, server_url, output_dir) -> None:
    page = _open(new_page, server_url, "emulate=quest3&net=0", {"width": 480, "height": 360})
    assert page.evaluate("plaza.enterVR()") is True
    wait_frames(page, 3, "xrFrames")
    # The nearest product and the farthest: a card never opens metres away.
    ids = page.evaluate("""(() => { const eye = plaza.camera.getWorldPosition(new plaza.THREE.Vector3());
        return [...plaza.products.items.keys()].map((id) => [id, eye.distanceTo(new plaza.THREE.Vector3(
            ...plaza.productWorldPosition(id)))]).sort((a, b) => a[1] - b[1]); })()""")
    for product_id, distance in (ids[0], ids[-1]):
        page.evaluate(f"plaza.products.select('{product_id}')")
        wait_frames(page, 2, "xrFrames")
        assert page.evaluate("document.getElementById('product-card').hidden") is True
        geo = page.evaluate(f"""(() => {{
            const T = plaza.THREE;
            const panel = plaza.panels.get('product');
            const eye = plaza.camera.getWorldPosition(new T.Vector3());
            const centre = panel.mesh.getWorldPosition(new T.Vector3());
            const normal = new T.Vector3(0, 0, 1).applyQuaternion(panel.mesh.getWorldQuaternion(new T.Quaternion()));
            const product = new T.Vector3(...plaza.productWorldPosition('{product_id}'));
            const d = centre.distanceTo(eye);
            return {{distance: d, productDistance: product.distanceTo(eye),
                     facing: normal.dot(eye.clone().sub(centre).normalize()),
                     angularWidthDeg: T.MathUtils.radToDeg(2 * Math.atan(panel.mesh.scale.x / 2 / d)),
                     onTop: panel.mesh.material.depthTest === false && panel.mesh.renderOrder > 0,
                     cut: panel.widgets.filter((w) => !w.drawn || w.drawn.lines.join(' ') !== String(w.label)
                         || w.drawn.fontScale < 0.8).map((w) => w.label)}};
        }})()""")
        assert 0.65 <= geo["distance"] <= 1.35, (product_id, distance, geo)
        assert geo["facing"] > 0.95, geo
        assert geo["angularWidthDeg"] >= 20, geo
        assert geo["onTop"], geo
        assert geo["cut"] == [], geo
        if geo["productDistance"] > 1.5:
            assert geo["distance"] < geo["productDistance"], geo  # between the eye and the product
    page.screenshot(path=str(output_dir / "card-vr.png"))
    # Pointing a controller at a button of the card highlights it (hover), before any trigger press.
    aim = page.evaluate("""(() => {
        const T = plaza.THREE;
        const panel = plaza.panels.get('product');
        const w = panel.widgets.find((x) => x.id === 'close');
        const [x, y, ww, wh] = w.rect;
        const target = plaza.rig.worldToLocal(panel.mesh.localToWorld(new T.Vector3((x + ww / 2) / panel.widthPx - 0.5,
            0.5 - (y + wh / 2) / panel.heightPx, 0)));
        const eye = new T.Vector3(0.15, 1.3, -0.1);
        const q = new T.Quaternion().setFromRotationMatrix(new T.Matrix4().lookAt(eye, target, new T.Vector3(0, 1, 0)));
        return {position: {x: eye.x, y: eye.y, z: eye.z}, orientation: {x: q.x, y: q.y, z: q.z, w: q.w}};
    })()""")
    page.evaluate("(a) => plaza.device.remote.dispatch('set_transform', {device: 'controller-right', ...a})", aim)
    page.wait_for_function("plaza.panels.get('product').hoverId === 'close'", timeout=30000)
    assert math.isfinite(page.evaluate("plaza.xrFrames"))
    assert page.errors == []
