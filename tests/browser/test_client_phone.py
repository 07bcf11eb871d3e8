"""A shopper on a phone (390x844, touch): taps select anywhere (the left half too, where a drag walks), the
help line speaks of touch and fits, the product card is a whole sheet on screen, simplified mode's "Show me"
and "Try on" happen in view, and the try-on's panels come on screen one at a time."""

from __future__ import annotations

import pytest

from tests.browser.conftest import wait_frames
from tests.browser.test_client_cards import CARD_PROBLEMS

PHONE = {"width": 390, "height": 844}

# Fraction of a panel's corners and centre that project inside the view (three's own camera projection), and
# inside its middle 80% of the height, clear of the page's bars at the top and bottom.
PANEL_IN_VIEW = """(id) => {
    const T = plaza.THREE;
    const panel = plaza.panels.get(id);
    if (!panel) return 0;
    const pts = [[-0.5, -0.5], [0.5, -0.5], [-0.5, 0.5], [0.5, 0.5], [0, 0]].map(([x, y]) =>
        panel.mesh.localToWorld(new T.Vector3(x, y, 0)).project(plaza.camera));
    return pts.filter((p) => Math.abs(p.x) <= 1 && Math.abs(p.y) <= 0.8 && p.z < 1).length / pts.length;
}"""


@pytest.fixture
def phone(browser, server_url):  # type: ignore[no-untyped-def]
    context = browser.new_context(viewport=PHONE, has_touch=True, is_mobile=True, device_scale_factor=1)
    page = context.new_page()
    page.errors = []  # type: ignore[attr-defined]
    page.on("pageerror", lambda err: page.errors.append(str(err)))  # type: ignore[attr-defined]

    def open_store(query: str = "net=0"):  # type: ignore[no-untyped-def]
        page.goto(f"{server_url}/?{query}")
        page.wait_for_function("window.plaza && (window.plaza.ready || window.plaza.errors.length > 0)",
                               timeout=60000)
        assert page.evaluate("window.plaza.errors") == []
        wait_frames(page, 2)
        return page

    yield open_store
    context.close()


def _touch(page, kind: str, x: float, y: float) -> None:  # type: ignore[no-untyped-def]
    points = [] if kind == "touchEnd" else [{"x": x, "y": y, "id": 1}]
    page.cdp.send("Input.dispatchTouchEvent", {"type": kind, "touchPoints": points})


def test_taps_on_the_left_half_select_and_a_drag_there_still_walks(phone, output_dir) -> None:
    page = phone()
    # Turn until a product is in the left half of the screen and nothing stands in front of it.
    target = page.evaluate("""() => {
        const T = plaza.THREE;
        for (let turn = 0; turn < 24; turn += 1) {
            plaza.camera.updateMatrixWorld(true);
            for (const id of plaza.products.items.keys()) {
                const r = plaza.products.screenRect(id, innerWidth, innerHeight);
                if (!r) continue;
                const [x, y] = [r.x + r.w / 2, r.y + r.h / 2];
                if (x < 30 || x > innerWidth / 2 - 20 || y < 120 || y > innerHeight - 200 || r.w < 8) continue;
                const ray = new T.Raycaster();
                ray.setFromCamera(new T.Vector2(x / innerWidth * 2 - 1, -(y / innerHeight) * 2 + 1), plaza.camera);
                if (plaza.products.pick(ray)?.item.product.id === id) return {id, x, y};
            }
            plaza.turnBy(Math.PI / 12);
        }
        return null;
    }""")
    assert target, "no product can be brought into the left half of the view"
    wait_frames(page, 1)
    page.touchscreen.tap(target["x"], target["y"])
    page.wait_for_function(f"plaza.products.selected === '{target['id']}'", timeout=20000)
    # The tap made no click on what it opened (the card's Close sits under the finger), and the first visit's
    # hint went with it, so the card does not jump later under a thumb reaching for its buttons.
    assert page.locator("#first-hint").count() == 0
    top = page.evaluate("document.querySelector('#product-card').getBoundingClientRect().top")
    wait_frames(page, 2)
    page.wait_for_timeout(600)
    assert page.evaluate("plaza.products.selected") == target["id"]
    assert page.evaluate("document.querySelector('#product-card').getBoundingClientRect().top") == top
    assert page.evaluate(CARD_PROBLEMS) == []
    page.screenshot(path=str(output_dir / "phone-card.png"))
    # Close the card, then a drag up on the left half walks forward (the stick), selecting nothing.
    page.tap("#product-card button[data-id='close']")
    page.wait_for_function("plaza.products.selected === null")
    page.cdp = page.context.new_cdp_session(page)
    start = page.evaluate("plaza.cameraWorldPosition()")
    _touch(page, "touchStart", 100, 600)
    for step in range(1, 6):
        _touch(page, "touchMove", 100, 600 - step * 14)
    wait_frames(page, 6)
    _touch(page, "touchEnd", 100, 530)
    moved = page.evaluate("plaza.cameraWorldPosition()")
    assert abs(moved[0] - start[0]) + abs(moved[2] - start[2]) > 0.05, (start, moved)
    assert page.evaluate("plaza.products.selected") is None
    assert page.errors == []


