"""The owner's console (/admin, docs/OPERATIONS.md, issue 18): a wrong key is refused in words and shows nothing;
the owner key opens live rooms with the shoppers in them, the store's visitor figures, the dwell heatmap and the
funnel (as the server computed them from three headless shoppers standing at the perfume counter), and the
reports list; it fits a phone. Own server (own data, a known operator token)."""

from __future__ import annotations

import asyncio
import threading
import time

import numpy as np

from server.commerce.checkout import HOLD_S
from server.realtime.pose import HEAD
from sim.client import http_json
from sim.shopper import Shopper
from tests.browser.conftest import OPERATOR_TOKEN, PANEL_PROBLEMS, PHONE, PHONE_VIEWPORT

DESKTOP = {"width": 1280, "height": 720}


class Visitors:
    """Three headless shoppers in room main, standing in front of the perfumes until stopped."""

    def __init__(self, url: str) -> None:
        self.url, self.stop, self.ready = url, threading.Event(), threading.Event()
        self.thread = threading.Thread(target=lambda: asyncio.run(self.run()), daemon=True)
        self.thread.start()
        assert self.ready.wait(60), "the visitors did not get in"

    async def run(self) -> None:
        shoppers = [await Shopper.make(self.url, f"Visitor{i}") for i in range(3)]
        try:
            for s in shoppers:
                await s.enter()
            while not self.stop.is_set():
                for s in shoppers:
                    s.client.send_pose({HEAD: np.array([0.1, 1.6, 4.1, 0.0, 0.0, 0.0, 1.0])})
                await asyncio.sleep(1 / 20)
                self.ready.set()
        finally:
            for s in shoppers:
                await s.close()

    def close(self) -> None:
        self.stop.set()
        self.thread.join(10)


