"""Runs the WebXR client's JavaScript unit tests (node's built-in test runner) as part of `make test`."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.support import require_tool

CLIENT_DIR = Path(__file__).resolve().parents[1] / "webxr_client"


def test_client_js_unit_tests_pass() -> None:
    node = require_tool("node", "the client's JavaScript unit tests run in Node.js")
    result = subprocess.run(
        [node, "--test", "--test-reporter=dot", "test/"],
        cwd=CLIENT_DIR,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, f"node --test failed:\n{result.stdout}\n{result.stderr}"
