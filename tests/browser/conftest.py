"""Browser test harness: a real Plaza server on a free loopback port, Debian's Chromium driven headless by
Playwright, and the Immersive Web Emulation Runtime (IWER, loaded by the page with ?emulate=quest3) as
the headset.

Rendering runs on the CPU (SwiftShader), a few frames per second at most: tests use a tiny viewport
and wait on frame counts, never on wall-clock sleeps.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

REPO = Path(__file__).resolve().parents[2]
OUTPUT_DIR = REPO / "test-output" / "browser"
CHROMIUM = os.environ.get("PLAZA_CHROMIUM", "/usr/bin/chromium")
# WebGL 2 on SwiftShader, independent of the Chromium build; the rest stop Chromium calling hosts
# this machine cannot reach (and slowing down every test while it tries).
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--use-angle=swiftshader",
    "--enable-unsafe-swiftshader",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
VIEWPORT = {"width": 320, "height": 240}


def _missing_prerequisite() -> str | None:
    try:
        import playwright  # noqa: F401
    except ImportError:
        return "the Python package playwright is not installed (pip install -e '.[dev]')"
    if not (shutil.which(CHROMIUM) or Path(CHROMIUM).exists()):
        return f"Chromium is not installed at {CHROMIUM} (make system-deps installs Debian's chromium)"
    if not (REPO / "webxr_client" / "node_modules" / "three").is_dir():
        return "webxr_client/node_modules is missing (make setup runs npm ci)"
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    reason = _missing_prerequisite()
    if reason is None:
        return
    if os.environ.get("CI"):  # under CI a missing browser is a broken install step, never a skip
        raise pytest.UsageError(f"browser tests cannot run: {reason}")
    here = Path(__file__).resolve().parent
    for item in items:
        if here in Path(item.path).resolve().parents:
            item.add_marker(pytest.mark.skip(reason=f"browser tests need their tools: {reason}"))


def _free_port() -> int:
    with contextlib.closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def running_server(data_dir: Path, env: dict[str, str] | None = None) -> Iterator[str]:
    """A real `python -m server serve` on a free loopback port; yields its base URL."""
    port = _free_port()
    log_path = data_dir / "server.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "server", "serve", "--port", str(port), "--data-dir", str(data_dir),
             "--log-level", "warning"],
            cwd=REPO, stdout=log, stderr=subprocess.STDOUT, env=env,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            if proc.poll() is not None:
                raise RuntimeError(f"the Plaza server exited early:\n{log_path.read_text()}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            time.sleep(0.1)
        else:
            raise RuntimeError("the Plaza server did not answer /healthz within 30 s")
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture(scope="session")
def server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with running_server(tmp_path_factory.mktemp("plaza-var")) as url:
        yield url


@pytest.fixture(scope="package")  # closed before non-browser async tests run (it holds an event loop)
def pw_driver() -> Iterator[object]:
    """The one Playwright driver of the browser tests (its sync API allows one at a time)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        yield pw


@pytest.fixture(scope="package")
def browser(pw_driver) -> Iterator[object]:  # type: ignore[no-untyped-def]
    browser = pw_driver.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
    yield browser
    browser.close()


@pytest.fixture
def new_page(browser):  # type: ignore[no-untyped-def]
    make, contexts = _page_factory(browser)
    yield make
    for context in contexts:
        context.close()


@pytest.fixture(scope="session")
def output_dir() -> Path:
    OUTPUT_DIR.mkdir(parents=True, exist_ok=True)
    return OUTPUT_DIR


