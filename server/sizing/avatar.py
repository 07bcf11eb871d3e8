"""Avatar fit parameters for the WebXR client: how to scale the avatar and the garment, and a fit heat map.

Two sets of factors (JSON shape in docs/SIZING.md):
- body_scale: the shopper's body relative to the reference avatar of their sex (the population mean
  body, REFERENCE_BODY), per region, so the client can morph the avatar;
- garment regions: garment size relative to the shopper's body per region (1.06 = 6 % larger than the
  body), with the fit label and a colour for the heat map.
"""

from __future__ import annotations

from dataclasses import dataclass

from server.sizing.body_model import Belief, BodyModel
from server.sizing.charts import LENGTH_MEASUREMENT, SizeChart
from server.sizing.recommend import fit_label

AVATAR_REGIONS = ("chest", "waist", "hips", "shoulder", "length")
# Diverging palette (ColorBrewer RdYlBu-like, readable by most colour-blind shoppers).
FIT_COLOURS = {
    "tight": "#d7301f",
    "snug": "#fc8d59",
    "regular": "#1a9850",
    "loose": "#4575b4",
    "short": "#fc8d59",
    "fine": "#1a9850",
    "long": "#4575b4",
    "unknown": "#bdbdbd",
}


@dataclass(frozen=True)
class GarmentRegion:
    region: str
    scale: float  # garment / body
    ease_cm: float | None
    label: str
    colour: str
    from_chart: bool  # False: the chart says nothing here, the garment simply follows the body


def reference_body(model: BodyModel, sex: str | None) -> dict[str, float]:
    prior = model.prior(sex)
    return {name: m.mean for name, m in prior.marginals().items()}


def body_scale(model: BodyModel, sex: str | None, belief: Belief) -> dict[str, float]:
    ref = reference_body(model, sex)
    mapping = {"stature": "stature", "chest": "chest", "waist": "waist", "hips": "hips", "shoulder": "shoulder",
               "inseam": "inseam", "sleeve": "sleeve", "foot_length": "foot_length"}
    return {key: round(belief.marginal(name).mean / ref[name], 4) for key, name in mapping.items()}


def garment_regions(chart: SizeChart, size: int, fit: str, belief: Belief) -> list[GarmentRegion]:
    out = []
    for region in AVATAR_REGIONS:
        name = LENGTH_MEASUREMENT[chart.kind] if region == "length" else region
        if chart.kind == "shoe" and region != "length":
            continue
        if name not in chart.ranges:
            out.append(GarmentRegion(region, 1.0, None, "unknown", FIT_COLOURS["unknown"], False))
            continue
        body = belief.marginal(name).mean
        garment = chart.garment(name, size, fit)
        label = fit_label(chart, size, fit, name, body)
        out.append(GarmentRegion(region, round(garment / body, 4), round(garment - body, 1), label,
                                 FIT_COLOURS[label], True))
    return out
