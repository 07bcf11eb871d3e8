"""Sizing benchmark: python -m server.sizing.bench (make bench runs it). Writes bench/sizing.{json,md}.

5-fold cross-validation on the ANSUR II rows present (../shared/data/ansur2 or $PLAZA_ANSUR_DIR):
- MAE per measurement (cm) and coverage of the stated ±1σ/±2σ, from height+weight, height+weight+age,
  height+weight+chest; the same folds with ordinary least squares (the anchor method) side by side;
- exact-size and top-2 accuracy of the recommendation (regular fit) against the size each held-out
  person's measured body falls in, per sex, for the top and bottom charts, with the least-squares
  baseline (predicted measurements binned into the chart) on the same folds and charts.
"""

from __future__ import annotations

import json
import platform
import sys
import time

import numpy as np

from server.sizing.body_model import INDEX, BodyModel
from server.sizing.charts import load_chart
from server.sizing.data import REPO_ROOT, ansur_available, ansur_dir, load_ansur
from server.sizing.evaluation import KFOLDS, cross_validate, fold_ids
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


def _least_squares(data: dict[str, np.ndarray], known: tuple[str, ...]) -> dict[str, np.ndarray]:
    """Held-out OLS predictions of every column, per sex, on the shared folds."""
    out = {}
    for sex, rows in data.items():
        folds = fold_ids(len(rows), KFOLDS)
        x = np.column_stack([np.ones(len(rows))] + [rows[:, INDEX[n]] for n in known])
        pred = np.empty_like(rows)
        for f in range(KFOLDS):
            coef, *_ = np.linalg.lstsq(x[folds != f], rows[folds != f], rcond=None)
            pred[folds == f] = x[folds == f] @ coef
        out[sex] = pred
    return out


def _ls_sizes(chart_id: str, true_rows: np.ndarray, pred_rows: np.ndarray) -> tuple[float, float]:
    chart = load_chart(chart_id)
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


def run() -> dict[str, object]:
    data = {sex: load_ansur(sex) for sex in SEXES}
    fit = lambda d: BodyModel.fit(d, N_COMPONENTS)  # noqa: E731
    result: dict[str, object] = {"folds": KFOLDS, "rows": {s: len(r) for s, r in data.items()}}
    mae: dict[str, object] = {}
    sizes: dict[str, dict[str, dict[str, dict[str, float]]]] = {}
    timing: list[float] = []
    for label, known in INPUT_SETS.items():
        hits: dict[tuple[str, str], list[tuple[bool, bool]]] = {}
        rng = np.random.default_rng(7)

        def score(sex: str, belief, row: np.ndarray, hits=hits, rng=rng) -> None:
            for chart_id in CHARTS[sex]:
                chart = load_chart(chart_id)
                t0 = time.perf_counter()
                probs, _, _ = size_probabilities(chart, belief, rng)
                best, second = pick(probs, "regular")
                timing.append(time.perf_counter() - t0)
                truth = int(size_indices(chart, row[[INDEX[p] for p in chart.primary]][None, :])[0][0])
                hits.setdefault((sex, chart_id), []).append((best == truth, truth in (best, second)))

        report = cross_validate(data, known, fit, per_row=score)
        ls_pred = _least_squares(data, known)
        ls_mae = {
            sex: {t: float(np.mean(np.abs(ls_pred[sex][:, INDEX[t]] - data[sex][:, INDEX[t]]))) for t in report[sex]}
            for sex in SEXES
        }
        mae[label] = {"model": report, "least_squares": ls_mae}
        sizes[label] = {}
        for (sex, chart_id), h in hits.items():
            arr = np.array(h)
            ls_exact, ls_top2 = _ls_sizes(chart_id, data[sex], ls_pred[sex])
            sizes[label][chart_id] = {
                "sex": sex, "exact": float(arr[:, 0].mean()), "top2": float(arr[:, 1].mean()),
                "least_squares_exact": ls_exact, "least_squares_top2": ls_top2, "n": len(arr),
            }
    result["mae"] = mae
    result["sizes"] = sizes
    result["anchors"] = ANCHORS
    ms = 1000 * np.array(timing)
    result["recommendation_ms"] = {"median": float(np.median(ms)), "p99": float(np.quantile(ms, 0.99))}
    result["machine"] = {"python": sys.version.split()[0], "platform": platform.platform(), "numpy": np.__version__}
    return result


def markdown(r: dict) -> str:
    lines = ["# Sizing benchmark", "",
             f"`python -m server.sizing.bench` (also `make bench`): {r['folds']}-fold cross-validation on the ANSUR II "
             f"training rows present ({r['rows']['male']} men, {r['rows']['female']} women). Model: per-sex "
             "multivariate normal of log measurements + age, conditioned on the known values. "
             "Least squares = the anchor method (OLS on raw values), same folds.", ""]
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
    ex, t2, ms = a["exact_size"], a["top2_size"], r["recommendation_ms"]
    lines += [
        "",
        f"Anchors (ANSUR, 5-fold, linear regression, their charts): exact {ex['male']:.0%} men / "
        f"{ex['female']:.0%} women, top-2 {t2['male']:.0%} / {t2['female']:.0%}. Size accuracy depends on "
        "the chart's step width, so the OLS columns on the same charts are the fair comparison.",
        "",
        f"Recommendation time (size probabilities, 4000 draws): median {ms['median']:.2f} ms, "
        f"p99 {ms['p99']:.2f} ms ({r['machine']['platform']}, shared 2-core machine, other jobs running).",
        "",
    ]
    return "\n".join(lines)


def main() -> int:
    if not ansur_available():
        print(f"ANSUR II data not found in {ansur_dir()}; set PLAZA_ANSUR_DIR. Nothing to benchmark.")
        return 1
    result = run()
    OUT_DIR.mkdir(exist_ok=True)
    (OUT_DIR / "sizing.json").write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    text = markdown(result)
    (OUT_DIR / "sizing.md").write_text(text, encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
