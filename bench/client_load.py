"""First-load bytes of the store page: what a shopper's browser moves over the network, cold and warm.

Runs: python bench/client_load.py [--scene boutique] [--label NAME]
Writes bench/client_load.json (one entry per label, so a before/after pair sits side by side) and
bench/client_load.md.

A real `python -m server serve` on a free port and Debian's headless Chromium (the browser tests'
flags). Bytes are Chromium's own count of what crossed the wire per response (CDP
`Network.loadingFinished.encodedDataLength`: headers + body as sent, so compression shows), summed by
kind. Cold: a fresh browser profile. Warm: the same profile loading the page again (revalidations
answered 304 count their headers only; immutable files come from the cache and count nothing).
"Ready" is the page's own flag (`window.plaza.ready`: store built, catalog placed); models keep loading
after it, so the page is left until every request has finished.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, running_server  # noqa: E402

OUT_JSON = REPO / "bench" / "client_load.json"
OUT_MD = REPO / "bench" / "client_load.md"


def kind_of(url: str) -> str:
    path = url.split("?", 1)[0]
    if "/vendor/" in path:
        return "vendor js"
    if "/client/" in path:
        return "client js/css"
    if path.endswith(".glb"):
        return "models"
    if "/api/" in path:
        return "api json"
    return "page/other"


def load(context, url: str, settle_ms: int = 1500) -> dict:  # type: ignore[no-untyped-def]
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    urls: dict[str, str] = {}
    statuses: dict[str, int] = {}
    done: dict[str, int] = {}
    cdp.on("Network.requestWillBeSent", lambda e: urls.__setitem__(e["requestId"], e["request"]["url"]))
    cdp.on("Network.responseReceived", lambda e: statuses.__setitem__(e["requestId"], e["response"]["status"]))
    cdp.on("Network.loadingFinished", lambda e: done.__setitem__(e["requestId"], int(e["encodedDataLength"])))
    start = time.perf_counter()
    page.goto(url)
    page.wait_for_function("window.plaza && (window.plaza.ready || window.plaza.errors.length > 0)", timeout=120000)
    ready_s = time.perf_counter() - start
    # Until nothing is in flight (models load after ready).
    while True:
        before = len(done)
        page.wait_for_timeout(settle_ms)
        if len(done) == before and set(urls) <= set(done) | {r for r in urls if r not in statuses}:
            break
    by_kind: dict[str, int] = defaultdict(int)
    for rid, size in done.items():
        by_kind[kind_of(urls.get(rid, ""))] += size
    counts = defaultdict(int)
    for rid in done:
        counts[str(statuses.get(rid, "cache"))] += 1
    favicon = [statuses.get(r) for r, u in urls.items() if u.endswith("/favicon.ico")]
    page.close()
    return {"ready_s": round(ready_s, 2), "bytes": sum(done.values()), "by_kind": dict(sorted(by_kind.items())),
            "responses": len(done), "statuses": dict(sorted(counts.items())),
            "favicon_status": favicon[0] if favicon else None}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scene", default="boutique")
    parser.add_argument("--label", default="current")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as data_dir, running_server(Path(data_dir)) as base, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 320, "height": 240})
        url = f"{base}/?scene={args.scene}&net=0"
        cold = load(context, url)
        warm = load(context, url)
        browser.close()
    results = json.loads(OUT_JSON.read_text()) if OUT_JSON.exists() else {}
    results[args.label] = {"scene": args.scene, "cold": cold, "warm": warm, "machine": platform.machine()}
    OUT_JSON.write_text(json.dumps(results, indent=2) + "\n")
    lines = ["# Client first load: bytes on the wire", "",
             "`python bench/client_load.py --scene boutique --label NAME`: a real server on loopback, Debian Chromium "
             "headless (320x240, `net=0`); bytes are Chromium's encodedDataLength per response (headers + body as "
             "sent). Warm = the same browser profile loading the page again. Ready = `window.plaza.ready` (wall "
             "time on this 2-core machine, CPU rendering; indicative only).", "",
             "| label | scene | cold KB | cold ready s | warm KB | warm ready s "
             "| cold: vendor / client / api / models KB | warm statuses | favicon |",
             "| --- | --- | ---: | ---: | ---: | ---: | --- | --- | --- |"]
    for label, r in results.items():
        c, w = r["cold"], r["warm"]
        k = c["by_kind"]
        parts = " / ".join(f"{k.get(x, 0) / 1024:.0f}" for x in ("vendor js", "client js/css", "api json", "models"))
        lines.append(f"| {label} | {r['scene']} | {c['bytes'] / 1024:.0f} | {c['ready_s']} | {w['bytes'] / 1024:.0f} "
                     f"| {w['ready_s']} | {parts} | {w['statuses']} | {c['favicon_status']} |")
    OUT_MD.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
