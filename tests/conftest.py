"""Shared fixtures. Tests never reach the internet or real AWS: credentials are fake and endpoints local."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# Belt and braces: whatever a test forgets, boto3 gets fake credentials and a fixed region.
for name, value in {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
}.items():
    os.environ[name] = value
os.environ.pop("AWS_PROFILE", None)
# jsii prints a banner on every start under an end-of-life Node unless told which majors to hush.
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "18,19,20,21,23")


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def project():
    from sagelane.config import load_project

    return load_project("dev", ROOT)


@pytest.fixture(scope="session")
def penguins(project):
    return project.contract("penguins")


@pytest.fixture(scope="session")
def churn(project):
    return project.contract("churn")


@pytest.fixture(scope="session")
def penguins_csv() -> Path:
    return ROOT / "samples" / "penguins.csv"


@pytest.fixture(scope="session")
def dev(root, tmp_path_factory):
    """The dev environment's cloud assembly, synthesized once per session (cdk-nag included), or the one
    ``SAGELANE_TEST_ASSEMBLY`` names (synthesized before, e.g. ``./dev synth``: cdk.out)."""
    from tests.synth import existing, synthesize

    if os.environ.get("SAGELANE_TEST_ASSEMBLY"):
        return existing(root, "dev", Path(os.environ["SAGELANE_TEST_ASSEMBLY"]))
    return synthesize(root, "dev", tmp_path_factory.mktemp("cdk-dev"))


@pytest.fixture(scope="session")
def prod(root, tmp_path_factory):
    from tests.synth import synthesize

    return synthesize(root, "prod", tmp_path_factory.mktemp("cdk-prod"))


@pytest.fixture(scope="session")
def spark():
    """One local Spark session per test worker (it takes seconds to start), two cores."""
    from sagelane.validation.spark import local_session

    session = local_session(2)
    yield session
    session.stop()
