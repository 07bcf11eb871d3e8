"""Helpers shared by several test modules."""

from __future__ import annotations

import numpy as np

from server.realtime.pose import N_COMPONENTS, N_PARTS, PART_COMPONENTS, PART_OFFSETS
from server.realtime.quantize import quantize_quats


def random_states(rng: np.random.Generator, n: int, presence: np.ndarray) -> np.ndarray:
    """Random quantized avatar states with the given presence bytes (absent parts zero, as the server keeps them)."""
    states = np.zeros((n, N_COMPONENTS), dtype=np.int32)
    for part in range(N_PARTS):
        o, k = PART_OFFSETS[part], PART_COMPONENTS[part]
        states[:, o : o + 3] = rng.integers(-32767, 32768, (n, 3))
        rots = quantize_quats(rng.normal(size=(n, (k - 3) // 4 if part == 5 else 1, 4))).reshape(n, -1)
        if part in (3, 4):
            states[:, o + 3 : o + 7] = rots
            states[:, o + 7 : o + 28] = rng.integers(0, 256, (n, 21))
        else:
            states[:, o + 3 : o + k] = rots
        absent = (presence >> part & 1) == 0
        states[absent, o : o + k] = 0
    return states


def require_tool(name: str, why: str) -> str:
    """Path of a command-line tool a test needs. Missing on a developer's machine: the test is skipped with the
    reason. Missing under CI (`CI` set): the test fails, so a broken install step can never pass as a skip."""
    import os
    import shutil

    import pytest

    path = shutil.which(name)
    if path is None:
        message = f"`{name}` is not on PATH: {why} (`make test` installs it)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return path


def needs(available: bool, reason: str):
    """Mark a test that needs data or files from outside the repo (../shared/data) or built by `make`.

    Without them a developer's run skips with the reason; under CI (`CI` set) the run fails with it (the hook is
    in tests/conftest.py), so a missing data folder or a broken setup step can never pass as a skip."""
    import pytest

    return pytest.mark.needs(available=available, reason=reason)


class Clock:
    """A clock the test moves by hand (`clock.t += seconds`), for services that take `clock=`."""

    def __init__(self, t: float = 1_000_000.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t
