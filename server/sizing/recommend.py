"""Size recommendation: probability of each size given the body belief, the pick, and the fit per region."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from server.sizing.body_model import Belief
from server.sizing.charts import LENGTH_MEASUREMENT, SizeChart
from server.sizing.measurements import DESCRIPTIONS

DRAWS = 4000  # Monte Carlo draws of the body: size shares to about ±1 %
LENGTHS = frozenset({"sleeve", "inseam", "stature"})
BREADTHS = frozenset({"shoulder", "foot_breadth"})
CLOSE_CALL = 0.2  # top two sizes within this probability: the garment's style breaks the tie
# A shopper's lean (feedback.size_lean) moves the deciding measurements by this share of a size step per
# remark: someone who found their measured-right M tight gets L once they are in the top third of M.
LEAN_STEP = 1 / 3


@dataclass(frozen=True)
class RegionFit:
    region: str
    body_cm: float
    body_sd_cm: float
    garment_cm: float
    ease_cm: float  # garment minus body
    label: str  # tight/snug/regular/loose for girths and breadths; short/fine/long for lengths


@dataclass
class Recommendation:
    chart_id: str
    fit: str
    size: str
    runner_up: str | None
    confidence: float
    probabilities: dict[str, float]
    below_smallest: float  # share of plausible bodies smaller than the chart's smallest size
    above_largest: float
    lean: int = 0  # the shopper's taste from earlier remarks (feedback.size_lean); >0 = roomier
    lean_decided: bool = False  # without the lean the recommended size would be another one
    regions: list[RegionFit] = field(default_factory=list)
    sentence: str = ""


def size_indices(chart: SizeChart, values: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Size index per body (rows of `values`, columns chart.primary), plus below/above-chart flags.

    A body's size is the largest size any primary measurement falls in, so it is too small nowhere.
    """
    n = len(chart.labels)
    idx = np.zeros(len(values), dtype=int)
    below = np.ones(len(values), dtype=bool)
    above = np.zeros(len(values), dtype=bool)
    for j, name in enumerate(chart.primary):
        lows = np.array([r[0] for r in chart.ranges[name]])
        high = chart.ranges[name][-1][1]
        k = np.searchsorted(lows, values[:, j], side="right") - 1
        below &= k < 0
        above |= values[:, j] >= high
        idx = np.maximum(idx, np.clip(k, 0, n - 1))
    return idx, below, above


def size_probabilities(
    chart: SizeChart, belief: Belief, rng: np.random.Generator, lean: int = 0
) -> tuple[np.ndarray, float, float]:
    probs, below, above, _ = _probabilities(chart, belief, rng, lean)
    return probs, below, above


def _probabilities(
    chart: SizeChart, belief: Belief, rng: np.random.Generator, lean: int
) -> tuple[np.ndarray, float, float, np.ndarray]:
    """Size shares for the shopper's taste, plus the shares for their body alone.

    One deciding measurement (tops, dresses, shoes): exact, from the belief's marginal. Several (trousers:
    the larger of waist and hips): Monte Carlo over the joint belief, the same draws for both answers.
    """
    steps = np.array([np.median([high - low for low, high in chart.ranges[name]]) for name in chart.primary])
    shift = lean * LEAN_STEP * steps
    if len(chart.primary) == 1:
        plain = _exact_shares(chart, belief, 0.0)
        return (*_exact_shares(chart, belief, float(shift[0])), plain[0]) if lean else (*plain, plain[0])
    draws = belief.sample(chart.primary, DRAWS, rng)
    idx, below, above = size_indices(chart, draws)
    plain_probs = np.bincount(idx, minlength=len(chart.labels)) / len(idx)
    if lean == 0:
        return plain_probs, float(below.mean()), float(above.mean()), plain_probs
    idx, below, above = size_indices(chart, draws + shift)
    probs = np.bincount(idx, minlength=len(chart.labels)) / len(idx)
    return probs, float(below.mean()), float(above.mean()), plain_probs


def _exact_shares(chart: SizeChart, belief: Belief, shift: float) -> tuple[np.ndarray, float, float]:
    """Probability of each size when one measurement (moved up by `shift` cm) decides it, as size_indices does."""
    name = chart.primary[0]
    lows = np.array([r[0] for r in chart.ranges[name]])
    edges = np.append(lows, chart.ranges[name][-1][1]) - shift  # the chart seen from the unshifted body
    cdf = belief.cdf(name, edges)
    n = len(chart.labels)
    probs = np.empty(n)
    probs[0] = cdf[1] if n > 1 else 1.0
    probs[1:-1] = np.diff(cdf[1:-1])
    if n > 1:
        probs[-1] = 1.0 - cdf[-2]
    return np.clip(probs, 0.0, 1.0), float(cdf[0]), float(1.0 - cdf[-1])


