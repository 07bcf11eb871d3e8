"""Furniture fit: room, doorway (straight, on its side, tilted across the diagonal), clearances."""

from __future__ import annotations

import numpy as np
import pytest

from server.sizing.furniture import furniture_fit, rectangle_fits

ROOM = (400.0, 350.0, 250.0)
DOOR = (80.0, 200.0)


def brute_force(p: float, q: float, a: float, b: float) -> bool:
    theta = np.linspace(0, np.pi / 2, 100001)
    return bool(np.any((p * np.cos(theta) + q * np.sin(theta) <= a) & (p * np.sin(theta) + q * np.cos(theta) <= b)))


def test_doorway_rule_agrees_with_trying_every_angle():
    rng = np.random.default_rng(5)
    for p, q, a, b in rng.uniform(5, 250, size=(200, 4)):
        assert rectangle_fits(p, q, a, b)[0] == brute_force(p, q, a, b), (p, q, a, b)


def test_tall_thin_item_needs_the_diagonal():
    # A 15 x 205 cross-section (a mirror panel) through 80 x 200: too tall upright, fits tilted across the opening.
    ok, tilted, margin = rectangle_fits(15, 205, 80, 200)
    assert ok and tilted and margin > 0
    assert not rectangle_fits(30, 230, 80, 200)[0]


def test_sofa_fits_room_but_not_an_80_cm_door():
    result = furniture_fit(ROOM, DOOR, (220, 95, 85))
    assert result.fits_room and not result.passes_door and not result.fits
    assert result.door_clearance_cm == pytest.approx(-5)
    assert any("Does not go through the doorway" in m for m in result.messages)
    assert furniture_fit(ROOM, (90, 200), (220, 95, 85)).passes_door


def test_room_clearances_and_turning_the_item():
    result = furniture_fit((200, 300, 250), DOOR, (250, 60, 40))
    assert result.fits_room and result.room_orientation == "turned 90°"
    assert result.room_clearance_cm == {"width": 140.0, "depth": 50.0, "height": 210.0}
    too_tall = furniture_fit((400, 400, 240), DOOR, (100, 50, 245))
    assert not too_tall.fits_room and "height" in too_tall.messages[0]


def test_upright_when_possible_and_squeeze_warning():
    chair = furniture_fit((60, 60, 250), DOOR, (57, 52, 84))
    assert chair.passes_door and chair.door_method == "upright"
    assert chair.fits_room and any("squeeze" in m for m in chair.messages)
    shelf = furniture_fit(ROOM, DOOR, (90, 35, 180))
    assert shelf.passes_door and shelf.door_method in ("upright", "on its side")
