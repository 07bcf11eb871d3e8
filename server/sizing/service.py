"""Glue between the pure parts: a shopper's belief from entered values and feedback, and the full answer."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

import numpy as np

from server.sizing.avatar import GarmentRegion, body_scale, garment_regions
from server.sizing.body_model import Belief, BodyModel
from server.sizing.charts import SizeChart
from server.sizing.feedback import Feedback, apply_feedback
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


def answer(model: BodyModel, sex: str | None, belief: Belief, chart: SizeChart, fit: str) -> Answer:
    rec = recommend(chart, fit, belief, np.random.default_rng(SEED))
    size = chart.index_of(rec.size)
    return Answer(rec, body_scale(model, sex, belief), garment_regions(chart, size, fit, belief))