def pick(probs: np.ndarray, fit: str) -> tuple[int, int | None]:
    """Recommended size and runner-up; in a close call stretch and loose styles go down, fitted goes up."""
    order = np.argsort(-probs, kind="stable")
    best = int(order[0])
    second = int(order[1]) if len(order) > 1 and probs[order[1]] > 0 else None
    if second is not None and probs[best] - probs[second] < CLOSE_CALL:
        smaller, larger = min(best, second), max(best, second)
        if fit in ("stretch", "loose"):
            best, second = smaller, larger
        elif fit == "fitted":
            best, second = larger, smaller
    return best, second


def region_fit(chart: SizeChart, size: int, fit: str, name: str, belief: Belief) -> RegionFit:
    body = belief.marginal(name)
    garment = chart.garment(name, size, fit)
    ease = garment - body.mean
    return RegionFit(name, body.mean, body.std, garment, ease, fit_label(chart, size, fit, name, body.mean))


def fit_label(chart: SizeChart, size: int, fit: str, name: str, body: float) -> str:
    intended = chart.ease_of(fit, name)
    ease = chart.garment(name, size, fit) - body
    if name in LENGTHS:
        low, high = chart.ranges[name][size]
        if body > high + intended + 2.0:
            return "short"
        if body < low + intended - 2.0:
            return "long"
        return "fine"
    if chart.kind == "shoe":  # toe room in cm
        steps = (0.5, 1.0, 2.2)
    elif name in BREADTHS:
        steps = (-1.0, 0.5, 3.0)
    else:
        steps = (-1.0, 3.0, 12.0)
    ease += max(0.0, -intended)  # stretch garments are meant to sit below the body size
    if ease < steps[0]:
        return "tight"
    if ease < steps[1]:
        return "snug"
    if ease < steps[2]:
        return "regular"
    return "loose"


def recommend(
    chart: SizeChart, fit: str, belief: Belief, rng: np.random.Generator, lean: int = 0
) -> Recommendation:
    """`lean`: the shopper's taste for room from earlier remarks (feedback.size_lean), 0 for none."""
    probs, below, above, plain = _probabilities(chart, belief, rng, lean)
    best, second = pick(probs, fit)
    regions = [region_fit(chart, best, fit, name, belief) for name in chart.ranges]
    rec = Recommendation(
        chart_id=chart.id,
        fit=fit,
        size=chart.labels[best],
        runner_up=chart.labels[second] if second is not None else None,
        confidence=float(probs[best]),
        probabilities={label: float(p) for label, p in zip(chart.labels, probs, strict=True)},
        below_smallest=below,
        above_largest=above,
        lean=lean,
        lean_decided=best != pick(plain, fit)[0],
        regions=regions,
    )
    rec.sentence = sentence(chart, rec, best, second)
    unmeasured = [name for name in chart.primary if name not in belief.observed]
    if rec.confidence < 0.5 and unmeasured:
        what = " and ".join(DESCRIPTIONS[name] for name in unmeasured)
        rec.sentence += f" Measuring your {what} would make this surer."
    return rec


def sentence(chart: SizeChart, rec: Recommendation, best: int, second: int | None) -> str:
    parts: list[str] = []
    close = second is not None and rec.probabilities[chart.labels[second]] >= 0.25
    if close and second is not None:
        small, large = chart.labels[min(best, second)], chart.labels[max(best, second)]
        parts.append(
            f"{rec.size}; between {small} and {large}: {small} if you like it fitted, {large} if you like it relaxed."
        )
    else:
        parts.append(f"{rec.size} ({rec.confidence:.0%} sure).")
    if rec.lean_decided:
        felt, way = ("tight", "larger") if rec.lean > 0 else ("loose", "smaller")
        parts.append(f"Sizes that matched your measurements felt {felt} to you, so we went one {way}.")
    if rec.above_largest > 0.5:
        parts.append(f"Even {chart.labels[-1]}, our largest size, is likely to be small for you.")
    elif rec.below_smallest > 0.5:
        parts.append(f"Even {chart.labels[0]}, our smallest size, is likely to be big on you.")
    notes = []
    for r in rec.regions:
        what = "length" if r.region == LENGTH_MEASUREMENT.get(chart.kind) and r.region in LENGTHS else r.region
        what = what.replace("_", " ")
        if r.region in LENGTHS:
            if r.label != "fine":
                notes.append(f"{what} {r.label}")
            continue
        notes.append(f"{what} {r.ease_cm:+.0f} cm {r.label}")
    if notes:
        parts.append("Fit: " + ", ".join(notes) + ".")
    return " ".join(parts)

