"""Checkout benchmark: whole purchases (add to bag, open checkout, confirm, pay, order) per second and their
latency on each storage backend, plus the race for the last units. Writes bench/commerce.{json,md}.

    .venv/bin/python -m server.commerce.bench [--shoppers 400] [--concurrency 50]

In-process (the shop service, no HTTP), so it measures storage and the checkout logic; one process, this
machine's Redis for the Redis rows.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import tempfile
import time
import uuid
from pathlib import Path

import numpy as np

from server.commerce.catalog import load_catalog
from server.commerce.payments import TestProvider
from server.commerce.shop import Shop, sku_of
from server.storage import open_storage

OUT = Path(__file__).resolve().parents[2] / "bench"
PICKUP = {"type": "pickup", "store": "boutique"}


async def _run(backend: str, shoppers: int, concurrency: int) -> dict:
    prefix = f"plaza-bench:{uuid.uuid4().hex}:"
    with tempfile.TemporaryDirectory() as scratch:
        redis_url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0") if backend == "redis" else None
        storage = open_storage(scratch, redis_url, prefix)
        shop = Shop(storage, load_catalog(), TestProvider(storage))
        try:
            await shop.seed_stock()
            product = shop.catalog.get("digital-aurora-jacket")
            variant = product.variants[0].id
            await storage.set_stock(sku_of(product.id, variant), shoppers)
            sem = asyncio.Semaphore(concurrency)
            latencies: list[float] = []

            async def purchase(i: int) -> str:
                async with sem:
                    started = time.perf_counter()
                    me = (await shop.create_shopper(f"b{i}"))["shopper_id"]
                    await shop.add_to_bag(me, product.id, variant, 1)
                    checkout = await shop.open_checkout(me, "test_approve", None)
                    state = (await shop.confirm(me, checkout["id"]))["state"]
                    latencies.append(time.perf_counter() - started)
                    return state

            began = time.perf_counter()
            states = await asyncio.gather(*(purchase(i) for i in range(shoppers)))
            wall = time.perf_counter() - began

            racing = 1000
            sku = sku_of("headphones-anc", shop.catalog.get("headphones-anc").variants[0].id)
            await storage.set_stock(sku, 10)
            for i in range(racing):
                await storage.put("bag", f"r{i}", {"lines": [{"line_id": "l", "product_id": "headphones-anc",
                                                              "variant_id": sku.split("/", 1)[1], "quantity": 1}]}, 0)
            race_began = time.perf_counter()

            async def race(i: int) -> str:
                checkout = await shop.open_checkout(f"r{i}", "test_approve", PICKUP)
                if checkout["state"] != "awaiting_confirmation":
                    return checkout["state"]
                return (await shop.confirm(f"r{i}", checkout["id"]))["state"]

            race_states = await asyncio.gather(*(race(i) for i in range(racing)))
            race_wall = time.perf_counter() - race_began
            left = (await storage.stock([sku]))[sku]
        finally:
            if backend == "redis":
                await storage.drop_everything()
            await storage.close()
    ms = np.array(latencies) * 1000
    return {"backend": backend, "shoppers": shoppers, "concurrency": concurrency,
            "placed": states.count("placed"), "checkouts_per_s": round(shoppers / wall, 1),
            "latency_ms": {p: round(float(np.percentile(ms, int(p[1:]))), 1) for p in ("p50", "p99")},
            "race": {"shoppers": racing, "units": 10, "placed": race_states.count("placed"),
                     "stock_left": left, "seconds": round(race_wall, 2)}}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m server.commerce.bench")
    parser.add_argument("--shoppers", type=int, default=400)
    parser.add_argument("--concurrency", type=int, default=50)
    args = parser.parse_args(argv)
    rows = [asyncio.run(_run(b, args.shoppers, args.concurrency)) for b in ("sqlite", "redis")]
    meta = {"date": time.strftime("%Y-%m-%d %H:%M"), "machine": f"{platform.machine()}, {os.cpu_count()} cores, "
            f"Python {platform.python_version()}", "command": "python -m server.commerce.bench "
            f"--shoppers {args.shoppers} --concurrency {args.concurrency}"}
    OUT.mkdir(exist_ok=True)
    (OUT / "commerce.json").write_text(json.dumps({"meta": meta, "runs": rows}, indent=2))
    lines = [f"# Checkout benchmark\n\n{meta['date']}, {meta['machine']}; `{meta['command']}` (in-process shop "
             "service; SQLite with synchronous=FULL on this disk, Redis on loopback). A purchase = new shopper, add "
             "to bag, open checkout (stock reserved), confirm, pay (test provider), order.\n",
             "| backend | purchases | concurrency | purchases/s | latency p50 / p99 ms | race: shoppers for 10 units "
             "-> orders, stock left, seconds |", "| --- | --- | --- | --- | --- | --- |"]
    for r in rows:
        race = r["race"]
        lines.append(f"| {r['backend']} | {r['placed']}/{r['shoppers']} | {r['concurrency']} | {r['checkouts_per_s']} "
                     f"| {r['latency_ms']['p50']} / {r['latency_ms']['p99']} | {race['shoppers']} -> "
                     f"{race['placed']}, {race['stock_left']}, {race['seconds']} |")
    (OUT / "commerce.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
