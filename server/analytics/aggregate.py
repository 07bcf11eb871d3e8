"""Store analytics from the server's own data (sans-I/O, numpy): where visitors walk and dwell, the product
funnel (seen, picked up, tried on, in bag, bought), time in store and the share shopping together.

Privacy by construction. Visitors are pseudonyms (a keyed hash of the shopper id with a secret of the day; the
secret is never stored with the figures and a new one is drawn each day), positions are binned into floor cells
of CELL_M metres at the moment they are observed (no trail is kept), and what is *published* (console, report)
leaves out every cell and every product stage fewer than MIN_VISITORS distinct visitors reached: a shopper alone
in a corner at night cannot be picked out of a heatmap.

`DayFigures` is one store's working state for one day; `observe` is fed every sample of the seats in that store,
`event` the funnel stages the shop and the rooms saw; `publish()` gives the aggregated view and `to_doc` /
`from_doc` keep it in storage (only pseudonyms and counts) so a restart continues the day.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

CELL_M = 0.5  # floor cell of the heatmaps
MIN_VISITORS = 3  # a cell or a funnel stage reached by fewer distinct visitors is not published
STAGES = ("seen", "picked_up", "tried_on", "in_bag", "bought")
SEEN_RANGE_M = 4.0  # a product is seen when it is this near the head ...
SEEN_COS = math.cos(math.radians(35.0))  # ... and within this angle of where the head faces
REACH_M = 3.0  # a hold counts as a pick-up only with its shelf this near the head (a card's "Pick up": a step)
VISIT_BUCKETS_S = (60, 300, 900, 1800)  # time-in-store histogram edges: <1 min, 1-5, 5-15, 15-30, 30+


def pseudonym(day_secret: bytes, shopper: str) -> str:
    """Stable within a day, unlinkable across days and to the shopper id without the day's secret."""
    return hmac.new(day_secret, shopper.encode(), hashlib.sha256).hexdigest()[:16]


@dataclass(frozen=True)
class Sample:
    """Where the server saw one seat's head (floor x, z) and which way it faced (unit vector on the floor)."""

    shopper: str
    xz: tuple[float, float]
    facing_xz: tuple[float, float]
    in_group: bool = False


