"""app.py: the environment comes from `-c env=…`; a bad config stops synth with one clear message."""

from __future__ import annotations

import json
import os
import subprocess
import sys


def run_app(root, context: dict) -> subprocess.CompletedProcess:
    env = {**os.environ, "CDK_CONTEXT_JSON": json.dumps(context), "CDK_OUTDIR": "/nonexistent/never-written"}
    return subprocess.run([sys.executable, "app.py"], cwd=root, env=env, capture_output=True, text=True, check=False)


def test_unknown_environment_stops_synth_with_the_available_ones(root):
    result = run_app(root, {"env": "qa"})
    assert result.returncode == 1
    assert "error:" in result.stderr and "no config for environment 'qa' (available: dev, prod)" in result.stderr
    assert "Traceback" not in result.stderr
