"""Fixtures of the unit tests that need a trained model."""

from __future__ import annotations

import pytest

from sagelane.serving.container import load, serve_in_thread
from sagelane.training.local import run_training
from sagelane.training.prepare import split, write_channels
from sagelane.validation import validate_file


@pytest.fixture(scope="module")
def penguins_model_dir(root, penguins, tmp_path_factory):
    """The penguins model trained on the sample data (the unpacked model.tar.gz)."""
    tmp = tmp_path_factory.mktemp("model")
    prepared = write_channels(
        split(validate_file(root / "samples" / "penguins.csv", penguins).frame, penguins), penguins, tmp / "c"
    )
    result = run_training(
        source_dir=root / "training",
        hyperparameters={"algorithm": "logistic_regression"},
        channels={n: prepared.channel(n) for n in ("train", "validation", "test", "contract")},
        work_dir=tmp / "job",
    )
    return result.model_dir


@pytest.fixture(scope="module")
def endpoint(root, penguins_model_dir):
    """That model served over the SageMaker container contract, in this process."""
    server, url = serve_in_thread(load(penguins_model_dir, root / "training", name="penguins"))
    yield url
    server.shutdown()
