"""Shopping together in the browser (docs/SOCIAL.md, issue 14): Ana starts a group from "Friends", Ben opens the
invite link with its code, sees who invites him, accepts and lands beside her; they see each other's avatars,
chat both ways, react; Ana points at a product and Ben sees the beam from her hand and the product outlined; both
add to the shared bag ("Our bag") and each page says who added what. Own server (own data directory and the
operator token)."""

from __future__ import annotations

import math

from tests.browser.conftest import (
    PHONE,
    PHONE_VIEWPORT,
    open_store_page,
    pair,
    panel_button,
    social_state,
    start_group,
    wait_frames,
)

DESKTOP = {"width": 1280, "height": 720}
SMALL = {"width": 640, "height": 400}
SHIRT = "tee-organic-crew"


# The largest product whose centre on screen is that product (nothing in front of it): {id, x, y} or null.
PRODUCT_ON_SCREEN = """() => { const T = plaza.THREE; const rc = new T.Raycaster(); let best = null;
    for (const id of plaza.products.items.keys()) {
      const r = plaza.products.screenRect(id, innerWidth, innerHeight); if (!r) continue;
      const x = r.x + r.w / 2, y = r.y + r.h / 2;
      if (x < 20 || y < 80 || x > innerWidth - 20 || y > innerHeight - 80) continue;
      const panel = document.elementFromPoint(x, y); if (panel && panel.tagName !== 'CANVAS') continue;
      rc.setFromCamera(new T.Vector2(x / innerWidth * 2 - 1, -(y / innerHeight) * 2 + 1), plaza.camera);
      if (plaza.products.pick(rc)?.item.product.id !== id) continue;
      if (!best || r.w * r.h > best.a) best = { id, x, y, a: r.w * r.h };
    }
    return best; }"""


def add_to_our_bag(page, product: str) -> str:  # type: ignore[no-untyped-def]
    """In "Our bag", the product card's Add to bag puts the first size still in stock in the shared bag."""
    page.locator("#open-bag").click()
    page.wait_for_selector('#shop-panel button[data-id="which:ours"]', timeout=30000)
    page.locator('#shop-panel button[data-id="which:ours"]').click()
    page.wait_for_selector('#shop-panel button[data-id="which:ours"].selected')
    page.evaluate(f"plaza.products.select('{product}')")
    page.wait_for_selector("#product-card:not([hidden])")
    size = page.locator("#product-card .sizes button:not([disabled])").first
    label = size.inner_text()
    size.dispatch_event("click")  # the card follows its product on screen every frame: click it where it is
    page.wait_for_selector("#product-card .sizes button.selected")
    page.locator('#product-card button[data-id="addtobag"]').dispatch_event("click")
    page.wait_for_function("document.querySelector('#product-card .note')?.textContent === 'Added to our bag.'",
                           timeout=30000)
    return label


