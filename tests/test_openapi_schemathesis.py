"""schemathesis against the app in-process (ASGI), from its own /openapi.json: for every documented operation,
generated valid and invalid requests never give a 5xx, and every answer matches the documented status codes,
content types, headers and schemas (all of schemathesis' default checks). Bounded and derandomized, so a run is
quick and repeatable.

One check is configured rather than left at its default: `positive_data_acceptance` also accepts 400 and 422 for
schema-valid requests, because the APIs document refusals that no JSON schema can express (a body whose neck
is larger than its chest, a display name with a bidi override, an unknown size chart); they are answered as
documented problems, which the other checks still verify.
"""

from __future__ import annotations

import os
import tempfile

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.config import SchemathesisConfig

from server.config import Settings
from server.net.app import create_app

OPERATOR_TOKEN = "schemathesis-operator"
MAX_EXAMPLES = 12
_data_dir = tempfile.TemporaryDirectory(prefix="plaza-schemathesis-")  # removed when the test process ends

CONFIG = SchemathesisConfig.from_dict({"checks": {"positive_data_acceptance": {
    "expected-statuses": ["2xx", "400", "401", "404", "409", "422", "429"]}}})


def _app():
    os.environ.setdefault("PLAZA_MOCAP_UDP_PORT", "off")  # nothing listens: the app is only called in-process
    return create_app(Settings(data_dir=_data_dir.name, operator_token=OPERATOR_TOKEN))


schema = (
    schemathesis.openapi.from_asgi("/openapi.json", _app(), config=CONFIG)
    # Static files (content-hashed glTF) are served by their own responder, not a JSON API.
    .exclude(path_regex=r"^/assets/")
)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, derandomize=True, deadline=None, suppress_health_check=list(HealthCheck))
def test_every_operation_conforms_to_its_documentation(case):
    case.call_and_validate(headers={"Authorization": f"Bearer {OPERATOR_TOKEN}"})