# Problems a shopper would see in an HTML overlay (`sel`): off the screen, words overflowing or cut with "…",
# an element sticking out of its panel. [] when it reads whole.
PANEL_PROBLEMS = """(sel) => {
    const root = document.querySelector(sel);
    if (!root || root.hidden) return ['hidden'];
    const r = root.getBoundingClientRect();
    const problems = [];
    if (r.left < 0 || r.top < 0 || r.right > innerWidth + 1 || r.bottom > innerHeight + 1) problems.push('off-screen');
    for (const el of root.querySelectorAll('h2, div.text, button, label')) {
        if (el.scrollWidth > el.clientWidth + 1) problems.push(`overflows: ${el.textContent}`);
        const busy = /^(Working|Paying)/.test(el.textContent);
        if (el.textContent.includes('…') && !busy) {
            problems.push(`cut: ${el.textContent}`);
        }
        const b = el.getBoundingClientRect();
        if (b.right > r.right + 1 || b.left < r.left - 1) problems.push(`outside: ${el.textContent}`);
    }
    return problems;
}"""


def hold_to_pay(page, ms: int) -> None:  # type: ignore[no-untyped-def]
    """Presses the bag panel's "Hold to pay" with the mouse for `ms` (the server times the hold: wall time)."""
    box = page.locator("#shop-panel button.hold").bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.down()
    page.wait_for_timeout(ms)
    page.mouse.up()


def wait_frames(page, count: int, counter: str = "frames", timeout_ms: int = 60000) -> None:  # type: ignore[no-untyped-def]
    """Waits until the page has rendered `count` more frames (of `window.plaza[counter]`)."""
    start = page.evaluate(f"window.plaza.{counter}")
    page.wait_for_function(f"window.plaza.{counter} >= {start + count}", timeout=timeout_ms)


def add_to_bag_in_vr(page, product: str, size: str = "L") -> None:  # type: ignore[no-untyped-def]
    """In a headset session, through the VR card's own widgets: the product in `size` goes into the bag."""
    page.evaluate(f"plaza.products.select('{product}')")
    wait_frames(page, 1, "xrFrames")
    card = "plaza.panels.get('product')"
    page.evaluate(f"{card}.press('size:{size}')")
    page.wait_for_function(f"{card}.widgets.find((w) => w.id === 'size:{size}')?.selected === true")
    page.evaluate(f"{card}.press('addtobag')")
    page.wait_for_function(f"{card}?.widgets.some((w) => w.id === 'openbag')", timeout=20000)


def open_bag_in_vr(page) -> None:  # type: ignore[no-untyped-def]
    """The card's "Open bag": the bag panel, ready for checkout."""
    page.evaluate("plaza.panels.get('product').press('openbag')")
    page.wait_for_function("plaza.panels.get('shop')?.widgets.some((w) => w.id === 'checkout' && !w.disabled)",
                           timeout=20000)


def open_checkout_panel(page) -> None:  # type: ignore[no-untyped-def]
    page.evaluate("plaza.panels.get('shop').press('checkout')")
    page.evaluate("plaza.panels.get('shop').press('open-checkout')")
    page.wait_for_function("plaza.shop.state.view === 'checkout'", timeout=20000)


READY = "window.plaza && (window.plaza.ready || window.plaza.errors.length > 0)"
OPERATOR_TOKEN = "browser-test-operator"
OPERATOR = {"Authorization": f"Bearer {OPERATOR_TOKEN}"}
PHONE_VIEWPORT = {"width": 390, "height": 844}
PHONE = {"has_touch": True, "is_mobile": True}  # context options of a touch phone


def open_store_page(new_page, url: str, query: str = "", viewport: dict[str, int] | None = None,  # type: ignore[no-untyped-def]
                    connected: bool = True, **context_options):
    """A store page at `url/?query`, loaded without errors, its shopper made and (by default) its room joined."""
    page = new_page(viewport, **context_options)
    page.goto(f"{url}/?{query}", timeout=90000)  # two pages rendering on the CPU of a shared machine are slow
    page.wait_for_function(READY, timeout=90000)
    assert page.evaluate("window.plaza.errors") == []
    # The shopper identity is made on the first visit; a staff page (advisor desk) waits for its key instead.
    page.wait_for_function("window.plaza.shopApi && (window.plaza.shopApi.shopper || !window.plaza.shopApi.canCreate)",
                           timeout=60000)
    if connected:
        page.wait_for_function("window.plaza.room && window.plaza.room.connected", timeout=90000)
    return page


