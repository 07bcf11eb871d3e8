"""Shopping together from a headset and in simplified mode (docs/SOCIAL.md, issue 14): Ben accepts Ana's invite,
enters an emulated headset (IWER), opens "Shop with friends" from the wrist menu and gets the group as an
in-scene panel in front of his eyes (no HTML over the view) listing Ana, with ready phrases and reactions as
buttons; in simplified mode on a phone every top-bar button is reachable above the product list and the Friends
panel opens over it, readable. Own server (own data)."""

from __future__ import annotations

from tests.browser.conftest import PANEL_PROBLEMS, open_store_page, start_group

SMALL = {"width": 640, "height": 400}


def test_a_friend_in_a_headset_sees_the_group_on_a_panel_and_chats_from_it(new_page, operator_server,
                                                                          output_dir) -> None:
    ana = open_store_page(new_page, operator_server, "name=Ana", SMALL)
    code = start_group(ana)
    ben = open_store_page(new_page, operator_server, f"name=Ben&join={code}&emulate=quest3", SMALL)
    ben.wait_for_selector("#social-panel[data-tab=join] button[data-id=accept]", timeout=30000)
    ben.locator("#social-panel button[data-id=accept]").click()
    ben.wait_for_function("plaza.social.group.active && plaza.social.group.members.size === 2", timeout=30000)
    assert ben.evaluate("plaza.enterVR()")
    ben.wait_for_function("plaza.xrFrames > 5", timeout=60000)
    ben.evaluate("plaza.social.panel.hide()")
    ben.evaluate("plaza.xrMenu.show()")  # what the wrist menu's button does (test_client_menu.py presses it)
    ben.wait_for_function("Boolean(plaza.panels.get('xr-menu'))", timeout=30000)
    labels = ben.evaluate("plaza.panels.get('xr-menu').widgets.map((w) => w.id)")
    assert "friends" in labels and "ask" in labels, labels
    ben.evaluate("plaza.panels.get('xr-menu').press('friends')")
    ben.wait_for_function("Boolean(plaza.panels.get('social'))", timeout=30000)
    assert ben.evaluate("document.getElementById('social-panel').hidden")  # nothing in HTML over the view
    ben.evaluate("plaza.social.panel.press('tab:people')")
    ben.wait_for_function("""plaza.panels.get('social').widgets.some((w) => String(w.label).startsWith('Ana'))""",
                          timeout=30000)
    # The panel stands in front of the eyes, in view.
    seen = ben.evaluate("""(() => {
        const p = plaza.panels.get('social').mesh.getWorldPosition(new plaza.THREE.Vector3());
        const eye = plaza.camera.getWorldPosition(new plaza.THREE.Vector3());
        const dir = plaza.camera.getWorldDirection(new plaza.THREE.Vector3());
        const to = p.clone().sub(eye); return { d: to.length(), cos: to.normalize().dot(dir) }; })()""")
    assert 0.5 < seen["d"] < 1.5 and seen["cos"] > 0.7, seen
    ben.screenshot(path=str(output_dir / "social-headset-people.png"))

    # Chat from the headset needs no keyboard: ready phrases and reactions are buttons of the panel. (Sending them
    # is the desktop chat's path, tested in test_client_social.py: an emulated headset beside a second page starves
    # this machine's CPU until the server drops it as too slow, 4008, so the round trip is not asserted here.)
    ben.evaluate("plaza.social.panel.press('tab:chat')")
    ben.wait_for_function("plaza.panels.get('social').widgets.some((w) => w.id === 'phrase:0')", timeout=30000)
    ids = ben.evaluate("plaza.panels.get('social').widgets.filter((w) => w.kind === 'button').map((w) => w.id)")
    assert {"phrase:0", "react:👍", "close"} <= set(ids), ids
    ben.screenshot(path=str(output_dir / "social-headset-chat.png"))


def test_simplified_mode_shows_the_friends_panel_over_the_list(new_page, operator_server, output_dir) -> None:
    page = open_store_page(new_page, operator_server, "name=Sia&simple=1", {"width": 390, "height": 844},
                           has_touch=True, is_mobile=True)
    page.wait_for_selector("#simple-view:not([hidden])")
    # Every button of the top bar is above the list, where a finger reaches it (not hidden under the list).
    for button in ("#open-social", "#open-bag", "#toggle-simple", "#open-assistant"):
        box = page.locator(button).bounding_box()
        x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
        centre = page.evaluate(f"document.elementFromPoint({x}, {y})?.closest('{button}') !== null")
        assert centre, button
    page.locator("#open-social").tap()
    page.wait_for_selector("#social-panel:not([hidden]) button[data-id=create]")
    page.locator("#social-panel button[data-id=create]").tap()
    page.wait_for_selector("#social-panel[data-tab=invite] output.code", timeout=30000)
    assert page.evaluate(PANEL_PROBLEMS, "#social-panel") == []
    # Over the list, not behind it: what is under the code is the panel itself.
    hit = page.evaluate("""(() => {
        const r = document.querySelector('#social-panel output.code').getBoundingClientRect();
        const top = document.elementFromPoint(r.x + r.width / 2, r.y + r.height / 2);
        return top?.closest('#social-panel') !== null; })()""")
    assert hit
    page.screenshot(path=str(output_dir / "social-simplified-phone.png"))
