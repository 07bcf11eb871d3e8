"""Promotions in the browser (docs/PROMOTIONS.md, issue 15): two pages fill a team of two for the Aurora jacket from
its product card (one starts it, the other opens the team link and joins) and both are charged the team price; a
coupon made by the store owner is applied from "Your coupons" and lowers the checkout's total; the Hunt panel lists
the store's hints, and walking to a hidden button brings the toast; "Invite & earn" shows the terms in full and a
page opened with the invite link counts as invited. Own server (own data, a known operator token)."""

from __future__ import annotations

import json

import httpx
import pytest

from tests.browser.conftest import (
    OPERATOR,
    PANEL_PROBLEMS,
    PHONE,
    PHONE_VIEWPORT,
    REPO,
    hold_to_pay,
    open_store_page,
    wait_frames,
)

DESKTOP = {"width": 1280, "height": 720}
SMALL = {"width": 480, "height": 360}
JACKET = "digital-aurora-jacket"  # team price 9.90 for 2 (assets/promotions/teams.json), regular 15.00


def _card(page, widget: str):  # type: ignore[no-untyped-def]
    return page.locator(f'#product-card button[data-id="{widget}"]')


def _shop(page, widget: str):  # type: ignore[no-untyped-def]
    return page.locator(f'#shop-panel button[data-id="{widget}"]')


def _card_text(page) -> str:  # type: ignore[no-untyped-def]
    return page.locator("#product-card").inner_text()


def _open_card(page, product: str) -> None:  # type: ignore[no-untyped-def]
    page.evaluate(f"plaza.products.select('{product}')")
    page.wait_for_selector("#product-card:not([hidden])")


def _orders(url: str, key: str) -> list[dict]:
    return httpx.get(f"{url}/api/orders", headers={"X-Shopper-Key": key}).json()


def test_two_pages_fill_a_team_and_both_pay_the_team_price(new_page, operator_server, output_dir) -> None:
    ana = open_store_page(new_page, operator_server, "name=Ana", DESKTOP)
    _open_card(ana, JACKET)
    ana.wait_for_selector('#product-card section.promo [data-id="team-offer"]')
    assert "Team price €9.90 for 2 buyers" in _card_text(ana)
    _card(ana, "team-start").click()
    ana.wait_for_function("Object.keys(plaza.promo.mine).length === 1", timeout=30000)
    team_id = ana.evaluate("Object.keys(plaza.promo.mine)[0]")
    ana.wait_for_selector(f'#product-card button[data-id="team-copy:{team_id}"]')
    text = _card_text(ana)
    assert "You are in: Ana’s team · 1 of 2 joined · 1 place left · 23:59:" in text, text
    # The countdown is live: the line changes by itself.
    before = ana.locator(f'#product-card [data-id="team-line:{team_id}"]').inner_text()
    ana.wait_for_function(f"""document.querySelector('#product-card [data-id="team-line:{team_id}"]').textContent
        !== {json.dumps(before)}""", timeout=10000)
    _card(ana, f"team-copy:{team_id}").click()
    ana.wait_for_function("document.querySelector('#product-card [data-id=\"team-note\"]')?.textContent"
                          f".includes('/?team={team_id}')")
    assert ana.evaluate(PANEL_PROBLEMS, "#product-card") == []
    wait_frames(ana, 1)
    ana.screenshot(path=str(output_dir / "promo-team-desktop.png"))

    # Bob opens the link: the card comes up with the team on it; he joins and the team completes.
    bob = open_store_page(new_page, operator_server, f"name=Bob&team={team_id}", SMALL)
    bob.wait_for_selector(f'#product-card button[data-id="team-join:{team_id}"]:not([disabled])', timeout=30000)
    assert bob.evaluate("plaza.products.selected") == JACKET
    assert "Ana’s team · 1 of 2 joined" in _card_text(bob)
    _card(bob, f"team-join:{team_id}").click()
    for page in (ana, bob):
        page.wait_for_function("""document.querySelector('#product-card section.promo')?.textContent
            .includes('Team complete, you paid €9.90')""", timeout=45000)
    ana.screenshot(path=str(output_dir / "promo-team-complete-desktop.png"))
    # Both were charged the team price, once, in an order of the team.
    for page in (ana, bob):
        orders = _orders(operator_server, page.evaluate("plaza.shopApi.key"))
        assert [(o["total_minor"], o.get("team")) for o in orders] == [(990, team_id)], orders
    # And the orders view says so.
    _card(bob, "team-orders").click()
    bob.wait_for_selector('#shop-panel[data-view="orders"]')
    assert "Loading your orders" in bob.locator("#shop-panel").inner_text() or "(team buy)" in bob.locator(
        "#shop-panel").inner_text()  # never a false "No orders yet" while the list is on its way
    bob.wait_for_function("document.querySelector('#shop-panel').innerText.includes('€9.90 (team buy)')")
    assert "No orders yet" not in bob.locator("#shop-panel").inner_text()
    assert ana.errors == [] and bob.errors == []  # type: ignore[attr-defined]


