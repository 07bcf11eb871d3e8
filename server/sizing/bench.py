"""Sizing benchmark: python -m server.sizing.bench (make bench runs it). Writes bench/sizing.{json,md}.

5-fold cross-validation on the ANSUR II rows present (../shared/data/ansur2 or $PLAZA_ANSUR_DIR):
- MAE per measurement (cm) and coverage of the stated ±1σ/±2σ, from height+weight, height+weight+age,
  height+weight+chest; the same folds with ordinary least squares (the anchor method) side by side;
- exact-size and top-2 accuracy of the recommendation (regular fit) against the size each held-out
  person's measured body falls in, per sex, for the top and bottom charts, with the least-squares
  baseline (predicted measurements binned into the chart) on the same folds and charts;
- the same on reference charts with the anchors' step width (chest bins of 8 cm for both sexes,
  averaged over the 8 whole-cm positions of the bin edges), because exact-size accuracy depends on
  the chart: on these, least squares reproduces the anchors (about 69-70 % men, 58-59 % women).
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np

from server.sizing.body_model import INDEX, BodyModel
from server.sizing.charts import SizeChart, load_chart, parse_chart
from server.sizing.data import REPO_ROOT, ansur_available, ansur_dir, load_ansur, load_ansur_csvs
from server.sizing.evaluation import KFOLDS, Split, evaluate, kfold_splits
from server.sizing.feedback import Feedback, apply_feedback
from server.sizing.fit import N_COMPONENTS
from server.sizing.measurements import SEXES
from server.sizing.recommend import pick, size_indices, size_probabilities

INPUT_SETS = {
    "height+weight": ("stature", "weight"),
    "height+weight+age": ("stature", "weight", "age"),
    "height+weight+chest": ("stature", "weight", "chest"),
}
CHARTS = {"male": ("tops-men", "bottoms-men"), "female": ("tops-women", "bottoms-women")}
ANCHORS = {
    "chest_mae_cm_height_weight": {"male": 2.4, "female": 3.3},
    "exact_size": {"male": 0.69, "female": 0.59},
    "top2_size": {"male": 0.96, "female": 0.90},
}
OUT_DIR = REPO_ROOT / "bench"
REFERENCE_STEP_CM = 8


def reference_charts() -> list[SizeChart]:
    """Chest-only top charts with 8 cm steps, one per whole-cm position of the edges (60+k .. 170)."""
    charts = []
    for offset in range(REFERENCE_STEP_CM):
        edges = range(60 + offset, 171, REFERENCE_STEP_CM)
        sizes = [{"label": f"R{i}", "body": {"chest": [e, e + REFERENCE_STEP_CM]}} for i, e in enumerate(edges)]
        charts.append(parse_chart({"id": f"reference-8cm-{offset}", "kind": "top", "primary": ["chest"],
                                   "sizes": sizes}))
    return charts


def _least_squares(splits: dict[str, list[Split]], known: tuple[str, ...]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per sex: the test rows of every split and their OLS predictions (fitted on that split's training rows)."""
    out = {}
    for sex, pairs in splits.items():
        truth, pred = [], []
        for train, test in pairs:
            design = lambda r: np.column_stack([np.ones(len(r))] + [r[:, INDEX[n]] for n in known])  # noqa: E731
            coef, *_ = np.linalg.lstsq(design(train), train, rcond=None)
            truth.append(test)
            pred.append(design(test) @ coef)
        out[sex] = (np.concatenate(truth), np.concatenate(pred))
    return out


def _ls_sizes(chart: SizeChart, true_rows: np.ndarray, pred_rows: np.ndarray) -> tuple[float, float]:
    cols = [INDEX[p] for p in chart.primary]
    truth, _, _ = size_indices(chart, true_rows[:, cols])
    pred, _, _ = size_indices(chart, pred_rows[:, cols])
    # Runner-up of a point prediction: the neighbour on the side of the deciding measurement's range.
    deciding = np.argmax([size_indices(chart, pred_rows[:, [c]][:, [0]].repeat(len(cols), 1))[0] for c in cols], 0)
    values = pred_rows[:, cols][np.arange(len(pred)), deciding]
    lows = np.array([[chart.ranges[p][i][0] for i in range(len(chart.labels))] for p in chart.primary])
    highs = np.array([[chart.ranges[p][i][1] for i in range(len(chart.labels))] for p in chart.primary])
    mid = 0.5 * (lows[deciding, pred] + highs[deciding, pred])
    second = np.clip(np.where(values >= mid, pred + 1, pred - 1), 0, len(chart.labels) - 1)
    return float(np.mean(pred == truth)), float(np.mean((pred == truth) | (second == truth)))


USUAL_CHART = "tops-unisex"
USUAL_WRONG = 0.3  # share of shoppers whose stated usual size is one size off (a pessimistic guess)


