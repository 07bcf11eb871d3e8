"""`python -m server report --store boutique --since 2026-12-01 --out report/`: the console's figures as files
(report.json, heatmap.svg, funnel.svg), read from the same storage the server writes (SQLite in its data
directory, or Redis). Aggregates only, with the same left-out rule as the console."""

from __future__ import annotations

import json
from pathlib import Path

from server.analytics.aggregate import MIN_VISITORS, DayFigures, merge
from server.analytics.collector import stored_days
from server.analytics.svg import funnel_chart, heatmap
from server.commerce.catalog import load_catalog
from server.scenes.loader import load_scene
from server.storage import open_storage


async def write_report(store: str, since: str | None, out: Path, data_dir: str, redis_url: str | None,
                       prefix: str = "plaza:") -> list[Path]:
    try:
        scene = load_scene(store)
    except Exception as exc:
        raise ValueError(f"there is no store {store!r} ({exc})") from None
    storage = open_storage(data_dir, redis_url, prefix)
    try:
        days = [DayFigures.from_doc(doc, b"").publish() for doc in await stored_days(storage, store, since)]
    finally:
        await storage.close()
    total = merge(days)
    names = {p.id: p.name for p in load_catalog().products.values()}
    span = f"{total['days'][0]} to {total['days'][-1]}" if total["days"] else "no days yet"
    out.mkdir(parents=True, exist_ok=True)
    files = {
        "report.json": json.dumps({"store": store, "since": since, "days": days, "total": total}, indent=1),
        "heatmap.svg": heatmap(total, scene.floor, [(w.start, w.end) for w in scene.walls],
                               [f.corners() for f in scene.fixtures], f"Dwell, {scene.name}: {span}"),
        "funnel.svg": funnel_chart(total | {"min_visitors": MIN_VISITORS}, names, f"Funnel, {scene.name}: {span}"),
    }
    for name, text in files.items():
        (out / name).write_text(text)
    return [out / name for name in files]
