"""Furniture fit: does an item fit the room, and can it be carried through the doorway (tilting allowed)."""

from __future__ import annotations

import math
from dataclasses import dataclass

TIGHT_CLEARANCE_CM = 5.0  # less than this around an item is flagged as a squeeze


@dataclass(frozen=True)
class FurnitureFit:
    fits_room: bool
    room_orientation: str  # "as given" or "turned 90°"
    room_clearance_cm: dict[str, float]  # width, depth, height left over (negative = too big)
    passes_door: bool
    door_method: str  # "upright", "on its side", "tilted diagonally", or "does not pass"
    door_clearance_cm: float  # smallest margin in the doorway (negative = too big)
    fits: bool
    messages: list[str]


def rectangle_fits(p: float, q: float, a: float, b: float) -> tuple[bool, bool, float]:
    """Can a p x q rectangle pass a x b (any rotation in the plane)? -> (fits, needs tilt, margin cm).

    Straight: the sides fit. Otherwise the diagonal rule: a long, thin cross-section can go through
    tilted across the opening's diagonal; the exact condition for a rectangle inside a rectangle is
    Carver's (1956): with p >= q, a >= b, p > a, it fits iff
    b >= (2pqa + (p^2 - q^2) sqrt(p^2 + q^2 - a^2)) / (p^2 + q^2).
    """
    p, q = max(p, q), min(p, q)
    a, b = max(a, b), min(a, b)
    if p <= a and q <= b:
        return True, False, min(a - p, b - q)
    if q > b:
        return False, False, b - q
    need = (2 * p * q * a + (p * p - q * q) * math.sqrt(max(p * p + q * q - a * a, 0.0))) / (p * p + q * q)
    return need <= b, True, b - need


def furniture_fit(
    room: tuple[float, float, float], door: tuple[float, float], item: tuple[float, float, float]
) -> FurnitureFit:
    """room (w, d, h), door (w, h), item (w, d, h), all in cm and positive."""
    rw, rd, rh = room
    iw, idp, ih = item
    options = [("as given", rw - iw, rd - idp), ("turned 90°", rw - idp, rd - iw)]
    orientation, cw, cd = max(options, key=lambda o: min(o[1], o[2]))
    ch = rh - ih
    fits_room = min(cw, cd, ch) >= 0
    # Through the door one dimension goes lengthwise; the other two form the cross-section.
    door_w, door_h = door
    best: tuple[bool, int, float, str] | None = None
    for through in range(3):
        p, q = (item[i] for i in range(3) if i != through)
        ok, tilted, margin = rectangle_fits(p, q, door_w, door_h)
        other = p if q == ih and through != 2 else q
        if tilted:
            method, preference = "tilted diagonally", 0
        elif through != 2 and ih <= door_h and other <= door_w:
            method, preference = "upright", 2
        else:
            method, preference = "on its side", 1
        rank = (ok, preference, margin, method)
        if best is None or rank[:3] > best[:3]:
            best = rank
    assert best is not None
    passes, _, door_margin, method = best
    messages = []
    if fits_room:
        messages.append(f"Fits the room ({orientation}) with {cw:.0f} cm to spare in width, {cd:.0f} cm in depth "
                        f"and {ch:.0f} cm in height.")
        if min(cw, cd, ch) < TIGHT_CLEARANCE_CM:
            messages.append("It is a squeeze: less than 5 cm to spare on one side.")
    else:
        short = [n for n, v in (("width", cw), ("depth", cd), ("height", ch)) if v < 0]
        messages.append(f"Too big for the room: it needs {-min(cw, cd, ch):.0f} cm more {' and '.join(short)}.")
    if passes:
        messages.append(f"Goes through the doorway {method} with {door_margin:.0f} cm to spare.")
    else:
        method = "does not pass"
        messages.append(f"Does not go through the doorway, even tilted: about {-door_margin:.0f} cm too big.")
    return FurnitureFit(
        fits_room=fits_room,
        room_orientation=orientation,
        room_clearance_cm={"width": round(cw, 1), "depth": round(cd, 1), "height": round(ch, 1)},
        passes_door=passes,
        door_method=method,
        door_clearance_cm=round(door_margin, 1),
        fits=fits_room and passes,
        messages=messages,
    )

