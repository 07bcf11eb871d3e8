"""Learning from fit feedback: a shopper's remark about a bought size becomes evidence about their body.

The chart says which bodies a size is made for ([low, high) per measurement). "Too tight at the chest"
on size M says the chest is above M's range, "too loose" below it, "fits" near its middle; lengths
likewise ("too long" = the body is shorter than the size's range). The evidence is soft (people and
garments vary), and because the body model is joint, a tight chest also nudges waist and shoulders.
The result is a body belief, so it carries over to every garment and brand.

A remark about a region the shopper measured says nothing new about the body (the tape beats a garment),
but it does say something about their taste: "M was tight at the chest" from someone whose measured chest
sits inside M means they like more room there. Such remarks become a *lean*: when the next recommendation
is a close call between two sizes, it goes to the larger (or smaller) one.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass

from server.sizing.body_model import Belief
from server.sizing.charts import LENGTH_MEASUREMENT, ChartError, SizeChart

VERDICTS = ("fits", "too_tight", "too_loose", "too_short", "too_long", "too_small", "too_big")
BODY_IS_BIGGER = frozenset({"too_tight", "too_small", "too_short"})
BODY_IS_SMALLER = frozenset({"too_loose", "too_big", "too_long"})
MAX_LEAN = 2  # two or more remarks the same way: the lean is strong; more add nothing
# How far past the range edge a remark is taken to mean, in units of the range's half-width: soft evidence.
SOFTNESS = 0.5


@dataclass(frozen=True)
class Feedback:
    chart_id: str
    size: str
    fit: str
    verdict: str
    region: str | None = None  # a measurement name or "length"; None = the garment as a whole


def regions_for(chart: SizeChart, feedback: Feedback) -> list[str]:
    if feedback.verdict not in VERDICTS:
        raise ChartError(f"We did not understand '{feedback.verdict}'; say one of {', '.join(VERDICTS)}.")
    if feedback.verdict in ("too_short", "too_long") or feedback.region == "length":
        name = LENGTH_MEASUREMENT[chart.kind]
        if feedback.verdict not in ("too_short", "too_long", "fits"):
            raise ChartError("For length, say too_short, too_long or fits.")
        if name not in chart.ranges:
            raise ChartError(f"{chart.name} gives no length, so we cannot learn from a length remark.")
        return [name]
    if feedback.region is None:
        return list(chart.primary)
    if feedback.region not in chart.ranges:
        raise ChartError(
            f"{chart.name} does not describe the {feedback.region.replace('_', ' ')}; "
            f"choose one of {', '.join(chart.ranges)} or length."
        )
    return [feedback.region]


def apply_feedback(belief: Belief, chart: SizeChart, feedback: Feedback) -> Belief:
    size = chart.index_of(feedback.size)
    for name in regions_for(chart, feedback):
        if name in belief.observed:
            continue  # a measured value beats a remark about a garment
        low, high = chart.ranges[name][size]
        shift = chart.ease_of(feedback.fit, name) if name == LENGTH_MEASUREMENT[chart.kind] else 0.0
        low, high = low + shift, high + shift
        half = 0.5 * (high - low)
        verdict = feedback.verdict
        if verdict == "fits":
            belief = belief.condition(name, 0.5 * (low + high), noise_sd=half)
        elif verdict in ("too_tight", "too_small", "too_short"):
            belief = belief.constrain(name, high, above=True, softness=SOFTNESS * half)
        else:  # too_loose, too_big, too_long
            belief = belief.constrain(name, low, above=False, softness=SOFTNESS * half)
    return belief


def measured_regions(chart: SizeChart, feedback: Feedback, measured: Collection[str]) -> list[str]:
    """The regions of a remark that the shopper measured themselves (their values are kept as entered)."""
    return [name for name in regions_for(chart, feedback) if name in measured]


def size_lean(
    feedback: Iterable[Feedback], measured: Collection[str], chart_for: Callable[[str], SizeChart]
) -> int:
    """+n: in a close call pick the larger size; -n: the smaller. From remarks on measured deciding regions."""
    lean = 0
    for item in feedback:
        chart = chart_for(item.chart_id)
        taste = [n for n in measured_regions(chart, item, measured) if n in chart.primary]
        if not taste:
            continue
        if item.verdict in BODY_IS_BIGGER:
            lean += 1
        elif item.verdict in BODY_IS_SMALLER:
            lean -= 1
    return max(-MAX_LEAN, min(MAX_LEAN, lean))
