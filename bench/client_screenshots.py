"""The README's screenshots: the boutique as a shopper sees it on a desktop, a phone and in an emulated headset.

Runs: python bench/client_screenshots.py   (a real server on a free port, Debian's headless Chromium)
Writes docs/screenshots/*.jpg (and PNG copies under test-output/screenshots/). Rendering is on the CPU
(SwiftShader), so each view waits on frame counts.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, running_server  # noqa: E402

OUT = REPO / "docs" / "screenshots"
LOOK = REPO / "test-output" / "screenshots"
READY = "window.plaza && (window.plaza.ready || window.plaza.errors.length > 0)"


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
        phone.goto(f"{base}/?net=0")
        phone.wait_for_function(READY, timeout=60000)
        frames(phone, 5)
        phone.evaluate("plaza.products.select(plaza.nearestProductInView())")
        frames(phone, 3)
        shoot(phone, "phone-card")
        phone.context.close()

        vr = browser.new_context(viewport={"width": 640, "height": 360}).new_page()
        vr.goto(f"{base}/?net=0&emulate=quest3")
        vr.wait_for_function(READY, timeout=60000)
        frames(vr, 3)
        vr.evaluate("plaza.enterVR()")
        frames(vr, 3, "xrFrames")
        vr.evaluate("plaza.products.select(plaza.nearestProductInView())")
        frames(vr, 3, "xrFrames")
        shoot(vr, "headset-card")
        browser.close()


if __name__ == "__main__":
    main()
