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
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def new_page(browser):  # type: ignore[no-untyped-def]
    contexts = []

    def make(viewport: dict[str, int] | None = None):  # type: ignore[no-untyped-def]
        context = browser.new_context(viewport=viewport or VIEWPORT)
        contexts.append(context)
        page = context.new_page()
        page.errors = []  # type: ignore[attr-defined]
        page.on("pageerror", lambda err: page.errors.append(str(err)))  # type: ignore[attr-defined]
        return page

    yield make
    for context in contexts:
        context.close()


@pytest.fixture(scope="session")
def output_dir() -> Path:
    OUTPUT_DIR.mkdir(parents=True, exist_ok=True)
    return OUTPUT_DIR


def wait_frames(page, count: int, counter: str = "frames", timeout_ms: int = 60000) -> None:  # type: ignore[no-untyped-def]
    """Waits until the page has rendered `count` more frames (of `window.plaza[counter]`)."""
    start = page.evaluate(f"window.plaza.{counter}")
    page.wait_for_function(f"window.plaza.{counter} >= {start + count}", timeout=timeout_ms)
