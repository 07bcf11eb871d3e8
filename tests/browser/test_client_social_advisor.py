"""A staff advisor (docs/SOCIAL.md): the store owner makes a staff account with the operator token; a shopper in a
group presses "Call an advisor"; the advisor page (`/?advisor=1`, the staff key typed in once) lists the call,
accepts it, joins the shopper's group and room as an advisor next to them, sees the shared bag, and draws a mark
in the air (Shift + drag) that the shopper's page draws and then fades out."""

from __future__ import annotations

import httpx

from tests.browser.conftest import OPERATOR, open_store_page, panel_button, start_group

SMALL = {"width": 640, "height": 400}


def test_an_advisor_accepts_a_call_and_draws_a_mark_the_shopper_sees(new_page, operator_server, output_dir) -> None:
    url = operator_server
    staff = httpx.post(f"{url}/api/staff", json={"name": "Ada", "store": "boutique"}, headers=OPERATOR, timeout=10)
    assert staff.status_code == 201, staff.text
    staff_key = staff.json()["shopper_key"]

    ana = open_store_page(new_page, url, "name=Ana", SMALL)
    start_group(ana)
    panel_button(ana, "advisor").click()
    ana.wait_for_function("plaza.social.group.view.advisor_call !== null", timeout=30000)

    # The advisor page asks for the staff key, then lists the waiting call (the caller by name).
    ada = open_store_page(new_page, url, "advisor=1&name=Ada", SMALL)
    ada.wait_for_selector('#social-panel[data-tab=advisor] input[name="staff"]', timeout=30000)
    ada.locator('#social-panel input[name="staff"]').fill(staff_key)
    ada.locator('#social-panel input[name="staff"]').press("Enter")
    ada.wait_for_selector("#social-panel .calls button[data-id^='take:']", timeout=30000)
    assert "Ana" in ada.locator("#social-panel .calls").inner_text()
    assert ada.evaluate("localStorage.getItem('plaza.staff')").find(staff_key) >= 0
    assert ada.evaluate("localStorage.getItem('plaza.shopper')") is None  # a staff page makes no shopper
    ada.screenshot(path=str(output_dir / "social-advisor-queue.png"))
    ada.locator("#social-panel .calls button[data-id^='take:']").first.click()
    ada.wait_for_function("plaza.social.group.active && plaza.social.group.isAdvisor", timeout=30000)
    assert ada.evaluate("plaza.room.room") == ana.evaluate("plaza.room.room")

    # Ana's page lists Ada as the advisor; Ada stands beside her and sees the shared bag.
    ada_member = ada.evaluate("plaza.social.group.you")
    ana.wait_for_function(f"plaza.social.group.members.get('{ada_member}')?.role === 'advisor'", timeout=30000)
    ana.wait_for_function("plaza.social.group.view.advisor_call === null", timeout=30000)
    ada.wait_for_function("plaza.social.events.includes('jumped')", timeout=30000)
    ada_id = ada.evaluate("plaza.room.session.avatarId")
    ana.wait_for_function(f"plaza.avatars.avatars.has({ada_id})", timeout=30000)
    ada.locator("#open-bag").click()
    ada.locator('#shop-panel button[data-id="which:ours"]').click()
    ada.wait_for_selector('#shop-panel button[data-id="which:ours"].selected')
    ada.wait_for_function("plaza.shop.state.bag && Array.isArray(plaza.shop.state.bag.lines)", timeout=30000)
    ada.locator('#shop-panel button[data-id="close"]').click()
    ada.locator("#social-panel button[data-id=close]").click()

    # Ada draws: Shift + drag across the view. Ana's page draws the stroke (Ada's colour, her member id).
    box = ada.locator("canvas").first.bounding_box()
    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    ada.keyboard.down("Shift")
    ada.mouse.move(cx - 120, cy)
    ada.mouse.down()
    for k in range(1, 13):
        ada.mouse.move(cx - 120 + k * 20, cy + (k % 4) * 8, steps=2)
    ada.mouse.up()
    ada.keyboard.up("Shift")
    ana.wait_for_function("plaza.social.state().scene.strokes"
                          f".some((s) => s.member === '{ada_member}' && s.points >= 2)", timeout=30000)
    strokes = [s for s in ana.evaluate("plaza.social.state().scene.strokes") if s["member"] == ada_member]
    assert max(s["opacity"] for s in strokes) > 0.5  # fresh: it fades only in the last 30 % of its ttl
    assert sum(s["points"] for s in strokes) >= 6
    # Drawing did not turn Ada's view (the drag drew instead of looking around).
    assert ada.evaluate("plaza.lastClick") != "point"
    ana.screenshot(path=str(output_dir / "social-advisor-mark.png"))
    assert ana.errors == [] and ada.errors == []
    assert ana.evaluate("plaza.errors") == [] and ada.evaluate("plaza.errors") == []