def test_two_friends_join_by_code_chat_point_and_share_a_bag(new_page, operator_server, output_dir) -> None:
    url = operator_server
    ana = open_store_page(new_page, url, "name=Ana", DESKTOP)
    code = start_group(ana)
    # The code is big and readable (6 characters, no look-alikes), the link carries it, the QR code is drawn.
    assert len(code) == 6 and not set(code) & set("01IOL")
    link = ana.locator('#social-panel input[data-field="link"]').input_value()
    assert link.endswith(f"/?join={code}")
    ana.wait_for_function("document.querySelector('#social-panel img.qr')?.naturalWidth > 0", timeout=30000)
    assert ana.locator("#social-panel output.code").bounding_box()["height"] >= 36
    ana.screenshot(path=str(output_dir / "social-invite-desktop.png"))

    # Ben opens the link: who invites him, then Accept; he lands beside Ana (the server's jump) in her room.
    ben = open_store_page(new_page, url, f"name=Ben&join={code}", SMALL)
    ben.wait_for_selector("#social-panel[data-tab=join] button[data-id=accept]", timeout=30000)
    assert "Ana invites you" in ben.locator("#social-panel").inner_text()
    panel_button(ben, "accept").click()
    ben.wait_for_function("plaza.social.group.active && plaza.social.group.members.size === 2", timeout=30000)
    assert "join" not in ben.evaluate("location.search")
    assert ben.evaluate("plaza.room.room") == ana.evaluate("plaza.room.room")
    ben.wait_for_function("plaza.social.events.some((e) => e === 'jumped' || e.startsWith('jump_failed'))",
                          timeout=30000)
    assert "jumped" in ben.evaluate("plaza.social.events"), ben.evaluate("plaza.social.events")
    ana_id = ana.evaluate("plaza.room.session.avatarId")
    ben_id = ben.evaluate("plaza.room.session.avatarId")
    ana.wait_for_function(f"plaza.avatars.avatars.has({ben_id})", timeout=30000)
    ben.wait_for_function(f"plaza.avatars.avatars.has({ana_id})", timeout=30000)
    wait_frames(ben, 5)
    ana_head = ben.evaluate(f"plaza.avatars.figure({ana_id}).head")
    ben_eye = ben.evaluate("plaza.cameraWorldPosition()")
    assert math.dist(ana_head[0::2], ben_eye[0::2]) < 2.5, (ana_head, ben_eye)

    # Members and presence on Ana's page: both here, Ana the owner (with mute / remove for Ben).
    ana.wait_for_function("plaza.social.state().members.every((m) => m.presence === 'here')", timeout=30000)
    panel_button(ana, "tab:people").click()
    people = ana.locator("#social-panel").inner_text()
    assert "Ana (you) · owner · here" in people and "Ben · member · here" in people
    ben_member = ben.evaluate("plaza.social.group.you")
    assert panel_button(ana, f"mute:{ben_member}").is_visible()
    assert panel_button(ben, f"mute:{ana.evaluate('plaza.social.group.you')}").count() == 0

    # Chat both ways: Enter sends, the newest line is at the bottom, names say who wrote it.
    panel_button(ana, "tab:chat").click()
    box = ana.locator('#social-panel input[data-field="chat"]')
    box.fill("This jacket suits you")
    box.press("Enter")
    ben.locator("#open-social").click() if ben.locator("#social-panel").is_hidden() else None
    panel_button(ben, "tab:chat").click()
    ben.wait_for_function("document.querySelector('#social-panel .chat-log li:last-child')?.textContent"
                          " === 'Ana: This jacket suits you'", timeout=30000)
    reply = ben.locator('#social-panel input[data-field="chat"]')
    reply.fill("Thanks! Look at the shelf")
    reply.press("Enter")
    ana.wait_for_function("document.querySelector('#social-panel .chat-log li:last-child')?.textContent"
                          " === 'Ben: Thanks! Look at the shelf'", timeout=30000)
    assert ana.locator("#social-panel .chat-log li").all_inner_texts()[-2:] == [
        "You: This jacket suits you", "Ben: Thanks! Look at the shelf"]
    # A reaction shows over the sender's avatar on the other page.
    panel_button(ben, "react:👍").click()
    ana.wait_for_function("plaza.social.state().scene.reactions"
                          f".some((r) => r.avatar === {ben_id} && r.emoji === '👍')", timeout=30000)
    ana.screenshot(path=str(output_dir / "social-chat-desktop.png"))

    # Pointing: Ana turns Point on and clicks a product; Ben sees a beam from her hand to it and the outline.
    spot = ana.evaluate(PRODUCT_ON_SCREEN)
    assert spot, "a product in Ana's view"
    ana.locator('#social-bar button[data-id="point"]').click()
    ana.mouse.click(spot["x"], spot["y"])
    ana.wait_for_function("plaza.lastClick === 'point'", timeout=10000)
    pointed = ana.evaluate("plaza.social.pointing")
    assert pointed is not None
    ana_member = ana.evaluate("plaza.social.group.you")
    ben.wait_for_function(f"plaza.social.state().scene.beams.some((b) => b.member === '{ana_member}'"
                          f" && b.product === '{pointed}' && b.visible)", timeout=30000)
    wait_frames(ben, 3)
    beam = next(b for b in social_state(ben)["scene"]["beams"] if b["member"] == ana_member)
    target = ben.evaluate(f"plaza.productWorldPosition('{pointed}')")
    assert beam["highlight"] is not None
    assert math.dist(beam["to"], beam["highlight"]) < 0.05  # the beam ends at the outlined product
    assert math.dist(beam["highlight"][0::2], target[0::2]) < 0.6
    hand = ben.evaluate(f"plaza.avatars.figure({ana_id}).head")
    assert math.dist(beam["from"], hand) < 1.2  # it starts at Ana's avatar
    ben.screenshot(path=str(output_dir / "social-beam.png"))
    # Point off: the beam goes on Ben's page.
    ana.locator('#social-bar button[data-id="point"]').click()
    ben.wait_for_function(f"!plaza.social.state().scene.beams.some((b) => b.member === '{ana_member}')", timeout=30000)

    # "Look at this" on Ana's card opens that product's card on Ben's page.
    ana.evaluate(f"plaza.products.select('{SHIRT}')")
    ana.locator('#product-card button[data-id="show"]').click()
    ben.wait_for_function(f"plaza.products.selected === '{SHIRT}'", timeout=30000)
    ben.wait_for_selector("#product-card:not([hidden])")
    ana.evaluate("plaza.products.deselect()")

    # The shared bag: each adds a shirt; both pages list both lines, saying who added each.
    ana_size = add_to_our_bag(ana, SHIRT)
    ben_size = add_to_our_bag(ben, SHIRT)
    for page, me, friend in ((ana, "Ana", "Ben"), (ben, "Ben", "Ana")):
        page.evaluate("plaza.products.deselect()")
        page.wait_for_function("plaza.shop.state.bag?.lines?.length === 2", timeout=30000)
        page.wait_for_selector('#shop-panel[data-view="bag"]')
        lines = page.locator('#shop-panel div.text[data-id^="line:"]').all_inner_texts()
        assert any("added by you" in t for t in lines), (me, lines)
        assert any(f"added by {friend}" in t for t in lines), (me, lines)
    assert {ana_size, ben_size}
    ana.screenshot(path=str(output_dir / "social-bag-desktop.png"))

    # "Pay my part": Ben's checkout holds only his line.
    ben.locator('#shop-panel button[data-id="checkout"]').click()
    ben.locator('#shop-panel button[data-id="part:mine"]').click()
    ben.locator('#shop-panel button[data-id="open-checkout"]').click()
    ben.wait_for_selector('#shop-panel[data-view="checkout"]', timeout=30000)
    assert ben.evaluate("plaza.shop.state.checkout.lines.length") == 1
    ben.locator('#shop-panel button[data-id="cancel-checkout"]').click()
    ben.wait_for_selector('#shop-panel[data-view="bag"]', timeout=30000)

    assert ana.errors == [] and ben.errors == []
    assert ana.evaluate("plaza.errors") == [] and ben.evaluate("plaza.errors") == []


def test_a_phone_friend_joins_and_sees_the_panels_fit(new_page, operator_server, output_dir) -> None:
    """On a phone (390x844, touch) the invite, people and chat tabs fit the screen; Point then tap points."""
    ana, ben, _ = pair(new_page, operator_server, PHONE_VIEWPORT, **PHONE)
    problems = """(sel) => { const root = document.querySelector(sel); if (!root || root.hidden) return ['hidden'];
        const r = root.getBoundingClientRect(); const out = [];
        if (r.left < 0 || r.top < 0 || r.right > innerWidth + 1 || r.bottom > innerHeight + 1) out.push('off-screen');
        for (const el of root.querySelectorAll('h2, p, button, li, output'))
          if (el.scrollWidth > el.clientWidth + 1) out.push(`overflows: ${el.textContent}`);
        return out; }"""
    for tab in ("people", "chat"):
        panel_button(ben, f"tab:{tab}").click()
        assert ben.evaluate(problems, "#social-panel") == [], tab
        ben.screenshot(path=str(output_dir / f"social-{tab}-phone.png"))
    bar = ben.locator("#social-bar").bounding_box()
    assert bar["y"] + bar["height"] <= 844
    assert ana.errors == [] and ben.errors == []