@pytest.fixture(scope="module")
def operator_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A Plaza server of the module's own, with a known operator token (OPERATOR: staff accounts, reports)."""
    data_dir = tmp_path_factory.mktemp("plaza-operator")
    with running_server(data_dir, {**os.environ, "PLAZA_OPERATOR_TOKEN": OPERATOR_TOKEN}) as url:
        yield url


# Fake microphone and camera, permission granted without a prompt, audio that plays without a gesture: WebRTC
# voice between two pages of one headless browser.
MEDIA_ARGS = ["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
              "--autoplay-policy=no-user-gesture-required"]


@pytest.fixture(scope="module")
def media_browser(pw_driver) -> Iterator[object]:  # type: ignore[no-untyped-def]
    browser = pw_driver.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS + MEDIA_ARGS)
    yield browser
    browser.close()


# --- shopping together (docs/SOCIAL.md): helpers of tests/browser/test_client_social*.py ---------------------
SOCIAL_VIEWPORT = {"width": 640, "height": 400}


def social_state(page):  # type: ignore[no-untyped-def]
    return page.evaluate("plaza.social.state()")


def panel_button(page, widget: str):  # type: ignore[no-untyped-def]
    return page.locator(f'#social-panel button[data-id="{widget}"]')


def start_group(page) -> str:  # type: ignore[no-untyped-def]
    """Friends -> Start shopping with friends; returns the invite code shown (as the shopper reads it)."""
    page.locator("#open-social").click()
    panel_button(page, "create").click()
    page.wait_for_selector("#social-panel[data-tab=invite] output.code")
    code = page.locator("#social-panel output.code").inner_text()
    return code.replace(" ", "")


def join_by_code(new_page, url: str, code: str, name: str, viewport=None, **context):  # type: ignore[no-untyped-def]
    """A friend opens the invite link, reads who invites them and accepts; waits until they are in the group."""
    page = open_store_page(new_page, url, f"name={name}&join={code}", viewport, **context)
    page.wait_for_selector("#social-panel[data-tab=join] button[data-id=accept]", timeout=30000)
    panel_button(page, "accept").click()
    page.wait_for_function("plaza.social.group.active && plaza.social.group.members.size >= 2", timeout=30000)
    return page


def pair(new_page, url: str, viewport=None, **context):  # type: ignore[no-untyped-def]
    """Ana makes a group, Ben joins it by its code: both pages, in one room, each seeing the other's avatar."""
    ana = open_store_page(new_page, url, "name=Ana", viewport or SOCIAL_VIEWPORT)
    code = start_group(ana)
    ben = join_by_code(new_page, url, code, "Ben", viewport or SOCIAL_VIEWPORT, **context)
    ana.wait_for_function("plaza.social.group.members.size === 2", timeout=30000)
    for page, other in ((ana, ben), (ben, ana)):
        other_id = other.evaluate("plaza.room.session.avatarId")
        page.wait_for_function(f"plaza.avatars.avatars.has({other_id})", timeout=30000)
    return ana, ben, code


def _page_factory(browser):  # type: ignore[no-untyped-def]
    contexts = []

    def make(viewport: dict[str, int] | None = None, **context_options):  # type: ignore[no-untyped-def]
        context = browser.new_context(viewport=viewport or VIEWPORT, **context_options)
        contexts.append(context)
        page = context.new_page()
        page.errors = []  # type: ignore[attr-defined]
        page.on("pageerror", lambda err: page.errors.append(str(err)))  # type: ignore[attr-defined]
        return page

    return make, contexts


@pytest.fixture
def new_media_page(media_browser):  # type: ignore[no-untyped-def]
    """Like new_page, in the browser with fake media devices (MEDIA_ARGS)."""
    make, contexts = _page_factory(media_browser)
    yield make
    for context in contexts:
        context.close()