def test_a_phone_starts_a_team_and_leaves_it(new_page, operator_server, output_dir) -> None:
    page = open_store_page(new_page, operator_server, "name=Cleo", PHONE_VIEWPORT, connected=False, **PHONE)
    _open_card(page, JACKET)
    _card(page, "team-start").tap()
    page.wait_for_function("Object.keys(plaza.promo.mine).length === 1", timeout=30000)
    team_id = page.evaluate("Object.keys(plaza.promo.mine)[0]")
    page.wait_for_selector(f'#product-card button[data-id="team-leave:{team_id}"]')
    assert page.evaluate(PANEL_PROBLEMS, "#product-card") == []
    page.screenshot(path=str(output_dir / "promo-team-phone.png"))
    _card(page, f"team-leave:{team_id}").tap()
    page.wait_for_function("document.querySelector('#product-card [data-id=\"team-note\"]')?.textContent"
                           ".startsWith('You left the team')")
    assert httpx.get(f"{operator_server}/api/teams/{team_id}").json()["joined"] == 0
    assert _card(page, "team-start").is_visible()


def _make_coupon(url: str, owner: str, amount: int = 500, **extra) -> str:  # type: ignore[no-untyped-def]
    made = httpx.post(f"{url}/api/coupons", headers=OPERATOR, json={"amount_minor": amount, "owner": owner, **extra})
    assert made.status_code == 201, made.text
    return made.json()["code"]


def _checkout_setup(page) -> None:  # type: ignore[no-untyped-def]
    _shop(page, "checkout").click()
    page.wait_for_selector('#shop-panel[data-view="setup"]')


@pytest.mark.parametrize("device", ["desktop", "phone"])
def test_a_coupon_lowers_the_checkout_total(new_page, operator_server, output_dir, device) -> None:
    viewport, options = (DESKTOP, {}) if device == "desktop" else (PHONE_VIEWPORT, PHONE)
    page = open_store_page(new_page, operator_server, f"name=Dana{device}", viewport, connected=False, **options)
    shopper = page.evaluate("plaza.shopApi.shopper.shopper_id")
    code = _make_coupon(operator_server, shopper)
    _open_card(page, JACKET)
    _card(page, "addtobag").click()
    page.wait_for_function("document.querySelector('#product-card .note')?.textContent === 'Added to your bag.'")
    page.locator("#open-bag").click()
    page.wait_for_selector(f'#shop-panel button[data-id="coupon-apply:{code}"]')
    assert f"{code}: €5.00 off" in page.locator("#shop-panel").inner_text()
    # A code that does not exist, typed at checkout: refused in words, nothing opened.
    _checkout_setup(page)
    page.locator('#shop-panel input[data-field="coupon"]').fill("NOPE-123")
    _shop(page, "open-checkout").click()
    page.wait_for_selector('#shop-panel [data-id="message"].error')
    assert page.locator('#shop-panel [data-id="message"]').inner_text().startswith("Coupon: ")
    assert page.evaluate("document.querySelector('#shop-panel').dataset.view") == "setup"
    # One tap in "Your coupons" applies ours; the checkout shows the discount and the lower total.
    _shop(page, "back").click()
    _shop(page, f"coupon-apply:{code}").click()
    page.wait_for_selector('#shop-panel button[data-id="coupon-clear"]')
    _checkout_setup(page)
    assert page.locator('#shop-panel input[data-field="coupon"]').input_value() == code
    _shop(page, "open-checkout").click()
    page.wait_for_selector('#shop-panel[data-view="checkout"] button.hold:not([disabled])')
    text = page.locator("#shop-panel").inner_text()
    assert f"Coupon {code}: −€5.00" in text and "Total: €10.00" in text, text
    assert page.evaluate(PANEL_PROBLEMS, "#shop-panel") == []
    page.screenshot(path=str(output_dir / f"promo-coupon-checkout-{device}.png"))
    if device == "phone":
        return
    hold_to_pay(page, 1400)
    page.wait_for_selector('#shop-panel[data-view="receipt"]', timeout=30000)
    assert "Paid: €10.00" in page.locator("#shop-panel").inner_text()
    orders = _orders(operator_server, page.evaluate("plaza.shopApi.key"))
    assert [(o["total_minor"], o["discount_minor"]) for o in orders] == [(1000, 500)]
    # Used once: it is gone from "Your coupons".
    _shop(page, "back").click()
    page.wait_for_selector('#shop-panel[data-view="bag"]')
    page.wait_for_timeout(500)
    assert page.locator(f'#shop-panel button[data-id="coupon-apply:{code}"]').count() == 0


def _hunt_items() -> list[dict]:
    scene = json.loads((REPO / "scenes" / "boutique" / "scene.json").read_text())
    return scene["hunts"][0]["items"]