def usual_size_accuracy(splits: dict[str, list[Split]]) -> dict[str, dict[str, dict[str, float]]]:
    """Height + weight + the size the body falls in on tops-unisex ("I usually wear M"), stated right or, for
    USUAL_WRONG of shoppers, one size off: exact / top-2 on the sex's top chart, as in the main table."""
    usual_chart = load_chart(USUAL_CHART)
    rng = np.random.default_rng(11)
    out: dict[str, dict[str, dict[str, float]]] = {}
    for sex, pairs in splits.items():
        target = load_chart(CHARTS[sex][0])
        hits: dict[str, list[tuple[bool, bool]]] = {"stated right": [], f"{USUAL_WRONG:.0%} one size off": []}
        for train, test in pairs:
            prior = BodyModel.fit({sex: train}, N_COMPONENTS).prior(sex)
            for row in test:
                belief = prior.condition_many({"stature": row[INDEX["stature"]], "weight": row[INDEX["weight"]]})
                truth = int(size_indices(target, row[[INDEX[p] for p in target.primary]][None, :])[0][0])
                usual = int(size_indices(usual_chart, row[[INDEX[p] for p in usual_chart.primary]][None, :])[0][0])
                stated = {"stated right": usual}
                wrong = usual + (int(rng.choice([-1, 1])) if rng.random() < USUAL_WRONG else 0)
                stated[f"{USUAL_WRONG:.0%} one size off"] = int(np.clip(wrong, 0, len(usual_chart.labels) - 1))
                for how, size in stated.items():
                    told = Feedback(USUAL_CHART, usual_chart.labels[size], "regular", "fits")
                    probs, _, _ = size_probabilities(target, apply_feedback(belief, usual_chart, told), rng)
                    best, second = pick(probs, "regular")
                    hits[how].append((best == truth, truth in (best, second)))
        out[target.id] = {how: {"exact": float(np.mean([h[0] for h in v])), "top2": float(np.mean([h[1] for h in v]))}
                          for how, v in hits.items()}
    return out


def run(splits: dict[str, list[Split]], how: str) -> dict[str, object]:
    """Fit on each split's training rows, score its test rows: MAE, coverage and size accuracy, model and OLS."""
    fit = lambda d: BodyModel.fit(d, N_COMPONENTS)  # noqa: E731
    result: dict[str, object] = {
        "how": how, "folds": len(next(iter(splits.values()))),
        "rows": {sex: sum(len(test) for _, test in pairs) for sex, pairs in splits.items()},
    }
    mae: dict[str, object] = {}
    sizes: dict[str, dict[str, dict[str, dict[str, float]]]] = {}
    timing: list[float] = []
    references = reference_charts()
    for label, known in INPUT_SETS.items():
        hits: dict[tuple[str, str], list[tuple[bool, bool]]] = {}
        rng = np.random.default_rng(7)

        def score(sex: str, belief, row: np.ndarray, hits=hits, rng=rng) -> None:
            for chart in [load_chart(c) for c in CHARTS[sex]] + references:
                t0 = time.perf_counter()
                probs, _, _ = size_probabilities(chart, belief, rng)
                best, second = pick(probs, "regular")
                timing.append(time.perf_counter() - t0)
                truth = int(size_indices(chart, row[[INDEX[p] for p in chart.primary]][None, :])[0][0])
                key = "reference-8cm" if chart.id.startswith("reference-") else chart.id
                hits.setdefault((sex, key), []).append((best == truth, truth in (best, second)))

        report = evaluate(splits, known, fit, per_row=score)
        ls = _least_squares(splits, known)
        ls_mae = {
            sex: {t: float(np.mean(np.abs(pred[:, INDEX[t]] - truth[:, INDEX[t]]))) for t in report[sex]}
            for sex, (truth, pred) in ls.items()
        }
        mae[label] = {"model": report, "least_squares": ls_mae}
        sizes[label] = {}
        for (sex, chart_id), h in hits.items():
            arr = np.array(h)
            if chart_id == "reference-8cm":
                ls_exact, ls_top2 = (float(v) for v in np.mean([_ls_sizes(c, *ls[sex]) for c in references], 0))
                chart_id = f"reference-8cm-{sex}"
            else:
                ls_exact, ls_top2 = _ls_sizes(load_chart(chart_id), *ls[sex])
            sizes[label][chart_id] = {
                "sex": sex, "exact": float(arr[:, 0].mean()), "top2": float(arr[:, 1].mean()),
                "least_squares_exact": ls_exact, "least_squares_top2": ls_top2, "n": len(arr),
            }
    result["mae"] = mae
    result["sizes"] = sizes
    result["usual_size"] = usual_size_accuracy(splits)
    result["anchors"] = ANCHORS
    ms = 1000 * np.array(timing)
    result["recommendation_ms"] = {"median": float(np.median(ms)), "p99": float(np.quantile(ms, 0.99))}
    result["machine"] = {"python": sys.version.split()[0], "platform": platform.platform(), "numpy": np.__version__}
    return result


