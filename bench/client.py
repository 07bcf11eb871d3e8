"""Client frame budget with remote avatars: headless Chromium (SwiftShader, CPU rendering) on the store page.

Runs: python bench/client.py [--frames 120] [--avatars 50]
Writes bench/client.json and bench/client.md.

Scenarios (same page, same 640x360 viewport, the default store):
- desktop, alone;
- desktop, N remote avatars fed in the page at 60 Hz (jitter buffer + interpolation + rendering);
- desktop, N bots in the same room over the real websocket (decode + jitter buffer + rendering), bots
  from sim/client.py in this process;
- VR (IWER emulated Quest 3, stereo), N remote avatars fed in the page.

Two numbers per frame: the interval between frames (what the shopper sees; on this machine it is bound
by SwiftShader rasterising on the CPU) and the client's own work in the frame callback (input,
locomotion, jitter buffers, avatar updates, pose upload and the render call).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import platform
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from sim.client import PlazaClient  # noqa: E402
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS  # noqa: E402

VIEWPORT = {"width": 640, "height": 360}

# Feeds n synthetic avatars into the page's avatar renderer at 60 Hz, walking in circles.
FEED_JS = """(n) => {
  const start = performance.now();
  plaza.benchFeed = setInterval(() => {
    const now = performance.now();
    const t = now - start;
    for (let i = 0; i < n; i += 1) {
      const a = i * 2 * Math.PI / n + t / 4000;
      const x = Math.cos(a) * (2 + (i % 3)), z = Math.sin(a) * (2 + (i % 3)) - 1;
      const yaw = a + Math.PI / 2, s = Math.sin(yaw / 2), c = Math.cos(yaw / 2);
      plaza.avatars.push(1000 + i, t, now, [x, 1.6, z, 0, s, 0, c,
        x - 0.25, 1.2, z, 0, 0, 0, 1, x + 0.25, 1.2, z, 0, 0, 0, 1], {name: `Bot ${i}`});
    }
  }, 1000 / 60);
}"""


def free_port() -> int:
    with contextlib.closing(socket.socket()) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def stats(values: list[float]) -> dict[str, float]:
    arr = np.asarray(values, dtype=np.float64)
    return {
        "p50": round(float(np.percentile(arr, 50)), 2),
        "p95": round(float(np.percentile(arr, 95)), 2),
        "p99": round(float(np.percentile(arr, 99)), 2),
        "mean": round(float(arr.mean()), 2),
    }


async def measure(page, frames: int, counter: str = "frames") -> dict:  # type: ignore[no-untyped-def]
    start = await page.evaluate(f"plaza.{counter}")
    await page.wait_for_function(f"plaza.{counter} >= {start + 20}", timeout=120000)  # warm up
    await page.evaluate("plaza.timing.intervals.length = 0; plaza.timing.work.length = 0")
    start = await page.evaluate(f"plaza.{counter}")
    t0 = time.perf_counter()
    await page.wait_for_function(f"plaza.{counter} >= {start + frames}", timeout=300000)
    wall = time.perf_counter() - t0
    timing = await page.evaluate("({i: plaza.timing.intervals.slice(), w: plaza.timing.work.slice()})")
    return {
        "frames": len(timing["w"]),
        "fps": round(len(timing["w"]) / wall, 1),
        "frame_interval_ms": stats(timing["i"]),
        "client_work_ms": stats(timing["w"]),
        "avatars_drawn": await page.evaluate("plaza.avatars.avatars.size"),
    }


async def bots(base_url: str, room: str, n: int, stop: asyncio.Event) -> None:
    clients = [await PlazaClient.join(base_url, room, f"bot{i}", decode=False, queue_events=False) for i in range(n)]
    t0 = time.perf_counter()
    try:
        while not stop.is_set():
            t = time.perf_counter() - t0
            for i, c in enumerate(clients):
                a = i * 2 * math.pi / n + t / 4
                x, z = math.cos(a) * (1.5 + (i % 3)), math.sin(a) * (1.5 + (i % 3))
                c.send_pose({0: np.array([x, 1.6, z, 0, math.sin(a / 2), 0, math.cos(a / 2)], np.float32)})
            await asyncio.sleep(1 / 60)
    finally:
        for c in clients:
            with contextlib.suppress(Exception):
                await c.close()


async def run(frames: int, n_avatars: int) -> dict:
    from playwright.async_api import async_playwright

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = subprocess.Popen([sys.executable, "-m", "server", "serve", "--port", str(port), "--log-level", "warning",
                               "--data-dir", str(REPO / "var" / "bench-client")], cwd=REPO)
    results: dict[str, dict] = {}
    try:
        for _ in range(300):
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            await asyncio.sleep(0.1)
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)

            async def open_page(query: str):  # type: ignore[no-untyped-def]
                page = await browser.new_page(viewport=VIEWPORT)
                await page.goto(f"{url}/?{query}")
                await page.wait_for_function("window.plaza && window.plaza.ready", timeout=120000)
                return page

            page = await open_page("net=0")
            results["desktop_alone"] = await measure(page, frames)
            await page.evaluate(FEED_JS, n_avatars)
            results[f"desktop_{n_avatars}_avatars_fed_in_page"] = await measure(page, frames)
            await page.close()

            room = httpx.post(f"{url}/api/rooms", json={"name": "bench", "capacity": n_avatars + 5}).json()["id"]
            stop = asyncio.Event()
            bot_task = asyncio.create_task(bots(url, room, n_avatars, stop))
            page = await open_page(f"room={room}&name=bench")
            await page.wait_for_function(f"plaza.avatars.avatars.size >= {n_avatars}", timeout=120000)
            results[f"desktop_{n_avatars}_bots_over_websocket"] = await measure(page, frames)
            stop.set()
            await bot_task
            await page.close()

            page = await open_page("emulate=quest3&net=0")
            await page.evaluate("plaza.enterVR()")
            await page.evaluate(FEED_JS, n_avatars)
            results[f"vr_{n_avatars}_avatars_fed_in_page"] = await measure(page, frames, "xrFrames")
            await page.close()
            await browser.close()
    finally:
        server.terminate()
        server.wait(timeout=10)
    return results


def write(results: dict, frames: int, n_avatars: int) -> None:
    meta = {
        "command": f"python bench/client.py --frames {frames} --avatars {n_avatars}",
        "browser": f"Debian Chromium headless, {' '.join(CHROMIUM_ARGS[:3])}",
        "viewport": VIEWPORT,
        "machine": f"{platform.machine()}, {len(__import__('os').sched_getaffinity(0))} cores, no GPU (SwiftShader)",
        "when": time.strftime("%Y-%m-%d %H:%M:%S"),
    }
    out = REPO / "bench"
    (out / "client.json").write_text(json.dumps({"meta": meta, "results": results}, indent=2) + "\n")
    lines = [
        "# Client frame time with remote avatars",
        "",
        f"`{meta['command']}` — {meta['browser']}, {VIEWPORT['width']}x{VIEWPORT['height']}, {meta['machine']}.",
        "Frame interval is what a shopper would see on this machine (CPU rasterisation dominates it); client work",
        "is the time spent in the client's frame callback (input, jitter buffers, avatars, upload, render call).",
        "",
        "| scenario | fps | frame interval p50 / p95 (ms) | client work p50 / p95 / p99 (ms) | avatars drawn |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for name, r in results.items():
        fi, cw = r["frame_interval_ms"], r["client_work_ms"]
        lines.append(f"| {name.replace('_', ' ')} | {r['fps']} | {fi['p50']} / {fi['p95']} | "
                     f"{cw['p50']} / {cw['p95']} / {cw['p99']} | {r['avatars_drawn']} |")
    (out / "client.md").write_text("\n".join(lines) + "\n")


def main() -> None:
    import logging

    logging.getLogger("asyncio").setLevel(logging.ERROR)  # bots closing after the server: not news
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=120, help="frames measured per scenario")
    parser.add_argument("--avatars", type=int, default=50, help="remote avatars")
    args = parser.parse_args()
    results = asyncio.run(run(args.frames, args.avatars))
    write(results, args.frames, args.avatars)
    print((REPO / "bench" / "client.md").read_text())


if __name__ == "__main__":
    main()
