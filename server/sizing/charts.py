"""Size charts: parsing and validation (pure) plus a cached loader of assets/size_charts/<id>.json."""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from server.sizing.measurements import MEASUREMENTS

CHART_DIR = Path(__file__).resolve().parents[2] / "assets" / "size_charts"
KINDS = ("top", "bottom", "dress", "shoe")
FIT_STYLES = ("fitted", "regular", "loose", "stretch")
DEFAULT_PRIMARY = {"top": ("chest",), "bottom": ("waist", "hips"), "dress": ("chest",), "shoe": ("foot_length",)}
# The measurement a "length" remark is about, per garment kind.
LENGTH_MEASUREMENT = {"top": "sleeve", "bottom": "inseam", "dress": "stature", "shoe": "foot_length"}
_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")


class ChartError(ValueError):
    """A chart that is missing or malformed; the message is safe to show."""


@dataclass(frozen=True)
class SizeChart:
    id: str
    name: str
    kind: str
    labels: tuple[str, ...]
    ranges: dict[str, tuple[tuple[float, float], ...]]  # measurement -> per size [low, high)
    ease: dict[str, dict[str, float]]  # fit style -> measurement -> cm
    primary: tuple[str, ...]

    def index_of(self, label: str) -> int:
        if label not in self.labels:
            raise ChartError(f"Size '{label}' does not exist in {self.name}; sizes are {', '.join(self.labels)}.")
        return self.labels.index(label)

    def mid(self, measurement: str, size: int) -> float:
        low, high = self.ranges[measurement][size]
        return 0.5 * (low + high)

    def garment(self, measurement: str, size: int, fit: str) -> float:
        """Garment dimension (cm) of a size: the middle of the body range plus the style's ease."""
        return self.mid(measurement, size) + self.ease_of(fit, measurement)

    def ease_of(self, fit: str, measurement: str) -> float:
        return float(self.ease.get(fit, {}).get(measurement, 0.0))

    def to_dict(self) -> dict[str, object]:
        return {
            "id": self.id,
            "name": self.name,
            "kind": self.kind,
            "unit": "cm",
            "primary": list(self.primary),
            "sizes": [
                {"label": label, "body": {m: list(r[i]) for m, r in self.ranges.items()}}
                for i, label in enumerate(self.labels)
            ],
            "garment_ease": self.ease,
        }


def parse_chart(doc: Mapping[str, object]) -> SizeChart:
    """Validate a chart document (see docs/SIZING.md) and return it as a SizeChart."""
    try:
        chart_id = str(doc["id"])
        kind = str(doc["kind"])
        sizes = list(doc["sizes"])  # type: ignore[call-overload]
        ease_doc = dict(doc.get("garment_ease", {}))  # type: ignore[call-overload]
    except (KeyError, TypeError) as exc:
        raise ChartError(f"size chart is missing a field: {exc}") from None
    if kind not in KINDS:
        raise ChartError(f"chart {chart_id}: kind must be one of {', '.join(KINDS)}")
    if doc.get("unit", "cm") != "cm":
        raise ChartError(f"chart {chart_id}: unit must be cm")
    if not sizes:
        raise ChartError(f"chart {chart_id} has no sizes")
    labels = tuple(str(s["label"]) for s in sizes)
    names = list(sizes[0]["body"])  # the chart's own order: regions are listed to shoppers in it
    ranges: dict[str, tuple[tuple[float, float], ...]] = {}
    for name in names:
        if name not in MEASUREMENTS:
            raise ChartError(f"chart {chart_id}: unknown measurement {name}")
        per_size = []
        for s in sizes:
            if name not in s["body"]:
                raise ChartError(f"chart {chart_id}: size {s['label']} lacks {name}")
            low, high = (float(v) for v in s["body"][name])
            if not low < high:
                raise ChartError(f"chart {chart_id}: size {s['label']} has an empty {name} range")
            per_size.append((low, high))
        if any(b[0] < a[0] for a, b in itertools.pairwise(per_size)):
            raise ChartError(f"chart {chart_id}: sizes must go from small to large ({name})")
        ranges[name] = tuple(per_size)
    primary = tuple(doc.get("primary") or DEFAULT_PRIMARY[kind])  # type: ignore[arg-type]
    for p in primary:
        if p not in ranges:
            raise ChartError(f"chart {chart_id}: primary measurement {p} has no ranges")
    ease = {
        style: {m: float(v) for m, v in dict(ease_doc.get(style, {})).items()} for style in FIT_STYLES
    }
    return SizeChart(chart_id, str(doc.get("name", chart_id)), kind, labels, ranges, ease, primary)


@lru_cache(maxsize=64)
def load_chart(chart_id: str) -> SizeChart:
    if not _ID.match(chart_id):
        raise ChartError(f"There is no size chart called '{chart_id}'.")
    path = CHART_DIR / f"{chart_id}.json"
    if not path.is_file():
        raise ChartError(f"There is no size chart called '{chart_id}'; known charts: {', '.join(list_charts())}.")
    return parse_chart(json.loads(path.read_text(encoding="utf-8")))


def list_charts() -> list[str]:
    return sorted(p.stem for p in CHART_DIR.glob("*.json"))
