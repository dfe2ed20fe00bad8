"""What the ingest Lambda functions read from their environment, built once per container."""

from __future__ import annotations

import functools
import os
from pathlib import Path

from sagelane import aws, settings
from sagelane.contract import Contract
from sagelane.errors import UnknownDatasetError
from sagelane.ingest.steps import Lake
from sagelane.validation import Limits


def contracts_dir() -> Path:
    """Where the deployed contracts (JSON) are: ``contracts/`` at the root of the function's code asset.

    ``LAMBDA_TASK_ROOT`` is set by the Lambda runtime (and by the embedded AWS) to that root.
    """
    if os.environ.get(settings.CONTRACTS_DIR):
        return Path(os.environ[settings.CONTRACTS_DIR])
    return Path(os.environ.get("LAMBDA_TASK_ROOT", Path(__file__).resolve().parent.parent.parent)) / "contracts"


def lake() -> Lake:
    return Lake(
        raw_bucket=settings.required(settings.RAW_BUCKET),
        curated_bucket=settings.required(settings.CURATED_BUCKET),
        quarantine_bucket=settings.required(settings.QUARANTINE_BUCKET),
        glue_database=os.environ.get(settings.GLUE_DATABASE, ""),
    )


def limits() -> Limits:
    return Limits(
        max_bytes=int(settings.required(settings.MAX_OBJECT_BYTES)),
        max_uncompressed_bytes=int(settings.required(settings.MAX_UNCOMPRESSED_BYTES)),
    )


@functools.cache
def contract(dataset: str) -> Contract:
    folder = contracts_dir()
    path = folder / f"{dataset}.json"
    if not path.is_file():
        known = ", ".join(sorted(p.stem for p in folder.glob("*.json"))) or "none"
        raise UnknownDatasetError(f"no contract for dataset {dataset!r} in this deployment (known: {known})")
    return Contract.model_validate_json(path.read_text(encoding="utf-8"))


@functools.cache
def pii_salt() -> bytes:
    """The secret salt for hashing PII, from Secrets Manager (read once per container)."""
    arn = settings.required(settings.PII_SALT_SECRET_ARN)
    secret = aws.client("secretsmanager").get_secret_value(SecretId=arn)
    return secret["SecretString"].encode("utf-8")
