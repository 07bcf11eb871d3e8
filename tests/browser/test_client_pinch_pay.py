"""Pay with a pinch in an emulated Quest 3 (issue 13): the page streams IWER's tracked hands to the server, the
shopper opens checkout, pinches thumb and index finger and holds; the server recognises the pinch-and-hold from
the uploaded hand joints, the ring on the checkout panel fills from the server's `confirm_progress`, the order is
placed and the receipt shows. A short pinch fills part of the ring and places nothing.

The hand is IWER's own: `set_input_mode` 'hand', and `set_select_value` on 'hand-right' blends its recorded
relaxed pose into its recorded pinch pose (joint by joint), which is what a Quest reports. The hand's ray points
up, at nothing, so the pinch's `select` presses no panel button (the hold-to-pay button would be another way to
pay), grabs no product and teleports nowhere: what pays is the server seeing the hand. Own server (own data
directory)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.browser.conftest import running_server, wait_frames

SMALL = {"width": 320, "height": 240}
SHIRT = "tee-organic-crew"
UP = {"x": 0.7071068, "y": 0.0, "z": 0.0, "w": 0.7071068}  # the hand's ray (-Z) turned to point up (+Y)
RECORD = """() => {
    window.__shopMessages = [];
    const shop = plaza.shop;
    const original = shop.onRoomMessage.bind(shop);
    window.__ring = [];  // the ring's progress on the page after each message
    shop.onRoomMessage = (message) => {
        window.__shopMessages.push(message);
        original(message);
        window.__ring.push(shop.state.progress);
    };
    window.__holdUsed = false;
    const hold = shop.holdStart.bind(shop);
    shop.holdStart = () => { window.__holdUsed = true; return hold(); };
}"""


@pytest.fixture(scope="module")
def shop_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with running_server(tmp_path_factory.mktemp("plaza-pinch")) as url:
        yield url


def _headset_with_hands_at_checkout(new_page, url: str):  # type: ignore[no-untyped-def]
    """A page in the room (seat linked to its shopper), in VR with tracked hands, a shirt in the bag and the
    checkout open, the right hand relaxed in front of the shopper."""
    page = new_page(SMALL)
    page.goto(f"{url}/?emulate=quest3&name=Pinch")
    page.wait_for_function("window.plaza && (window.plaza.ready || window.plaza.errors.length > 0)", timeout=60000)
    assert page.evaluate("window.plaza.errors") == []
    page.wait_for_function("window.plaza.shopApi.key !== null && plaza.room?.connected === true", timeout=60000)
    assert page.evaluate("plaza.enterVR()") is True
    wait_frames(page, 3, "xrFrames")
    page.evaluate("plaza.device.remote.dispatch('set_input_mode', {mode: 'hand'})")
    page.wait_for_function(
        "plaza.xrInput.active().some((s) => s.inputSource.hand && s.inputSource.handedness === 'right')", timeout=30000)
    head = page.evaluate("plaza.device.remote.dispatch('get_transform', {device: 'headset'})")["position"]
    hand = {"x": head["x"] + 0.15, "y": head["y"] - 0.35, "z": head["z"] - 0.3}
    page.evaluate("(a) => plaza.device.remote.dispatch('set_transform', {device: 'hand-right', ...a})",
                  {"position": hand, "orientation": UP})
    page.evaluate(f"plaza.products.select('{SHIRT}')")
    wait_frames(page, 1, "xrFrames")
    card = "plaza.panels.get('product')"
    page.evaluate(f"{card}.press('size:L')")
    page.wait_for_function(f"{card}.widgets.find((w) => w.id === 'size:L')?.selected === true")
    page.evaluate(f"{card}.press('addtobag')")
    page.wait_for_function(f"{card}?.widgets.some((w) => w.id === 'openbag')", timeout=20000)
    page.evaluate(f"{card}.press('openbag')")
    page.wait_for_function("plaza.panels.get('shop')?.widgets.some((w) => w.id === 'checkout' && !w.disabled)",
                           timeout=20000)
    page.evaluate(RECORD)
    page.evaluate("plaza.panels.get('shop').press('checkout')")
    page.evaluate("plaza.panels.get('shop').press('open-checkout')")
    page.wait_for_function("plaza.shop.state.view === 'checkout'", timeout=20000)
    # A second of relaxed hand while checkout is open: the server has the open hand before the pinch.
    wait_frames(page, 6, "xrFrames")
    return page


def _pinch(page, value: float) -> None:  # type: ignore[no-untyped-def]
    page.evaluate(f"plaza.device.remote.dispatch('set_select_value', {{device: 'hand-right', value: {value}}})")


def _progress(page) -> list[float]:  # type: ignore[no-untyped-def]
    return page.evaluate("window.__shopMessages.filter((m) => m.t === 'confirm_progress').map((m) => m.progress)")


def test_a_pinch_held_at_checkout_places_the_order(new_page, shop_url, output_dir) -> None:
    page = _headset_with_hands_at_checkout(new_page, shop_url)
    checkout = page.evaluate("plaza.shop.state.checkout.id")
    _pinch(page, 1)
    # The ring fills from the server's progress (the hold is timed on the server's clock).
    page.wait_for_function("window.__ring.some((p) => p > 0.3)", timeout=60000, polling=100)
    page.screenshot(path=str(output_dir / "pinch-pay-ring.png"))
    page.wait_for_function("plaza.shop.state.view === 'receipt'", timeout=60000, polling=200)
    _pinch(page, 0)
    wait_frames(page, 2, "xrFrames")
    page.screenshot(path=str(output_dir / "pinch-pay-receipt.png"))
    messages = page.evaluate("window.__shopMessages")
    progress = [m["progress"] for m in messages if m["t"] == "confirm_progress"]
    assert any(0 < p < 1 for p in progress) and progress == sorted(progress), progress
    assert any(0 < p < 1 for p in page.evaluate("window.__ring"))  # the panel's ring showed it
    assert {"t": "confirm_progress", "checkout": checkout, "progress": 1.0, "hand": "right", "done": True} in messages
    assert {"t": "checkout", "checkout": checkout, "state": "placed", "reason": None} in messages
    # The pinch's select pressed nothing on the page: the server's recognition placed the order.
    assert page.evaluate("window.__holdUsed") is False
    assert page.evaluate("plaza.lastSelect ?? null") is None
    key = page.evaluate("plaza.shopApi.key")
    orders = httpx.get(f"{shop_url}/api/orders", headers={"X-Shopper-Key": key}).json()
    assert [o["id"] for o in orders] == [checkout] and orders[0]["state"] == "paid"
    assert [li["variant_id"] for li in orders[0]["lines"]] == ["ink-l"]
    assert page.errors == []


def test_a_short_pinch_fills_part_of_the_ring_and_places_nothing(new_page, shop_url) -> None:
    page = _headset_with_hands_at_checkout(new_page, shop_url)
    checkout = page.evaluate("plaza.shop.state.checkout.id")
    _pinch(page, 1)
    page.wait_for_function("window.__shopMessages.some((m) => m.t === 'confirm_progress' && m.progress > 0)",
                           timeout=60000, polling=50)
    _pinch(page, 0)  # let go as soon as the ring starts
    page.wait_for_function("window.__shopMessages.filter((m) => m.t === 'confirm_progress').at(-1).progress === 0",
                           timeout=60000, polling=200)
    wait_frames(page, 12, "xrFrames")  # and well past the hold time with the hand open
    progress = _progress(page)
    assert progress and 0 < max(progress) < 1 and progress[-1] == 0, progress
    assert page.evaluate("plaza.shop.state.view") == "checkout"
    assert page.evaluate("plaza.shop.state.progress") == 0
    key = page.evaluate("plaza.shopApi.key")
    view = httpx.get(f"{shop_url}/api/checkouts/{checkout}", headers={"X-Shopper-Key": key}).json()
    assert view["state"] == "awaiting_confirmation"
    assert httpx.get(f"{shop_url}/api/orders", headers={"X-Shopper-Key": key}).json() == []
    assert page.evaluate("window.__holdUsed") is False
    assert page.errors == []
