"""Cross-validation of the body model: MAE per measurement and coverage of the stated uncertainty."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np

from server.sizing.body_model import INDEX, VARIABLES, Belief, BodyModel

KFOLDS = 5


def fold_ids(n: int, k: int = KFOLDS, seed: int = 0) -> np.ndarray:
    """A fold number per row, shuffled once with a fixed seed so runs are reproducible."""
    ids = np.arange(n) % k
    np.random.default_rng(seed).shuffle(ids)
    return ids


Split = tuple[np.ndarray, np.ndarray]  # (training rows, test rows) of one sex


def kfold_splits(rows: np.ndarray, k: int = KFOLDS) -> list[Split]:
    folds = fold_ids(len(rows), k)
    return [(rows[folds != f], rows[folds == f]) for f in range(k)]


def cross_validate(
    data: Mapping[str, np.ndarray],
    known: Sequence[str],
    fit: Callable[[Mapping[str, np.ndarray]], BodyModel],
    per_row: Callable[[str, Belief, np.ndarray], None] | None = None,
    k: int = KFOLDS,
) -> dict[str, dict[str, dict[str, float]]]:
    """For each sex: for each unknown variable, MAE and share of true values within ±1σ / ±2σ.

    `per_row(sex, belief, true_row)` lets callers score more (size accuracy) on the same held-out beliefs.
    """
    return evaluate({sex: kfold_splits(rows, k) for sex, rows in data.items()}, known, fit, per_row)


def evaluate(
    splits: Mapping[str, Sequence[Split]],
    known: Sequence[str],
    fit: Callable[[Mapping[str, np.ndarray]], BodyModel],
    per_row: Callable[[str, Belief, np.ndarray], None] | None = None,
) -> dict[str, dict[str, dict[str, float]]]:
    """Fit on each split's training rows, predict its test rows from `known`; pooled over the splits."""
    report: dict[str, dict[str, dict[str, float]]] = {}
    targets = [v for v in VARIABLES if v not in known and v != "age"]
    for sex, pairs in splits.items():
        errors = {t: [] for t in targets}
        z = {t: [] for t in targets}
        for train, test in pairs:
            prior = fit({sex: train}).prior(sex)
            for row in test:
                belief = prior.condition_many({name: float(row[INDEX[name]]) for name in known})
                for t in targets:
                    m = belief.marginal(t)
                    err = row[INDEX[t]] - m.mean
                    errors[t].append(abs(err))
                    z[t].append(abs(err) / m.std)
                if per_row is not None:
                    per_row(sex, belief, row)
        report[sex] = {
            t: {
                "mae": float(np.mean(errors[t])),
                "within_1sd": float(np.mean(np.array(z[t]) <= 1.0)),
                "within_2sd": float(np.mean(np.array(z[t]) <= 2.0)),
            }
            for t in targets
        }
    return report


def linear_regression_mae(
    data: Mapping[str, np.ndarray], known: Sequence[str], k: int = KFOLDS
) -> dict[str, dict[str, float]]:
    """The anchor method: ordinary least squares on the raw known values, same folds."""
    out: dict[str, dict[str, float]] = {}
    targets = [v for v in VARIABLES if v not in known and v != "age"]
    for sex, rows in data.items():
        folds = fold_ids(len(rows), k)
        x = np.column_stack([np.ones(len(rows))] + [rows[:, INDEX[n]] for n in known])
        err = np.zeros((len(rows), len(targets)))
        y = rows[:, [INDEX[t] for t in targets]]
        for f in range(k):
            tr, te = folds != f, folds == f
            coef, *_ = np.linalg.lstsq(x[tr], y[tr], rcond=None)
            err[te] = np.abs(y[te] - x[te] @ coef)
        out[sex] = {t: float(err[:, j].mean()) for j, t in enumerate(targets)}
    return out