@pytest.mark.parametrize("device", ["desktop", "phone"])
def test_the_hunt_panel_lists_the_hints(new_page, operator_server, output_dir, device) -> None:
    viewport, options = (DESKTOP, {}) if device == "desktop" else (PHONE_VIEWPORT, PHONE)
    page = open_store_page(new_page, operator_server, f"name=Eve{device}", viewport, **options)
    page.wait_for_selector("#open-hunt:not([hidden])", timeout=30000)
    page.locator("#open-hunt").click()
    page.wait_for_selector('#hunt-panel [data-id^="progress:"]')
    text = page.locator("#hunt-panel").inner_text()
    assert "Three golden buttons" in text and "0 of 3 found" in text, text
    for item in _hunt_items():
        assert item["hint"] in text
    assert page.evaluate(PANEL_PROBLEMS, "#hunt-panel") == []
    page.screenshot(path=str(output_dir / f"promo-hunt-{device}.png"))
    if device == "phone":
        return
    # Walk (teleport) to the first hidden button: the server sees our head there and tells us.
    x, z = _hunt_items()[0]["at"]
    spot = page.evaluate(f"""(() => {{
        for (let r = 0; r <= 1.0; r += 0.1) for (let a = 0; a < 6.3; a += 0.5) {{
            const p = [{x} + r * Math.cos(a), {z} + r * Math.sin(a)];
            if (plaza.store.walkable.canTeleportTo(p[0], p[1])) return p;
        }}
        return null; }})()""")
    assert spot, "no walkable floor within 1 m of the hidden item"
    assert page.evaluate(f"plaza.teleportTo({spot[0]}, {spot[1]})")
    page.wait_for_function("plaza.promo.toast.shown.some((t) => t.startsWith('Found: '))", timeout=30000)
    # The toast's words on the screen (it goes away after a few seconds: a slow page may be past that by now).
    assert page.evaluate("document.getElementById('promo-toast').textContent") == "Found: A golden button (1 of 3)"
    assert page.evaluate("plaza.promo.lastSparkle?.name") == "hunt-sparkle"  # a burst in front of the shopper
    page.wait_for_function("document.querySelector('#hunt-panel').textContent.includes('1 of 3 found')")
    wait_frames(page, 1)
    page.screenshot(path=str(output_dir / "promo-hunt-found-desktop.png"))


def test_invite_and_earn(new_page, operator_server, output_dir) -> None:
    page = open_store_page(new_page, operator_server, "name=Finn", PHONE_VIEWPORT, connected=False, **PHONE)
    page.locator("#open-invite").click()
    page.wait_for_selector('#invite-panel [data-id="terms"]')
    key = page.evaluate("plaza.shopApi.key")
    me = httpx.get(f"{operator_server}/api/referrals/me", headers={"X-Shopper-Key": key}).json()
    text = page.locator("#invite-panel").inner_text()
    assert me["terms"] in text and f"/?ref={me['code']}" in text and "Friends who came with your link: 0" in text
    assert page.evaluate(PANEL_PROBLEMS, "#invite-panel") == []
    page.screenshot(path=str(output_dir / "promo-invite-phone.png"))
    # A page opened with the link makes its shopper with `ref`: the inviter counts one invitee.
    open_store_page(new_page, operator_server, f"name=Gus&ref={me['code']}", SMALL, connected=False)
    again = httpx.get(f"{operator_server}/api/referrals/me", headers={"X-Shopper-Key": key}).json()
    assert again["invited"] == 1


def test_headset_hunt_panel_and_team_card(new_page, operator_server, output_dir) -> None:
    page = open_store_page(new_page, operator_server, "name=Hal&emulate=quest3", SMALL)
    assert page.evaluate("plaza.enterVR()")
    wait_frames(page, 3, "xrFrames")
    page.evaluate("plaza.xrMenu.show()")
    labels = page.evaluate("plaza.panels.get('xr-menu').widgets.map((w) => w.label)")
    assert "Treasure hunt" in labels and "Invite & earn" in labels
    page.evaluate("plaza.xrMenu.press('hunt')")
    page.wait_for_function("plaza.panels.get('hunt-panel')?.widgets.some((w) => String(w.id).startsWith('hint:'))",
                           timeout=30000)
    cut = page.evaluate("""plaza.panels.get('hunt-panel').widgets.filter((w) => !w.drawn
        || w.drawn.lines.join(' ') !== String(w.label) || w.drawn.fontScale < 0.8).map((w) => w.label)""")
    assert cut == []
    wait_frames(page, 2, "xrFrames")
    page.screenshot(path=str(output_dir / "promo-hunt-vr.png"))
    page.evaluate("plaza.promo.huntPanel.hide()")
    page.evaluate(f"plaza.products.select('{JACKET}')")
    page.wait_for_function("plaza.panels.get('product')?.widgets.some((w) => w.id === 'team-start')", timeout=30000)
    wait_frames(page, 2, "xrFrames")
    page.screenshot(path=str(output_dir / "promo-team-vr.png"))
    # The card's buttons are panel buttons: pressing one (a ray, a poke) starts a team like a click.
    page.evaluate("plaza.panels.get('product').press('team-start')")
    page.wait_for_function("Object.keys(plaza.promo.mine).length === 1", timeout=30000)