@dataclass
class DayFigures:
    store: str
    day: str  # YYYY-MM-DD (UTC)
    secret: bytes
    dwell_s: dict[tuple[int, int], float] = field(default_factory=dict)
    cell_visitors: dict[tuple[int, int], set[str]] = field(default_factory=dict)
    funnel: dict[str, dict[str, set[str]]] = field(default_factory=dict)  # product -> stage -> visitors
    visit_s: dict[str, float] = field(default_factory=dict)  # visitor -> seconds observed in store
    together: set[str] = field(default_factory=set)  # visitors seen in a shopping group

    def who(self, shopper: str) -> str:
        return pseudonym(self.secret, shopper)

    def observe(self, samples: Iterable[Sample], dt: float,
                products: dict[str, tuple[float, float]]) -> list[tuple[str, str]]:
        """One sample of every seat in the store, `dt` seconds after the previous one; the (shopper, product)
        pairs seen in it (for the consented personal trails, trail.py)."""
        seen: list[tuple[str, str]] = []
        ids = list(products)
        at = np.array([products[p] for p in ids], dtype=np.float64).reshape(-1, 2)
        for s in samples:
            v = self.who(s.shopper)
            cell = (math.floor(s.xz[0] / CELL_M), math.floor(s.xz[1] / CELL_M))
            self.dwell_s[cell] = self.dwell_s.get(cell, 0.0) + dt
            self.cell_visitors.setdefault(cell, set()).add(v)
            self.visit_s[v] = self.visit_s.get(v, 0.0) + dt
            if s.in_group:
                self.together.add(v)
            if not ids:
                continue
            d = at - np.asarray(s.xz, dtype=np.float64)
            dist = np.hypot(d[:, 0], d[:, 1])
            facing = np.asarray(s.facing_xz, dtype=np.float64)
            cos = (d @ facing) / np.maximum(dist, 1e-6)
            for i in np.flatnonzero((dist <= SEEN_RANGE_M) & ((cos >= SEEN_COS) | (dist < 0.6))):
                self._reach(ids[i], "seen", v)
                seen.append((s.shopper, ids[i]))
        return seen

    def event(self, shopper: str, product: str, stage: str) -> None:
        if stage not in STAGES:
            raise ValueError(f"unknown funnel stage {stage!r}")
        self._reach(product, stage, self.who(shopper))

    def _reach(self, product: str, stage: str, visitor: str) -> None:
        self.funnel.setdefault(product, {}).setdefault(stage, set()).add(visitor)

    # ------------------------------------------------------------------ what may be shown
    def publish(self, min_visitors: int = MIN_VISITORS) -> dict[str, Any]:
        """Aggregates only: cells and stages below `min_visitors` distinct visitors are left out."""
        cells = [{"x": c[0], "z": c[1], "dwell_s": round(self.dwell_s[c], 1), "visitors": len(vs)}
                 for c, vs in sorted(self.cell_visitors.items()) if len(vs) >= min_visitors]
        funnel = {}
        for product, stages in sorted(self.funnel.items()):
            row = {stage: len(stages.get(stage, ())) for stage in STAGES}
            shown = {stage: n if n >= min_visitors else None for stage, n in row.items()}
            if any(n is not None for n in shown.values()):
                funnel[product] = shown
        edges = (0, *VISIT_BUCKETS_S, math.inf)
        times = list(self.visit_s.values())
        buckets = [sum(1 for t in times if lo <= t < hi) for lo, hi in itertools.pairwise(edges)]
        visitors = len(self.visit_s)
        return {
            "store": self.store, "day": self.day, "cell_m": CELL_M, "min_visitors": min_visitors,
            "visitors": visitors if visitors >= min_visitors else None,
            "cells": cells, "funnel": funnel,
            "time_in_store": {"edges_s": list(VISIT_BUCKETS_S),
                              "visitors": buckets if visitors >= min_visitors else None,
                              "median_s": round(float(np.median(times)), 1) if visitors >= min_visitors else None},
            "together_share": round(len(self.together) / visitors, 3) if visitors >= min_visitors else None,
        }

    # ------------------------------------------------------------------ storage
    def to_doc(self) -> dict[str, Any]:
        """Pseudonyms and counts only (the day's secret is kept apart, see collector.py)."""
        return {
            "store": self.store, "day": self.day,
            "cells": [[c[0], c[1], round(self.dwell_s.get(c, 0.0), 2), sorted(vs)]
                      for c, vs in sorted(self.cell_visitors.items())],
            "funnel": {p: {s: sorted(vs) for s, vs in st.items()} for p, st in self.funnel.items()},
            "visit_s": {v: round(t, 2) for v, t in self.visit_s.items()},
            "together": sorted(self.together),
        }

    @classmethod
    def from_doc(cls, doc: dict[str, Any], secret: bytes) -> DayFigures:
        out = cls(doc["store"], doc["day"], secret)
        for x, z, dwell, visitors in doc.get("cells", []):
            out.dwell_s[(x, z)] = float(dwell)
            out.cell_visitors[(x, z)] = set(visitors)
        out.funnel = {p: {s: set(vs) for s, vs in st.items()} for p, st in doc.get("funnel", {}).items()}
        out.visit_s = {v: float(t) for v, t in doc.get("visit_s", {}).items()}
        out.together = set(doc.get("together", []))
        return out


def merge(days: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """Several published days of one store as one view (sums; a day's left-out figures stay left out)."""
    days = list(days)
    cells: dict[tuple[int, int], dict[str, float]] = {}
    funnel: dict[str, dict[str, int | None]] = {}
    visitors = 0
    buckets = [0] * (len(VISIT_BUCKETS_S) + 1)
    together = 0.0
    for day in days:
        for c in day["cells"]:
            cell = cells.setdefault((c["x"], c["z"]), {"dwell_s": 0.0, "visitor_days": 0})
            cell["dwell_s"] += c["dwell_s"]
            cell["visitor_days"] += c["visitors"]
        for product, row in day["funnel"].items():
            into = funnel.setdefault(product, dict.fromkeys(STAGES))
            for stage, n in row.items():
                if n is not None:  # a stage left out on every day stays left out (None), not 0
                    into[stage] = (into[stage] or 0) + n
        if day["visitors"]:
            visitors += day["visitors"]
            buckets = [a + b for a, b in zip(buckets, day["time_in_store"]["visitors"], strict=True)]
            together += (day["together_share"] or 0.0) * day["visitors"]
    return {
        "store": days[0]["store"] if days else None, "days": [d["day"] for d in days], "cell_m": CELL_M,
        "visitor_days": visitors,
        "cells": [{"x": x, "z": z, "dwell_s": round(v["dwell_s"], 1), "visitor_days": v["visitor_days"]}
                  for (x, z), v in sorted(cells.items())],
        "funnel": funnel,
        "time_in_store": {"edges_s": list(VISIT_BUCKETS_S), "visitors": buckets},
        "together_share": round(together / visitors, 3) if visitors else None,
    }
