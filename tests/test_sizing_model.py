"""Body model: fitting, conditioning, uncertainty, feedback updates; synthetic data and (if present) ANSUR II."""

from __future__ import annotations

import json

import numpy as np
import pytest

from server.sizing.body_model import INDEX, VARIABLES, BodyModel, to_model_array
from server.sizing.data import ansur_available, ansur_dir, load_ansur
from server.sizing.defaults import PARAMS_PATH, default_model
from server.sizing.evaluation import cross_validate, linear_regression_mae
from tests.support import needs

D = len(VARIABLES)


def synthetic_population(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Bodies drawn from a known log-normal law: returns rows (cm/kg/years), true mean and covariance (model space)."""
    rng = np.random.default_rng(seed)
    centre = np.array([175, 80, 100, 90, 100, 40, 39, 82, 88, 60, 27, 10, 30.0])
    mean = np.log(centre)
    mean[-1] = 30.0
    a = rng.normal(size=(D, D)) * 0.02
    cov = a @ a.T + np.diag(np.full(D, 0.0004))
    cov[-1, :] *= 200  # age in years, not logged: larger scale, still correlated
    cov[:, -1] *= 200
    x = rng.multivariate_normal(mean, cov, size=n)
    rows = x.copy()
    rows[:, :-1] = np.exp(rows[:, :-1])
    return rows, mean, cov


def test_fit_recovers_the_law_it_was_drawn_from():
    rows, mean, cov = synthetic_population(20000, seed=1)
    model = BodyModel.fit({"male": rows})
    _, means, covs = model.components["male"]
    assert np.allclose(means[0], mean, atol=4 * np.sqrt(np.diag(cov) / 20000) + 1e-9)
    assert np.allclose(covs[0], cov, atol=0.1 * np.abs(cov).max())


def test_conditioning_matches_the_closed_form_gaussian_conditional():
    rows, _, _ = synthetic_population(5000, seed=2)
    model = BodyModel.fit({"female": rows})
    _, means, covs = model.components["female"]
    known = {"stature": 170.0, "weight": 70.0, "waist": 85.0}
    k = [INDEX[n] for n in known]
    u = [i for i in range(D) if i not in k]
    y = np.log(list(known.values()))
    s = covs[0]
    expected_mean = means[0][u] + s[np.ix_(u, k)] @ np.linalg.solve(s[np.ix_(k, k)], y - means[0][k])
    expected_cov = s[np.ix_(u, u)] - s[np.ix_(u, k)] @ np.linalg.solve(s[np.ix_(k, k)], s[np.ix_(k, u)])
    belief = model.belief("female", known)
    assert np.allclose(belief.means[0][u], expected_mean, atol=1e-6)
    assert np.allclose(belief.covs[0][np.ix_(u, u)], expected_cov, atol=1e-8)


def test_stated_uncertainty_covers_the_truth_as_often_as_it_claims():
    rows, _, _ = synthetic_population(6000, seed=3)
    model = BodyModel.fit({"male": rows[:3000]})
    inside1, inside2, count = 0, 0, 0
    for row in rows[3000:3600]:
        belief = model.belief("male", {"stature": row[0], "weight": row[1]})
        for name in ("chest", "waist", "hips", "inseam"):
            m = belief.marginal(name)
            z = abs(row[INDEX[name]] - m.mean) / m.std
            inside1 += z <= 1
            inside2 += z <= 2
            count += 1
    assert 0.62 < inside1 / count < 0.74
    assert 0.92 < inside2 / count < 0.98


def test_every_known_measurement_sharpens_the_others():
    model = default_model()
    known: dict[str, float] = {}
    previous = model.belief("male", known).marginal("waist").std
    for name, value in (("stature", 180.0), ("weight", 85.0), ("chest", 104.0), ("hips", 103.0)):
        known[name] = value
        now = model.belief("male", known).marginal("waist").std
        assert now < previous, name
        previous = now
    exact = model.belief("male", {"stature": 180, "weight": 85, "waist": 91}).marginal("waist")
    assert exact.mean == pytest.approx(91, abs=0.01) and exact.std < 0.01


def test_heavier_means_bigger_girths_at_the_same_height():
    model = default_model()
    light = model.estimate("female", {"stature": 165, "weight": 55})
    heavy = model.estimate("female", {"stature": 165, "weight": 85})
    for name in ("chest", "waist", "hips", "thigh", "neck"):
        assert heavy[name].mean > light[name].mean + 2, name


def test_unknown_sex_mixes_both_and_weighs_the_evidence():
    model = default_model()
    mixed = model.belief(None, {"stature": 192, "weight": 95, "foot_length": 29})
    assert mixed.weights[0] > 0.9  # male component first: a 192 cm tall person with a 29 cm foot
    mid = model.estimate(None, {"stature": 170, "weight": 70})["chest"]
    assert model.estimate("female", {"stature": 170, "weight": 70})["chest"].mean < mid.mean
    assert mid.mean < model.estimate("male", {"stature": 170, "weight": 70})["chest"].mean


def test_one_sided_evidence_moves_only_the_right_way_and_sharpens():
    belief = default_model().belief("male", {"stature": 178, "weight": 78})
    before = belief.marginal("chest")
    for threshold in (before.mean - 10, before.mean, before.mean + 10):
        up = belief.constrain("chest", threshold, above=True, softness=2.0).marginal("chest")
        down = belief.constrain("chest", threshold, above=False, softness=2.0).marginal("chest")
        assert up.mean >= before.mean - 1e-9 and up.std <= before.std + 1e-9
        assert down.mean <= before.mean + 1e-9 and down.std <= before.std + 1e-9
    shifted = belief.constrain("chest", before.mean + 5, above=True, softness=1.0)
    assert shifted.marginal("shoulder").mean > belief.marginal("shoulder").mean  # correlated region follows


def test_parameters_survive_json_round_trip():
    model = default_model()
    again = BodyModel.from_dict(json.loads(json.dumps(model.to_dict())))
    a = model.estimate("female", {"stature": 160, "weight": 58})
    b = again.estimate("female", {"stature": 160, "weight": 58})
    assert all(a[n] == b[n] for n in VARIABLES)


def test_committed_parameters_say_how_they_were_made():
    doc = json.loads(PARAMS_PATH.read_text())
    assert "server.sizing.fit" in doc["meta"]["how"]
    assert set(doc["sexes"]) == {"male", "female"}
    assert doc["variables"] == list(VARIABLES)


needs_ansur = needs(
    ansur_available(),
    reason=f"ANSUR II rows not found at {ansur_dir()} (set PLAZA_ANSUR_DIR to run the real-data checks)",
)


@needs_ansur
def test_committed_parameters_are_the_fit_of_the_data_present():
    model = default_model()
    for sex in ("male", "female"):
        x = to_model_array(load_ansur(sex))
        _, means, covs = model.components[sex]
        assert np.allclose(means[0], x.mean(0), atol=1e-9)
        assert np.allclose(covs[0], np.cov(x, rowvar=False), atol=1e-5)


@needs_ansur
def test_real_rows_cross_validated_error_beats_least_squares_and_is_calibrated():
    data = {"male": load_ansur("male")[::2], "female": load_ansur("female")[::2]}
    report = cross_validate(data, ("stature", "weight"), lambda d: BodyModel.fit(d), k=3)
    ols = linear_regression_mae(data, ("stature", "weight"), k=3)
    for sex in data:
        for name in ("chest", "waist", "hips"):
            assert report[sex][name]["mae"] <= ols[sex][name] * 1.02, (sex, name)
        coverage = np.mean([v["within_1sd"] for v in report[sex].values()])
        assert 0.63 < coverage < 0.73


@needs_ansur
def test_holdout_bench_scores_csv_rows_split_by_gender(tmp_path):
    from server.sizing.bench import main

    folder = ansur_dir()
    held = tmp_path / "held"
    held.mkdir()
    with open(held / "mixed.csv", "w", encoding="utf-8") as out:  # both sexes in one file, as a held-out set may be
        for i, name in enumerate(("ansur2_male_train.csv", "ansur2_female_train.csv")):
            lines = (folder / name).read_text(encoding="utf-8").splitlines()
            out.write("\n".join(lines[: 1 + 30] if i == 0 else lines[1 : 1 + 20]) + "\n")
    assert main(["--holdout", str(held), "--out", str(tmp_path / "out")]) == 0
    result = json.loads((tmp_path / "out" / "sizing_holdout.json").read_text())
    assert result["rows"] == {"male": 30, "female": 20} and result["folds"] == 1
    tops = result["sizes"]["height+weight+chest"]["tops-women"]
    assert tops["n"] == 20 and tops["exact"] == 1.0  # a measured chest decides a top's size exactly
    assert 0 < result["mae"]["height+weight"]["model"]["male"]["chest"]["mae"] < 6

    (held / "other.csv").write_text("a,b\n1,2\n", encoding="utf-8")
    assert main(["--holdout", str(held), "--out", str(tmp_path / "out")]) == 1
