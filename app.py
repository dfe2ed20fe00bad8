#!/usr/bin/env python3
"""CDK entry point: ``cdk synth -c env=prod`` selects config/prod.yaml (default: dev)."""

import sys

from sagelane.config import load_project
from sagelane.errors import SageLaneError
from stacks.app import build_app

if __name__ == "__main__":
    import aws_cdk as cdk

    env = cdk.App().node.try_get_context("env") or "dev"
    try:
        project = load_project(env)
    except SageLaneError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(1)
    build_app(project).synth()