def markdown(r: dict) -> str:
    lines = ["# Sizing benchmark", "",
             f"{r['how']} Scored rows: {r['rows']['male']} men, {r['rows']['female']} women. Model: per-sex "
             "multivariate normal of log measurements + age, conditioned on the known values. "
             "Least squares (OLS) = the anchor method (OLS on raw values), fitted on the same training rows.", ""]
    for label, block in r["mae"].items():
        lines += [f"## MAE (cm; weight kg) from {label}", "",
                  "| measurement | men model | men OLS | men ±1σ / ±2σ | women model | women OLS | women ±1σ / ±2σ |",
                  "|---|---|---|---|---|---|---|"]
        for t in block["model"]["male"]:
            m, f = block["model"]["male"][t], block["model"]["female"][t]
            lm, lf = block["least_squares"]["male"][t], block["least_squares"]["female"][t]
            lines.append(f"| {t} | {m['mae']:.2f} | {lm:.2f} | {m['within_1sd']:.0%} / {m['within_2sd']:.0%} | "
                         f"{f['mae']:.2f} | {lf:.2f} | {f['within_1sd']:.0%} / {f['within_2sd']:.0%} |")
        lines.append("")
    a = r["anchors"]
    lines += [f"Anchor to beat, chest MAE from height+weight: {a['chest_mae_cm_height_weight']['male']} cm men, "
              f"{a['chest_mae_cm_height_weight']['female']} cm women.", "",
              "## Size accuracy (regular fit) against the size the measured body falls in", "",
              "| inputs | chart | exact | top-2 | OLS exact | OLS top-2 | n |", "|---|---|---|---|---|---|---|"]
    for label, per in r["sizes"].items():
        for chart_id, s in per.items():
            lines.append(
                f"| {label} | {chart_id} | {s['exact']:.1%} | {s['top2']:.1%} | "
                f"{s['least_squares_exact']:.1%} | {s['least_squares_top2']:.1%} | {s['n']} |"
            )
    lines += ["", f"## Height + weight + a usual size (the size that fits on {USUAL_CHART})", "",
              "| chart | usual size | exact | top-2 |", "|---|---|---|---|"]
    base = r["sizes"]["height+weight"]
    for chart_id, per in r["usual_size"].items():
        lines.append(f"| {chart_id} | none | {base[chart_id]['exact']:.1%} | {base[chart_id]['top2']:.1%} |")
        lines += [f"| {chart_id} | {how} | {v['exact']:.1%} | {v['top2']:.1%} |" for how, v in per.items()]
    ex, t2, ms = a["exact_size"], a["top2_size"], r["recommendation_ms"]
    lines += [
        "",
        f"Anchors (ANSUR, 5-fold, linear regression, their charts): exact {ex['male']:.0%} men / "
        f"{ex['female']:.0%} women, top-2 {t2['male']:.0%} / {t2['female']:.0%}. Size accuracy depends on "
        "the chart's step width, so the OLS columns on the same charts are the fair comparison. "
        f"`reference-8cm` rows use chest-only charts with {REFERENCE_STEP_CM} cm steps for both sexes (the "
        "anchors' width: least squares reproduces the anchors on them), averaged over the "
        f"{REFERENCE_STEP_CM} whole-cm positions of the bin edges; n counts each person once per position.",
        "",
        "Recommendation time (size probabilities: exact for one deciding measurement, 4000 draws for two): "
        f"median {ms['median']:.2f} ms, "
        f"p99 {ms['p99']:.2f} ms ({r['machine']['platform']}, shared 2-core machine, other jobs running).",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m server.sizing.bench", description=__doc__.split("\n")[0])
    parser.add_argument("--holdout", metavar="DIR", type=Path,
                        help="score ANSUR-format CSVs in DIR (sex from the Gender column) with the model fitted on "
                             "all training rows, instead of cross-validating; writes bench/sizing_holdout.*")
    parser.add_argument("--out", metavar="DIR", type=Path, default=OUT_DIR, help="where to write (default bench/)")
    args = parser.parse_args(argv)
    if not ansur_available():
        print(f"ANSUR II data not found in {ansur_dir()}; set PLAZA_ANSUR_DIR. Nothing to benchmark.")
        return 1
    train = {sex: load_ansur(sex) for sex in SEXES}
    if args.holdout is None:
        splits = {sex: kfold_splits(rows) for sex, rows in train.items()}
        how = (f"`python -m server.sizing.bench` (also `make bench`): {KFOLDS}-fold cross-validation on the "
               "ANSUR II training rows present.")
        name = "sizing"
    else:
        try:
            test = load_ansur_csvs(sorted(args.holdout.glob("*.csv")))
        except ValueError as exc:
            print(exc)
            return 1
        splits = {sex: [(train[sex], test[sex])] for sex in SEXES if len(test.get(sex, ())) > 0}
        if not splits:
            print(f"No ANSUR rows in {args.holdout}/*.csv.")
            return 1
        how = ("`python -m server.sizing.bench --holdout DIR`: the model and OLS fitted on all training rows (as "
               "shipped in model_params.json), scored on held-out rows they never saw.")
        name = "sizing_holdout"
    result = run(splits, how)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"{name}.json").write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    text = markdown(result)
    (args.out / f"{name}.md").write_text(text, encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
