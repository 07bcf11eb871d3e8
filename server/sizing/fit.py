"""Fit the body model from ANSUR II and write server/sizing/model_params.json.

    python -m server.sizing.fit            # fit, cross-validate, write the parameters

Reads <repo>/../shared/data/ansur2/*.csv (or $PLAZA_ANSUR_DIR). Only the fitted means and
covariances are written; the raw rows never leave that folder.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from server.sizing.body_model import BodyModel
from server.sizing.data import ansur_available, ansur_dir, load_ansur
from server.sizing.evaluation import KFOLDS, cross_validate
from server.sizing.measurements import SEXES

PARAMS_PATH = Path(__file__).with_name("model_params.json")
N_COMPONENTS = 1  # 2-3 component mixtures were tried: same CV error to 0.01 cm, so the plain MVN stays
KNOWN_FOR_REPORT = ("stature", "weight")


def main() -> int:
    if not ansur_available():
        print(f"ANSUR II data not found in {ansur_dir()}; set PLAZA_ANSUR_DIR to the folder with the CSVs.")
        return 1
    data = {sex: load_ansur(sex) for sex in SEXES}
    report = cross_validate(data, KNOWN_FOR_REPORT, lambda d: BodyModel.fit(d, N_COMPONENTS))
    model = BodyModel.fit(data, N_COMPONENTS)
    model.meta = {
        "n_components": N_COMPONENTS,
        "how": (
            "python -m server.sizing.fit: per-sex multivariate normal (maximum likelihood, sample covariance) "
            "of log measurements (ANSUR II mm -> cm, weight tenths of kg -> kg) plus age in years, "
            "fitted on all rows of ../shared/data/ansur2/ansur2_{male,female}_train.csv"
        ),
        "rows": {sex: len(rows) for sex, rows in data.items()},
        "source": "ANSUR II public release (2012 US Army Anthropometric Survey), training part",
        "cv": {"folds": KFOLDS, "known": list(KNOWN_FOR_REPORT), "report": report},
    }
    PARAMS_PATH.write_text(json.dumps(model.to_dict(), indent=1) + "\n", encoding="utf-8")
    print(f"wrote {PARAMS_PATH.name}")
    print(f"{KFOLDS}-fold CV from {' + '.join(KNOWN_FOR_REPORT)}: MAE cm (share within ±1σ, ±2σ)")
    for sex, per in report.items():
        cells = ", ".join(f"{t} {v['mae']:.2f} ({v['within_1sd']:.0%}, {v['within_2sd']:.0%})" for t, v in per.items())
        print(f"  {sex}: {cells}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
