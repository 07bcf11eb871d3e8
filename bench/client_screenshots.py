"""The README's screenshots: the boutique as a shopper sees it on a desktop, a phone and in an emulated headset;
the store map, another shopper's body, the headset menu and a sofa in a to-scale room.

Runs: python bench/client_screenshots.py   (a real server on a free port, Debian's headless Chromium)
Writes docs/screenshots/*.jpg (and PNG copies under test-output/screenshots/). Rendering is on the CPU
(SwiftShader), so each view waits on frame counts.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, running_server  # noqa: E402

OUT = REPO / "docs" / "screenshots"
LOOK = REPO / "test-output" / "screenshots"
READY = "window.plaza && (window.plaza.ready || window.plaza.errors.length > 0)"
NO_HINT = "localStorage.setItem('plaza.hinted', '1')"  # views that are not about the first-visit hint


def frames(page, n: int, counter: str = "frames") -> None:  # type: ignore[no-untyped-def]
    start = page.evaluate(f"window.plaza.{counter}")
    page.wait_for_function(f"window.plaza.{counter} >= {start + n}", timeout=60000)


def shoot(page, name: str) -> None:  # type: ignore[no-untyped-def]
    page.screenshot(path=str(OUT / f"{name}.jpg"), type="jpeg", quality=82, timeout=180000)
    # A lossless copy to look at (test-output/ is not committed).
    LOOK.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(LOOK / f"{name}.png"), timeout=180000)
    print("wrote", OUT / f"{name}.jpg")


def main() -> None:
    from playwright.sync_api import sync_playwright

    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as data, running_server(Path(data)) as base, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        desk = browser.new_context(viewport={"width": 960, "height": 540}).new_page()
        desk.goto(f"{base}/?net=0")
        desk.wait_for_function(READY, timeout=60000)
        frames(desk, 5)
        shoot(desk, "desktop-first-visit")
        desk.click("#hint-ok")
        desk.click("#open-map")
        frames(desk, 2)
        shoot(desk, "desktop-map")
        desk.click("#map-close")
        desk.evaluate("plaza.products.select(plaza.nearestProductInView())")
        frames(desk, 3)
        shoot(desk, "desktop-card")
        # Try-on: walk to the shirt, open it, a size for 180 cm / 80 kg, the view on the mannequin.
        desk.evaluate("""async () => { plaza.simplified.onShow('oxford-shirt-men'); plaza.products.deselect();
            await plaza.tryon.open(plaza.products.items.get('oxford-shirt-men').product);
            plaza.tryon.setValue('stature', 180); plaza.tryon.setValue('weight', 80);
            await plaza.tryon.press('submit'); }""")
        desk.wait_for_function("plaza.tryon.state().garment !== null && !plaza.tryon.state().turning", timeout=60000)
        frames(desk, 3)
        shoot(desk, "desktop-tryon")
        desk.context.close()  # one page rendering at a time: the CPU renderer is slow enough

        phone = browser.new_context(viewport={"width": 390, "height": 844}, has_touch=True, is_mobile=True,
                                    device_scale_factor=1).new_page()
        phone.add_init_script(NO_HINT)
        phone.goto(f"{base}/?net=0")
        phone.wait_for_function(READY, timeout=60000)
        frames(phone, 5)
        phone.evaluate("plaza.products.select(plaza.nearestProductInView())")
        frames(phone, 3)
        shoot(phone, "phone-card")
        phone.evaluate("plaza.products.deselect()")
        phone.tap("#open-map")
        frames(phone, 2)
        shoot(phone, "phone-map")
        phone.context.close()

        # Another shopper as a body: Alice (1.90 m) holds a product; Bob stands back and looks at her.
        room = httpx.post(f"{base}/api/rooms", json={"name": "screenshots"}).json()["id"]
        alice = browser.new_context(viewport={"width": 320, "height": 240}).new_page()
        alice.add_init_script(NO_HINT)
        alice.goto(f"{base}/?room={room}&name=Alice&height=1.9")
        alice.wait_for_function("window.plaza.room && window.plaza.room.connected", timeout=60000)
        bob = browser.new_context(viewport={"width": 960, "height": 540}).new_page()
        bob.add_init_script(NO_HINT)
        bob.goto(f"{base}/?room={room}&name=Bob")
        bob.wait_for_function("window.plaza.room && window.plaza.room.connected", timeout=60000)
        alice_id = alice.evaluate("plaza.room.session.avatarId")
        alice.evaluate("plaza.products.inspect(plaza.nearestProductInView())")
        alice.wait_for_function("plaza.room.features.profile !== undefined && plaza.room.features.hold !== undefined",
                                timeout=30000)
        # A server without profile/hold yet: hand Bob the broadcast it would send (as the browser test does).
        if not alice.evaluate("plaza.room.features.profile"):
            msg = {"t": "profile", "avatar": alice_id, "height": 1.9}
            bob.evaluate("(m) => { plaza.room.session.control(m); plaza.room.onControl(m); }", msg)
        if not alice.evaluate("plaza.room.features.hold"):
            msg = {"t": "held", "avatar": alice_id, "product": alice.evaluate("plaza.products.inspecting.id")}
            bob.evaluate("(m) => { plaza.room.session.control(m); plaza.room.onControl(m); }", msg)
        bob.wait_for_function(f"plaza.avatars.figure({alice_id})?.kind === 'solved'", timeout=60000)
        bob.evaluate(f"""() => {{ const h = plaza.avatars.figure({alice_id}).head;
            const e = plaza.cameraWorldPosition();
            let dx = e[0] - h[0], dz = e[2] - h[2]; const n = Math.hypot(dx, dz) || 1; dx /= n; dz /= n;
            found: for (const d of [2.6, 2.2, 1.8]) for (const a of [0, 0.5, -0.5, 1, -1, 1.6, -1.6, 3.1]) {{
              const c = Math.cos(a), s = Math.sin(a);
              if (plaza.teleportTo(h[0] + d * (dx * c - dz * s), h[2] + d * (dx * s + dz * c))) break found; }}
            const p = plaza.cameraWorldPosition();
            const dir = plaza.camera.getWorldDirection(new plaza.THREE.Vector3());
            plaza.turnBy(Math.atan2(-(h[0] - p[0]), -(h[2] - p[2])) - Math.atan2(-dir.x, -dir.z));
            plaza.controls.hooks.look(0, -0.15); }}""")
        frames(bob, 4)
        shoot(bob, "desktop-other-shopper")
        alice.context.close()
        bob.context.close()

        # A sofa in a to-scale living room (the space market sells it).
        fit = browser.new_context(viewport={"width": 960, "height": 540}).new_page()
        fit.add_init_script(NO_HINT)
        fit.goto(f"{base}/?scene=space-market&net=0")
        fit.wait_for_function(READY, timeout=60000)
        fit.evaluate("plaza.goTo({kind: 'product', id: 'sofa-3-seat'})")
        fit.click('#product-card button[data-id="roomfit"]')
        fit.click('#room-fit button[data-id="preset:living"]')
        fit.wait_for_function("plaza.roomFit.result !== null", timeout=60000)
        frames(fit, 3)
        shoot(fit, "desktop-room-fit")
        fit.context.close()

        vr = browser.new_context(viewport={"width": 640, "height": 360}).new_page()
        vr.add_init_script(NO_HINT)
        vr.goto(f"{base}/?net=0&emulate=quest3")
        vr.wait_for_function(READY, timeout=60000)
        frames(vr, 3)
        vr.evaluate("plaza.enterVR()")
        frames(vr, 3, "xrFrames")
        vr.evaluate("plaza.products.select(plaza.nearestProductInView())")
        frames(vr, 3, "xrFrames")
        shoot(vr, "headset-card")
        vr.evaluate("plaza.products.deselect(); plaza.xrMenu.show()")
        frames(vr, 3, "xrFrames")
        shoot(vr, "headset-menu")
        browser.close()


if __name__ == "__main__":
    main()
