"""Canonical body measurements: names, units, plausible ranges and consistency rules for shopper input."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

# Order matters: it is the column order of the fitted model (age is appended as the last variable).
MEASUREMENTS: tuple[str, ...] = (
    "stature",
    "weight",
    "chest",
    "waist",
    "hips",
    "shoulder",
    "neck",
    "inseam",
    "sleeve",
    "thigh",
    "foot_length",
    "foot_breadth",
)
AGE = "age"
SEXES: tuple[str, ...] = ("male", "female")

# Words a shopper reads in errors and explanations.
DESCRIPTIONS: dict[str, str] = {
    "stature": "height",
    "weight": "weight",
    "chest": "chest (bust) girth",
    "waist": "waist girth (at the navel)",
    "hips": "hip girth",
    "shoulder": "shoulder width",
    "neck": "neck girth",
    "inseam": "inside leg length",
    "sleeve": "sleeve length (centre back to wrist)",
    "thigh": "thigh girth",
    "foot_length": "foot length",
    "foot_breadth": "foot width",
    "age": "age",
}


def unit_of(name: str) -> str:
    return {"weight": "kg", "age": "years"}.get(name, "cm")


# Generous human limits (adults and teens): outside these a value is a typo or a unit mix-up,
# e.g. a height of 300 cm or a height typed in metres.
PLAUSIBLE: dict[str, tuple[float, float]] = {
    "stature": (120.0, 230.0),
    "weight": (30.0, 250.0),
    "chest": (55.0, 180.0),
    "waist": (45.0, 180.0),
    "hips": (60.0, 180.0),
    "shoulder": (25.0, 60.0),
    "neck": (25.0, 65.0),
    "inseam": (50.0, 110.0),
    "sleeve": (55.0, 110.0),
    "thigh": (30.0, 100.0),
    "foot_length": (18.0, 35.0),
    "foot_breadth": (6.0, 14.0),
    "age": (13.0, 100.0),
}

# Ordering rules between two measurements: (smaller, larger, why it must hold).
CONSISTENCY: tuple[tuple[str, str], ...] = (
    ("neck", "chest"),
    ("neck", "waist"),
    ("thigh", "hips"),
    ("inseam", "stature"),
    ("sleeve", "stature"),
    ("foot_breadth", "foot_length"),
    ("shoulder", "chest"),
)


@dataclass(frozen=True)
class InputProblem:
    field: str
    message: str


def check_measurements(values: Mapping[str, float]) -> list[InputProblem]:
    """Problems with shopper-entered values, in words a shopper understands; empty when all is plausible."""
    problems: list[InputProblem] = []
    for name, value in values.items():
        if name not in PLAUSIBLE:
            problems.append(InputProblem(name, f"'{name}' is not a measurement we know."))
            continue
        low, high = PLAUSIBLE[name]
        unit = unit_of(name)
        if value != value or value in (float("inf"), float("-inf")):
            problems.append(InputProblem(name, f"Your {DESCRIPTIONS[name]} must be a number."))
        elif value <= 0:
            problems.append(InputProblem(name, f"Your {DESCRIPTIONS[name]} must be more than 0 {unit}."))
        elif not low <= value <= high:
            hint = ""
            if unit == "cm" and value < 3 and low <= value * 100 <= high:
                hint = " It looks like metres; please enter centimetres."
            elif unit == "cm" and low <= value * 2.54 <= high:
                hint = " It looks like inches; please enter centimetres."
            elif unit == "kg" and low <= value / 2.2046 <= high:
                hint = " If that is in pounds, please enter kilograms."
            problems.append(
                InputProblem(
                    name,
                    f"A {DESCRIPTIONS[name]} of {value:g} {unit} is not possible for a person; "
                    f"we expect {low:g} to {high:g} {unit}.{hint}",
                )
            )
    if problems:
        return problems
    for smaller, larger in CONSISTENCY:
        if smaller in values and larger in values and values[smaller] >= values[larger]:
            problems.append(
                InputProblem(
                    smaller,
                    f"Your {DESCRIPTIONS[smaller]} ({values[smaller]:g} cm) cannot be as large as your "
                    f"{DESCRIPTIONS[larger]} ({values[larger]:g} cm); please check both.",
                )
            )
    return problems
