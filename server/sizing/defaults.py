"""The committed model parameters, loaded once (the one file read of the sizing core)."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

from server.sizing.body_model import BodyModel

PARAMS_PATH = Path(__file__).with_name("model_params.json")


@lru_cache(maxsize=1)
def default_model() -> BodyModel:
    return BodyModel.from_dict(json.loads(PARAMS_PATH.read_text(encoding="utf-8")))
