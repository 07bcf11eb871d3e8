"""The body FK fixture the JavaScript client is tested against must match the server's FK (no drift)."""

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))
import make_body_fk_fixture


def test_committed_body_fk_fixture_matches_the_server_fk() -> None:
    fixture = make_body_fk_fixture.FIXTURE
    assert fixture.is_file(), "run tools/make_body_fk_fixture.py"
    committed = json.loads(fixture.read_text())
    assert committed == make_body_fk_fixture.build_cases(), "tests/fixtures/body_fk.json is stale: rerun the tool"