def _open_console(page, url: str, key: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{url}/admin?store=boutique", timeout=60000)
    page.fill("#owner-key", key)
    page.click("#key-form button")


def test_the_owner_sees_rooms_visitors_heatmap_and_funnel(new_page, operator_server, output_dir) -> None:
    visitors = Visitors(operator_server)
    try:
        page = new_page(DESKTOP)
        _open_console(page, operator_server, "not-the-key")
        page.wait_for_selector("#message.error")
        assert "not the owner key" in page.locator("#message").inner_text()
        assert page.locator("#console").is_hidden()

        page.wait_for_timeout(1500)  # the visitors stand there a while: dwell and "seen"
        _open_console(page, operator_server, OPERATOR_TOKEN)
        page.wait_for_function("window.plazaConsole.ready === true", timeout=30000)
        rooms = page.locator("#rooms tbody").inner_text()
        assert "Main floor\tboutique\t3\t" in rooms, rooms
        assert "tick work p50" in page.locator("#server-line").inner_text()
        figures = page.locator("#figures").inner_text()
        assert "3\nVisitor days" in figures, figures
        for picture in ("#heatmap", "#funnel"):
            page.wait_for_function(f"document.querySelector('{picture}').naturalWidth > 0")
        assert "No reports." in page.locator("#reports").inner_text()
        page.screenshot(path=str(output_dir / "console-desktop.png"), full_page=True)
        # The key stays in this tab only; the page URL never carries it.
        assert OPERATOR_TOKEN not in page.url
        assert page.evaluate("sessionStorage.getItem('plaza.ownerKey')") == OPERATOR_TOKEN
        assert page.evaluate("localStorage.getItem('plaza.ownerKey')") is None

        phone = new_page(PHONE_VIEWPORT, **PHONE)
        _open_console(phone, operator_server, OPERATOR_TOKEN)
        phone.wait_for_function("window.plazaConsole.ready === true", timeout=30000)
        phone.wait_for_function("document.querySelector('#heatmap').naturalWidth > 0")
        for section in ("#rooms-section", "#analytics-section", "#reports-section", "#stock-section",
                        "#orders-section", "#staff-section"):
            box = phone.locator(section).bounding_box()
            assert box["x"] >= 0 and box["x"] + box["width"] <= 390 + 1, (section, box)
        assert phone.evaluate("document.documentElement.scrollWidth") <= 390
        table, section = phone.locator("#rooms").bounding_box(), phone.locator("#rooms-section").bounding_box()
        assert table["x"] + table["width"] <= section["x"] + section["width"] - 4, (table, section)
        assert phone.evaluate(PANEL_PROBLEMS, "header") == []
        phone.screenshot(path=str(output_dir / "console-phone.png"), full_page=True)
        assert page.errors == [] and phone.errors == []  # type: ignore[attr-defined]
    finally:
        visitors.close()


def _buy(url: str, name: str, product: str) -> str:
    """A shopper buys one of `product` over HTTP (hold to pay, timed by the server): the order id."""
    _, made = http_json("POST", f"{url}/api/shoppers", {"name": name})
    me = {"X-Shopper-Key": made["shopper_key"]}
    keyed = lambda k: me | {"Idempotency-Key": f"{name}-{k}"}  # noqa: E731
    variant = http_json("GET", f"{url}/api/products/{product}")[1]["variants"][0]["id"]
    http_json("POST", f"{url}/api/bag/lines", {"product_id": product, "variant_id": variant}, headers=keyed("bag"))
    _, checkout = http_json("POST", f"{url}/api/checkouts", {"payment_method": "test_approve", "delivery": {
        "type": "pickup", "store": "boutique"}}, headers=keyed("open"))
    http_json("POST", f"{url}/api/checkouts/{checkout['id']}/hold", {"action": "start"}, headers=keyed("start"))
    time.sleep(HOLD_S + 0.1)
    status, placed = http_json("POST", f"{url}/api/checkouts/{checkout['id']}/hold", {"action": "end"},
                               headers=keyed("end"))
    assert status == 200 and placed["state"] == "placed", placed
    return checkout["id"]


def test_the_owner_edits_stock_refunds_an_order_and_manages_staff(new_page, operator_server, output_dir) -> None:
    order_id = _buy(operator_server, "Bea", "chelsea-boot-men")
    page = new_page(DESKTOP)
    page.on("dialog", lambda dialog: dialog.accept())  # "Refund ...?" and "End ...'s account?" are confirmed
    _open_console(page, operator_server, OPERATOR_TOKEN)
    page.wait_for_function("window.plazaConsole.ready === true", timeout=30000)

    # Stock: the boots' first variant set to 7, saved, and that is what the store now has.
    boots = page.locator("#stock details[data-product='chelsea-boot-men']")
    boots.wait_for()
    assert "available" in boots.locator("summary").inner_text()
    boots.locator("summary").click()  # opened: a count per variant
    box = boots.locator("input[data-sku^='chelsea-boot-men/']").first
    sku = box.get_attribute("data-sku")
    box.fill("7")
    box.press("Enter")
    page.wait_for_function("""document.querySelector("#stock details[data-product='chelsea-boot-men'] p.status")
        ?.textContent.endsWith(' 7')""", timeout=15000)
    boots = page.locator("#stock details[data-product='chelsea-boot-men']")
    assert boots.get_attribute("open") is not None  # still open after the list was drawn again
    product, _, variant = sku.partition("/")
    levels = {v["id"]: v["stock"] for v in http_json("GET", f"{operator_server}/api/products/{product}")[1]["variants"]}
    assert levels[variant] == 7
    box = boots.locator(f"input[data-sku='{sku}']")
    box.fill("-2")
    box.press("Enter")  # the browser's own check refuses it; nothing is sent
    assert http_json("GET", f"{operator_server}/api/products/{product}")[1]["variants"][0]["stock"] == 7

    # Orders: Bea's order is listed with its total; Refund (confirmed) makes it refunded, and the unit comes back.
    row = page.locator("#orders tbody tr", has_text="Bea")
    assert "Suede Chelsea Boot" in row.inner_text() and "paid" in row.inner_text()
    row.locator("button", has_text="Refund").click()
    page.wait_for_function("""[...document.querySelectorAll('#orders tbody tr')].some((r) =>
        r.textContent.includes('Bea') && r.textContent.includes('refunded'))""", timeout=15000)
    listed = http_json("GET", f"{operator_server}/api/admin/orders?store=boutique", operator_token=OPERATOR_TOKEN)[1]
    assert next(o for o in listed["orders"] if o["id"] == order_id)["state"] == "refunded"
    assert page.locator("#orders tbody tr", has_text="Bea").locator("button").count() == 0

    # Staff: a new account shows its key once and is listed; ending it takes it off the list.
    page.fill("#staff-name", "Sol")
    page.click("#staff-form button")
    page.wait_for_selector("#staff-key:not([hidden]) code")
    assert len(page.locator("#staff-key code").inner_text()) > 20
    page.wait_for_selector("#staff li:has-text('Sol') button")
    for section in ("stock", "orders", "staff"):
        page.locator(f"#{section}-section").screenshot(path=str(output_dir / f"console-{section}.png"))
    page.locator("#staff li", has_text="Sol").locator("button").click()
    page.wait_for_function("!document.querySelector('#staff').textContent.includes('Sol')", timeout=15000)
    assert "No staff advisors yet." in page.locator("#staff").inner_text()
    assert page.errors == []  # type: ignore[attr-defined]
