"""Reading the ANSUR II training rows (the only I/O of the fitting and benchmark scripts)."""

from __future__ import annotations

import csv
import os
from pathlib import Path

import numpy as np

from server.sizing.measurements import AGE, MEASUREMENTS, SEXES

REPO_ROOT = Path(__file__).resolve().parents[2]
ENV_VAR = "PLAZA_ANSUR_DIR"

# ANSUR column -> (canonical name, factor to cm / kg). Waist is at the navel (omphalion) in ANSUR.
COLUMNS: dict[str, tuple[str, float]] = {
    "stature": ("stature", 0.1),
    "weightkg": ("weight", 0.1),  # tenths of a kilogram
    "chestcircumference": ("chest", 0.1),
    "waistcircumference": ("waist", 0.1),
    "buttockcircumference": ("hips", 0.1),
    "biacromialbreadth": ("shoulder", 0.1),
    "neckcircumferencebase": ("neck", 0.1),
    "crotchheight": ("inseam", 0.1),
    "sleevelengthspinewrist": ("sleeve", 0.1),
    "thighcircumference": ("thigh", 0.1),
    "footlength": ("foot_length", 0.1),
    "footbreadthhorizontal": ("foot_breadth", 0.1),
    "Age": ("age", 1.0),
}
FILES = {"male": "ansur2_male_train.csv", "female": "ansur2_female_train.csv"}


def ansur_dir() -> Path:
    """Where the data lives: $PLAZA_ANSUR_DIR, else <repo>/../shared/data/ansur2."""
    override = os.environ.get(ENV_VAR)
    return Path(override) if override else REPO_ROOT.parent / "shared" / "data" / "ansur2"


def ansur_available() -> bool:
    folder = ansur_dir()
    return all((folder / name).is_file() for name in FILES.values())


def load_ansur(sex: str, folder: Path | None = None) -> np.ndarray:
    """Rows of one sex as an (n, 13) array in cm / kg / years, columns MEASUREMENTS + (age,)."""
    folder = folder or ansur_dir()
    return load_ansur_csvs([folder / FILES[sex]])[sex]


def load_ansur_csvs(paths: list[Path]) -> dict[str, np.ndarray]:
    """Rows of any ANSUR II-format CSVs, split by their Gender column (Male/Female) into sex -> array."""
    order = [*MEASUREMENTS, AGE]
    by_name = {canonical: (column, factor) for column, (canonical, factor) in COLUMNS.items()}
    rows: dict[str, list[list[float]]] = {sex: [] for sex in SEXES}
    for path in paths:
        with open(path, newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            missing = [c for c in [*COLUMNS, "Gender"] if c not in (reader.fieldnames or [])]
            if missing:
                raise ValueError(f"{path.name} is not ANSUR II data: it lacks {', '.join(missing)}")
            for record in reader:
                sex = record["Gender"].strip().lower()
                if sex in rows:
                    rows[sex].append([float(record[by_name[name][0]]) * by_name[name][1] for name in order])
    return {sex: np.asarray(r, dtype=float).reshape(-1, len(order)) for sex, r in rows.items()}
