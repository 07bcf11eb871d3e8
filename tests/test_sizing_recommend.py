"""Size charts, recommendation, fit labels, feedback learning and avatar parameters."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pytest

from server.sizing.avatar import FIT_COLOURS, body_scale, garment_regions
from server.sizing.charts import CHART_DIR, FIT_STYLES, KINDS, ChartError, load_chart, parse_chart
from server.sizing.defaults import default_model
from server.sizing.feedback import Feedback, apply_feedback, size_lean
from server.sizing.measurements import MEASUREMENTS
from server.sizing.recommend import recommend, size_indices
from server.sizing.service import answer, belief_for, feedback_message

CHART_IDS = ("tops-men", "tops-women", "bottoms-men", "bottoms-women", "dresses-women", "shoes-men", "shoes-women",
             "tops-unisex")
model = default_model()


def rec(chart_id: str, fit: str, sex: str, **known: float):
    return recommend(load_chart(chart_id), fit, model.belief(sex, known), np.random.default_rng(0))


@pytest.mark.parametrize("chart_id", CHART_IDS)
def test_every_promised_chart_is_valid_and_contiguous(chart_id):
    doc = json.loads((CHART_DIR / f"{chart_id}.json").read_text())
    chart = parse_chart(doc)
    assert chart.id == chart_id and chart.kind in KINDS and doc["unit"] == "cm"
    assert set(doc["garment_ease"]) == set(FIT_STYLES)
    for name, ranges in chart.ranges.items():
        assert name in MEASUREMENTS
        if len(set(ranges)) > 1:  # a length shared by all sizes (dress stature) need not step
            assert all(a[1] == b[0] for a, b in itertools.pairwise(ranges)), name


def test_malformed_charts_are_refused_with_a_reason():
    good = json.loads((CHART_DIR / "tops-men.json").read_text())
    bad_kind = {**good, "kind": "hat"}
    with pytest.raises(ChartError, match="kind"):
        parse_chart(bad_kind)
    shuffled = {**good, "sizes": list(reversed(good["sizes"]))}
    with pytest.raises(ChartError, match="small to large"):
        parse_chart(shuffled)
    with pytest.raises(ChartError, match="no size chart"):
        load_chart("ballgowns")
    with pytest.raises(ChartError):
        load_chart("../secrets")


def test_a_measured_chest_in_the_middle_of_m_gets_m_with_confidence():
    r = rec("tops-men", "regular", "male", stature=178, weight=76, chest=102)
    assert r.size == "M" and r.confidence > 0.95
    assert sum(r.probabilities.values()) == pytest.approx(1.0)
    chest = next(x for x in r.regions if x.region == "chest")
    assert chest.ease_cm == pytest.approx(102 + 10 - 102, abs=0.01) and chest.label == "regular"


def test_a_chest_on_the_m_l_border_says_between_m_and_l():
    belief = model.belief("male", {"stature": 180, "weight": 84}).condition("chest", 106.0, noise_sd=1.5)
    r = recommend(load_chart("tops-men"), "regular", belief, np.random.default_rng(0))
    assert {r.size, r.runner_up} == {"M", "L"}
    assert "between M and L: M if you like it fitted" in r.sentence


def test_close_calls_follow_the_garment_style():
    # A self-measured chest of 106.5 cm (±1.5) sits right on the M/L border: about 50/50.
    belief = model.belief("male", {"stature": 180, "weight": 84}).condition("chest", 106.5, noise_sd=1.5)
    chart = load_chart("tops-men")
    stretch = recommend(chart, "stretch", belief, np.random.default_rng(0))
    fitted = recommend(chart, "fitted", belief, np.random.default_rng(0))
    assert (stretch.size, fitted.size) == ("M", "L")


def test_bigger_bodies_never_get_smaller_sizes():
    chart = load_chart("tops-women")
    sizes = [chart.labels.index(rec("tops-women", "regular", "female", stature=165, weight=w).size)
             for w in range(45, 120, 5)]
    assert sizes == sorted(sizes) and sizes[-1] > sizes[0]


def test_fit_style_changes_ease_and_labels_not_the_body():
    known = {"stature": 175, "weight": 72, "chest": 100}
    by_style = {s: next(r for r in rec("tops-men", s, "male", **known).regions if r.region == "chest")
                for s in FIT_STYLES}
    assert by_style["stretch"].ease_cm < by_style["fitted"].ease_cm < by_style["regular"].ease_cm
    assert by_style["regular"].ease_cm < by_style["loose"].ease_cm
    assert by_style["loose"].label == "loose" and by_style["stretch"].label != "tight"
    assert len({r.body_cm for r in by_style.values()}) == 1


def test_bottoms_take_the_larger_of_waist_and_hips():
    chart = load_chart("bottoms-men")
    idx, _, _ = size_indices(chart, np.array([[85.0, 106.0]]))  # waist says M, hips say L
    assert chart.labels[idx[0]] == "L"
    r = rec("bottoms-men", "regular", "male", stature=180, weight=80, waist=85, hips=106)
    assert r.size == "L"


def test_shoes_follow_foot_length():
    guessed = rec("shoes-men", "regular", "male", stature=181, weight=79)
    assert guessed.confidence < 0.5 and "Measuring your foot length" in guessed.sentence
    assert rec("shoes-men", "regular", "male", stature=180, weight=80, foot_length=26.5).size == "42"
    assert rec("shoes-women", "regular", "female", stature=165, weight=60, foot_length=24.0).size == "38"


def test_dress_and_off_chart_bodies_get_an_honest_sentence():
    r = rec("dresses-women", "regular", "female", stature=168, weight=64, chest=92, hips=100)
    assert r.size == "40"
    huge = rec("tops-men", "regular", "male", stature=185, weight=160, chest=150)
    assert huge.size == "3XL" and "largest size" in huge.sentence


def test_feedback_too_tight_moves_the_chest_up_and_carries_to_other_charts():
    tops, unisex = load_chart("tops-men"), load_chart("tops-unisex")
    prior = model.belief("male", {"stature": 178, "weight": 80})
    tight = apply_feedback(prior, tops, Feedback("tops-men", "M", "regular", "too_tight", "chest"))
    assert tight.marginal("chest").mean > tops.ranges["chest"][1][1]  # above M's range
    assert tight.marginal("chest").std < prior.marginal("chest").std
    rng = np.random.default_rng
    before = recommend(unisex, "regular", prior, rng(0))
    after = recommend(unisex, "regular", tight, rng(0))
    assert unisex.labels.index(after.size) >= unisex.labels.index(before.size)
    assert after.probabilities["L"] > before.probabilities["L"]


def test_feedback_loose_fits_and_length():
    tops = load_chart("tops-women")
    prior = model.belief("female", {"stature": 165, "weight": 62})
    loose = apply_feedback(prior, tops, Feedback("tops-women", "L", "regular", "too_loose"))
    assert loose.marginal("chest").mean < tops.ranges["chest"][3][0] + 1
    fits = apply_feedback(prior, tops, Feedback("tops-women", "M", "regular", "fits", "chest"))
    m_mid = tops.mid("chest", 2)
    assert abs(fits.marginal("chest").mean - m_mid) < abs(prior.marginal("chest").mean - m_mid)
    bottoms = load_chart("bottoms-women")
    long = apply_feedback(prior, bottoms, Feedback("bottoms-women", "M", "regular", "too_long"))
    assert long.marginal("inseam").mean < prior.marginal("inseam").mean


def test_feedback_never_overrides_a_measured_value_and_rejects_unknown_regions():
    tops = load_chart("tops-men")
    measured = model.belief("male", {"stature": 178, "weight": 80, "chest": 100})
    after = apply_feedback(measured, tops, Feedback("tops-men", "M", "regular", "too_tight", "chest"))
    assert after.marginal("chest").mean == pytest.approx(100, abs=0.01)
    with pytest.raises(ChartError, match="does not describe"):
        apply_feedback(measured, tops, Feedback("tops-men", "M", "regular", "too_tight", "thigh"))
    with pytest.raises(ChartError, match="does not exist"):
        apply_feedback(measured, tops, Feedback("tops-men", "XXXL", "regular", "fits"))


def test_belief_for_replays_stored_feedback_in_order():
    fb = [Feedback("tops-men", "M", "regular", "too_tight", "chest")] * 2
    once = belief_for(model, "male", {"stature": 178, "weight": 80}, fb[:1], load_chart).marginal("chest")
    twice = belief_for(model, "male", {"stature": 178, "weight": 80}, fb, load_chart).marginal("chest")
    assert twice.std < once.std


def test_avatar_parameters_scale_the_garment_and_colour_the_fit():
    chart = load_chart("tops-men")
    belief = model.belief("male", {"stature": 178, "weight": 76, "chest": 102})
    regions = {g.region: g for g in garment_regions(chart, chart.index_of("M"), "regular", belief)}
    assert set(regions) == {"chest", "waist", "hips", "shoulder", "length"}
    assert regions["chest"].scale == pytest.approx((102 + 10) / 102, abs=1e-3)
    assert regions["hips"].from_chart is False and regions["hips"].scale == 1.0
    assert all(g.colour == FIT_COLOURS[g.label] for g in regions.values())
    tight = {g.region: g for g in garment_regions(chart, chart.index_of("XS"), "regular", belief)}
    assert tight["chest"].label == "tight" and tight["chest"].scale < 1
    scale = body_scale(model, "male", belief)
    assert scale["chest"] == pytest.approx(102 / model.prior("male").marginal("chest").mean, abs=1e-3)


def test_answer_bundles_recommendation_and_avatar_for_shoes():
    chart = load_chart("shoes-women")
    result = answer(model, "female", model.belief("female", {"stature": 165, "weight": 60}), chart, "regular")
    assert [g.region for g in result.garment] == ["length"]
    assert result.recommendation.size in chart.labels


def test_an_entered_value_on_a_size_boundary_is_taken_exactly():
    r = rec("tops-men", "regular", "male", stature=180, weight=84, chest=106.0)  # L starts at 106
    assert r.size == "L" and r.confidence == 1.0


def test_remarks_on_measured_deciding_regions_become_a_lean_and_nothing_else_does():
    measured = {"stature": 165, "weight": 62, "chest": 92.5, "inseam": 76}
    tight_chest = Feedback("tops-women", "M", "regular", "too_tight", "chest")
    loose_chest = Feedback("tops-women", "M", "regular", "too_loose", "chest")
    assert size_lean([tight_chest], measured, load_chart) == 1
    assert size_lean([tight_chest] * 5, measured, load_chart) == 2  # capped
    assert size_lean([tight_chest, loose_chest], measured, load_chart) == 0
    # An estimated region moves the body estimate instead; a measured length does not decide a top's size.
    assert size_lean([tight_chest], {"stature": 165, "weight": 62}, load_chart) == 0
    assert size_lean([Feedback("tops-women", "M", "regular", "too_short", "length")], measured, load_chart) == 0
    assert size_lean([Feedback("bottoms-women", "M", "regular", "too_short", "length")], measured, load_chart) == 0


def test_a_lean_moves_a_measured_body_near_the_top_of_a_size_up_but_not_one_in_the_middle():
    chart = load_chart("tops-women")  # M is chest 88-94
    near_top = model.belief("female", {"stature": 165, "weight": 62, "chest": 92.5})
    middle = model.belief("female", {"stature": 165, "weight": 62, "chest": 90.0})
    plain = recommend(chart, "regular", near_top, np.random.default_rng(0))
    roomier = recommend(chart, "regular", near_top, np.random.default_rng(0), lean=1)
    assert (plain.size, roomier.size) == ("M", "L")
    assert roomier.lean_decided and not plain.lean_decided and "felt tight" in roomier.sentence
    assert recommend(chart, "regular", middle, np.random.default_rng(0), lean=1).size == "M"
    assert recommend(chart, "regular", middle, np.random.default_rng(0), lean=2).size == "L"
    closer = recommend(chart, "regular", model.belief("female", {"stature": 165, "weight": 62, "chest": 89.0}),
                       np.random.default_rng(0), lean=-1)
    assert closer.size == "S" and "felt loose" in closer.sentence


def test_feedback_messages_say_what_changed():
    chart = load_chart("tops-women")
    measured = {"stature": 165, "weight": 62, "chest": 92.5}
    item = Feedback("tops-women", "M", "regular", "too_tight", "chest")
    before = model.belief("female", measured)
    text = feedback_message(before, apply_feedback(before, chart, item), chart, item, measured, 0, 1)
    assert "You measured your chest (92.5 cm) yourself, so we keep it." in text
    assert "roomier" in text and "We now think" not in text
    again = feedback_message(before, before, chart, item, measured, 2, 2)
    assert "already lean" in again
    loose = Feedback("tops-women", "M", "regular", "too_loose", "chest")
    assert "balances out" in feedback_message(before, before, chart, loose, measured, 1, 0)

    estimated = {"stature": 165, "weight": 62}
    prior = model.belief("female", estimated)
    after = apply_feedback(prior, chart, item)
    text = feedback_message(prior, after, chart, item, estimated, 0, 0)
    old, new = prior.marginal("chest").mean, after.marginal("chest").mean
    assert new > old + 0.5
    assert f"We now think your chest is about {new:.0f} cm (was {old:.0f})." in text
    assert "every garment" in text


@pytest.mark.parametrize(("chart_id", "sex", "known", "shift"), [
    ("tops-women", "female", {"stature": 165, "weight": 62}, 0.0),
    ("tops-men", "male", {"stature": 181, "weight": 95, "age": 40}, 2.7),
    ("shoes-women", "female", {"stature": 158, "weight": 50}, -0.3),
    ("tops-unisex", None, {"stature": 170, "weight": 70}, 0.0),  # a two-sex mixture
])
def test_exact_size_shares_agree_with_sampling_the_body(chart_id, sex, known, shift):
    from server.sizing.recommend import _exact_shares

    chart, belief = load_chart(chart_id), model.belief(sex, known)
    probs, below, above = _exact_shares(chart, belief, shift)
    draws = belief.sample(chart.primary, 200_000, np.random.default_rng(1)) + shift
    idx, draw_below, draw_above = size_indices(chart, draws)
    sampled = np.bincount(idx, minlength=len(chart.labels)) / len(idx)
    assert probs.sum() == pytest.approx(1.0)
    np.testing.assert_allclose(probs, sampled, atol=0.005)
    assert below == pytest.approx(draw_below.mean(), abs=0.005)
    assert above == pytest.approx(draw_above.mean(), abs=0.005)


def test_regions_keep_the_chart_files_order_in_every_process():
    # A set here made the order of regions shown to shoppers change with Python's hash seed.
    for chart_id in CHART_IDS:
        doc = json.loads((CHART_DIR / f"{chart_id}.json").read_text())
        assert list(load_chart(chart_id).ranges) == list(doc["sizes"][0]["body"])
        r = recommend(load_chart(chart_id), "regular", model.belief("female", {"stature": 165, "weight": 60}),
                      np.random.default_rng(0))
        assert [x.region for x in r.regions] == list(doc["sizes"][0]["body"])
