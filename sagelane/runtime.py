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


PACKAGED_CONTRACTS = "_contracts"  # inside the sagelane package, where the Glue job's zip carries them


def packaged_contract(dataset: str, folder: Path | None = None) -> Contract:
    """A contract staged inside the package (``sagelane/_contracts/<dataset>.json``), as the Glue job has them.

    Read through importlib.resources (Glue imports the package from a zip file), or from ``folder``
    (the embedded AWS points at the staged package in the cloud assembly).
    """
    from importlib.resources import files
    from importlib.resources.abc import Traversable

    where: Traversable = files("sagelane") / PACKAGED_CONTRACTS if folder is None else folder
    entry = where / f"{dataset}.json"
    if not entry.is_file():
        known = ", ".join(sorted(p.name.removesuffix(".json") for p in where.iterdir())) if where.is_dir() else ""
        raise UnknownDatasetError(f"no contract for dataset {dataset!r} in this job (known: {known or 'none'})")
    return Contract.model_validate_json(entry.read_text(encoding="utf-8"))


@functools.cache
def contract(dataset: str) -> Contract:
    folder = contracts_dir()
    path = folder / f"{dataset}.json"
    if not path.is_file():
        known = ", ".join(sorted(p.stem for p in folder.glob("*.json"))) or "none"
        raise UnknownDatasetError(f"no contract for dataset {dataset!r} in this deployment (known: {known})")
    return Contract.model_validate_json(path.read_text(encoding="utf-8"))
