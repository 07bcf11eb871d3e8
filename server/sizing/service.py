"""Glue between the pure parts: a shopper's belief from entered values and feedback, and the full answer."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

import numpy as np

from server.sizing.avatar import GarmentRegion, body_scale, garment_regions
from server.sizing.body_model import Belief, BodyModel
from server.sizing.charts import SizeChart
from server.sizing.feedback import Feedback, apply_feedback, measured_regions, regions_for
from server.sizing.measurements import unit_of
from server.sizing.recommend import Recommendation, recommend

SEED = 20240601  # fixed: the same body and garment always get the same answer


def belief_for(
    model: BodyModel,
    sex: str | None,
    measurements: Mapping[str, float],
    feedback: Iterable[Feedback] = (),
    chart_for: Callable[[str], SizeChart] | None = None,
) -> Belief:
    belief = model.belief(sex, measurements)
    for item in feedback:
        if chart_for is None:
            raise ValueError("feedback needs a chart loader")
        belief = apply_feedback(belief, chart_for(item.chart_id), item)
    return belief


@dataclass
class Answer:
    recommendation: Recommendation
    body_scale: dict[str, float]
    garment: list[GarmentRegion]


def answer(
    model: BodyModel, sex: str | None, belief: Belief, chart: SizeChart, fit: str, lean: int = 0
) -> Answer:
    rec = recommend(chart, fit, belief, np.random.default_rng(SEED), lean)
    size = chart.index_of(rec.size)
    return Answer(rec, body_scale(model, sex, belief), garment_regions(chart, size, fit, belief))


def _short(name: str) -> str:
    return {"stature": "height", "foot_length": "foot length", "foot_breadth": "foot width"}.get(name, name)


def feedback_message(
    before: Belief,
    after: Belief,
    chart: SizeChart,
    item: Feedback,
    measured: Mapping[str, float],
    lean_before: int,
    lean_after: int,
) -> str:
    """What a fit remark changed, in the shopper's words: a moved estimate, or a kept measurement and a lean."""
    parts: list[str] = []
    kept = measured_regions(chart, item, measured)
    if kept:
        values = " and ".join(f"{_short(n)} ({measured[n]:g} {unit_of(n)})" for n in kept)
        parts.append(f"You measured your {values} yourself, so we keep {'it' if len(kept) == 1 else 'them'}.")
        deciding = [n for n in kept if n in chart.primary]
        if item.verdict == "fits":
            parts.append("Thanks: that confirms it.")
        elif not deciding:
            parts.append(f"The {_short(kept[0])} does not decide the size in {chart.name}; the fit notes show it.")
        elif lean_after == 0:
            parts.append("With your earlier remarks this balances out: we go by your measurements alone again.")
        elif lean_after != lean_before:
            way = "roomier" if lean_after > lean_before else "closer-fitting"
            parts.append(f"From now on, near the edge of a size we will choose the {way} one.")
        else:
            way = "roomier" if lean_after > 0 else "closer-fitting"
            parts.append(f"We already lean as far as we go towards {way} sizes for you.")
    for name in regions_for(chart, item):
        if name in kept:
            continue
        old, new = before.marginal(name).mean, after.marginal(name).mean
        unit = unit_of(name)
        if abs(new - old) < 0.5:
            parts.append(f"Your {_short(name)} estimate stays about {new:.0f} {unit}: the remark agrees with it.")
        else:
            parts.append(f"We now think your {_short(name)} is about {new:.0f} {unit} (was {old:.0f}).")
    if len(kept) < len(regions_for(chart, item)):
        parts.append("This carries over to every garment and brand.")
    return " ".join(parts)
