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

from tests.browser.conftest import (
    add_to_bag_in_vr,
    open_bag_in_vr,
    open_checkout_panel,
    running_server,
    wait_frames,
)

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
    window.__pulses = [];  // haptic pulses the page asked of the controllers: [handedness, strength, ms]
    for (const s of plaza.xrInput.active()) {
        const actuator = s.inputSource.gamepad?.hapticActuators?.[0];
        if (!actuator) continue;
        const pulse = actuator.pulse.bind(actuator);
        actuator.pulse = (v, ms) => { window.__pulses.push([s.inputSource.handedness, v, ms]); return pulse(v, ms); };
    }
    window.__holdUsed = false;
    const hold = shop.holdStart.bind(shop);
    shop.holdStart = () => { window.__holdUsed = true; return hold(); };
}"""


@pytest.fixture(scope="module")
def shop_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with running_server(tmp_path_factory.mktemp("plaza-pinch")) as url:
        yield url


def _headset_at_checkout(new_page, url: str, input_mode: str = "hand"):  # type: ignore[no-untyped-def]
    """A page in the room (seat linked to its shopper), in VR with tracked hands (or controllers), a shirt in the
    bag and the checkout open, the right hand (or controller) relaxed in front of the shopper, its ray pointing up
    at nothing."""
    page = new_page(SMALL)
    page.goto(f"{url}/?emulate=quest3&name=Pinch")
    page.wait_for_function("window.plaza && (window.plaza.ready || window.plaza.errors.length > 0)", timeout=60000)
    assert page.evaluate("window.plaza.errors") == []
    page.wait_for_function("window.plaza.shopApi.key !== null && plaza.room?.connected === true", timeout=60000)
    assert page.evaluate("plaza.enterVR()") is True
    wait_frames(page, 3, "xrFrames")
    hands = input_mode == "hand"
    page.evaluate(f"plaza.device.remote.dispatch('set_input_mode', {{mode: '{input_mode}'}})")
    page.wait_for_function(f"plaza.xrInput.active().some((s) => {'' if hands else '!'}s.inputSource.hand "
                           "&& s.inputSource.handedness === 'right')", timeout=30000)
    head = page.evaluate("plaza.device.remote.dispatch('get_transform', {device: 'headset'})")["position"]
    hand = {"x": head["x"] + 0.15, "y": head["y"] - 0.35, "z": head["z"] - 0.3}
    device = "hand-right" if hands else "controller-right"
    page.evaluate(f"(a) => plaza.device.remote.dispatch('set_transform', {{device: '{device}', ...a}})",
                  {"position": hand, "orientation": UP})
    add_to_bag_in_vr(page, SHIRT)
    open_bag_in_vr(page)
    page.evaluate(RECORD)
    open_checkout_panel(page)
    # A second of relaxed hand while checkout is open: the server has the open hand before the pinch.
    wait_frames(page, 6, "xrFrames")
    return page


def _pinch(page, value: float) -> None:  # type: ignore[no-untyped-def]
    page.evaluate(f"plaza.device.remote.dispatch('set_select_value', {{device: 'hand-right', value: {value}}})")


def _progress(page) -> list[float]:  # type: ignore[no-untyped-def]
    return page.evaluate("window.__shopMessages.filter((m) => m.t === 'confirm_progress').map((m) => m.progress)")


def test_a_pinch_held_at_checkout_places_the_order(new_page, shop_url, output_dir) -> None:
    page = _headset_at_checkout(new_page, shop_url)
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
    page = _headset_at_checkout(new_page, shop_url)
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


def test_a_trigger_held_at_checkout_places_the_order_and_pulses_the_controller(new_page, shop_url) -> None:
    """With controllers: the trigger value rides with the pose upload, the server times the hold (the ray points
    at nothing, so no panel button is pressed), the ring fills, the controllers pulse at each quarter and firmly
    when it is full, and the order is placed."""
    page = _headset_at_checkout(new_page, shop_url, "controller")
    checkout = page.evaluate("plaza.shop.state.checkout.id")
    assert page.evaluate("window.__pulses") == []
    page.evaluate("plaza.device.remote.dispatch('set_select_value', {device: 'controller-right', value: 1})")
    page.wait_for_function("plaza.shop.state.view === 'receipt'", timeout=60000, polling=200)
    page.evaluate("plaza.device.remote.dispatch('set_select_value', {device: 'controller-right', value: 0})")
    messages = page.evaluate("window.__shopMessages")
    assert {"t": "confirm_progress", "checkout": checkout, "progress": 1.0, "hand": "right", "done": True} in messages
    assert page.evaluate("window.__holdUsed") is False and page.evaluate("plaza.lastSelect ?? null") is None
    pulses = page.evaluate("window.__pulses")
    strengths = [p[1] for p in pulses if p[0] == "right"]
    assert 0.8 in strengths and strengths[-1] == 0.8, pulses  # the full ring, last
    assert 0.25 in strengths, pulses  # at least one quarter tick on the way (progress comes 20 times a second)
    key = page.evaluate("plaza.shopApi.key")
    orders = httpx.get(f"{shop_url}/api/orders", headers={"X-Shopper-Key": key}).json()
    assert [o["id"] for o in orders] == [checkout] and orders[0]["state"] == "paid"
    assert page.errors == []


def test_a_trigger_let_go_early_pulses_softly_and_places_nothing(new_page, shop_url) -> None:
    """A trigger let go before the ring is full cancels with one soft pulse, and nothing is bought."""
    page = _headset_at_checkout(new_page, shop_url, "controller")
    checkout = page.evaluate("plaza.shop.state.checkout.id")
    page.evaluate("plaza.device.remote.dispatch('set_select_value', {device: 'controller-right', value: 1})")
    page.wait_for_function("plaza.shop.state.progress > 0.3", timeout=60000, polling=50)
    page.evaluate("plaza.device.remote.dispatch('set_select_value', {device: 'controller-right', value: 0})")
    page.wait_for_function("plaza.shop.state.progress === 0", timeout=60000, polling=100)
    wait_frames(page, 12, "xrFrames")
    strengths = [p[1] for p in page.evaluate("window.__pulses")]
    assert 0.15 in strengths and 0.8 not in strengths, strengths
    assert page.evaluate("plaza.shop.state.view") == "checkout"
    key = page.evaluate("plaza.shopApi.key")
    view = httpx.get(f"{shop_url}/api/checkouts/{checkout}", headers={"X-Shopper-Key": key}).json()
    assert view["state"] == "awaiting_confirmation"
    assert page.errors == []
