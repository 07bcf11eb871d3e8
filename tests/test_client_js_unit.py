"""Runs the WebXR client's JavaScript unit tests (node's built-in test runner) as part of `make test`."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

CLIENT_DIR = Path(__file__).resolve().parents[1] / "webxr_client"


def test_client_js_unit_tests_pass() -> None:
    node = shutil.which("node")
    if node is None:
        pytest.skip("Node.js is not installed; the client's JavaScript unit tests need `node` on PATH")
    result = subprocess.run(
        [node, "--test", "--test-reporter=dot", "test/"],
        cwd=CLIENT_DIR,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, f"node --test failed:\n{result.stdout}\n{result.stderr}"