def test_the_help_line_speaks_of_touch_and_fits_the_screen(phone) -> None:
    page = phone()
    help_text = page.locator("#help").inner_text()
    assert "tap" in help_text.lower() and "WASD" not in help_text and "click" not in help_text.lower()
    box = page.locator("#help").bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], box
    assert box["y"] + box["height"] <= PHONE["height"]
    assert page.evaluate("(() => { const h = document.getElementById('help'); "
                         "return h.scrollWidth <= h.clientWidth; })()")


def test_simplified_show_me_and_try_on_happen_in_view(phone, output_dir) -> None:
    page = phone("net=0&simple=1")
    shirt = "oxford-shirt-men"
    item = page.locator(f"#product-list li[data-product-id='{shirt}']")
    item.scroll_into_view_if_needed()
    item.get_by_role("button", name="Show me").tap()
    page.wait_for_function(f"plaza.products.selected === '{shirt}'", timeout=20000)
    wait_frames(page, 2)
    # The list has stepped aside: the card is what is on top at its own centre, and the product is in view.
    assert page.locator("#simple-view").is_hidden()
    assert page.locator("#back-to-list").is_visible()
    assert page.evaluate(CARD_PROBLEMS) == []
    assert page.evaluate("""(() => { const r = document.getElementById('product-card').getBoundingClientRect();
        return document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2).closest('#product-card') !== null;
    })()""")
    assert page.evaluate(f"plaza.products.screenRect('{shirt}', innerWidth, innerHeight) !== null")
    page.screenshot(path=str(output_dir / "phone-simplified-show.png"))

    # Back to the list, then "Try on": the form panel comes into view (a portrait screen turns to it).
    page.tap("#back-to-list")
    assert page.locator("#simple-view").is_visible()
    item.scroll_into_view_if_needed()
    item.get_by_role("button", name="Try on").tap()
    page.wait_for_function("plaza.panels.get('tryon') !== null", timeout=20000)
    page.wait_for_function("plaza.tryon.facing === null || !plaza.tryon.state().turning", timeout=30000)
    wait_frames(page, 2)
    assert page.locator("#simple-view").is_hidden()
    assert page.evaluate(PANEL_IN_VIEW, "tryon") == 1.0
    assert page.evaluate("document.getElementById('product-card').hidden")
    page.evaluate("plaza.tryon.setValue('stature', 180); plaza.tryon.setValue('weight', 80)")
    page.evaluate("plaza.tryon.press('submit')")
    page.wait_for_function("plaza.panels.get('tryon-result') !== null", timeout=30000)
    page.wait_for_function("plaza.tryon.facing === null", timeout=30000)
    wait_frames(page, 2)
    assert page.evaluate(PANEL_IN_VIEW, "tryon-result") == 1.0
    page.screenshot(path=str(output_dir / "phone-tryon-result.png"))
    assert page.errors == []
