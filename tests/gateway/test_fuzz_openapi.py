"""Schemathesis over the gateway's own /openapi.json, against the whole suite as `make run` starts it: every
operation gets examples, boundary values and fuzzed bodies, parameters and headers (a few thousand requests,
deterministic so a failure reproduces), and none may answer a server error. Bad input is a 4xx naming what
to fix; a 5xx here is a bug with a `curl` line to reproduce it in the output."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.suite import running_suite

pytestmark = pytest.mark.slow


def test_no_generated_request_gets_a_server_error(tmp_path):
    st = Path(sys.executable).with_name("st")  # schemathesis, a dev dependency that make test installs
    (tmp_path / "suite").mkdir()
    # One worker: hypothesis describes strategies with ast.parse, which CPython 3.11 can fail in two threads at
    # once (SystemError "AST constructor recursion depth mismatch": a crash of the tool, not a finding).
    with running_suite(tmp_path / "suite", gateway_ports=1) as suite:
        result = subprocess.run(
            [str(st), "run", f"{suite.url}/openapi.json", "--checks", "not_a_server_error", "--max-examples", "15",
             "--generation-deterministic", "--workers", "1", "--request-timeout", "60", "--no-color"],
            capture_output=True, text=True, timeout=420, env=dict(os.environ, SCHEMATHESIS_HOOKS=""))
    summary = result.stdout[result.stdout.find("SUMMARY"):]
    assert result.returncode == 0, result.stdout[-8000:] + result.stderr[-2000:]
    assert "Tested: " in summary and " passed" in summary and "failed" not in summary.split("Test cases:")[-1], summary
