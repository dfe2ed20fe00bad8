"""What every SageLane Lambda function reads from its deployment: the contracts staged in its asset."""

from __future__ import annotations

import functools
import os
from pathlib import Path

from sagelane import settings
from sagelane.contract import Contract
from sagelane.errors import UnknownDatasetError


def contracts_dir() -> Path:
    """Where the deployed contracts (JSON) are: ``contracts/`` at the root of the function's code asset.

    ``LAMBDA_TASK_ROOT`` is set by the Lambda runtime (and by the embedded AWS) to that root.
    """
    if os.environ.get(settings.CONTRACTS_DIR):
        return Path(os.environ[settings.CONTRACTS_DIR])
    return Path(os.environ.get("LAMBDA_TASK_ROOT", Path(__file__).resolve().parent.parent)) / "contracts"


@functools.cache
def contract(dataset: str) -> Contract:
    folder = contracts_dir()
    path = folder / f"{dataset}.json"
    if not path.is_file():
        known = ", ".join(sorted(p.stem for p in folder.glob("*.json"))) or "none"
        raise UnknownDatasetError(f"no contract for dataset {dataset!r} in this deployment (known: {known})")
    return Contract.model_validate_json(path.read_text(encoding="utf-8"))
